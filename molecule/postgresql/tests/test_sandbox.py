"""systemd sandboxing of Debian's postgresql@ unit through the role's drop-in (issue 13). The other tests
of this scenario prove the cluster still serves under it."""
from sandbox import PACKAGED_UNIT_LIMIT, exposure, unit_properties

DROP_IN = "/etc/systemd/system/postgresql@.service.d/omero-deploy-sandbox.conf"


def cluster_unit(host):
    return host.check_output("systemctl list-units --plain --no-legend 'postgresql@*' | awk '{print $1}' | head -1")


def test_cluster_exposure_with_the_drop_in(host):
    unit = cluster_unit(host)
    props = unit_properties(host, unit, "DropInPaths", "User", "CapabilityBoundingSet", "ActiveState")
    assert DROP_IN in props["DropInPaths"].split()
    assert props["User"] == "postgres"
    assert props["CapabilityBoundingSet"] == ""
    assert props["ActiveState"] == "active"
    assert exposure(host, unit) <= PACKAGED_UNIT_LIMIT


def test_cluster_restarts_under_the_sandbox(host):
    unit = cluster_unit(host)
    host.check_output(f"systemctl restart {unit}")
    assert host.check_output(f"systemctl show -p ActiveState --value {unit}") == "active"
    assert host.check_output("runuser -u postgres -- psql -XAtc 'select 1' -p $(pg_lsclusters -h | awk '{print $3}' | head -1)") == "1"
    assert host.file("/run/postgresql").user == "postgres"
