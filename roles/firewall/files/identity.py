"""Print, as JSON, what the firewall role's preflight compares with the controller: this kernel's boot id,
this process's network namespace, and the SSH client's address with whether it lies in one of the networks
given as arguments (null when there is no SSH client). Reads only."""
import ipaddress
import json
import os
import sys


def _read(path):
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _netns():
    try:
        return os.readlink("/proc/self/ns/net")
    except OSError:
        return ""


def _inside(address, networks):
    if not address:
        return None
    ip = ipaddress.ip_address(address.split("%")[0])
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(net, strict=False) for net in networks)


client = (os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_CLIENT") or "").split()
address = client[0] if client else ""
print(json.dumps({
    "boot_id": _read("/proc/sys/kernel/random/boot_id"),
    "netns": _netns(),
    "ssh_client": address,
    "ssh_client_allowed": _inside(address, sys.argv[1:]),
}))
