"""systemd sandboxing checks shared by the scenarios' testinfra tests (issue 13: `systemd-analyze security`
exposure at most 5.0 for the project's units, 7.0 for Debian's nginx and PostgreSQL with their drop-ins)."""
import re

OWN_UNIT_LIMIT = 5.0
PACKAGED_UNIT_LIMIT = 7.0
_LEVEL = re.compile(r"Overall exposure level for (\S+): (\d+\.\d+)")


def exposure(host, unit):
    """The overall exposure systemd-analyze gives a loaded unit (0.0 best, 10.0 worst)."""
    res = host.run(f"systemd-analyze security --no-pager {unit}")
    assert res.rc == 0, res.stderr
    match = _LEVEL.search(res.stdout)
    assert match, res.stdout[-500:]
    assert match.group(1) == unit, match.group(0)
    return float(match.group(2))


def unit_properties(host, unit, *names):
    out = host.check_output(f"systemctl show {unit} " + " ".join(f"-p {n}" for n in names))
    return dict(line.split("=", 1) for line in out.splitlines())


def writable_in_unit(host, unit, path):
    """Whether the service user of `unit` may write `path` inside the unit's sandbox: systemd-run with the
    unit's User= and mount sandbox (ProtectSystem/ReadWritePaths/ProtectHome copied from the unit)."""
    props = unit_properties(host, unit, "User", "ReadWritePaths", "ProtectSystem", "ProtectHome")
    opts = [f"-p ProtectSystem={props['ProtectSystem']}", f"-p ProtectHome={props['ProtectHome']}"]
    if props["ReadWritePaths"]:
        opts.append(f"-p 'ReadWritePaths={props['ReadWritePaths']}'")
    if props["User"]:
        opts.append(f"-p User={props['User']}")
    res = host.run(f"systemd-run --wait --quiet --collect {' '.join(opts)} /usr/bin/test -w {path}")
    return res.rc == 0
