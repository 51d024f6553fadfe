# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rule every mail sender's preflight applies to its relay setting (filter ``mail_relay_problems``).

Mail carries personal data and secrets (notices, new passwords, alerts): it goes over TLS whose certificate is
verified, except to this host itself (loopback: the local MTA of role mail_relay, or a test relay).

- ``tls`` is ``starttls``, ``implicit`` or ``none``;
- ``none`` to a relay that is not loopback is refused unless ``allow_plaintext`` is true (explicit opt-in);
- a login (``user``) over an unencrypted connection is always refused, loopback or not;
- ``ca_file``, when set, is an absolute path (on the host);
- ``implicit_ports``, when given, lists the only ports where this sender can start TLS at connect
  (Alertmanager: 465).

Each message names the variable (``<prefix>_host``, ``<prefix>_tls``...), never a password::

    - name: Check the mail relay setting
      ansible.builtin.assert:
        that: _problems | length == 0
        fail_msg: "{{ _problems | join(' ') }}"
      vars:
        _problems: "{{ {'host': governance_smtp_host, 'port': governance_smtp_port, 'tls': governance_smtp_tls,
                        'ca_file': governance_smtp_ca_file, 'user': governance_smtp_user,
                        'allow_plaintext': governance_smtp_allow_plaintext} | mail_relay_problems('governance_smtp') }}"
"""
import ipaddress

TLS_MODES = ("starttls", "implicit", "none")
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def is_loopback(host):
    """True for a loopback name or an address in 127.0.0.0/8 or ::1 (brackets allowed)."""
    host = str(host or "").strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _truthy(flag):
    if isinstance(flag, str):
        return flag.strip().lower() in ("1", "true", "yes", "on")
    return bool(flag)


def mail_relay_problems(setting, prefix, implicit_ports=None):
    """The problems of one sender's relay setting, as sentences naming ``<prefix>_<key>``; [] when fine."""
    host = str(setting.get("host") or "").strip()
    tls = str(setting.get("tls") or "").strip()
    user = str(setting.get("user") or "").strip()
    ca_file = str(setting.get("ca_file") or "").strip()
    out = []
    if not host or any(c.isspace() for c in host):
        out.append(f"{prefix}_host must name the relay (got {host!r}).")
    try:
        port = int(setting.get("port"))
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        out.append(f"{prefix}_port must be a TCP port (got {setting.get('port')!r}).")
    if tls not in TLS_MODES:
        out.append(f"{prefix}_tls must be one of {', '.join(TLS_MODES)} (got {tls!r}).")
    elif tls == "none":
        if host and not is_loopback(host) and not _truthy(setting.get("allow_plaintext")):
            out.append(f"{prefix}_tls is none but {prefix}_host {host!r} is not this host (loopback): mail would "
                       f"cross the network in clear. Set {prefix}_tls to starttls or implicit, or "
                       f"{prefix}_allow_plaintext: true to accept that explicitly.")
        if user:
            out.append(f"{prefix}_user is set but {prefix}_tls is none: a login over an unencrypted connection is "
                       f"always refused.")
    elif tls == "implicit" and implicit_ports and port and port not in [int(p) for p in implicit_ports]:
        out.append(f"{prefix}_tls is implicit but {prefix}_port is {port}: this sender starts TLS at connect only on "
                   f"port(s) {', '.join(str(p) for p in implicit_ports)}.")
    if ca_file and not ca_file.startswith("/"):
        out.append(f"{prefix}_ca_file must be an absolute path on the host (got {ca_file!r}).")
    return out


class FilterModule:
    """The mail relay rule."""

    def filters(self):
        return {"mail_relay_problems": mail_relay_problems, "mail_relay_is_loopback": is_loopback}
