# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory layer's expansion: the DMP's model (teams, referents, public and external groups,
people) -> the desired groups, users, departures and transfers the plan works from.

Pure Python, no omero import (module_utils/omero_accounts_base.py describes the layers).
"""

import datetime

try:  # the validator, the governance runner and the tests: module_utils/ is on sys.path
    import omero_accounts_base as model_base
except ImportError:  # an Ansible module: AnsiballZ ships module_utils as ansible.module_utils.*
    from ansible.module_utils import omero_accounts_base as model_base

# The public group's own download policy (OMERO.server reads a group's ``config`` entry of this name:
# ome/omero-server src/main/java/ome/security/policy/BinaryAccessPolicy.java, groupRestrictions).
BINARY_ACCESS_KEY = "omero.policy.binary_access"
# "-read": only those who may edit an image (its owner, the group's owners, administrators) download its
# originals; everyone else - the public user, other members - is refused (BinaryAccessPolicy.isRestricted,
# "Example 1" of omero-server.properties). "+read,+write,+image": the server's default, spelled out.
PUBLIC_BINARY_ACCESS = {False: "-read", True: "+read,+write,+image"}


class _Desired:
    """The groups being built and who joins them."""

    def __init__(self, people, settings):
        self.settings = settings
        self.active = {n for n, p in people.items() if p.get("status", "active") == "active"}
        self.groups = {}
        self.memberships = {}  # omename -> ordered list of group names (first = preferred default)
        self.leaders_of = {}  # omename -> leaders of the teams listing them

    def add_group(self, name, permissions, description, owners, members, leader=None, allow_downgrade=False):
        owners = [o for o in owners if o in self.active]
        members = sorted({m for m in members if m in self.active} | set(owners))
        self.groups[name] = {
            "name": name,
            "permissions": permissions,
            "description": description,
            "owners": sorted(set(owners)),
            "members": members,
            # DMP: a departed member's data in this group goes to this person and stays in the group.
            "leader": leader if leader in self.active else (owners[0] if owners else None),
            "allow_downgrade": bool(allow_downgrade),
        }
        return self.groups[name]

    def join(self, name, group):
        self.memberships.setdefault(name, [])
        if group not in self.memberships[name]:
            self.memberships[name].append(group)

    def team(self, team):
        """A team's group, its collaboration group and its extra collaboration groups."""
        settings = self.settings
        name = team["name"]
        leader = team["leader"]
        members = [leader] + list(team.get("members") or [])
        staff = list(team.get("facility_staff") or [])
        externals = list(team.get("external_collaborators") or [])
        site = team.get("site", "")
        downgrade = bool(team.get("allow_downgrade", False))
        self.add_group(name, team.get("permissions", settings["team_permissions"]),
                       team.get("description") or f"Team {name} ({site})", [leader], members, leader, downgrade)
        collab = name + settings["collaboration_suffix"]
        self.add_group(collab, team.get("collaboration_permissions", settings["collaboration_permissions"]),
                       f"Collaboration group of team {name}", [leader], members + staff + externals, leader, downgrade)
        for extra in team.get("collaboration_groups") or []:
            self.add_group(extra["name"], extra.get("permissions", settings["collaboration_permissions"]),
                           extra.get("description") or f"Extra collaboration group of team {name}",
                           extra.get("owners") or [leader], [leader] + list(extra.get("members") or []), leader,
                           bool(extra.get("allow_downgrade", downgrade)))
        for person in members:
            self.leaders_of.setdefault(person, [])
            if leader not in self.leaders_of[person] and person != leader:
                self.leaders_of[person].append(leader)

    def special_groups(self, referents_members):
        """The referents' group and the group of deactivated accounts."""
        settings = self.settings
        self.add_group(settings["referents_group"], "private",
                       "Referents: restricted administrators who manage groups and accounts", [], referents_members)
        parked = self.add_group(settings["deactivated_group"], "private",
                                "Deactivated accounts ({}<n>), kept for their audit trail".format(settings["deactivated_prefix"]), [], [])
        # Its members are the renamed accounts, managed by the departure steps, not listed anywhere.
        parked.update(members=None, owners=None)

    def external_group(self, group, reports, today):
        settings = self.settings
        self.add_group(group["name"], group.get("permissions", "read-annotate"),
                       group.get("description") or "External service group ({}), created {}, expires {}, quota {} GB".format(group.get("site", ""), group["created"], group["expires"], group.get("quota_gb", 100)),
                       group.get("owners") or [], list(group.get("members") or []),
                       allow_downgrade=bool(group.get("allow_downgrade", False)))
        info = {"name": group["name"], "created": group["created"], "expires": group["expires"],
                "quota_gb": group.get("quota_gb", settings["external_quota_gb_max"])}
        reports["external_groups"].append(info)
        expires = model_base.parse_date(group["expires"])
        if expires is not None and expires < today:
            reports["expired_external_groups"].append(info)


def _user(name, person, groups_of, is_referent, settings):
    default = person.get("default_group") or (groups_of[0] if groups_of else None)
    return {
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
    }


def _departed(name, person, leaders):
    return {
        "omename": name,
        # None: the data in each group goes to that group's leader (DMP); else all of it to this person.
        "transfer_to": person.get("transfer_to"),
        "leaders": leaders,
        "delete_data": bool(person.get("delete_data", False)),
    }


def expand(documents, today=None, public_downloads=False):
    """Expand validated documents into the desired state.

    ``public_downloads``: whether anyone who sees the public group's images may download their original
    files (its ``config`` entry ``omero.policy.binary_access``; the web's public-user filter follows the
    same setting). Returns ``{"groups": [...], "users": [...], "departed": [...], "settings": {...},
    "reports": {...}}``; groups and users are sorted by name so the output is stable.
    """
    by_kind = model_base.collect(documents)
    settings = model_base.settings_of(by_kind)
    people = {}
    for _path, entries in by_kind["people"]:
        for person in entries or []:
            people.setdefault(person["omename"], person)
    desired = _Desired(people, settings)
    team_order = [team for _path, team in by_kind["team"]]
    for team in team_order:
        desired.team(team)
    referents_members = []
    for _path, ref in by_kind["referents"]:
        referents_members.extend(ref.get("members") or [])
    desired.special_groups(referents_members)
    for _path, pub in by_kind["public_group"]:
        desired.add_group(pub["name"], pub.get("permissions", "read-only"),
                          pub.get("description") or "Public data (Etalab 2.0 / CC-BY), read-only for everyone",
                          pub.get("owners") or [], list(pub.get("members") or []))
        desired.groups[pub["name"]]["config"] = {BINARY_ACCESS_KEY: PUBLIC_BINARY_ACCESS[bool(public_downloads)]}
    reports = {"expired_external_groups": [], "external_groups": []}
    today = today or datetime.date.today()
    for _path, ext in by_kind["external_groups"]:
        for group in ext or []:
            desired.external_group(group, reports, today)
    team_index = {}
    for i, team in enumerate(team_order):
        team_index.setdefault(team["name"], i)
    for group in sorted(desired.groups.values(), key=lambda g: _group_rank(g["name"], settings, team_index)):
        for member in group["members"] or []:
            desired.join(member, group["name"])
    referents = set(referents_members)
    users = [_user(name, people[name], desired.memberships.get(name, []), name in referents, settings)
             for name in sorted(people) if name in desired.active]
    departed = [_departed(name, people[name], desired.leaders_of.get(name, []))
                for name in sorted(people) if name not in desired.active]
    transfers = [{k: t[k] for k in ("id", "from", "to", "objects")}
                 for _path, entries in by_kind["transfers"] for t in entries or []]
    return {
        "groups": sorted(desired.groups.values(), key=lambda g: g["name"]),
        "users": users,
        "departed": departed,
        # Ownership transfers (the DMP's online form), applied once each by omero_accounts.
        "transfers": transfers,
        "settings": {k: settings[k] for k in ("deactivated_group", "deactivated_prefix", "drift_policy",
                                              "new_accounts_ldap")},
        "reports": reports,
    }


def _group_rank(name, settings, team_index):
    """Order in which a person's groups are considered for their default group: own team first.

    ``team_index`` maps each team's name to its place among the team files."""
    if name in team_index:
        return (0, team_index[name], name)
    if name.endswith(settings["collaboration_suffix"]) and name[: -len(settings["collaboration_suffix"])] in team_index:
        return (1, 0, name)
    if name == settings["referents_group"]:
        return (3, 0, name)
    return (2, 0, name)
