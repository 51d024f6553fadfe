"""systemd sandboxing of the backup units (issue 13; PostgreSQL comes from prepare.yml here, its drop-in is
tested in the postgresql scenario). The other tests of this scenario prove the sandboxed units still back
up (pg_dump through runuser, restic to a local or an sftp: repository), check, apply retention and mail
their alerts."""
import json

import pytest
from sandbox import (
    OWN_UNIT_LIMIT,
    exposure,
    unit_properties,
    writable_in_unit,
)

OWN_UNITS = [
    "omero-backup.service",
    "omero-backup-check.service",
    "omero-backup-retention.service",
    "omero-backup-alert@omero-backup.service.service",
]


@pytest.mark.parametrize("unit", OWN_UNITS)
def test_backup_unit_exposure(host, unit):
    assert exposure(host, unit) <= OWN_UNIT_LIMIT


def test_backup_run_keeps_only_the_capabilities_it_uses(host):
    caps = unit_properties(host, "omero-backup.service", "CapabilityBoundingSet")["CapabilityBoundingSet"]
    # Reading other users' files takes DAC_READ_SEARCH on a VM and DAC_OVERRIDE where the host withholds it (this
    # container's root): both kept, so the backup reads with whichever the host grants (README "Sandboxing").
    assert set(caps.split()) == {"cap_dac_read_search", "cap_dac_override", "cap_setuid", "cap_setgid"}
    for unit in OWN_UNITS[1:]:
        assert unit_properties(host, unit, "CapabilityBoundingSet")["CapabilityBoundingSet"] == "", unit


def test_backup_run_writes_only_its_state_cache_and_repository(host, hv):
    assert writable_in_unit(host, "omero-backup.service", "/var/lib/omero-backup/dump")
    assert writable_in_unit(host, "omero-backup.service", "/var/cache/omero-backup")
    if hv["backup_repository"].startswith("/"):
        assert writable_in_unit(host, "omero-backup.service", f"{hv['backup_repository']}/files")
    # The role's default backup_paths (this scenario keeps them), the tool's settings, the code, root's home.
    for path in ["/OMERO", "/opt/omero/server/config", "/etc/omero-backup", "/usr/local/sbin", "/root"]:
        assert not writable_in_unit(host, "omero-backup.service", path), path


SANDBOX_PROPERTIES = ["User", "CapabilityBoundingSet", "AmbientCapabilities", "ProtectSystem", "ProtectHome",
                      "ReadWritePaths", "ReadOnlyPaths", "PrivateTmp", "PrivateDevices", "ProtectProc", "NoNewPrivileges",
                      "SystemCallFilter", "RestrictAddressFamilies", "RestrictNamespaces", "UMask"]


def test_probe_has_the_backup_units_sandbox(host):
    """The probe proves what the backup can read only while it runs in the same sandbox."""
    backup = unit_properties(host, "omero-backup.service", *SANDBOX_PROPERTIES)
    assert backup["CapabilityBoundingSet"] and backup["ProtectSystem"] == "strict"
    assert unit_properties(host, "omero-backup-probe.service", *SANDBOX_PROPERTIES) == backup


def test_backup_sandbox_reads_every_source_on_this_host(host):
    """Fails when the backup unit's sandbox cannot read one of its sources here (prepare.yml seeds them as
    production holds them: omero-server's 0600 files in 0700 directories, the server's configuration with the
    database password, and root's 0600 site state)."""
    res = host.run("systemctl start omero-backup-probe.service")
    log = host.check_output("journalctl --unit omero-backup-probe.service --no-pager --output cat --lines 20")
    assert res.rc == 0, log
    for source in ["/opt/omero/server/config/10-db-password.omero", "/var/lib/omero-deploy/accounts/deactivated.json",
                   "/var/lib/omero-governance/state.json"]:
        f = host.file(source)
        assert f.mode == 0o600 and f.user in ("omero-server", "root"), source
    assert host.file("/OMERO/ManagedRepository").user == "omero-server"
    assert host.file("/OMERO/ManagedRepository").mode == 0o700
    # The same walk run directly as root: everything seeded (well under the probe's limit) is a source, both
    # state paths included.
    result = json.loads(host.check_output("/usr/local/sbin/omero-backup probe"))
    assert result["sampled"] is False and result["read"] >= 120, result


DROP_IN = "/run/systemd/system/omero-backup-probe.service.d/zz-no-read-capability.conf"


def test_probe_fails_naming_the_source_without_the_read_capabilities(host):
    """The check can fail: the same probe unit, its two read capabilities taken away, cannot read the 0600
    sources and says which."""
    host.check_output(f"mkdir -p {DROP_IN.rsplit('/', 1)[0]} && printf '[Service]\\nCapabilityBoundingSet=~CAP_DAC_READ_SEARCH "
                      f"CAP_DAC_OVERRIDE\\n' > {DROP_IN} && systemctl daemon-reload")
    try:
        caps = unit_properties(host, "omero-backup-probe.service", "CapabilityBoundingSet")["CapabilityBoundingSet"]
        assert "cap_dac_read_search" not in caps and "cap_dac_override" not in caps, caps
        assert host.run("systemctl start omero-backup-probe.service").rc != 0
        log = host.check_output("journalctl --unit omero-backup-probe.service --no-pager --output cat --lines 5")
        assert "the backup cannot read" in log and "Permission denied" in log, log
    finally:
        host.check_output(f"rm -f {DROP_IN} && systemctl daemon-reload && systemctl reset-failed omero-backup-probe.service")
