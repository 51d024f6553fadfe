"""systemd sandboxing of the backup units (issue 13; PostgreSQL comes from prepare.yml here, its drop-in is
tested in the postgresql scenario). The other tests of this scenario prove the sandboxed units still back
up (pg_dump through runuser, restic to a local or an sftp: repository), check, apply retention and mail
their alerts."""
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
    assert set(caps.split()) == {"cap_dac_read_search", "cap_setuid", "cap_setgid"}
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
