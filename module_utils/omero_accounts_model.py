# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Declarative OMERO accounts: the data management plan's model, in pure Python.

No omero import here: the validator (scripts/validate-inventory) runs it in any CI with only
PyYAML and jsonschema, and the Ansible modules ship it to the server host through AnsiballZ.

Three layers, each a plain function over plain data:

1. ``load_inventory`` / ``validate_inventory``: read ``<inventory>/accounts/**.yml`` and return
   problems as ``Problem(file, key_path, message)``.
2. ``expand``: teams, referents, public and external groups -> desired groups, users and departures.
3. ``plan`` / ``simulate``: current state (as read from OMERO) + desired state -> ordered actions,
   and the state those actions produce (used for ``diff.after`` and for tests).

Passwords never enter the state or the actions: an action says ``change_password`` for an omename,
the client looks the secret up at apply time.
"""


import copy
import datetime
import os
import re

PERMISSIONS = {
    "private": "rw----",
    "read-only": "rwr---",
    "read-annotate": "rwra--",
    "read-write": "rwrw--",
}
PERMISSION_NAMES = {v: k for k, v in PERMISSIONS.items()}

ADMIN_PRIVILEGES = (
    "Chgrp", "Chown", "DeleteFile", "DeleteManagedRepo", "DeleteOwned", "DeleteScriptRepo",
    "ModifyGroup", "ModifyGroupMembership", "ModifyUser", "ReadSession", "Sudo", "WriteFile",
    "WriteManagedRepo", "WriteOwned", "WriteScriptRepo",
)

SYSTEM_GROUP = "system"
USER_GROUP = "user"
GUEST_GROUP = "guest"
BUILTIN_GROUPS = (SYSTEM_GROUP, USER_GROUP, GUEST_GROUP)

DEFAULT_SETTINGS = {
    # DMP, "Temporalite des comptes": renamed accounts are put in the group "User desactives".
    "deactivated_group": "User d\u00e9sactiv\u00e9s",
    "deactivated_prefix": "A_utiliser_",
    "referents_group": "referents",
    # DMP: referents create and delete groups and accounts and transfer ownership; nothing that
    # writes or deletes other people's data. ReadSession is kept (omero-facts: never remove it from a
    # restricted admin).
    "referent_privileges": ["Chown", "ModifyGroup", "ModifyGroupMembership", "ModifyUser", "ReadSession"],
    "team_permissions": "read-annotate",
    "collaboration_permissions": "read-annotate",
    "collaboration_suffix": "-collab",
    "external_quota_gb_max": 100,
    # A change made in OMERO (e.g. by a referent in OMERO.web) that the inventory did not ask for is
    # reported as drift and kept ("report"), or undone ("revert": an explicit choice per inventory).
    "drift_policy": "report",
    # Accounts created by the inventory are local (password in OMERO) unless the site says otherwise.
    "new_accounts_ldap": False,
}

MAX_EXTRA_COLLABORATION_GROUPS = 2
PASSWORD_MIN_LENGTH = 10
PLACEHOLDER_SECRETS = ("CHANGE_ME", "CHANGEME", "changeme", "")


class Problem:
    """One validation problem, printed as ``<file>:<key path>: <message>``."""

    def __init__(self, file, key, message):
        self.file = file
        self.key = key
        self.message = message

    def __str__(self):
        return f"{self.file}:{self.key}: {self.message}"

    def __repr__(self):
        return f"Problem({str(self)!r})"

    def __eq__(self, other):
        return isinstance(other, Problem) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))


# --------------------------------------------------------------------------------------------------
# Password policy
# --------------------------------------------------------------------------------------------------

def password_problems(password):
    """Return the DMP password policy failures of ``password`` (empty list when it passes).

    Policy: at least 10 characters, at least one upper-case letter, at least one special character
    (anything that is not a letter, a digit or white space). The password itself never appears in a
    message.
    """
    if not isinstance(password, str):
        return ["is not a string"]
    failures = []
    if len(password) < PASSWORD_MIN_LENGTH:
        failures.append(f"shorter than {PASSWORD_MIN_LENGTH} characters")
    if not any(c.isupper() for c in password):
        failures.append("no upper-case letter")
    if not any(not c.isalnum() and not c.isspace() for c in password):
        failures.append("no special character")
    return failures


def is_placeholder(secret):
    return secret is None or (isinstance(secret, str) and secret.strip() in PLACEHOLDER_SECRETS)


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------

def _normalise(value):
    """Dates (PyYAML turns 2026-11-02 into a date) become ISO strings, recursively."""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()[:10]
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


_YAML_MERGE_TAG = "tag:yaml.org,2002:merge"


def _load_yaml_unique(text, yaml_module):
    """Parse one YAML document as ``safe_load`` does, refusing a key given twice in one mapping.

    PyYAML keeps the last of two equal keys silently; here a ``SafeLoader`` subclass compares the
    constructed keys of every mapping (so ``yes`` and ``true`` are the same key, as YAML 1.1 says)
    and records each repeat instead. Merge keys (``<<``) keep their YAML meaning: a key the mapping
    sets itself overrides a merged one. Returns ``(data, duplicates)``, ``duplicates`` a list of
    ``(key path, message)``; a syntax error raises ``yaml_module.YAMLError`` as ``safe_load`` does.
    """
    nodes = yaml_module.nodes

    class UniqueKeyLoader(yaml_module.SafeLoader):
        def construct_mapping(self, node, deep=False):
            if isinstance(node, nodes.MappingNode):
                first = {}
                for key_node, _value_node in node.value:
                    if key_node.tag == _YAML_MERGE_TAG:
                        continue
                    key = self.construct_object(key_node, deep=True)
                    try:
                        hash(key)
                    except TypeError:
                        continue  # the base class reports an unhashable key as a YAML error
                    line = key_node.start_mark.line + 1
                    if key in first:
                        label = _node_label(key_node)
                        message = (f"duplicate key {label!r} (first at line {first[key]}, again at line {line}):"
                                   " YAML would silently keep only the last one")
                        duplicates.append((_key_path(paths.get(id(node), []) + [label]), message))
                    else:
                        first[key] = line
            return super().construct_mapping(node, deep=deep)

    def _node_label(node):
        return node.value if isinstance(node, nodes.ScalarNode) else f"({type(node).__name__})"

    def walk(node, parts):
        if id(node) in paths:  # an alias: keep the path of the anchor
            return
        paths[id(node)] = parts
        if isinstance(node, nodes.MappingNode):
            for key_node, value_node in node.value:
                walk(value_node, parts + [_node_label(key_node)])
        elif isinstance(node, nodes.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, parts + [i])

    paths, duplicates = {}, []
    loader = UniqueKeyLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, duplicates
        walk(root, [])
        return loader.construct_document(root), duplicates
    finally:
        loader.dispose()


def load_inventory(inventory_dir, yaml_module):
    """Read every ``accounts/**/*.yml`` under ``inventory_dir``.

    Returns ``(documents, problems)`` where ``documents`` maps the display path of each file
    (``<inventory_dir>/accounts/...``) to its parsed, date-normalised content. ``yaml_module`` is
    PyYAML (passed in so that this module has no hard dependency for the modules' sake). A file
    with a key given twice in one mapping is a problem per repeated key, and is not loaded.
    """
    problems = []
    documents = {}
    accounts_dir = os.path.join(inventory_dir, "accounts")
    if not os.path.isdir(accounts_dir):
        problems.append(Problem(accounts_dir, "(directory)", "missing: the inventory has no accounts directory"))
        return documents, problems
    paths = []
    for root, dirs, files in os.walk(accounts_dir):
        dirs.sort()
        for name in sorted(files):
            if name.endswith((".yml", ".yaml")):
                paths.append(os.path.join(root, name))
    if not paths:
        problems.append(Problem(accounts_dir, "(directory)", "no .yml files"))
    for path in paths:
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
            text = raw.decode("utf-8")
            data, duplicates = _load_yaml_unique(text, yaml_module)
        except UnicodeDecodeError as exc:
            problems.append(Problem(path, "(file)", f"not UTF-8 text: {exc}"))
            continue
        except yaml_module.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
            problems.append(Problem(path, "(file)", "malformed YAML{}: {}".format(where, getattr(exc, "problem", None) or exc)))
            continue
        except OSError as exc:
            problems.append(Problem(path, "(file)", f"cannot read: {exc.strerror}"))
            continue
        if duplicates:
            problems.extend(Problem(path, key, message) for key, message in duplicates)
            continue
        if data is None:
            data = {}
        documents[path] = _normalise(data)
    return documents, problems


def _key_path(parts):
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


def schema_problems(documents, schema, jsonschema_module):
    """Validate each document against the JSON schema (a oneOf of the known file kinds)."""
    problems = []
    validator_cls = jsonschema_module.validators.validator_for(schema)
    validator = validator_cls(schema)
    for path, data in sorted(documents.items()):
        if not isinstance(data, dict):
            problems.append(Problem(path, "(root)", f"must be a mapping, found {type(data).__name__}"))
            continue
        kinds = [k for k in KINDS if k in data]
        if len(kinds) != 1:
            problems.append(Problem(
                path, "(root)",
                "must have exactly one top-level key among {}, found {}".format(", ".join(KINDS), ", ".join(sorted(data)) or "none")))
            continue
        for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
            problems.append(Problem(path, _key_path(list(error.absolute_path)), _schema_message(error)))
    return problems


def _schema_message(error):
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown key(s)")
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    return error.message


KINDS = ("people", "team", "referents", "public_group", "external_groups", "settings",
         "retention_extensions", "transfers")  # the last two: module_utils/omero_governance.py


# --------------------------------------------------------------------------------------------------
# Semantic validation
# --------------------------------------------------------------------------------------------------

def _add_month(date):
    year = date.year + (1 if date.month == 12 else 0)
    month = 1 if date.month == 12 else date.month + 1
    for day in (date.day, 30, 29, 28):
        try:
            return datetime.date(year, month, day)
        except ValueError:
            continue
    raise ValueError("unreachable")


def _parse_date(text):
    try:
        return datetime.datetime.strptime(str(text), "%Y-%m-%d").date()
    except ValueError:
        return None


def collect(documents):
    """Sort documents by kind. Returns a dict of kind -> list of (path, content)."""
    by_kind = {k: [] for k in KINDS}
    for path, data in sorted(documents.items()):
        if isinstance(data, dict):
            for kind in KINDS:
                if kind in data:
                    by_kind[kind].append((path, data[kind]))
    return by_kind


def settings_of(by_kind):
    settings = dict(DEFAULT_SETTINGS)
    for _path, content in by_kind["settings"]:
        if isinstance(content, dict):
            settings.update(content)
    return settings


# OMERO's own accounts (ome/system/Roles.java: rootName, guestName), beside its own groups
# (BUILTIN_GROUPS): an inventory never names them, nor a case variant of them
# (ome/security/auth/Principal.java lower-cases omenames when omero.security.ignore_case is on).
BUILTIN_USERS = ("root", "guest")


def _builtin_problem(name, builtins, what):
    """The message when ``name`` is one of ``builtins`` or a case variant of one, else None."""
    if not isinstance(name, str):
        return None
    if name in builtins:
        return f"{name!r} is an OMERO built-in {what}: the inventory must never manage it"
    for builtin in builtins:
        if name.casefold() == builtin.casefold():
            return (f"{name!r} is a case variant of the OMERO built-in {what} {builtin!r} (OMERO may be configured"
                    " to look names up ignoring case: omero.security.ignore_case): the inventory must never manage it")
    return None


def _builtin_user_problem(name):
    return _builtin_problem(name, BUILTIN_USERS, "account")


def _builtin_group_problem(name):
    return _builtin_problem(name, BUILTIN_GROUPS, "group")


def _transfer_problem(name, receiver, people):
    """Why ``receiver`` cannot receive the data of ``name`` (None when it can): another, active person."""
    builtin = _builtin_user_problem(receiver)
    if builtin:
        return builtin
    if receiver == name:
        return f"{receiver!r} is the person themselves: transfer_to must name another, active person"
    if receiver not in people:
        return f"unknown person {receiver!r} (not in any people file): transfer_to must name another, active person"
    if people[receiver][2].get("status") == "departed":
        return f"{receiver!r} is departed: transfer_to must name another, active person"
    return None


def _settings_source(by_kind, key):
    """``(file, key path)`` of the settings file that sets ``key`` last (the one that wins), or None."""
    source = None
    for path, content in by_kind["settings"]:
        if isinstance(content, dict) and key in content:
            source = (path, f"settings.{key}")
    return source


def semantic_problems(documents, passwords=None):
    """Cross-file checks that a schema cannot express.

    ``passwords`` maps a password variable name to its value when known (vault resolved on the
    controller, or a plain vault template); unknown or placeholder values are not policy-checked.
    """
    passwords = passwords or {}
    problems = []
    by_kind = collect(documents)
    settings = settings_of(by_kind)

    people = {}
    for path, entries in by_kind["people"]:
        for i, person in enumerate(entries or []):
            name = person.get("omename")
            if name in people:
                problems.append(Problem(path, f"people[{i}].omename",
                                        f"duplicate omename {name!r} (first defined in {people[name][0]})"))
                continue
            people[name] = (path, i, person)
            builtin = _builtin_user_problem(name)
            if builtin:
                problems.append(Problem(path, f"people[{i}].omename", builtin))
            builtin = _builtin_group_problem(person.get("default_group"))
            if builtin:
                problems.append(Problem(path, f"people[{i}].default_group", builtin))
            if name and name.startswith(settings["deactivated_prefix"]):
                problems.append(Problem(path, f"people[{i}].omename",
                                        "{!r} uses the reserved deactivated-account prefix {!r}".format(name, settings["deactivated_prefix"])))
            var = person.get("password_var")
            if var is not None and var in passwords and not is_placeholder(passwords[var]):
                failures = password_problems(passwords[var])
                if failures:
                    problems.append(Problem(path, f"people[{i}].password_var",
                                            "password in {} fails the policy: {}".format(var, ", ".join(failures))))
            if person.get("delete_data") and person.get("status") != "departed":
                problems.append(Problem(path, f"people[{i}].delete_data", "only allowed for a departed person"))
    if not by_kind["people"]:
        problems.append(Problem("accounts", "people", "no people file (a file with a top-level 'people' list)"))
    # A departed person's data goes to another, active person (never to themselves, a departed
    # person, nobody or a built-in account).
    for name, (path, i, person) in people.items():
        if person.get("transfer_to") is not None:
            why = _transfer_problem(name, person["transfer_to"], people)
            if why:
                problems.append(Problem(path, f"people[{i}].transfer_to", why))

    def check_person(path, key, name, must_be_active=False):
        builtin = _builtin_user_problem(name)
        if builtin:
            problems.append(Problem(path, key, builtin))
            return False
        if name not in people:
            problems.append(Problem(path, key, f"unknown person {name!r} (not in any people file)"))
            return False
        if must_be_active and people[name][2].get("status") == "departed":
            problems.append(Problem(path, key, f"{name!r} is departed and cannot hold this role"))
            return False
        return True

    group_names = {}

    def claim_group(path, key, name):
        builtin = _builtin_group_problem(name)
        if builtin:
            problems.append(Problem(path, key, builtin))
        elif name in group_names:
            problems.append(Problem(path, key, f"group name {name!r} already used in {group_names[name]}"))
        else:
            group_names[name] = path

    for special in ("deactivated_group", "referents_group"):
        builtin = _builtin_group_problem(settings[special])
        if builtin:
            problems.append(Problem(*(_settings_source(by_kind, special) or ("accounts", f"settings.{special}")), builtin))
        group_names[settings[special]] = f"settings ({special})"

    for path, team in by_kind["team"]:
        if not isinstance(team, dict):
            continue
        if not team.get("leader"):
            problems.append(Problem(path, "team.leader", "missing leader: every team needs a leader"))
        else:
            check_person(path, "team.leader", team["leader"], must_be_active=True)
        claim_group(path, "team.name", team.get("name"))
        claim_group(path, "team.name", "{}{}".format(team.get("name"), settings["collaboration_suffix"]))
        for field in ("members", "facility_staff", "external_collaborators"):
            for i, name in enumerate(team.get(field) or []):
                check_person(path, f"team.{field}[{i}]", name)
        extra = team.get("collaboration_groups") or []
        if len(extra) > MAX_EXTRA_COLLABORATION_GROUPS:
            problems.append(Problem(path, "team.collaboration_groups",
                                    f"{len(extra)} extra collaboration groups, at most {MAX_EXTRA_COLLABORATION_GROUPS} allowed"))
        for i, group in enumerate(extra):
            claim_group(path, f"team.collaboration_groups[{i}].name", group.get("name"))
            for field in ("owners", "members"):
                for j, name in enumerate(group.get(field) or []):
                    check_person(path, f"team.collaboration_groups[{i}].{field}[{j}]", name)

    for path, ref in by_kind["referents"]:
        for i, name in enumerate(ref.get("members") or []):
            check_person(path, f"referents.members[{i}]", name, must_be_active=True)
    for path, pub in by_kind["public_group"]:
        claim_group(path, "public_group.name", pub.get("name"))
        for field in ("owners", "members"):
            for i, name in enumerate(pub.get(field) or []):
                check_person(path, f"public_group.{field}[{i}]", name)
    for path, groups in by_kind["external_groups"]:
        for i, group in enumerate(groups or []):
            claim_group(path, f"external_groups[{i}].name", group.get("name"))
            created, expires = _parse_date(group.get("created")), _parse_date(group.get("expires"))
            if created is None:
                problems.append(Problem(path, f"external_groups[{i}].created", "not a date (YYYY-MM-DD)"))
            if expires is None:
                problems.append(Problem(path, f"external_groups[{i}].expires", "not a date (YYYY-MM-DD)"))
            if created and expires:
                if expires <= created:
                    problems.append(Problem(path, f"external_groups[{i}].expires", "expires on or before its creation date"))
                elif expires > _add_month(created):
                    problems.append(Problem(path, f"external_groups[{i}].expires",
                                            f"lifetime over one month (created {created}, expires {expires}, latest allowed {_add_month(created)})"))
            quota = group.get("quota_gb")
            if isinstance(quota, (int, float)) and quota > settings["external_quota_gb_max"]:
                problems.append(Problem(path, f"external_groups[{i}].quota_gb",
                                        "quota {} GB over the {} GB maximum".format(quota, settings["external_quota_gb_max"])))
            for field in ("owners", "members"):
                for j, name in enumerate(group.get(field) or []):
                    check_person(path, f"external_groups[{i}].{field}[{j}]", name)

    # Lifecycle: a departed person's data needs a receiver unless it is explicitly deleted.
    if not problems:
        try:
            expanded = expand(documents)
        except ValueError as exc:  # defensive: expand raises only on inconsistent input
            problems.append(Problem("accounts", "(expand)", str(exc)))
            return problems
        for dep in expanded["departed"]:
            path, i, _person = people[dep["omename"]]
            if not dep["delete_data"] and not dep["transfer_to"] and not dep["leaders"]:
                problems.append(Problem(path, f"people[{i}]",
                                        "departed person {!r} is in no team: set transfer_to (a leader) or delete_data: true".format(dep["omename"])))
        for user in expanded["users"]:
            if not user["groups"]:
                path, i, _person = people[user["omename"]]
                problems.append(Problem(path, f"people[{i}]",
                                        "active person {!r} belongs to no group (add them to a team, or mark them departed)".format(user["omename"])))
    return problems


def validate_inventory(inventory_dir, yaml_module, jsonschema_module, schema, passwords=None):
    """Load and validate; returns ``(documents, problems)``."""
    documents, problems = load_inventory(inventory_dir, yaml_module)
    problems.extend(schema_problems(documents, schema, jsonschema_module))
    if not problems:
        problems.extend(semantic_problems(documents, passwords))
    return documents, problems


def password_vars(documents):
    """Names of the vault variables the people files reference."""
    names = set()
    for _path, entries in collect(documents)["people"]:
        for person in entries or []:
            if isinstance(person, dict) and person.get("password_var"):
                names.add(person["password_var"])
    return sorted(names)


# --------------------------------------------------------------------------------------------------
# Expansion: the DMP's model -> desired groups and users
# --------------------------------------------------------------------------------------------------

def expand(documents, today=None):
    """Expand validated documents into the desired state.

    Returns ``{"groups": [...], "users": [...], "departed": [...], "settings": {...},
    "reports": {...}}``; groups and users are sorted by name so the output is stable.
    """
    by_kind = collect(documents)
    settings = settings_of(by_kind)
    people = {}
    for _path, entries in by_kind["people"]:
        for person in entries or []:
            people.setdefault(person["omename"], person)
    active = {n for n, p in people.items() if p.get("status", "active") == "active"}

    groups = {}
    memberships = {}  # omename -> ordered list of group names (first = preferred default)
    leaders_of = {}  # omename -> leaders of the teams listing them

    def add_group(name, permissions, description, owners, members, leader=None, allow_downgrade=False):
        owners = [o for o in owners if o in active]
        members = sorted({m for m in members if m in active} | set(owners))
        groups[name] = {
            "name": name,
            "permissions": permissions,
            "description": description,
            "owners": sorted(set(owners)),
            "members": members,
            # DMP: a departed member's data in this group goes to this person and stays in the group.
            "leader": leader if leader in active else (owners[0] if owners else None),
            "allow_downgrade": bool(allow_downgrade),
        }
        return groups[name]

    def join(name, group):
        memberships.setdefault(name, [])
        if group not in memberships[name]:
            memberships[name].append(group)

    team_order = []
    for _path, team in by_kind["team"]:
        team_order.append(team)
    for team in team_order:
        name = team["name"]
        leader = team["leader"]
        members = [leader] + list(team.get("members") or [])
        staff = list(team.get("facility_staff") or [])
        externals = list(team.get("external_collaborators") or [])
        site = team.get("site", "")
        downgrade = bool(team.get("allow_downgrade", False))
        add_group(name, team.get("permissions", settings["team_permissions"]),
                  team.get("description") or f"Team {name} ({site})", [leader], members, leader, downgrade)
        collab = name + settings["collaboration_suffix"]
        add_group(collab, team.get("collaboration_permissions", settings["collaboration_permissions"]),
                  f"Collaboration group of team {name}", [leader], members + staff + externals, leader, downgrade)
        for extra in team.get("collaboration_groups") or []:
            add_group(extra["name"], extra.get("permissions", settings["collaboration_permissions"]),
                      extra.get("description") or f"Extra collaboration group of team {name}",
                      extra.get("owners") or [leader], [leader] + list(extra.get("members") or []), leader,
                      bool(extra.get("allow_downgrade", downgrade)))
        for person in members:
            leaders_of.setdefault(person, [])
            if leader not in leaders_of[person] and person != leader:
                leaders_of[person].append(leader)

    referents_members = []
    for _path, ref in by_kind["referents"]:
        referents_members.extend(ref.get("members") or [])
    add_group(settings["referents_group"], "private",
              "Referents: restricted administrators who manage groups and accounts", [], referents_members)
    parked = add_group(settings["deactivated_group"], "private",
                       "Deactivated accounts ({}<n>), kept for their audit trail".format(settings["deactivated_prefix"]), [], [])
    # Its members are the renamed accounts, managed by the departure steps, not listed anywhere.
    parked.update(members=None, owners=None)

    for _path, pub in by_kind["public_group"]:
        add_group(pub["name"], pub.get("permissions", "read-only"),
                  pub.get("description") or "Public data (Etalab 2.0 / CC-BY), read-only for everyone",
                  pub.get("owners") or [], list(pub.get("members") or []))

    reports = {"expired_external_groups": [], "external_groups": []}
    today = today or datetime.date.today()
    for _path, ext in by_kind["external_groups"]:
        for group in ext or []:
            add_group(group["name"], group.get("permissions", "read-annotate"),
                      group.get("description") or "External service group ({}), created {}, expires {}, quota {} GB".format(group.get("site", ""), group["created"], group["expires"], group.get("quota_gb", 100)),
                      group.get("owners") or [], list(group.get("members") or []),
                      allow_downgrade=bool(group.get("allow_downgrade", False)))
            info = {"name": group["name"], "created": group["created"], "expires": group["expires"],
                    "quota_gb": group.get("quota_gb", settings["external_quota_gb_max"])}
            reports["external_groups"].append(info)
            expires = _parse_date(group["expires"])
            if expires is not None and expires < today:
                reports["expired_external_groups"].append(info)

    for group in sorted(groups.values(), key=lambda g: _group_rank(g["name"], settings, team_order)):
        for member in group["members"] or []:
            join(member, group["name"])

    users = []
    departed = []
    for name in sorted(people):
        person = people[name]
        if name in active:
            groups_of = memberships.get(name, [])
            default = person.get("default_group") or (groups_of[0] if groups_of else None)
            is_referent = name in referents_members
            users.append({
                "omename": name,
                "first_name": person["first_name"],
                "last_name": person["last_name"],
                "email": person.get("email", ""),
                "institution": person.get("site", ""),
                "groups": sorted(groups_of),
                "default_group": default,
                "active": True,
                "admin": is_referent,
                "admin_privileges": sorted(settings["referent_privileges"]) if is_referent else None,
                "password_var": person.get("password_var"),
                # One-shot reset: a new value (e.g. the date of the request) resets the password once.
                "password_reset": str(person["password_reset"]) if person.get("password_reset") else None,
            })
        else:
            leaders = leaders_of.get(name, [])
            departed.append({
                "omename": name,
                # None: the data in each group goes to that group's leader (DMP); else all of it to this person.
                "transfer_to": person.get("transfer_to"),
                "leaders": leaders,
                "delete_data": bool(person.get("delete_data", False)),
            })
    transfers = []
    for _path, entries in by_kind["transfers"]:
        for t in entries or []:
            transfers.append({k: t[k] for k in ("id", "from", "to", "objects")})
    return {
        "groups": sorted(groups.values(), key=lambda g: g["name"]),
        "users": users,
        "departed": departed,
        # Ownership transfers (the DMP's online form), applied once each by omero_accounts.
        "transfers": transfers,
        "settings": {k: settings[k] for k in ("deactivated_group", "deactivated_prefix", "drift_policy",
                                              "new_accounts_ldap")},
        "reports": reports,
    }


def _group_rank(name, settings, teams):
    """Order in which a person's groups are considered for their default group: own team first."""
    team_names = [t["name"] for t in teams]
    if name in team_names:
        return (0, team_names.index(name), name)
    if name.endswith(settings["collaboration_suffix"]) and name[: -len(settings["collaboration_suffix"])] in team_names:
        return (1, 0, name)
    if name == settings["referents_group"]:
        return (3, 0, name)
    return (2, 0, name)


# --------------------------------------------------------------------------------------------------
# Plan: current + desired -> actions
# --------------------------------------------------------------------------------------------------
#
# Current state, as read by the client (plain data):
#   {"groups": {name: {"id", "name", "permissions": "rwra--", "description", "owners": [..], "members": [..]}},
#    "users": {omename: {"id", "omename", "first_name", "middle_name", "last_name", "email", "institution",
#                        "ldap", "groups": [default first, ...], "privileges": None | [..]}},
#    "caller": {"omename", "privileges": [..]},            # who the session acts as (optional)
#    "owned": {omename: {group name: {class: [ids]}}}}     # data of departing users (optional)
# ``privileges`` is None when it was not read (the client reads it only for admins it manages).

USER_FIELDS = ("first_name", "last_name", "email", "institution")


class PlanError(ValueError):
    """A change the real OMERO.server would refuse, found before anything is changed."""


def permissions_string(value):
    """'read-annotate' or 'rwra--' -> 'rwra--'."""
    if value in PERMISSIONS:
        return PERMISSIONS[value]
    if value in PERMISSION_NAMES:
        return value
    raise ValueError("unknown permission level {!r} (use one of {})".format(value, ", ".join(PERMISSIONS)))


def is_private_downgrade(before, after):
    """Chmod2I: only a readable group going to private runs the graph rules that delete cross-owner data."""
    return before[2] == "r" and after[2] != "r"


def next_deactivated_number(user_names, prefix):
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)$")
    numbers = [int(m.group(1)) for m in (pattern.match(n) for n in user_names) if m]
    return max(numbers) + 1 if numbers else 1


def transfer_problems(transfers, objects, users):
    """What the server contradicts in ``transfers``: unknown accounts, an inactive target, missing or
    foreign objects. ``objects`` maps ``"<Type>:<id>"`` to ``{"owner": omename}`` (as read from the
    server); ``users`` maps omename to ``{"active": bool}``."""
    problems = []
    for t in transfers:
        if t["from"] not in users:
            problems.append(f"transfer {t['id']}: account {t['from']!r} is not on the server")
        if t["to"] not in users or not users[t["to"]].get("active"):
            problems.append(f"transfer {t['id']}: target {t['to']!r} is not an active account on the server")
        for obj in t.get("objects") or []:
            if obj not in objects:
                problems.append(f"transfer {t['id']}: {obj} does not exist")
            elif objects[obj]["owner"] != t["from"]:
                problems.append(f"transfer {t['id']}: {obj} belongs to {objects[obj]['owner']!r}, not {t['from']!r}")
    return problems


def plan(current, groups=(), users=(), departed=(), settings=None, passwords_given=(), password_resets=(),
         transfers=()):
    """Compute the ordered list of actions that turns ``current`` into the desired state.

    ``groups`` items: name, permissions?, description?, owners?, members?, state (present|absent|exact),
    leader? (who receives a departed member's data in this group), allow_downgrade? (opt-in to a
    readable -> private change, which deletes other members' links and annotations).
    ``users`` items: omename, first_name?, last_name?, email?, institution?, groups?,
    groups_state (present|exact), default_group?, active?, admin?, admin_privileges?.
    ``departed`` items: omename, transfer_to (None: each group's leader), delete_data.
    ``passwords_given``: omenames for which a password is available (never the values).
    ``password_resets``: omenames whose password is to be reset once in this run.
    ``transfers``: ownership transfers not applied yet (id, from, to, objects "<Type>:<id>"); the
    objects' owners are in ``current["objects"]``.

    Order: groups are created and downgraded first; rights are taken away (owners, privileges,
    memberships) before they are given; a restricted administrator's privileges are written before
    they join ``system``; departures move or delete data before the account is parked. Raises
    ``PlanError`` naming the person or group and the server rule for any action the real server
    would refuse (``check_plan``).
    """
    settings = dict(DEFAULT_SETTINGS, **(settings or {}))
    actions = []
    cur_groups = current["groups"]
    cur_users = current["users"]
    passwords_given = set(passwords_given)
    departing = {d["omename"] for d in departed}
    for spec in list(users) + list(departed):
        if spec["omename"] in BUILTIN_USERS:
            raise PlanError(f"user {spec['omename']!r}: OMERO's built-in account is never managed by the inventory")
    for g in groups:
        if g["name"] in BUILTIN_GROUPS:
            raise PlanError(f"group {g['name']!r}: OMERO's built-in group is never managed by the inventory")

    # 1. Groups: create, permissions, description.
    for g in groups:
        name = g["name"]
        perms = permissions_string(g["permissions"]) if g.get("permissions") else None
        if g.get("state") == "absent":
            continue
        if name not in cur_groups:
            actions.append({"action": "create_group", "group": name,
                            "permissions": perms or PERMISSIONS["private"],
                            "description": g.get("description") or ""})
            continue
        cur = cur_groups[name]
        if perms and perms != cur["permissions"]:
            downgrade = is_private_downgrade(cur["permissions"], perms)
            if downgrade and not g.get("allow_downgrade"):
                raise PlanError(
                    "group {}: changing {} to private deletes every link, comment, rating, ROI and rendering setting "
                    "between different owners (Chmod2, blitz-chmod-rules.xml); it is opt-in: set "
                    "allow_downgrade: true for this group (check mode lists what would be deleted)".format(
                        name, PERMISSION_NAMES.get(cur["permissions"], cur["permissions"])))
            actions.append({"action": "chmod_group", "group": name, "before": cur["permissions"], "after": perms,
                            "downgrade": downgrade, "would_delete": None})
        if g.get("description") is not None and g["description"] != (cur.get("description") or ""):
            actions.append({"action": "update_group", "group": name,
                            "before": {"description": cur.get("description") or ""},
                            "after": {"description": g["description"]}})

    # 2. Membership wishes as (user, group) pairs, from the group side and from the user side.
    adds, removes = {}, {}

    def want(user, group, member):
        (adds if member else removes).setdefault(user, set()).add(group)

    def is_member(user, group):
        return user in cur_users and group in cur_users[user]["groups"]

    for g in groups:
        state = g.get("state", "present")
        if g.get("members") is None:
            continue
        listed = set(g["members"]) | (set(g.get("owners") or []) if state != "absent" else set())
        if state == "absent":
            for u in listed:
                if is_member(u, g["name"]):
                    want(u, g["name"], False)
            continue
        for u in listed:
            if not is_member(u, g["name"]):
                want(u, g["name"], True)
        if state == "exact" and g["name"] in cur_groups:
            for u in cur_groups[g["name"]]["members"]:
                if u not in listed:
                    want(u, g["name"], False)

    user_specs = {u["omename"]: u for u in users}
    for u in users:
        name = u["omename"]
        target = set(u.get("groups") or [])
        if u.get("default_group"):
            target.add(u["default_group"])
        if u.get("active") is True:
            target.add(USER_GROUP)
        for group in target:
            if not is_member(name, group):
                want(name, group, True)
        if name in cur_users:
            have = set(cur_users[name]["groups"])
            if u.get("active") is False and USER_GROUP in have:
                want(name, USER_GROUP, False)
            if u.get("admin") is False and SYSTEM_GROUP in have:
                want(name, SYSTEM_GROUP, False)
            if u.get("groups_state") == "exact":
                for group in have - target - set(BUILTIN_GROUPS):
                    want(name, group, False)
    # An explicit add wins over a removal implied by another spec.
    for user, groups_added in adds.items():
        if user in removes:
            removes[user] -= groups_added
    # Departing users are handled as a whole in step 6; system is joined only after the privileges are set.
    for name in departing:
        adds.pop(name, None)
        removes.pop(name, None)
    unknown = sorted(u for u in adds if u not in cur_users and u not in user_specs)
    if unknown:
        raise PlanError("unknown user(s) {}: not in OMERO and not in the users to create".format(", ".join(unknown)))

    # 3. Users: create (restricted administrators directly with their privileges) or update fields.
    for u in users:
        name = u["omename"]
        if name not in cur_users:
            groups_new = sorted(adds.pop(name, set()) - {SYSTEM_GROUP, USER_GROUP})
            default = u.get("default_group") or (groups_new[0] if groups_new else None)
            if default is None:
                raise PlanError(f"user {name!r}: a new user needs a default group (or at least one group)")
            if name not in passwords_given:
                raise PlanError(f"user {name!r}: a new account needs an initial password (set password_var in the "
                                "people file and its value in the vault); without one it could never log in")
            other = [g for g in groups_new if g != default]
            admin = bool(u.get("admin"))
            actions.append({"action": "create_user", "user": name,
                            "fields": {f: u.get(f) or "" for f in USER_FIELDS},
                            "default_group": default, "groups": other,
                            "active": u.get("active", True) is not False,
                            "admin_privileges": sorted(u["admin_privileges"]) if admin and u.get("admin_privileges") is not None else None,
                            "admin": admin, "ldap": bool(settings.get("new_accounts_ldap", False)), "password": True})
            continue
        cur = cur_users[name]
        changes = {}
        for field in USER_FIELDS:
            if u.get(field) is not None and u[field] != (cur.get(field) or ""):
                changes[field] = u[field]
        if changes:
            actions.append({"action": "update_user", "user": name,
                            "before": {f: cur.get(f) or "" for f in changes}, "after": changes})

    # 4. Rights taken away first: owners, then memberships that do not leave the person without a group.
    for g in groups:
        if g.get("owners") is None or g["name"] not in cur_groups:
            continue
        have = set(cur_groups[g["name"]]["owners"])
        listed = set(g["owners"])
        drop = sorted(have & listed) if g.get("state") == "absent" else (
            sorted(have - listed) if g.get("state") == "exact" else [])
        drop = [d for d in drop if d not in departing]
        if drop:
            actions.append({"action": "remove_group_owners", "group": g["name"], "users": drop})
    late_removes = {}
    for user in sorted(removes):
        if not removes[user]:
            continue
        left = set(cur_users[user]["groups"]) - removes[user] - {USER_GROUP, SYSTEM_GROUP}
        default = cur_users[user]["groups"][0] if cur_users[user]["groups"] else None
        if left and default not in removes[user]:
            actions.append({"action": "remove_groups", "user": user, "groups": sorted(removes[user])})
        else:  # the server needs another group (and default) first: remove after the adds
            late_removes[user] = removes[user]

    # 5. Privileges before system, then memberships given, defaults, owners, late removals, passwords.
    for u in users:
        name = u["omename"]
        if not (u.get("admin") and u.get("admin_privileges") is not None):
            continue
        want_privs = sorted(u["admin_privileges"])
        if name not in cur_users:
            continue
        have_privs = cur_users[name].get("privileges")
        in_system = SYSTEM_GROUP in cur_users[name]["groups"]
        if not in_system or have_privs is None or sorted(have_privs) != want_privs:
            actions.append({"action": "set_privileges", "user": name,
                            "before": sorted(have_privs) if (in_system and have_privs is not None) else None,
                            "after": want_privs})
        if not in_system:
            actions.append({"action": "add_groups", "user": name, "groups": [SYSTEM_GROUP]})
    for u in users:
        if u.get("admin") is True and u.get("admin_privileges") is None and u["omename"] in cur_users \
                and SYSTEM_GROUP not in cur_users[u["omename"]]["groups"]:
            actions.append({"action": "add_groups", "user": u["omename"], "groups": [SYSTEM_GROUP]})
    for user in sorted(adds):
        groups_added = sorted(adds[user] - {SYSTEM_GROUP})
        if groups_added:
            actions.append({"action": "add_groups", "user": user, "groups": groups_added})
    for u in users:
        name = u["omename"]
        if name in cur_users and u.get("default_group"):
            cur_default = cur_users[name]["groups"][0] if cur_users[name]["groups"] else None
            if cur_default != u["default_group"]:
                actions.append({"action": "set_default_group", "user": name,
                                "before": cur_default, "after": u["default_group"]})
    for g in groups:
        if g.get("owners") is None or g.get("state") == "absent":
            continue
        have = set(cur_groups[g["name"]]["owners"]) if g["name"] in cur_groups else set()
        add = sorted(set(g["owners"]) - have)
        if add:
            actions.append({"action": "add_group_owners", "group": g["name"], "users": add})
    for user in sorted(late_removes):
        actions.append({"action": "remove_groups", "user": user, "groups": sorted(late_removes[user])})
    for u in users:
        name = u["omename"]
        if name in cur_users and name in set(password_resets):
            if name not in passwords_given:
                raise PlanError(f"user {name!r}: password_reset is set but the vault has no password for them")
            actions.append({"action": "change_password", "user": name})

    # 6. Ownership transfers asked for in the inventory (before departures: the rest then follows).
    if transfers:
        active = {n: {"active": USER_GROUP in u["groups"]} for n, u in cur_users.items()}
        problems = transfer_problems(transfers, current.get("objects") or {}, active)
        if problems:
            raise PlanError("; ".join(problems))
        for t in transfers:
            targets = {}
            for obj in t["objects"]:
                kind, oid = obj.split(":")
                targets.setdefault(kind, []).append(int(oid))
            actions.append({"action": "transfer_objects", "id": t["id"], "user": t["from"], "to": t["to"],
                            "targets": _sorted_targets(targets), "would_delete": None})

    # 7. Departures: each group's data to that group's leader (or transfer_to) or deleted, then parking.
    desired_groups = {g["name"]: g for g in groups}
    owned = current.get("owned") or {}
    names = set(cur_users)
    for d in departed:
        name = d["omename"]
        if name not in cur_users:
            continue  # already deactivated (renamed) or never created
        data = owned.get(name) or {}
        if d.get("delete_data"):
            if data:
                targets = {}
                for per_class in data.values():
                    for kind, ids in per_class.items():
                        targets.setdefault(kind, []).extend(ids)
                actions.append({"action": "delete_data", "user": name, "targets": _sorted_targets(targets),
                                "groups": sorted(data), "would_delete": None})
        else:
            for group_name in sorted(data):
                to = d.get("transfer_to") or (desired_groups.get(group_name) or {}).get("leader")
                if not to:
                    raise PlanError(f"departed user {name!r} owns data in group {group_name!r}, which has no leader in "
                                    "the inventory: set transfer_to (an active person) or delete_data: true")
                if to == name:
                    raise PlanError(f"departed user {name!r}: their data cannot be transferred to themselves "
                                    f"(group {group_name!r})")
                actions.append({"action": "transfer_data", "user": name, "group": group_name, "to": to,
                                "targets": _sorted_targets(data[group_name]), "would_delete": None})
        parked = settings["deactivated_group"]
        number = next_deactivated_number(names, settings["deactivated_prefix"])
        new_name = f"{settings['deactivated_prefix']}{number}"
        names.add(new_name)
        if parked not in cur_users[name]["groups"]:
            actions.append({"action": "add_groups", "user": name, "groups": [parked]})
        if not cur_users[name]["groups"] or cur_users[name]["groups"][0] != parked:
            actions.append({"action": "set_default_group", "user": name,
                            "before": cur_users[name]["groups"][0] if cur_users[name]["groups"] else None,
                            "after": parked})
        others = sorted(set(cur_users[name]["groups"]) - {parked})
        if others:
            actions.append({"action": "remove_groups", "user": name, "groups": others})
        actions.append({"action": "rename_user", "user": name, "to": new_name,
                        "fields": {"first_name": settings["deactivated_prefix"].rstrip("_") or new_name,
                                   "last_name": str(number), "email": "", "institution": ""}})
    check_plan(current, actions, desired_groups)
    return actions


def _sorted_targets(targets):
    return {kind: sorted(ids) for kind, ids in sorted(targets.items()) if ids}


# --------------------------------------------------------------------------------------------------
# Plan-time checks: the real server's refusals, so that nothing is changed before a run would fail
# --------------------------------------------------------------------------------------------------

def check_plan(current, actions, desired_groups=None):
    """Walk ``actions`` over a copy of ``current`` and raise ``PlanError`` where the real server refuses one.

    Rules (ome/omero-server AdminImpl.java): a person is never left in no group or in ``user`` only
    (removeGroups); root and the session's own account never leave ``system``/``user`` (removeGroups);
    the default group is never ``user`` (setDefaultGroup); root and guest are never renamed
    (copyAndSaveExperimenter); a session never gives privileges it does not hold
    (assertNoPrivilegeElevation) and needs ModifyGroup, ModifyUser, ModifyGroupMembership, Chown or
    DeleteOwned for the matching actions (adminOrPiOfGroups, adminOfUser, Chown2I, Delete2I).
    """
    caller = current.get("caller")
    privileges = set(caller["privileges"]) if caller else set(ADMIN_PRIVILEGES)
    me = caller["omename"] if caller else None
    need = {"create_group": "ModifyGroup", "update_group": "ModifyGroup", "chmod_group": "ModifyGroup",
            "create_user": "ModifyUser", "update_user": "ModifyUser", "rename_user": "ModifyUser",
            "set_default_group": "ModifyUser", "change_password": "ModifyUser",
            "add_groups": "ModifyGroupMembership", "remove_groups": "ModifyGroupMembership",
            "add_group_owners": "ModifyGroupMembership", "remove_group_owners": "ModifyGroupMembership",
            "transfer_data": "Chown", "transfer_objects": "Chown", "delete_data": "DeleteOwned"}
    state = copy.deepcopy({"groups": current["groups"], "users": current["users"]})
    for a in actions:
        who = a.get("user") or a.get("group")
        privilege = need.get(a["action"])
        if privilege and privilege not in privileges:
            raise PlanError(f"{describe(a)}: the session's account {me!r} lacks the {privilege} privilege "
                            "(AdminImpl / graph request checks)")
        if a["action"] == "remove_groups":
            groups_left = [g for g in state["users"][who]["groups"] if g not in a["groups"]]
            if {SYSTEM_GROUP, USER_GROUP} & set(a["groups"]) and who == "root":
                raise PlanError("user 'root' may never leave the 'system' or 'user' group (AdminImpl.removeGroups)")
            if {SYSTEM_GROUP, USER_GROUP} & set(a["groups"]) and who == me:
                raise PlanError(f"user {who!r} runs this session and may not remove themselves from 'system' or "
                                "'user' (AdminImpl.removeGroups)")
            if not groups_left:
                raise PlanError(f"user {who!r} would be left in no group (AdminImpl.removeGroups)")
            if groups_left == [USER_GROUP]:
                raise PlanError(f"user {who!r} would be left in the 'user' group only, which OMERO refuses "
                                "(AdminImpl.removeGroups): give them another group in the inventory, or mark them departed")
        elif a["action"] == "set_default_group" and a["after"] == USER_GROUP or a["action"] == "create_user" and a["default_group"] == USER_GROUP:
            raise PlanError(f"user {who!r}: the default group can never be 'user' (AdminImpl.setDefaultGroup)")
        elif a["action"] == "rename_user" and (who in BUILTIN_USERS or a["to"] in BUILTIN_USERS):
            raise PlanError(f"user {who!r}: root and guest can never be renamed (AdminImpl.copyAndSaveExperimenter)")
        elif a["action"] == "set_privileges" or (a["action"] == "create_user" and a["admin"]):
            # A new administrator without a privilege list is a full one: every privilege.
            given = a["after"] if a["action"] == "set_privileges" else (a["admin_privileges"] or ADMIN_PRIVILEGES)
            extra = set(given) - privileges
            if extra:
                raise PlanError(f"user {who!r}: the session's account {me!r} cannot give privileges it does not hold: "
                                f"{', '.join(sorted(extra))} (AdminImpl.assertNoPrivilegeElevation)")
        elif a["action"] == "add_groups" and SYSTEM_GROUP in a["groups"]:
            granted = state["users"][who].get("privileges")
            if granted is None:
                granted = ADMIN_PRIVILEGES
            if set(granted) - privileges:
                raise PlanError(f"user {who!r}: joining 'system' would give privileges the session's account {me!r} "
                                "does not hold (AdminImpl.assertNoPrivilegeElevation)")
        elif a["action"] == "transfer_data":
            recipient_groups = state["users"].get(a["to"], {}).get("groups")
            if recipient_groups is None:
                raise PlanError(f"departed user {who!r}: recipient {a['to']!r} has no OMERO account")
            if a["group"] not in recipient_groups:
                raise PlanError(f"departed user {who!r}: recipient {a['to']!r} is not a member of group {a['group']!r}, "
                                "where the data stays (DMP: it stays accessible to that group)")
        state = simulate(state, [a])
    return state


# --------------------------------------------------------------------------------------------------
# Drift: changes made in OMERO (e.g. by referents in OMERO.web) are reported, not silently reverted
# --------------------------------------------------------------------------------------------------

def facts(view_state, skip_users=()):
    """Flatten a ``view`` into {fact: value}: memberships, ownerships, fields, permissions, privileges."""
    out = {}
    for name, g in view_state["groups"].items():
        out[("permissions", name)] = g["permissions"]
        out[("description", name)] = g["description"]
        for m in g["members"]:
            if m not in skip_users:
                out[("member", name, m)] = True
        for o in g["owners"]:
            if o not in skip_users:
                out[("owner", name, o)] = True
    for name, u in view_state["users"].items():
        if name in skip_users:
            continue
        for field in USER_FIELDS + ("default_group", "active", "admin"):
            out[("user", name, field)] = u.get(field)
        out[("user", name, "admin_privileges")] = u.get("admin_privileges")
    return out


def _fact_value(table, fact):
    return table.get(fact, False if fact[0] in ("member", "owner") else None)


def detect_drift(current_view, desired_view, last_view, skip_users=()):
    """Facts changed in OMERO since the last applied run that the inventory did not change.

    With no record of the last run (the first run with a state directory), only memberships and
    ownerships that the inventory would take away count as drift; everything else is applied.
    Returns a sorted list of {"fact", "omero", "inventory"}.
    """
    cur, want = facts(current_view, skip_users), facts(desired_view, skip_users)
    last = facts(last_view, skip_users) if last_view is not None else None
    drift = []
    for fact in sorted(set(cur) | set(want), key=repr):
        c, d = _fact_value(cur, fact), _fact_value(want, fact)
        if c == d:
            continue
        if last is not None:  # the inventory did not change this fact since the last run, OMERO did
            drifted = _fact_value(last, fact) == d
        else:  # first run: only what the inventory would take away (a membership, an ownership) counts
            drifted = fact[0] in ("member", "owner") and c is True
        if drifted:
            drift.append({"fact": list(fact), "omero": c, "inventory": d})
    return drift


def describe_drift(item):
    fact, c, d = item["fact"], item["omero"], item["inventory"]
    kind = fact[0]
    if kind == "member":
        return "drift: {} {} group {} in OMERO, not in the inventory".format(fact[2], "joined" if c else "left", fact[1])
    if kind == "owner":
        return "drift: {} {} owner of group {} in OMERO".format(fact[2], "was made" if c else "is no longer", fact[1])
    if kind in ("permissions", "description"):
        return f"drift: {kind} of group {fact[1]} changed in OMERO to {c!r} (inventory: {d!r})"
    return f"drift: {fact[2]} of user {fact[1]} changed in OMERO to {c!r} (inventory: {d!r})"


def keep_drift(groups, users, drift):
    """Desired specs with each drifted fact set to OMERO's value, so that the plan leaves it alone."""
    groups = {g["name"]: copy.deepcopy(g) for g in groups}
    users = {u["omename"]: copy.deepcopy(u) for u in users}
    for item in drift:
        fact, c = item["fact"], item["omero"]
        kind = fact[0]
        if kind in ("member", "owner") and fact[1] in groups:
            g = groups[fact[1]]
            key = "members" if kind == "member" else "owners"
            if g.get(key) is not None:
                g[key] = sorted(set(g[key]) | {fact[2]}) if c else [x for x in g[key] if x != fact[2]]
            if kind == "member" and not c:
                g["owners"] = [x for x in g.get("owners") or [] if x != fact[2]] if g.get("owners") is not None else None
                if fact[2] in users:
                    u = users[fact[2]]
                    u["groups"] = [x for x in u.get("groups") or [] if x != fact[1]]
                    if u.get("default_group") == fact[1]:
                        u["default_group"] = None
        elif kind in ("permissions", "description") and fact[1] in groups:
            groups[fact[1]][kind] = c
        elif kind == "user" and fact[1] in users:
            field = fact[2]
            users[fact[1]][field] = c
            if field == "admin_privileges" and c is None:
                users[fact[1]]["admin_privileges"] = None
    return list(groups.values()), list(users.values())


# --------------------------------------------------------------------------------------------------
# Simulation: apply actions to plain state (diff.after, tests, check mode)
# --------------------------------------------------------------------------------------------------

def simulate(current, actions):
    """Return the state ``actions`` produce from ``current`` (a deep copy; ids of new objects are None)."""
    state = copy.deepcopy({"groups": current["groups"], "users": current["users"]})
    groups, users = state["groups"], state["users"]

    def join(user, group):
        if group not in users[user]["groups"]:
            users[user]["groups"].append(group)
        if user not in groups.setdefault(group, _blank_group(group))["members"]:
            groups[group]["members"] = sorted(groups[group]["members"] + [user])

    def leave(user, group):
        if group in users[user]["groups"]:
            users[user]["groups"].remove(group)
        if group in groups:
            groups[group]["members"] = [m for m in groups[group]["members"] if m != user]
            groups[group]["owners"] = [m for m in groups[group]["owners"] if m != user]

    def fix_default(user):  # SimpleRoleProvider.fixDefaultGroup
        lst = users[user]["groups"]
        if len(lst) >= 2 and lst[0] == USER_GROUP:
            lst.insert(0, lst.pop(1))

    for a in actions:
        kind = a["action"]
        if kind == "create_group":
            groups[a["group"]] = dict(_blank_group(a["group"]), permissions=a["permissions"], description=a["description"])
        elif kind == "chmod_group":
            groups[a["group"]]["permissions"] = a["after"]
        elif kind == "update_group":
            groups[a["group"]].update(a["after"])
        elif kind == "create_user":
            users[a["user"]] = dict({"id": None, "omename": a["user"], "groups": [], "privileges": None,
                                     "middle_name": "", "ldap": a.get("ldap", False)}, **a["fields"])
            if a["admin"] and a["admin_privileges"] is not None:
                join(a["user"], SYSTEM_GROUP)
                join(a["user"], USER_GROUP)
                users[a["user"]]["privileges"] = a["admin_privileges"]
            join(a["user"], a["default_group"])
            for g in a["groups"]:
                join(a["user"], g)
            if a["admin"] and a["admin_privileges"] is None:
                join(a["user"], SYSTEM_GROUP)
                users[a["user"]]["privileges"] = list(ADMIN_PRIVILEGES)
            if a["active"]:
                join(a["user"], USER_GROUP)
            lst = users[a["user"]]["groups"]
            lst.remove(a["default_group"])
            lst.insert(0, a["default_group"])
            if not a["active"]:
                leave(a["user"], USER_GROUP)
        elif kind == "update_user":
            users[a["user"]].update(a["after"])
        elif kind == "add_groups":
            for g in a["groups"]:
                join(a["user"], g)
            if SYSTEM_GROUP in a["groups"] and users[a["user"]].get("privileges") is None:
                users[a["user"]]["privileges"] = list(ADMIN_PRIVILEGES)
            fix_default(a["user"])
        elif kind == "remove_groups":
            for g in a["groups"]:
                leave(a["user"], g)
            fix_default(a["user"])
        elif kind == "set_default_group":
            join(a["user"], a["after"])
            lst = users[a["user"]]["groups"]
            lst.remove(a["after"])
            lst.insert(0, a["after"])
        elif kind == "add_group_owners":
            for u in a["users"]:
                join(u, a["group"])
            groups[a["group"]]["owners"] = sorted(set(groups[a["group"]]["owners"]) | set(a["users"]))
        elif kind == "remove_group_owners":
            groups[a["group"]]["owners"] = sorted(set(groups[a["group"]]["owners"]) - set(a["users"]))
        elif kind == "set_privileges":
            users[a["user"]]["privileges"] = a["after"]
        elif kind == "rename_user":
            user = users.pop(a["user"])
            user.update(dict(a["fields"], omename=a["to"]))
            users[a["to"]] = user
            for g in groups.values():
                g["members"] = sorted(a["to"] if m == a["user"] else m for m in g["members"])
                g["owners"] = sorted(a["to"] if m == a["user"] else m for m in g["owners"])
        elif kind in ("change_password", "transfer_data", "transfer_objects", "delete_data"):
            pass  # no visible state in this model
        else:
            raise ValueError(f"unknown action {kind!r}")
    return state


def _blank_group(name):
    return {"id": None, "name": name, "permissions": PERMISSIONS["private"], "description": "", "owners": [], "members": []}


def view(state, group_names=None, user_names=None):
    """The part of ``state`` a diff shows: managed objects only, no ids, lists sorted, names for permissions."""
    out = {"groups": {}, "users": {}}
    for name, g in sorted(state["groups"].items()):
        if group_names is not None and name not in group_names:
            continue
        out["groups"][name] = {
            "permissions": PERMISSION_NAMES.get(g["permissions"], g["permissions"]),
            "description": g.get("description") or "",
            "owners": sorted(g["owners"]),
            "members": sorted(g["members"]),
        }
    for name, u in sorted(state["users"].items()):
        if user_names is not None and name not in user_names:
            continue
        entry = {f: u.get(f) or "" for f in USER_FIELDS}
        entry["groups"] = sorted(u["groups"])
        entry["default_group"] = u["groups"][0] if u["groups"] else None
        entry["active"] = USER_GROUP in u["groups"]
        entry["admin"] = SYSTEM_GROUP in u["groups"]
        if u.get("privileges") is not None and entry["admin"]:
            entry["admin_privileges"] = sorted(u["privileges"])
        out["users"][name] = entry
    return out


def _counts(by_type):
    return ", ".join(f"{len(ids)} {kind}" for kind, ids in sorted((by_type or {}).items())) or "nothing"


def describe(action):
    """One human line per action, for the module's ``actions`` result."""
    a = action
    kind = a["action"]
    if kind == "create_group":
        return "create group {} ({})".format(a["group"], PERMISSION_NAMES.get(a["permissions"], a["permissions"]))
    if kind == "chmod_group":
        line = "change permissions of group {} from {} to {}".format(
            a["group"], PERMISSION_NAMES.get(a["before"], a["before"]), PERMISSION_NAMES.get(a["after"], a["after"]))
        if a.get("downgrade"):
            line += " (allow_downgrade: deletes {})".format(_counts(a.get("would_delete")))
        return line
    if kind == "update_group":
        return "update description of group {}".format(a["group"])
    if kind == "create_user":
        return "create user {} in {}".format(a["user"], ", ".join([a["default_group"]] + a["groups"]))
    if kind == "update_user":
        return "update {} of user {}".format(", ".join(sorted(a["after"])), a["user"])
    if kind == "add_groups":
        return "add user {} to {}".format(a["user"], ", ".join(a["groups"]))
    if kind == "remove_groups":
        return "remove user {} from {}".format(a["user"], ", ".join(a["groups"]))
    if kind == "set_default_group":
        return "set default group of {} to {}".format(a["user"], a["after"])
    if kind == "add_group_owners":
        return "make {} owner(s) of {}".format(", ".join(a["users"]), a["group"])
    if kind == "remove_group_owners":
        return "remove {} as owner(s) of {}".format(", ".join(a["users"]), a["group"])
    if kind == "set_privileges":
        return "set admin privileges of {} to {}".format(a["user"], ", ".join(a["after"]))
    if kind == "change_password":
        return "set password of {}".format(a["user"])
    if kind == "transfer_data":
        line = "transfer data of {} in group {} to {} ({})".format(a["user"], a["group"], a["to"], _counts(a["targets"]))
        if a.get("would_delete"):
            line += "; the server deletes {}".format(_counts(a["would_delete"]))
        return line
    if kind == "transfer_objects":
        line = "transfer {} of {} to {} (transfer {})".format(
            ", ".join(f"{k}:{i}" for k, ids in sorted(a["targets"].items()) for i in ids), a["user"], a["to"], a["id"])
        if a.get("would_delete"):
            line += "; the server deletes {}".format(_counts(a["would_delete"]))
        return line
    if kind == "delete_data":
        return "delete data of {} in {} (delete_data: true): {}".format(
            a["user"], ", ".join(a["groups"]), _counts(a.get("would_delete") or a["targets"]))
    if kind == "rename_user":
        return "rename deactivated user {} to {}".format(a["user"], a["to"])
    return kind
