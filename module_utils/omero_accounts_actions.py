# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan layer's actions: the state they produce (``simulate``, ``view``: diff.after, check mode,
tests) and one human line each (``describe``).

Pure Python, no omero import (module_utils/omero_accounts_base.py describes the layers).
"""

import copy

try:  # the validator, the governance runner and the tests: module_utils/ is on sys.path
    import omero_accounts_base as model_base
except ImportError:  # an Ansible module: AnsiballZ ships module_utils as ansible.module_utils.*
    from ansible.module_utils import omero_accounts_base as model_base


# --------------------------------------------------------------------------------------------------
# Simulation: apply actions to plain state (diff.after, tests, check mode)
# --------------------------------------------------------------------------------------------------

class _Simulation:
    """Plain state (groups and users) that actions are applied to, one method per kind of action."""

    def __init__(self, current):
        self.state = copy.deepcopy({"groups": current["groups"], "users": current["users"]})
        self.groups, self.users = self.state["groups"], self.state["users"]

    def join(self, user, group):
        users, groups = self.users, self.groups
        if group not in users[user]["groups"]:
            users[user]["groups"].append(group)
        if user not in groups.setdefault(group, blank_group(group))["members"]:
            groups[group]["members"] = sorted(groups[group]["members"] + [user])

    def leave(self, user, group):
        if group in self.users[user]["groups"]:
            self.users[user]["groups"].remove(group)
        if group in self.groups:
            g = self.groups[group]
            g["members"] = [m for m in g["members"] if m != user]
            g["owners"] = [m for m in g["owners"] if m != user]

    def fix_default(self, user):  # SimpleRoleProvider.fixDefaultGroup
        lst = self.users[user]["groups"]
        if len(lst) >= 2 and lst[0] == model_base.USER_GROUP:
            lst.insert(0, lst.pop(1))

    def make_default(self, user, group):
        lst = self.users[user]["groups"]
        lst.remove(group)
        lst.insert(0, group)

    def create_group(self, a):
        self.groups[a["group"]] = dict(blank_group(a["group"]), permissions=a["permissions"], description=a["description"],
                                       config=dict(a.get("config") or {}))

    def set_group_config(self, a):
        self.groups[a["group"]]["config"] = dict(self.groups[a["group"]].get("config") or {}, **a["after"])

    def chmod_group(self, a):
        self.groups[a["group"]]["permissions"] = a["after"]

    def update_group(self, a):
        self.groups[a["group"]].update(a["after"])

    def create_user(self, a):
        user = a["user"]
        self.users[user] = dict({"id": None, "omename": user, "groups": [], "privileges": None,
                                 "middle_name": "", "ldap": a.get("ldap", False)}, **a["fields"])
        if a["admin"] and a["admin_privileges"] is not None:
            self.join(user, model_base.SYSTEM_GROUP)
            self.join(user, model_base.USER_GROUP)
            self.users[user]["privileges"] = a["admin_privileges"]
        self.join(user, a["default_group"])
        for g in a["groups"]:
            self.join(user, g)
        if a["admin"] and a["admin_privileges"] is None:
            self.join(user, model_base.SYSTEM_GROUP)
            self.users[user]["privileges"] = list(model_base.ADMIN_PRIVILEGES)
        if a["active"]:
            self.join(user, model_base.USER_GROUP)
        self.make_default(user, a["default_group"])
        if not a["active"]:
            self.leave(user, model_base.USER_GROUP)

    def update_user(self, a):
        self.users[a["user"]].update(a["after"])

    def add_groups(self, a):
        for g in a["groups"]:
            self.join(a["user"], g)
        if model_base.SYSTEM_GROUP in a["groups"] and self.users[a["user"]].get("privileges") is None:
            self.users[a["user"]]["privileges"] = list(model_base.ADMIN_PRIVILEGES)
        self.fix_default(a["user"])

    def remove_groups(self, a):
        for g in a["groups"]:
            self.leave(a["user"], g)
        self.fix_default(a["user"])

    def set_default_group(self, a):
        self.join(a["user"], a["after"])
        self.make_default(a["user"], a["after"])

    def add_group_owners(self, a):
        for u in a["users"]:
            self.join(u, a["group"])
        self.groups[a["group"]]["owners"] = sorted(set(self.groups[a["group"]]["owners"]) | set(a["users"]))

    def remove_group_owners(self, a):
        self.groups[a["group"]]["owners"] = sorted(set(self.groups[a["group"]]["owners"]) - set(a["users"]))

    def set_privileges(self, a):
        self.users[a["user"]]["privileges"] = a["after"]

    def rename_user(self, a):
        user = self.users.pop(a["user"])
        user.update(dict(a["fields"], omename=a["to"]))
        self.users[a["to"]] = user
        for g in self.groups.values():
            g["members"] = sorted(a["to"] if m == a["user"] else m for m in g["members"])
            g["owners"] = sorted(a["to"] if m == a["user"] else m for m in g["owners"])

    def no_visible_state(self, a):
        """change_password, transfer_data, transfer_objects, delete_data: nothing this model shows."""

    def apply(self, a):
        kind = a["action"]
        if kind in ("change_password", "transfer_data", "transfer_objects", "delete_data"):
            kind = "no_visible_state"
        elif kind not in _SIMULATED:
            raise ValueError(f"unknown action {kind!r}")
        getattr(self, kind)(a)


_SIMULATED = ("create_group", "chmod_group", "update_group", "set_group_config", "create_user", "update_user", "add_groups",
              "remove_groups", "set_default_group", "add_group_owners", "remove_group_owners", "set_privileges",
              "rename_user")


def simulate(current, actions):
    """Return the state ``actions`` produce from ``current`` (a deep copy; ids of new objects are None)."""
    simulation = _Simulation(current)
    for a in actions:
        simulation.apply(a)
    return simulation.state


def blank_group(name):
    return {"id": None, "name": name, "permissions": model_base.PERMISSIONS["private"], "description": "", "owners": [], "members": []}


def view(state, group_names=None, user_names=None):
    """The part of ``state`` a diff shows: managed objects only, no ids, lists sorted, names for permissions."""
    out = {"groups": {}, "users": {}}
    for name, g in sorted(state["groups"].items()):
        if group_names is not None and name not in group_names:
            continue
        out["groups"][name] = {
            "permissions": model_base.PERMISSION_NAMES.get(g["permissions"], g["permissions"]),
            "description": g.get("description") or "",
            "owners": sorted(g["owners"]),
            "members": sorted(g["members"]),
        }
    for name, u in sorted(state["users"].items()):
        if user_names is not None and name not in user_names:
            continue
        entry = {f: u.get(f) or "" for f in model_base.USER_FIELDS}
        entry["groups"] = sorted(u["groups"])
        entry["default_group"] = u["groups"][0] if u["groups"] else None
        entry["active"] = model_base.USER_GROUP in u["groups"]
        entry["admin"] = model_base.SYSTEM_GROUP in u["groups"]
        if u.get("privileges") is not None and entry["admin"]:
            entry["admin_privileges"] = sorted(u["privileges"])
        out["users"][name] = entry
    return out


# --------------------------------------------------------------------------------------------------
# Description: one line per action
# --------------------------------------------------------------------------------------------------

def _counts(by_type):
    return ", ".join(f"{len(ids)} {kind}" for kind, ids in sorted((by_type or {}).items())) or "nothing"


def describe(action):
    """One human line per action, for the module's ``actions`` result."""
    a = action
    kind = a["action"]
    if kind == "create_group":
        line = "create group {} ({})".format(a["group"], model_base.PERMISSION_NAMES.get(a["permissions"], a["permissions"]))
        return line + "".join(f", {k}={v}" for k, v in sorted((a.get("config") or {}).items()))
    if kind == "chmod_group":
        line = "change permissions of group {} from {} to {}".format(
            a["group"], model_base.PERMISSION_NAMES.get(a["before"], a["before"]), model_base.PERMISSION_NAMES.get(a["after"], a["after"]))
        if a.get("downgrade"):
            line += " (allow_downgrade: deletes {})".format(_counts(a.get("would_delete")))
        return line
    if kind == "update_group":
        return "update description of group {}".format(a["group"])
    if kind == "set_group_config":
        return "set {} of group {}".format(", ".join(f"{k}={v}" for k, v in sorted(a["after"].items())), a["group"])
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
        return line + _transfer_notes(a)
    if kind == "transfer_objects":
        line = "transfer {} of {} to {} (transfer {})".format(
            ", ".join(f"{k}:{i}" for k, ids in sorted(a["targets"].items()) for i in ids), a["user"], a["to"], a["id"])
        return line + _transfer_notes(a)
    if kind == "delete_data":
        return "delete data of {} in {} (delete_data: true): {}".format(
            a["user"], ", ".join(a["groups"]), _counts(a.get("would_delete") or a["targets"]))
    if kind == "rename_user":
        return "rename deactivated user {} to {}".format(a["user"], a["to"]) + (a.get("kept") or "")
    return kind


def _transfer_notes(a):
    """What else a transfer does: what the server deletes, the links it cuts that are made again, the ROIs
    on others' images that the server cannot give (blitz-chown-rules.xml)."""
    notes = ""
    if a.get("would_delete"):
        notes += "; the server deletes {}".format(_counts(a["would_delete"]))
    relink = a.get("relink") or []
    if relink:
        kinds = {}
        for r in relink:
            kinds.setdefault(r["kind"], []).append(r["was"])
        notes += f"; the server cuts and this run re-creates {_counts(kinds)} (links to the data given)"
    if a.get("kept_rois"):
        notes += "; {} Roi on other owners' images stay with the renamed account (a read-only group: the server " \
                 "gives a ROI only with its image)".format(len(a["kept_rois"]))
    return notes
