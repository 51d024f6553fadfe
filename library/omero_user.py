#!/usr/bin/python
# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: OMERO users, declaratively, in one session."""

DOCUMENTATION = r"""
---
module: omero_user
short_description: Manage OMERO users (names, e-mail, groups, restricted admin privileges, password) in one session
description:
  - Takes a list of users, opens B(one) omero-py session, reads every group and user in two bulk
    admin-service calls (C(lookupGroups), C(lookupExperimenters)) plus one C(getAdminPrivileges) per
    restricted administrator it manages, computes the change set and applies it unless in check mode.
  - Creates users with a password (C(createExperimenterWithPassword)), or restricted administrators
    (C(createRestrictedSystemUserWithPassword)) when O(users[].admin) is true and
    O(users[].admin_privileges) is given; updates names, e-mail and institution; adds and removes groups;
    sets the default group; sets restricted admin privileges (C(setAdminPrivileges)); deactivates a user
    (removes them from the system C(user) group, so they can no longer log in, keeping their data) and
    reactivates them; changes passwords (C(changeUserPassword)) according to O(update_password).
  - Passwords are never logged, never returned and never part of the diff.
  - Groups must exist; use M(omero_group) or M(omero_accounts) to create them.
version_added: "1.0.0"
author:
  - omero-deploy authors
extends_documentation_fragment:
  - omero_connection
options:
  users:
    description: Desired users. Fields that are omitted are left alone.
    type: list
    elements: dict
    required: true
    suboptions:
      omename:
        description: Login name (the identity of the user).
        type: str
        required: true
      first_name:
        description: First name (required by OMERO when the user is created).
        type: str
      last_name:
        description: Last name (required by OMERO when the user is created).
        type: str
      email:
        description: E-mail address.
        type: str
      institution:
        description: Site or laboratory.
        type: str
      groups:
        description: Groups the user is a member of (besides the system groups, see O(groups_state)).
        type: list
        elements: str
      default_group:
        description: Default group; a new user without one gets the first of O(users[].groups).
        type: str
      active:
        description:
          - V(true) keeps the user in the system C(user) group (may log in); V(false) removes them
            (deactivated, data kept). Left alone when omitted; new users are active unless V(false).
        type: bool
      admin:
        description:
          - V(true) makes the user an administrator (member of C(system)), restricted to
            O(users[].admin_privileges) when given; V(false) removes them from C(system). Left alone when omitted.
        type: bool
      admin_privileges:
        description: Privileges of a restricted administrator, e.g. ModifyUser, ModifyGroup, ModifyGroupMembership, Chown.
        type: list
        elements: str
        choices: [Chgrp, Chown, DeleteFile, DeleteManagedRepo, DeleteOwned, DeleteScriptRepo, ModifyGroup,
                  ModifyGroupMembership, ModifyUser, ReadSession, Sudo, WriteFile, WriteManagedRepo, WriteOwned,
                  WriteScriptRepo]
      password:
        description:
          - Initial password (from the vault). Used when the user is created, and on every run when
            O(update_password=always). Without it a new user has no password.
        type: str
  groups_state:
    description:
      - V(present) adds the listed groups; V(exact) also removes the user from any other non-system group.
    type: str
    choices: [present, exact]
    default: present
  update_password:
    description: V(on_create) sets the password only for new users; V(always) also resets it for existing ones (always reports a change).
    type: str
    choices: [on_create, always]
    default: on_create
seealso:
  - module: omero_group
  - module: omero_accounts
"""

EXAMPLES = r"""
- name: A researcher in their team groups
  omero_user:
    admin_password: "{{ omero_server_root_password }}"
    users:
      - omename: fbekkouche
        first_name: Faisal
        last_name: Bekkouche
        email: faisal.bekkouche@example.org
        institution: IPMC
        groups: [brau, brau-collab]
        default_group: brau
        active: true
        password: "{{ vault_omero_accounts_password_fbekkouche }}"
  no_log: true

- name: A referent, restricted administrator
  omero_user:
    admin_password: "{{ omero_server_root_password }}"
    users:
      - omename: mleroy
        groups: [referents, embrc-leroy]
        admin: true
        admin_privileges: [Chown, ModifyGroup, ModifyGroupMembership, ModifyUser, ReadSession]
  no_log: true

- name: Deactivate an account (it keeps its data)
  omero_user:
    admin_password: "{{ omero_server_root_password }}"
    users:
      - omename: pdubois
        active: false
  no_log: true
"""

RETURN = r"""
changed:
  description: Whether any change was made (or would be, in check mode).
  returned: always
  type: bool
progress:
  description: The steps of each graph request while it ran (see the omero_accounts module); also in the log.
  returned: always
  type: list
  elements: str
actions:
  description: One line per change, in the order applied. Never contains a password.
  returned: always
  type: list
  elements: str
  sample: ["create user fbekkouche in brau, brau-collab", "set admin privileges of mleroy to Chown, ModifyUser"]
plan:
  description: The same changes as structured data; C(password) is only a boolean.
  returned: always
  type: list
  elements: dict
diff:
  description: The managed users before and after (names, e-mail, groups, default group, active, admin, privileges).
  returned: always
  type: dict
  contains:
    before:
      description: Managed users before the run.
      type: dict
    after:
      description: Managed users after the run.
      type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.omero_accounts_base import ADMIN_PRIVILEGES
from ansible.module_utils.omero_common import connection_argument_spec, reconcile

USER_OPTIONS = {
    "omename": {"type": "str", "required": True},
    "first_name": {"type": "str"},
    "last_name": {"type": "str"},
    "email": {"type": "str"},
    "institution": {"type": "str"},
    "groups": {"type": "list", "elements": "str"},
    "default_group": {"type": "str"},
    "active": {"type": "bool"},
    "admin": {"type": "bool"},
    "admin_privileges": {"type": "list", "elements": "str", "choices": list(ADMIN_PRIVILEGES)},
    "password": {"type": "str", "no_log": True},
}


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        users={"type": "list", "elements": "dict", "required": True, "options": USER_OPTIONS},
        groups_state={"type": "str", "choices": ["present", "exact"], "default": "present"},
        update_password={"type": "str", "choices": ["on_create", "always"], "default": "on_create"},
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    users, passwords = [], {}
    for u in module.params["users"]:
        spec = {k: v for k, v in u.items() if k != "password"}
        spec["groups_state"] = module.params["groups_state"]
        users.append(spec)
        if u.get("password"):
            passwords[u["omename"]] = u["password"]
    reconcile(module, users=users, passwords=passwords, reset_all=module.params["update_password"] == "always")


if __name__ == "__main__":
    main()
