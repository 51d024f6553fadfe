# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the three accounts modules share: the connection argument spec and the reconcile driver.

The modules stay thin: they turn their arguments into the model's desired state and call
``reconcile``, which opens ONE session, reads the current state in bulk, plans, applies unless in
check mode, and exits with ``changed``, ``diff`` and ``actions``.
"""

import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.omero_accounts_model import describe, plan, simulate, view
from ansible.module_utils.omero_client import (
    HAS_OMERO,
    OMERO_IMPORT_ERROR,
    OmeroAccounts,
)

PERMISSION_CHOICES = ["private", "read-only", "read-annotate", "read-write"]


def connection_argument_spec():
    """Options every accounts module takes to reach the server (the password comes from the vault)."""
    return {
        "host": {"type": "str", "default": "localhost"},
        "port": {"type": "int", "default": 4064},
        "protocol": {"type": "str", "default": "ssl", "choices": ["ssl", "tcp"]},
        "admin_user": {"type": "str", "default": "root"},
        "admin_password": {"type": "str", "required": True, "no_log": True},
    }


def require_omero(module):
    if not HAS_OMERO:
        module.fail_json(msg=missing_required_lib("omero-py"), exception=str(OMERO_IMPORT_ERROR))


def reconcile(module, groups=(), users=(), departed=(), settings=None, passwords=None,
              update_password="on_create", extra_result=None):
    """Read, plan, apply (unless check mode) in one session; exit the module with the result."""
    require_omero(module)
    passwords = passwords or {}
    p = module.params
    managed_groups = {g["name"] for g in groups}
    managed_users = {u["omename"] for u in users} | {d["omename"] for d in departed}
    admins = [u["omename"] for u in users if u.get("admin") and u.get("admin_privileges") is not None]
    try:
        with OmeroAccounts(p["host"], p["port"], p["admin_user"], p["admin_password"], protocol=p["protocol"]) as conn:
            current = conn.read_state(privileges_of=admins)
            try:
                actions = plan(current, groups=groups, users=users, departed=departed, settings=settings,
                               update_password=update_password, passwords_given=set(passwords))
            except ValueError as exc:
                module.fail_json(msg=str(exc))
            after = simulate(current, actions)
            # Renamed (deactivated) accounts appear in "after" under their new name.
            renamed = {a["to"] for a in actions if a["action"] == "rename_user"}
            shown_groups = managed_groups | {g for a in actions for g in ([a["group"]] if "group" in a else [])}
            before_view = view(current, shown_groups, managed_users)
            after_view = view(after, shown_groups, managed_users | renamed)
            if actions and not module.check_mode:
                conn.apply(actions, passwords)
    except Exception as exc:  # noqa: BLE001 - Ice and server errors become a clean module failure
        module.fail_json(msg=f"OMERO accounts: {type(exc).__name__}: {exc}", exception=traceback.format_exc())
    result = {
        "changed": bool(actions),
        "actions": [describe(a) for a in actions],
        "plan": actions,
        "diff": {"before": before_view, "after": after_view},
    }
    result.update(extra_result or {})
    module.exit_json(**result)
