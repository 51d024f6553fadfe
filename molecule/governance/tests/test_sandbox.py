"""systemd sandboxing of the governance unit (issue 13); test_governance.py proves the sandboxed runs still
reach the server, write their state and reports and deliver their mails."""
from sandbox import OWN_UNIT_LIMIT, exposure, unit_properties


def test_governance_unit_exposure(host):
    assert exposure(host, "omero-governance.service") <= OWN_UNIT_LIMIT


def test_governance_keeps_only_chown(host):
    caps = unit_properties(host, "omero-governance.service", "CapabilityBoundingSet")["CapabilityBoundingSet"]
    assert caps == "cap_chown"
