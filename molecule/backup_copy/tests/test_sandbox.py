"""systemd sandboxing (issue 13): the copy host's units and the primary's backup units score at most 5.0
(PostgreSQL here comes from prepare.yml, not the role); the other tests prove the sandboxed units still copy, check and prune."""
import pytest
from sandbox import OWN_UNIT_LIMIT, exposure

COPY_UNITS = ["omero-backup-copy.service", "omero-backup-copy-check.service", "omero-backup-copy-retention.service"]
PRIMARY_UNITS = ["omero-backup.service", "omero-backup-check.service", "omero-backup-retention.service"]


@pytest.mark.parametrize("unit", COPY_UNITS)
def test_copy_unit_exposure(host, unit):
    if host.backend.get_hostname() != "s3-copy12":
        pytest.skip("the copy units exist on the copy host only")
    assert exposure(host, unit) <= OWN_UNIT_LIMIT


@pytest.mark.parametrize("unit", PRIMARY_UNITS)
def test_primary_unit_exposure(host, unit):
    if host.backend.get_hostname() != "s3-omero12":
        pytest.skip("the backup units exist on the primary host only")
    assert exposure(host, unit) <= OWN_UNIT_LIMIT

