# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift layer: changes made in OMERO (e.g. by referents in OMERO.web) are reported, not silently reverted.

Pure Python, no omero import (module_utils/omero_accounts_base.py describes the layers).
"""

import copy

try:  # the validator, the governance runner and the tests: module_utils/ is on sys.path
    import omero_accounts_base as model_base
except ImportError:  # an Ansible module: AnsiballZ ships module_utils as ansible.module_utils.*
    from ansible.module_utils import omero_accounts_base as model_base


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
        for field in model_base.USER_FIELDS + ("default_group", "active", "admin"):
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
