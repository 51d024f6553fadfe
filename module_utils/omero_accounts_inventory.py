# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory layer: read ``<inventory>/accounts/**.yml`` and validate it (schema, then cross-file rules).

Problems are ``Problem(file, key_path, message)``, printed as ``<file>:<key path>: <message>``. Pure
Python, no omero import (module_utils/omero_accounts_base.py describes the layers).
"""

import datetime
import itertools
import os
import re
import stat

try:  # the validator, the governance runner and the tests: module_utils/ is on sys.path
    import omero_accounts_base as model_base
    import omero_accounts_expand as model_expand
    import omero_accounts_yaml as model_yaml
except ImportError:  # an Ansible module: AnsiballZ ships module_utils as ansible.module_utils.*
    from ansible.module_utils import omero_accounts_base as model_base
    from ansible.module_utils import omero_accounts_expand as model_expand
    from ansible.module_utils import omero_accounts_yaml as model_yaml


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------

# An accounts tree is read only within these bounds, so that any input is answered in seconds: a
# platform of a few thousand people and a few hundred teams needs a few hundred KB in a few hundred files.
MAX_TREE_BYTES = 1024 * 1024
MAX_TREE_ENTRIES = 2000
_TOO_BIG = "an accounts tree is read only up to {} (a platform of thousands of people needs a few hundred KB)"


def load_inventory(inventory_dir, yaml_module):
    """Read every ``accounts/**/*.yml`` under ``inventory_dir``.

    Returns ``(documents, problems)`` where ``documents`` maps the display path of each file
    (``<inventory_dir>/accounts/...``) to its parsed, date-normalised content. ``yaml_module`` is
    PyYAML (passed in so that this module has no hard dependency for the modules' sake). A file
    with a construct an accounts file never needs (``omero_accounts_yaml``: anchors, aliases, merge
    keys, tags, a key given twice...) is a problem per construct, and is not loaded. A tree over
    ``MAX_TREE_BYTES`` or ``MAX_TREE_ENTRIES`` is one problem, and nothing of it is parsed.
    """
    documents = {}
    accounts_dir = os.path.join(inventory_dir, "accounts")
    if not os.path.isdir(accounts_dir):
        return documents, [model_base.Problem(accounts_dir, "(directory)", "missing: the inventory has no accounts directory")]
    paths, problems = _accounts_files(accounts_dir)
    if problems:
        return documents, problems
    if not paths:
        problems.append(model_base.Problem(accounts_dir, "(directory)", "no .yml files"))
    for path in paths:
        data = _read_file(path, yaml_module, problems)
        if data is not None:
            documents[path] = data
    return documents, problems


def _accounts_files(accounts_dir):
    """``(paths, problems)``: the ``.yml``/``.yaml`` regular files under ``accounts_dir`` (sorted, each
    directory's files before its subdirectories'), or the one problem that stops the reading."""
    paths, sizes, entries = [], 0, 0
    pending = [accounts_dir]
    while pending:
        root = pending.pop()
        dirs, files = [], []
        try:
            with os.scandir(root) as scan:
                for entry in scan:
                    entries += 1
                    if entries > MAX_TREE_ENTRIES:
                        return [], [model_base.Problem(accounts_dir, "(directory)", "more than {} files and directories: {}".format(
                            MAX_TREE_ENTRIES, _TOO_BIG.format(f"{MAX_TREE_ENTRIES} entries")))]
                    if entry.is_dir(follow_symlinks=False):
                        dirs.append(entry.name)
                    elif entry.name.endswith((".yml", ".yaml")):
                        files.append(entry.name)
        except OSError as exc:
            return [], [model_base.Problem(root, "(directory)", f"cannot read: {exc.strerror}")]
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                info = os.stat(path)
            except OSError as exc:
                return [], [model_base.Problem(path, "(file)", f"cannot read: {exc.strerror}")]
            if not stat.S_ISREG(info.st_mode):
                return [], [model_base.Problem(path, "(file)", "not a regular file (a directory, device, pipe or broken link)")]
            sizes += info.st_size
            if sizes > MAX_TREE_BYTES:
                return [], [model_base.Problem(accounts_dir, "(directory)", "the .yml files hold more than {} bytes: {}".format(
                    MAX_TREE_BYTES, _TOO_BIG.format("1 MiB")))]
            paths.append(path)
        pending.extend(os.path.join(root, name) for name in sorted(dirs, reverse=True))
    return paths, []


def _read_file(path, yaml_module, problems):
    """The date-normalised content of one file (``{}`` when empty), or None after adding its problems."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_TREE_BYTES + 1)
        if len(raw) > MAX_TREE_BYTES:  # grew since it was listed
            problems.append(model_base.Problem(path, "(file)", f"more than {MAX_TREE_BYTES} bytes: " + _TOO_BIG.format("1 MiB")))
            return None
        text = raw.decode("utf-8")
        data, refused = model_yaml.load_yaml_strict(text, yaml_module)
    except UnicodeDecodeError as exc:
        problems.append(model_base.Problem(path, "(file)", f"not UTF-8 text: {exc}"))
        return None
    except yaml_module.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problems.append(model_base.Problem(path, "(file)", "malformed YAML{}: {}".format(where, getattr(exc, "problem", None) or exc)))
        return None
    except OSError as exc:
        problems.append(model_base.Problem(path, "(file)", f"cannot read: {exc.strerror}"))
        return None
    if refused:
        problems.extend(model_base.Problem(path, key, message) for key, message in refused)
        return None
    return {} if data is None else model_yaml.normalise(data)


def schema_problems(documents, schema, jsonschema_module):
    """Validate each document against the JSON schema (one top-level key per file kind).

    At most ``MAX_PROBLEMS`` problems per file (then one saying so), each message at most
    ``MAX_MESSAGE_CHARS`` long: a file of thousands of wrong entries is answered as fast as one.
    """
    problems = []
    schema = _inlined(schema, schema.get("$defs") or {})
    validator = _validator_class(schema, jsonschema_module)(schema)
    for path, data in sorted(documents.items()):
        if not isinstance(data, dict):
            problems.append(model_base.Problem(path, "(root)", f"must be a mapping, found {type(data).__name__}"))
            continue
        kinds = [k for k in model_base.KINDS if k in data]
        if len(kinds) != 1:
            problems.append(model_base.Problem(
                path, "(root)",
                "must have exactly one top-level key among {}, found {}".format(
                    ", ".join(model_base.KINDS), _shorten(", ".join(sorted(map(str, data)))) or "none")))
            continue
        errors = list(itertools.islice(validator.iter_errors(data), model_base.MAX_PROBLEMS + 1))
        for error in sorted(errors[:model_base.MAX_PROBLEMS], key=lambda e: [str(p) for p in e.absolute_path]):
            problems.append(model_base.Problem(path, model_yaml.key_path(list(error.absolute_path)), _shorten(_schema_message(error))))
        if len(errors) > model_base.MAX_PROBLEMS:
            problems.append(model_base.Problem(path, "(file)", f"more problems not shown (the first {model_base.MAX_PROBLEMS} are)"))
    return problems


def _validator_class(schema, jsonschema_module):
    """The schema's validator, made linear and cheap per item for large files (same answers).

    jsonschema compares the items of a list that cannot be sorted (mixed types) pairwise for
    ``uniqueItems``, which a list of a hundred thousand items turns into hours: here each item is
    reduced to a hashable form that keeps JSON equality (1 == 1.0, True != 1) and the first repeated
    one is named. A list of plain strings (names, ``<Type>:<id>``) is checked item by item with the
    schema's own pattern, and only an item that fails goes through jsonschema for its message.
    """
    base = jsonschema_module.validators.validator_for(schema)
    general_items = base.VALIDATORS["items"]

    def unique_items(validator, unique, instance, _schema):
        if not unique or not validator.is_type(instance, "array"):
            return
        seen = set()
        for item in instance:
            form = _hashable(item)
            if form in seen:
                yield jsonschema_module.ValidationError(f"{_shorten(repr(item))} is listed twice")
                return
            seen.add(form)

    def items(validator, items_schema, instance, schema):
        valid = _plain_string_check(items_schema)
        if valid is None or "prefixItems" in schema or not validator.is_type(instance, "array"):
            yield from general_items(validator, items_schema, instance, schema)
            return
        for index, item in enumerate(instance):
            if not valid(item):
                yield from validator.descend(item, items_schema, path=index)

    return jsonschema_module.validators.extend(base, {"uniqueItems": unique_items, "items": items})


_PLAIN_STRING_KEYS = {"type", "pattern", "minLength", "maxLength", "description"}


def _plain_string_check(subschema):
    """For ``{"type": "string", "pattern"?, "minLength"?, "maxLength"?}``, a function telling whether a
    value passes it (as jsonschema would: ``re.search``, lengths in characters); else None."""
    if not isinstance(subschema, dict) or subschema.get("type") != "string" or set(subschema) - _PLAIN_STRING_KEYS:
        return None
    pattern = re.compile(subschema["pattern"]) if "pattern" in subschema else None
    low, high = subschema.get("minLength", 0), subschema.get("maxLength")

    def valid(value):
        return (isinstance(value, str) and low <= len(value) and (high is None or len(value) <= high)
                and (pattern is None or pattern.search(value) is not None))
    return valid


def _inlined(node, defs, depth=0):
    """``node`` with each ``{"$ref": "#/$defs/<name>"}`` replaced by that definition (this schema's refs
    are not recursive): jsonschema resolves a reference on every item it checks otherwise."""
    if depth > 20:
        raise ValueError("the accounts schema's references nest too deep")
    if isinstance(node, dict):
        ref = node.get("$ref")
        if len(node) == 1 and isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in defs:
            return _inlined(defs[ref[8:]], defs, depth + 1)
        return {k: (v if k == "$defs" else _inlined(v, defs, depth + 1)) for k, v in node.items()}
    if isinstance(node, list):
        return [_inlined(v, defs, depth + 1) for v in node]
    return node


def _hashable(value):
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, dict):
        return ("object", frozenset((_hashable(k), _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("array", tuple(_hashable(v) for v in value))
    return (type(value).__name__, value)


MAX_MESSAGE_CHARS = 300


def _shorten(text):
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS] + f"... ({len(text)} characters)"


def _schema_message(error):
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown key(s)")
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    return error.message


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
    return _builtin_problem(name, model_base.BUILTIN_USERS, "account")


def _builtin_group_problem(name):
    return _builtin_problem(name, model_base.BUILTIN_GROUPS, "group")


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


class _Checks:
    """The cross-file checks of one inventory; each method adds what it finds to ``problems``."""

    def __init__(self, documents, passwords):
        self.documents = documents
        self.passwords = passwords
        self.by_kind = model_base.collect(documents)
        self.settings = model_base.settings_of(self.by_kind)
        self.problems = []
        self.people = {}  # omename -> (path, index, entry)
        self.group_names = {}  # group name -> where it is defined

    def add(self, path, key, message):
        self.problems.append(model_base.Problem(path, key, message))

    def people_files(self):
        for path, entries in self.by_kind["people"]:
            for i, person in enumerate(entries or []):
                name = person.get("omename")
                if name in self.people:
                    self.add(path, f"people[{i}].omename",
                             f"duplicate omename {name!r} (first defined in {self.people[name][0]})")
                    continue
                self.people[name] = (path, i, person)
                self.person(path, i, person)
        if not self.by_kind["people"]:
            self.add("accounts", "people", "no people file (a file with a top-level 'people' list)")

    def person(self, path, i, person):
        name = person.get("omename")
        builtin = _builtin_user_problem(name)
        if builtin:
            self.add(path, f"people[{i}].omename", builtin)
        builtin = _builtin_group_problem(person.get("default_group"))
        if builtin:
            self.add(path, f"people[{i}].default_group", builtin)
        prefix = self.settings["deactivated_prefix"]
        if name and name.startswith(prefix):
            self.add(path, f"people[{i}].omename", f"{name!r} uses the reserved deactivated-account prefix {prefix!r}")
        var = person.get("password_var")
        if var is not None and var in self.passwords and not model_base.is_placeholder(self.passwords[var]):
            failures = model_base.password_problems(self.passwords[var])
            if failures:
                self.add(path, f"people[{i}].password_var",
                         "password in {} fails the policy: {}".format(var, ", ".join(failures)))
        if person.get("delete_data") and person.get("status") != "departed":
            self.add(path, f"people[{i}].delete_data", "only allowed for a departed person")

    def transfer_targets(self):
        """A departed person's data goes to another, active person (never to themselves, a departed
        person, nobody or a built-in account)."""
        for name, (path, i, person) in self.people.items():
            if person.get("transfer_to") is not None:
                why = _transfer_problem(name, person["transfer_to"], self.people)
                if why:
                    self.add(path, f"people[{i}].transfer_to", why)

    def check_person(self, path, key, name, must_be_active=False):
        builtin = _builtin_user_problem(name)
        if builtin:
            self.add(path, key, builtin)
            return False
        if name not in self.people:
            self.add(path, key, f"unknown person {name!r} (not in any people file)")
            return False
        if must_be_active and self.people[name][2].get("status") == "departed":
            self.add(path, key, f"{name!r} is departed and cannot hold this role")
            return False
        return True

    def check_people(self, path, key, names):
        for i, name in enumerate(names or []):
            self.check_person(path, f"{key}[{i}]", name)

    def claim_group(self, path, key, name):
        builtin = _builtin_group_problem(name)
        if builtin:
            self.add(path, key, builtin)
        elif name in self.group_names:
            self.add(path, key, f"group name {name!r} already used in {self.group_names[name]}")
        else:
            self.group_names[name] = path

    def special_groups(self):
        for special in ("deactivated_group", "referents_group"):
            builtin = _builtin_group_problem(self.settings[special])
            if builtin:
                self.add(*(_settings_source(self.by_kind, special) or ("accounts", f"settings.{special}")), builtin)
            self.group_names[self.settings[special]] = f"settings ({special})"

    def team(self, path, team):
        if not team.get("leader"):
            self.add(path, "team.leader", "missing leader: every team needs a leader")
        else:
            self.check_person(path, "team.leader", team["leader"], must_be_active=True)
        self.claim_group(path, "team.name", team.get("name"))
        self.claim_group(path, "team.name", "{}{}".format(team.get("name"), self.settings["collaboration_suffix"]))
        for field in ("members", "facility_staff", "external_collaborators"):
            self.check_people(path, f"team.{field}", team.get(field))
        extra = team.get("collaboration_groups") or []
        if len(extra) > model_base.MAX_EXTRA_COLLABORATION_GROUPS:
            self.add(path, "team.collaboration_groups",
                     f"{len(extra)} extra collaboration groups, at most {model_base.MAX_EXTRA_COLLABORATION_GROUPS} allowed")
        for i, group in enumerate(extra):
            self.claim_group(path, f"team.collaboration_groups[{i}].name", group.get("name"))
            for field in ("owners", "members"):
                self.check_people(path, f"team.collaboration_groups[{i}].{field}", group.get(field))

    def referents(self, path, ref):
        for i, name in enumerate(ref.get("members") or []):
            self.check_person(path, f"referents.members[{i}]", name, must_be_active=True)

    def public_group(self, path, pub):
        self.claim_group(path, "public_group.name", pub.get("name"))
        for field in ("owners", "members"):
            self.check_people(path, f"public_group.{field}", pub.get(field))

    def external_group(self, path, i, group):
        key = f"external_groups[{i}]"
        self.claim_group(path, f"{key}.name", group.get("name"))
        created, expires = model_base.parse_date(group.get("created")), model_base.parse_date(group.get("expires"))
        if created is None:
            self.add(path, f"{key}.created", "not a date (YYYY-MM-DD)")
        if expires is None:
            self.add(path, f"{key}.expires", "not a date (YYYY-MM-DD)")
        if created and expires:
            if expires <= created:
                self.add(path, f"{key}.expires", "expires on or before its creation date")
            elif expires > _add_month(created) and group.get("billed") is not True:
                # DMP section 6: one month, unless the laboratory is billed for the time past it.
                self.add(path, f"{key}.expires",
                         f"lifetime over one month (created {created}, expires {expires}, latest allowed {_add_month(created)}); "
                         "a group used longer is billed: set billed: true")
        quota = group.get("quota_gb")
        if isinstance(quota, (int, float)) and quota > self.settings["external_quota_gb_max"]:
            self.add(path, f"{key}.quota_gb",
                     "quota {} GB over the {} GB maximum".format(quota, self.settings["external_quota_gb_max"]))
        for field in ("owners", "members"):
            self.check_people(path, f"{key}.{field}", group.get(field))

    def lifecycle(self):
        """A departed person's data needs a receiver unless it is explicitly deleted."""
        try:
            expanded = model_expand.expand(self.documents)
        except ValueError as exc:  # defensive: expand raises only on inconsistent input
            self.add("accounts", "(expand)", str(exc))
            return
        for dep in expanded["departed"]:
            path, i, _person = self.people[dep["omename"]]
            if not dep["delete_data"] and not dep["transfer_to"] and not dep["leaders"]:
                self.add(path, f"people[{i}]",
                         "departed person {!r} is in no team: set transfer_to (a leader) or delete_data: true".format(dep["omename"]))
        for user in expanded["users"]:
            if not user["groups"]:
                path, i, _person = self.people[user["omename"]]
                self.add(path, f"people[{i}]",
                         "active person {!r} belongs to no group (add them to a team, or mark them departed)".format(user["omename"]))


def semantic_problems(documents, passwords=None):
    """Cross-file checks that a schema cannot express.

    ``passwords`` maps a password variable name to its value when known (vault resolved on the
    controller, or a plain vault template); unknown or placeholder values are not policy-checked.
    """
    checks = _Checks(documents, passwords or {})
    checks.people_files()
    checks.transfer_targets()
    checks.special_groups()
    for path, team in checks.by_kind["team"]:
        if isinstance(team, dict):
            checks.team(path, team)
    for path, ref in checks.by_kind["referents"]:
        checks.referents(path, ref)
    for path, pub in checks.by_kind["public_group"]:
        checks.public_group(path, pub)
    for path, groups in checks.by_kind["external_groups"]:
        for i, group in enumerate(groups or []):
            checks.external_group(path, i, group)
    if not checks.problems:
        checks.lifecycle()
    return checks.problems


def validate_inventory(inventory_dir, yaml_module, jsonschema_module, schema, passwords=None):
    """Load and validate; returns ``(documents, problems)`` (at most ``MAX_PROBLEMS`` per file and stage)."""
    documents, problems = load_inventory(inventory_dir, yaml_module)
    problems.extend(schema_problems(documents, schema, jsonschema_module))
    if not problems:
        problems.extend(capped(semantic_problems(documents, passwords)))
    return documents, problems


def capped(problems):
    """``problems`` with at most ``MAX_PROBLEMS`` per file, then one per file saying how many more there are."""
    kept, counts = [], {}
    for problem in problems:
        counts[problem.file] = counts.get(problem.file, 0) + 1
        if counts[problem.file] <= model_base.MAX_PROBLEMS:
            kept.append(problem)
    kept.extend(model_base.Problem(file, "(file)", f"{count - model_base.MAX_PROBLEMS} more problem(s) not shown (the first {model_base.MAX_PROBLEMS} are)")
                for file, count in counts.items() if count > model_base.MAX_PROBLEMS)
    return kept


def password_vars(documents):
    """Names of the vault variables the people files reference."""
    names = set()
    for _path, entries in model_base.collect(documents)["people"]:
        for person in entries or []:
            if isinstance(person, dict) and person.get("password_var"):
                names.add(person["password_var"])
    return sorted(names)
