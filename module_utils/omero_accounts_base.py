# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Declarative OMERO accounts: the data management plan's model, in pure Python.

No omero import in any of the model's modules: the validator (scripts/validate-inventory) runs them in
any CI with only PyYAML and jsonschema, the governance runner ships some of them to the server host,
and the Ansible modules ship them through AnsiballZ. Each layer is a module of plain functions over
plain data:

1. inventory (``omero_accounts_yaml``: strict YAML; ``omero_accounts_inventory``: ``load_inventory``,
   ``validate_inventory``, problems as ``Problem(file, key_path, message)``; ``omero_accounts_expand``:
   ``expand``, teams, referents, public and external groups -> desired groups, users and departures);
2. plan (``omero_accounts_plan``: ``plan``, ``check_plan``, current + desired state -> ordered actions;
   ``omero_accounts_actions``: ``simulate``, ``view``, ``describe``, what those actions produce, used
   for ``diff.after``, check mode and tests);
3. drift (``omero_accounts_drift``: changes made in OMERO that the inventory did not ask for).

This module holds what they share: OMERO's names and permission levels, the DMP's defaults, the
password policy and ``Problem``.

Passwords never enter the state or the actions: an action says ``change_password`` for an omename,
the client looks the secret up at apply time.
"""

import dataclasses
import datetime

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

# OMERO's own accounts (ome/system/Roles.java: rootName, guestName), beside its own groups
# (BUILTIN_GROUPS): an inventory never names them, nor a case variant of them
# (ome/security/auth/Principal.java lower-cases omenames when omero.security.ignore_case is on).
BUILTIN_USERS = ("root", "guest")

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
# Problems reported per file before the rest of that file is left for the next run (a file of thousands
# of wrong entries is answered as fast as one).
MAX_PROBLEMS = 50
USER_FIELDS = ("first_name", "last_name", "email", "institution")
# The kinds of accounts file: each holds exactly one of these top-level keys.
KINDS = ("people", "team", "referents", "public_group", "external_groups", "settings",
         "retention_extensions", "transfers")  # the last two: module_utils/omero_governance.py


@dataclasses.dataclass(eq=False)
class Problem:
    """One validation problem, printed as ``<file>:<key path>: <message>``."""

    file: str
    key: str
    message: str

    def __str__(self):
        return f"{self.file}:{self.key}: {self.message}"

    def __repr__(self):
        return f"Problem({str(self)!r})"

    def __eq__(self, other):
        return isinstance(other, Problem) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))


def parse_date(text):
    """``2026-11-02`` -> a date, or None when ``text`` is not one."""
    try:
        return datetime.datetime.strptime(str(text), "%Y-%m-%d").date()
    except ValueError:
        return None


def permissions_string(value):
    """'read-annotate' or 'rwra--' -> 'rwra--'."""
    if value in PERMISSIONS:
        return PERMISSIONS[value]
    if value in PERMISSION_NAMES:
        return value
    raise ValueError("unknown permission level {!r} (use one of {})".format(value, ", ".join(PERMISSIONS)))


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
