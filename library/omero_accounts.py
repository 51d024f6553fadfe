#!/usr/bin/python
# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: reconcile a whole accounts inventory (groups, users, departures) in one session."""

DOCUMENTATION = r"""
---
module: omero_accounts
short_description: Reconcile the whole declarative OMERO accounts model (groups, users, departures) in one session
description:
  - Applies the desired state that C(scripts/validate-inventory --expand) computes from
    C(inventories/<env>/accounts/) - team, collaboration, referents, public, external and deactivated-users
    groups, every active person, and every departed person - in B(one) omero-py session, acting with the
    privileges of O(admin_user) (root, or a referent - a restricted administrator).
  - Reads the current state in three bulk admin-service calls (C(lookupGroups), C(lookupExperimenters),
    C(getCurrentAdminPrivileges)) plus one C(getAdminPrivileges) per referent, so a run with nothing to change
    costs 3 + (number of referents) admin-service calls whatever the number of users and groups.
  - Every change the real OMERO.server would refuse is found B(before any change) and the run stops with a
    message naming the person or group and the rule - a person left in the C(user) group only, root or the
    session's own account leaving C(system)/C(user), C(user) as a default group, renaming root or guest,
    privileges the session does not hold, a new account without an initial password - then the graph
    requests of the plan are run with C(dryRun) (a refused ownership transfer stops the run there too).
  - Rights are taken away before they are given; a referent's privileges are written before they join
    C(system), so nobody is ever a full administrator by accident. A run that fails mid-way names the action
    that failed; the next run plans from what the server holds and converges.
  - Groups listed are managed with C(exact) membership and owners. A change to private of a readable group
    deletes links, comments, ratings, ROIs and rendering settings between different owners (Chmod2), so it is
    refused unless the group says C(allow_downgrade), and the plan then lists what the server would delete.
  - A departed person who still has an account gets their data in each group transferred to that group's
    leader (C(omero.cmd.Chown2) with the ids of everything they own in it, data stays in its group), or to
    C(transfer_to) when the inventory names one, or deleted (C(omero.cmd.Delete2) - containers, images, ROIs,
    files, tags and every other annotation and link they own) only when the inventory says
    C(delete_data) - true explicitly; the account is then moved to the deactivated-users group ("User
    desactives" by default), removed from every other group including C(user) (no more log-in) and renamed
    C(A_utiliser_<n>).
  - Ownership transfers listed in the inventory's C(transfers) (the DMP's online form - from, to, objects)
    are checked against the server (both accounts exist, the target is active, every object exists and
    belongs to C(from)), applied by C(omero.cmd.Chown2) in the same session, and recorded so that each id
    is applied once (needs O(state_dir)).
  - With O(state_dir), a change made in OMERO outside the inventory since the last run (for example by a
    referent in OMERO.web) is drift - reported in C(drift) and kept, unless the inventory's settings say
    C(drift_policy) - revert. Passwords are set when an account is created and reset only once per new
    value of a person's C(password_reset).
version_added: "1.0.0"
author:
  - omero-deploy authors
extends_documentation_fragment:
  - omero_connection
options:
  desired:
    description:
      - The expanded desired state, as printed by C(scripts/validate-inventory --expand) - a dict with
        C(groups), C(users), C(departed) and C(settings) (C(reports) is passed through to the result).
    type: dict
    required: true
  passwords:
    description:
      - Initial passwords, keyed by the vault variable name a person's C(password_var) refers to.
        Never logged, never returned.
    type: dict
    default: {}
  state_dir:
    description:
      - Directory on the server host (created 0700, files 0600) where the runs keep their records - the
        inventory applied last (to tell drift made in OMERO from changes made in the inventory), which
        person became which C(A_utiliser_<n>) and who received their data, and the one-shot password
        resets applied. Without it there is no drift detection and C(password_reset) is refused.
    type: path
seealso:
  - module: omero_group
  - module: omero_user
"""

EXAMPLES = r"""
- name: Expand the inventory on the controller
  ansible.builtin.command:
    cmd: scripts/validate-inventory --expand inventories/production
  delegate_to: localhost
  register: expanded
  changed_when: false

- name: Apply it in one session
  omero_accounts:
    admin_password: "{{ omero_server_root_password }}"
    desired: "{{ expanded.stdout | from_json }}"
    passwords: "{{ dict(names | zip(query('ansible.builtin.vars', *names))) }}"
  vars:
    names: "{{ (expanded.stdout | from_json).users | selectattr('password_var') | map(attribute='password_var') | list }}"
  no_log: true
"""

RETURN = r"""
changed:
  description: Whether any change was made (or would be, in check mode).
  returned: always
  type: bool
actions:
  description: One line per change, in the order applied. Never contains a password.
  returned: always
  type: list
  elements: str
  sample: ["create group brau (read-annotate)", "transfer data of pdubois in group martin to cmartin (1 Dataset, 2 Image)",
           "rename deactivated user pdubois to A_utiliser_1"]
plan:
  description: The same changes as structured data; C(password) is only a boolean.
  returned: always
  type: list
  elements: dict
diff:
  description: Managed groups and users before and after.
  returned: always
  type: dict
  contains:
    before:
      description: Managed groups and users before the run.
      type: dict
    after:
      description: Managed groups and users after the run.
      type: dict
drift:
  description: One line per change made in OMERO outside the inventory since the last run, and whether it was kept or reverted.
  returned: always
  type: list
  elements: str
  sample: ["drift: tkowalski joined group brau in OMERO, not in the inventory (kept: set drift_policy: revert to undo it)"]
drift_items:
  description: The same as structured data (fact, OMERO's value, the inventory's value).
  returned: always
  type: list
  elements: dict
refused:
  description: >-
    Ownership transfers (C(transfers)) the server cannot do, with the reason - e.g. one image (series) of a
    multi-series file, whose images OMERO gives only together. They are not applied and not recorded (the next
    run reports them again); the rest of the run applies.
  returned: always
  type: list
  elements: str
progress:
  description: >-
    The steps of each graph request (Chown2, Delete2, Chmod2) while it ran, as "<action>: step <n>/<total>
    (<seconds> s)"; also written to the log. A request is waited for until it finishes, however long it
    takes - closing it earlier would cancel it on the server.
  returned: always
  type: list
  elements: str
passwords_not_given:
  description: Vault variables named by people's C(password_var) that had no value (a new account among them is refused).
  returned: always
  type: list
  elements: str
reports:
  description: Informational reports from the inventory (external groups, expired external groups).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.omero_common import connection_argument_spec, reconcile


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        desired={"type": "dict", "required": True},
        passwords={"type": "dict", "default": {}, "no_log": True},
        state_dir={"type": "path"},
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    desired = module.params["desired"]
    missing = [k for k in ("groups", "users", "departed") if not isinstance(desired.get(k), list)]
    if missing:
        module.fail_json(msg=f"desired: missing list(s) {', '.join(missing)} (use validate-inventory --expand)")
    passwords = {}
    unresolved = []
    for user in desired["users"]:
        var = user.get("password_var")
        if var:
            if module.params["passwords"].get(var):
                passwords[user["omename"]] = module.params["passwords"][var]
            else:
                unresolved.append(var)
    groups = [dict(g, state="exact") for g in desired["groups"]]
    users = [dict(u, groups_state="present") for u in desired["users"]]
    tokens = {u["omename"]: u.get("password_reset") for u in desired["users"] if u.get("password_reset")}
    reconcile(module, groups=groups, users=users, departed=desired["departed"], settings=desired.get("settings"),
              passwords=passwords, password_tokens=tokens, state_dir=module.params["state_dir"],
              transfers=desired.get("transfers") or [],
              extra_result={"reports": desired.get("reports", {}), "passwords_not_given": sorted(unresolved)})


if __name__ == "__main__":
    main()
