# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options shared by the omero_group, omero_user and omero_accounts modules: the admin session."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
requirements:
  - omero-py (and zeroc-ice 3.6) on the host that runs the module, usually the OMERO.server venv
options:
  host:
    description: OMERO.server host name or address, as seen from the host that runs the module.
    type: str
    default: localhost
  port:
    description: Glacier2 port (4064 for SSL, 4063 for plain TCP).
    type: int
    default: 4064
  protocol:
    description: Glacier2 transport.
    type: str
    choices: [ssl, tcp]
    default: ssl
  admin_user:
    description:
      - Account that opens the session; root, or a restricted administrator with the privileges the
        module's changes need (ModifyGroup, ModifyUser, ModifyGroupMembership, Chown).
    type: str
    default: root
  admin_password:
    description: Password of O(admin_user). Keep it in the vault.
    type: str
    required: true
notes:
  - Supports check mode and diff mode. In check mode no mutating call is made.
"""
