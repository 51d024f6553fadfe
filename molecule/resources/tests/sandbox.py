"""systemd sandboxing checks shared by the scenarios' testinfra tests (issue 13: `systemd-analyze security`
exposure at most 5.0 for the project's units, 7.0 for Debian's nginx and PostgreSQL with their drop-ins)."""
import re
import shlex

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


PROBE = "/run/systemd/system/omero-sandbox-probe.service"


def writable_in_unit(host, unit, path):
    """Whether `unit`'s service user may write `path` inside the unit's file system sandbox: a oneshot probe
    unit with the same User=, ProtectSystem=, ProtectHome=, ReadWritePaths=, ReadOnlyPaths= and StateDirectory= runs
    `test -w` (which sees read-only mounts). systemd-run --wait would need D-Bus, which the hosts lack."""
    props = unit_properties(host, unit, "User", "ProtectSystem", "ProtectHome", "ReadWritePaths", "ReadOnlyPaths",
                            "StateDirectory")
    lines = ["[Service]", "Type=oneshot", f"ExecStart=/usr/bin/test -w {path}"]
    lines += [f"{key}={value}" for key, value in sorted(props.items()) if value]
    host.check_output(f"printf '%s\\n' {' '.join(shlex.quote(line) for line in lines)} > {PROBE} && systemctl daemon-reload")
    try:
        return host.run("systemctl start omero-sandbox-probe.service").rc == 0
    finally:
        host.check_output(f"rm -f {PROBE} && systemctl reset-failed omero-sandbox-probe.service 2>/dev/null;"
                          " systemctl daemon-reload")
