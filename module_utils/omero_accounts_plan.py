# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan layer: current state (as read from OMERO) + desired state -> ordered actions, checked
against the real server's refusals before anything changes.

``plan`` calls one small planner per kind of change, in the order the server needs; ``check_plan``
walks the actions over a copy of the state (``omero_accounts_actions.simulate``). Pure Python, no omero
import (module_utils/omero_accounts_base.py describes the layers).

Current state, as read by the client (plain data)::

  {"groups": {name: {"id", "name", "permissions": "rwra--", "description", "owners": [..], "members": [..]}},
   "users": {omename: {"id", "omename", "first_name", "middle_name", "last_name", "email", "institution",
                       "ldap", "groups": [default first, ...], "privileges": None | [..]}},
   "caller": {"omename", "privileges": [..]},            # who the session acts as (optional)
   "owned": {omename: {group name: {class: [ids]}}}}     # data of departing users (optional)

``privileges`` is None when it was not read (the client reads it only for admins it manages).
"""

import copy
import re

try:  # the validator, the governance runner and the tests: module_utils/ is on sys.path
    import omero_accounts_actions as model_actions
    import omero_accounts_base as model_base
    import omero_accounts_data as model_data
except ImportError:  # an Ansible module: AnsiballZ ships module_utils as ansible.module_utils.*
    from ansible.module_utils import omero_accounts_actions as model_actions
    from ansible.module_utils import omero_accounts_base as model_base
    from ansible.module_utils import omero_accounts_data as model_data


class PlanError(ValueError):
    """A change the real OMERO.server would refuse, found before anything is changed."""


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
    settings = dict(model_base.DEFAULT_SETTINGS, **(settings or {}))
    passwords_given = set(passwords_given)
    departing = {d["omename"] for d in departed}
    _refuse_builtins(groups, users, departed)
    actions = _plan_groups(groups, current["groups"])
    adds, removes = _membership_wishes(groups, users, current, departing)
    actions += _plan_users(users, current["users"], adds, passwords_given, settings)
    taken, late_removes = _plan_rights_taken(groups, current, removes, departing)
    actions += taken
    actions += _plan_admins(users, current["users"])
    actions += _plan_rights_given(groups, users, current, adds, late_removes)
    actions += _plan_passwords(users, current["users"], passwords_given, password_resets)
    actions += _plan_transfers(transfers, current)
    desired_groups = {g["name"]: g for g in groups}
    actions += _plan_departures(departed, current, desired_groups, settings)
    check_plan(current, actions, desired_groups)
    return actions


def _refuse_builtins(groups, users, departed):
    for spec in list(users) + list(departed):
        if spec["omename"] in model_base.BUILTIN_USERS:
            raise PlanError(f"user {spec['omename']!r}: OMERO's built-in account is never managed by the inventory")
    for g in groups:
        if g["name"] in model_base.BUILTIN_GROUPS:
            raise PlanError(f"group {g['name']!r}: OMERO's built-in group is never managed by the inventory")


# 1. Groups: create, permissions, description.

def _plan_groups(groups, cur_groups):
    actions = []
    for g in groups:
        name = g["name"]
        perms = model_base.permissions_string(g["permissions"]) if g.get("permissions") else None
        if g.get("state") == "absent":
            continue
        if name not in cur_groups:
            # SimpleRoleProvider.copyGroup: a new group takes its config from the object createGroup is given.
            actions.append({"action": "create_group", "group": name,
                            "permissions": perms or model_base.PERMISSIONS["private"],
                            "description": g.get("description") or "", "config": dict(g.get("config") or {})})
            continue
        actions.extend(_group_changes(g, cur_groups[name], perms))
        actions.extend(_group_config_changes(g, cur_groups[name]))
    return actions


def _group_config_changes(g, cur):
    """The group's own ``config`` entries the inventory manages (e.g. the public group's
    ``omero.policy.binary_access``); entries it does not name are left as they are."""
    have = cur.get("config") or {}
    changed = {k: v for k, v in sorted((g.get("config") or {}).items()) if have.get(k) != v}
    if not changed:
        return []
    return [{"action": "set_group_config", "group": g["name"],
             "before": {k: have.get(k) for k in changed}, "after": changed}]


def _group_changes(g, cur, perms):
    """Permissions (a readable -> private change only when opted in) and description of an existing group."""
    name = g["name"]
    actions = []
    if perms and perms != cur["permissions"]:
        downgrade = is_private_downgrade(cur["permissions"], perms)
        if downgrade and not g.get("allow_downgrade"):
            raise PlanError(
                "group {}: changing {} to private deletes every link, comment, rating, ROI and rendering setting "
                "between different owners (Chmod2, blitz-chmod-rules.xml); it is opt-in: set "
                "allow_downgrade: true for this group (check mode lists what would be deleted)".format(
                    name, model_base.PERMISSION_NAMES.get(cur["permissions"], cur["permissions"])))
        actions.append({"action": "chmod_group", "group": name, "before": cur["permissions"], "after": perms,
                        "downgrade": downgrade, "would_delete": None})
    if g.get("description") is not None and g["description"] != (cur.get("description") or ""):
        actions.append({"action": "update_group", "group": name,
                        "before": {"description": cur.get("description") or ""},
                        "after": {"description": g["description"]}})
    return actions


# 2. Membership wishes as (user, group) pairs, from the group side and from the user side.

class _Wishes:
    def __init__(self, cur_users, cur_groups):
        self.cur_users, self.cur_groups = cur_users, cur_groups
        self.adds, self.removes = {}, {}

    def want(self, user, group, member):
        (self.adds if member else self.removes).setdefault(user, set()).add(group)

    def is_member(self, user, group):
        return user in self.cur_users and group in self.cur_users[user]["groups"]

    def from_group(self, g):
        state = g.get("state", "present")
        if g.get("members") is None:
            return
        listed = set(g["members"]) | (set(g.get("owners") or []) if state != "absent" else set())
        if state == "absent":
            for u in listed:
                if self.is_member(u, g["name"]):
                    self.want(u, g["name"], False)
            return
        for u in listed:
            if not self.is_member(u, g["name"]):
                self.want(u, g["name"], True)
        if state == "exact" and g["name"] in self.cur_groups:
            for u in self.cur_groups[g["name"]]["members"]:
                if u not in listed:
                    self.want(u, g["name"], False)

    def from_user(self, u):
        name = u["omename"]
        target = set(u.get("groups") or [])
        if u.get("default_group"):
            target.add(u["default_group"])
        if u.get("active") is True:
            target.add(model_base.USER_GROUP)
        for group in target:
            if not self.is_member(name, group):
                self.want(name, group, True)
        if name in self.cur_users:
            have = set(self.cur_users[name]["groups"])
            if u.get("active") is False and model_base.USER_GROUP in have:
                self.want(name, model_base.USER_GROUP, False)
            if u.get("admin") is False and model_base.SYSTEM_GROUP in have:
                self.want(name, model_base.SYSTEM_GROUP, False)
            if u.get("groups_state") == "exact":
                for group in have - target - set(model_base.BUILTIN_GROUPS):
                    self.want(name, group, False)


def _membership_wishes(groups, users, current, departing):
    """``(adds, removes)``: omename -> set of groups to join or leave."""
    wishes = _Wishes(current["users"], current["groups"])
    for g in groups:
        wishes.from_group(g)
    for u in users:
        wishes.from_user(u)
    adds, removes = wishes.adds, wishes.removes
    # An explicit add wins over a removal implied by another spec.
    for user, groups_added in adds.items():
        if user in removes:
            removes[user] -= groups_added
    # Departing users are handled as a whole by _plan_departures; system is joined only after the privileges are set.
    for name in departing:
        adds.pop(name, None)
        removes.pop(name, None)
    user_specs = {u["omename"] for u in users}
    unknown = sorted(u for u in adds if u not in current["users"] and u not in user_specs)
    if unknown:
        raise PlanError("unknown user(s) {}: not in OMERO and not in the users to create".format(", ".join(unknown)))
    return adds, removes


# 3. Users: create (restricted administrators directly with their privileges) or update fields.

def _plan_users(users, cur_users, adds, passwords_given, settings):
    actions = []
    for u in users:
        name = u["omename"]
        if name not in cur_users:
            actions.append(_create_user(u, adds.pop(name, set()), passwords_given, settings))
            continue
        cur = cur_users[name]
        changes = {}
        for field in model_base.USER_FIELDS:
            if u.get(field) is not None and u[field] != (cur.get(field) or ""):
                changes[field] = u[field]
        if changes:
            actions.append({"action": "update_user", "user": name,
                            "before": {f: cur.get(f) or "" for f in changes}, "after": changes})
    return actions


def _create_user(u, groups_wanted, passwords_given, settings):
    name = u["omename"]
    groups_new = sorted(groups_wanted - {model_base.SYSTEM_GROUP, model_base.USER_GROUP})
    default = u.get("default_group") or (groups_new[0] if groups_new else None)
    if default is None:
        raise PlanError(f"user {name!r}: a new user needs a default group (or at least one group)")
    ldap = bool(settings.get("new_accounts_ldap", False))
    if name not in passwords_given and not ldap:  # an LDAP account's password is the directory's
        raise PlanError(f"user {name!r}: a new account needs an initial password (set password_var in the "
                        "people file and its value in the vault); without one it could never log in")
    other = [g for g in groups_new if g != default]
    admin = bool(u.get("admin"))
    return {"action": "create_user", "user": name,
            "fields": {f: u.get(f) or "" for f in model_base.USER_FIELDS},
            "default_group": default, "groups": other,
            "active": u.get("active", True) is not False,
            "admin_privileges": sorted(u["admin_privileges"]) if admin and u.get("admin_privileges") is not None else None,
            "admin": admin, "ldap": ldap, "password": not ldap}


# 4. Rights taken away first: owners, then memberships that do not leave the person without a group.

def _plan_rights_taken(groups, current, removes, departing):
    """Returns ``(actions, late_removes)``: removals the server accepts only after the adds come later."""
    cur_groups, cur_users = current["groups"], current["users"]
    actions = []
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
        left = set(cur_users[user]["groups"]) - removes[user] - {model_base.USER_GROUP, model_base.SYSTEM_GROUP}
        default = cur_users[user]["groups"][0] if cur_users[user]["groups"] else None
        if left and default not in removes[user]:
            actions.append({"action": "remove_groups", "user": user, "groups": sorted(removes[user])})
        else:  # the server needs another group (and default) first: remove after the adds
            late_removes[user] = removes[user]
    return actions, late_removes


# 5. Privileges before system, then memberships given, defaults, owners, late removals, passwords.

def _plan_admins(users, cur_users):
    actions = []
    for u in users:
        name = u["omename"]
        if not (u.get("admin") and u.get("admin_privileges") is not None) or name not in cur_users:
            continue
        want_privs = sorted(u["admin_privileges"])
        have_privs = cur_users[name].get("privileges")
        in_system = model_base.SYSTEM_GROUP in cur_users[name]["groups"]
        if not in_system or have_privs is None or sorted(have_privs) != want_privs:
            actions.append({"action": "set_privileges", "user": name,
                            "before": sorted(have_privs) if (in_system and have_privs is not None) else None,
                            "after": want_privs})
        if not in_system:
            actions.append({"action": "add_groups", "user": name, "groups": [model_base.SYSTEM_GROUP]})
    for u in users:
        if u.get("admin") is True and u.get("admin_privileges") is None and u["omename"] in cur_users \
                and model_base.SYSTEM_GROUP not in cur_users[u["omename"]]["groups"]:
            actions.append({"action": "add_groups", "user": u["omename"], "groups": [model_base.SYSTEM_GROUP]})
    return actions


def _plan_rights_given(groups, users, current, adds, late_removes):
    cur_groups, cur_users = current["groups"], current["users"]
    actions = []
    for user in sorted(adds):
        groups_added = sorted(adds[user] - {model_base.SYSTEM_GROUP})
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
    return actions


def _plan_passwords(users, cur_users, passwords_given, password_resets):
    resets = set(password_resets)
    actions = []
    for u in users:
        name = u["omename"]
        if name in cur_users and name in resets:
            if name not in passwords_given:
                raise PlanError(f"user {name!r}: password_reset is set but the vault has no password for them")
            if cur_users[name].get("ldap"):  # PasswordProviders.changePassword: the directory's password
                raise PlanError(f"user {name!r}: an LDAP account's password is changed in the directory, not in "
                                "OMERO (the password providers refuse it): remove password_reset")
            actions.append({"action": "change_password", "user": name})
    return actions


# 6. Ownership transfers asked for in the inventory (before departures: the rest then follows).

def _plan_transfers(transfers, current):
    if not transfers:
        return []
    active = {n: {"active": model_base.USER_GROUP in u["groups"]} for n, u in current["users"].items()}
    problems = transfer_problems(transfers, current.get("objects") or {}, active)
    if problems:
        raise PlanError("; ".join(problems))
    actions = []
    for t in transfers:
        targets = {}
        for obj in t["objects"]:
            kind, oid = obj.split(":")
            targets.setdefault(kind, []).append(int(oid))
        actions.append({"action": "transfer_objects", "id": t["id"], "user": t["from"], "to": t["to"],
                        "targets": model_data.sorted_targets(targets), "would_delete": None})
    return actions


# 7. Departures: each group's data to that group's leader (or transfer_to) or deleted, then parking.

def _plan_departures(departed, current, desired_groups, settings):
    cur_users = current["users"]
    owned = current.get("owned") or {}
    names = set(cur_users)
    actions = []
    for d in departed:
        name = d["omename"]
        if name not in cur_users:
            continue  # already deactivated (renamed) or never created
        data, shared = model_data.split_shared(owned.get(name) or {})
        actions.extend(_departure_data(d, data, shared, desired_groups, current))
        actions.extend(_park(name, cur_users[name], names, settings))
        actions[-1]["kept"] = model_data.kept_line(shared, bool(d.get("delete_data")))
    return actions


def _departure_data(d, data, shared, desired_groups, current):
    """Delete (``delete_data``) or transfer, group by group, what the departed person owns (omero_accounts_data:
    group ``user`` stays, ROIs on others' images)."""
    name = d["omename"]
    if d.get("delete_data"):
        targets = model_data.deletion_targets(data, shared)
        if not targets:
            return []
        return [{"action": "delete_data", "user": name, "targets": targets,
                 "groups": sorted(set(data) | ({model_base.USER_GROUP} if shared.get("Annotation") else set())),
                 "would_delete": None}]
    actions = []
    rois = (current.get("roi_images") or {}).get(name, {})
    for group_name in sorted(data):
        to = d.get("transfer_to") or (desired_groups.get(group_name) or {}).get("leader")
        if not to:
            raise PlanError(f"departed user {name!r} owns data in group {group_name!r}, which has no leader in "
                            "the inventory: set transfer_to (an active person) or delete_data: true")
        if to == name:
            raise PlanError(f"departed user {name!r}: their data cannot be transferred to themselves "
                            f"(group {group_name!r})")
        perms = (current["groups"].get(group_name) or {}).get("permissions", "rw----")
        targets, kept = model_data.transfer_targets(name, to, perms, data[group_name], rois)
        if targets:
            actions.append(dict({"action": "transfer_data", "user": name, "group": group_name, "to": to,
                                 "targets": targets, "would_delete": None}, **({"kept_rois": kept} if kept else {})))
    return actions


def _park(name, cur_user, names, settings):
    """The account joins the deactivated group (its default), leaves the others and is renamed
    ``<prefix><n>`` (``names``, the omenames taken, gets the new one)."""
    parked = settings["deactivated_group"]
    number = next_deactivated_number(names, settings["deactivated_prefix"])
    new_name = f"{settings['deactivated_prefix']}{number}"
    names.add(new_name)
    actions = []
    if parked not in cur_user["groups"]:
        actions.append({"action": "add_groups", "user": name, "groups": [parked]})
    if not cur_user["groups"] or cur_user["groups"][0] != parked:
        actions.append({"action": "set_default_group", "user": name,
                        "before": cur_user["groups"][0] if cur_user["groups"] else None,
                        "after": parked})
    others = sorted(set(cur_user["groups"]) - {parked})
    if others:
        actions.append({"action": "remove_groups", "user": name, "groups": others})
    actions.append({"action": "rename_user", "user": name, "to": new_name,
                    "fields": {"first_name": settings["deactivated_prefix"].rstrip("_") or new_name,
                               "last_name": str(number), "email": "", "institution": ""}})
    return actions


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
    privileges = set(caller["privileges"]) if caller else set(model_base.ADMIN_PRIVILEGES)
    me = caller["omename"] if caller else None
    # set_group_config: IUpdate on an ExperimenterGroup, a system type: BasicACLVoter.allowUpdate needs an
    # administrator holding ModifyGroup (a group owner may not).
    need = {"create_group": "ModifyGroup", "update_group": "ModifyGroup", "chmod_group": "ModifyGroup",
            "set_group_config": "ModifyGroup",
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
            raise PlanError(f"{model_actions.describe(a)}: the session's account {me!r} lacks the {privilege} privilege "
                            "(AdminImpl / graph request checks)")
        if a["action"] == "remove_groups":
            groups_left = [g for g in state["users"][who]["groups"] if g not in a["groups"]]
            if {model_base.SYSTEM_GROUP, model_base.USER_GROUP} & set(a["groups"]) and who == "root":
                raise PlanError("user 'root' may never leave the 'system' or 'user' group (AdminImpl.removeGroups)")
            if {model_base.SYSTEM_GROUP, model_base.USER_GROUP} & set(a["groups"]) and who == me:
                raise PlanError(f"user {who!r} runs this session and may not remove themselves from 'system' or "
                                "'user' (AdminImpl.removeGroups)")
            if not groups_left:
                raise PlanError(f"user {who!r} would be left in no group (AdminImpl.removeGroups)")
            if groups_left == [model_base.USER_GROUP]:
                raise PlanError(f"user {who!r} would be left in the 'user' group only, which OMERO refuses "
                                "(AdminImpl.removeGroups): give them another group in the inventory, or mark them departed")
        elif a["action"] == "set_default_group" and a["after"] == model_base.USER_GROUP or a["action"] == "create_user" and a["default_group"] == model_base.USER_GROUP:
            raise PlanError(f"user {who!r}: the default group can never be 'user' (AdminImpl.setDefaultGroup)")
        elif a["action"] == "rename_user" and (who in model_base.BUILTIN_USERS or a["to"] in model_base.BUILTIN_USERS):
            raise PlanError(f"user {who!r}: root and guest can never be renamed (AdminImpl.copyAndSaveExperimenter)")
        elif a["action"] == "set_privileges" or (a["action"] == "create_user" and a["admin"]):
            # A new administrator without a privilege list is a full one: every privilege.
            given = a["after"] if a["action"] == "set_privileges" else (a["admin_privileges"] or model_base.ADMIN_PRIVILEGES)
            extra = set(given) - privileges
            if extra:
                raise PlanError(f"user {who!r}: the session's account {me!r} cannot give privileges it does not hold: "
                                f"{', '.join(sorted(extra))} (AdminImpl.assertNoPrivilegeElevation)")
        elif a["action"] == "add_groups" and model_base.SYSTEM_GROUP in a["groups"]:
            granted = state["users"][who].get("privileges")
            if granted is None:
                granted = model_base.ADMIN_PRIVILEGES
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
        state = model_actions.simulate(state, [a])
    return state
