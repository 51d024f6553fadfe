#!/usr/bin/python
# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: OMERO groups, declaratively, in one session."""

DOCUMENTATION = r"""
---
module: omero_group
short_description: Manage OMERO groups (permissions, description, owners, members) in one session
description:
  - Takes a list of groups, opens B(one) omero-py session, reads every group and user in two bulk
    admin-service calls (C(lookupGroups), C(lookupExperimenters)), computes the change set and applies it
    unless in check mode.
  - Creates missing groups; changes the permission level of an existing group with a chmod request
    (C(omero.cmd.Chmod2)) submitted on the session; updates the description; adds or removes owners and
    members. Groups are identified by name and never renamed or deleted.
  - The members and owners lists follow O(state) (per group, or O(default_state)) - C(present) adds
    the listed people, C(absent) removes them, C(exact) also removes everyone not listed.
  - Users must already exist; use M(omero_user) or M(omero_accounts) to create them.
version_added: "1.0.0"
author:
  - omero-deploy authors
extends_documentation_fragment:
  - omero_connection
options:
  groups:
    description: Desired groups.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Group name (the identity of the group).
        type: str
        required: true
      permissions:
        description: Permission level; left alone when omitted (new groups are then private).
        type: str
        choices: [private, read-only, read-annotate, read-write]
      allow_downgrade:
        description:
          - Allow changing a readable group to V(private). The server then deletes every link, comment,
            rating, ROI and rendering setting between different owners in the group (Chmod2); without this
            option such a change is refused before anything is changed. Check mode lists what would be deleted.
        type: bool
        default: false
      description:
        description: Group description; left alone when omitted.
        type: str
      owners:
        description: Group owners (omenames); left alone when omitted.
        type: list
        elements: str
      members:
        description: Group members (omenames); owners are always members too. Left alone when omitted.
        type: list
        elements: str
      state:
        description: How O(groups[].members) and O(groups[].owners) apply; defaults to O(default_state).
        type: str
        choices: [present, absent, exact]
  default_state:
    description: O(groups[].state) for groups that do not set it.
    type: str
    choices: [present, absent, exact]
    default: present
notes:
  - One session per run; the no-change run costs two admin-service calls.
seealso:
  - module: omero_user
  - module: omero_accounts
"""

EXAMPLES = r"""
- name: Team group, read-annotate, led by its leader
  omero_group:
    admin_password: "{{ omero_server_root_password }}"
    groups:
      - name: brau
        permissions: read-annotate
        description: Team Brau (IPMC)
        owners: [fbrau]
        members: [fbrau, fbekkouche]
        state: exact
  no_log: true

- name: Take someone out of a group, leave everybody else
  omero_group:
    host: omero.example.org
    admin_password: "{{ omero_server_root_password }}"
    groups:
      - name: brau-collab
        members: [tkowalski]
        state: absent
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
  description: One line per change, in the order applied.
  returned: always
  type: list
  elements: str
  sample: ["create group brau (read-annotate)", "add user fbrau to brau"]
plan:
  description: The same changes as structured data (no passwords).
  returned: always
  type: list
  elements: dict
diff:
  description: The managed groups and their members before and after.
  returned: always
  type: dict
  contains:
    before:
      description: Managed groups (and users touched) before the run.
      type: dict
    after:
      description: Managed groups (and users touched) after the run.
      type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.omero_common import (
    PERMISSION_CHOICES,
    connection_argument_spec,
    reconcile,
)

STATES = ["present", "absent", "exact"]


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        groups={"type": "list", "elements": "dict", "required": True, "options": {
            "name": {"type": "str", "required": True},
            "permissions": {"type": "str", "choices": PERMISSION_CHOICES},
            "allow_downgrade": {"type": "bool", "default": False},
            "description": {"type": "str"},
            "owners": {"type": "list", "elements": "str"},
            "members": {"type": "list", "elements": "str"},
            "state": {"type": "str", "choices": STATES},
        }},
        default_state={"type": "str", "choices": STATES, "default": "present"},
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    groups = []
    for g in module.params["groups"]:
        groups.append(dict(g, state=g["state"] or module.params["default_state"]))
    reconcile(module, groups=groups)


if __name__ == "__main__":
    main()
