"""systemd sandboxing of the governance unit (issue 13); test_governance.py proves the sandboxed runs still
reach the server, write their state and reports and deliver their mails."""
from sandbox import OWN_UNIT_LIMIT, exposure, unit_properties


def test_governance_unit_exposure(host):
    assert exposure(host, "omero-governance.service") <= OWN_UNIT_LIMIT


def test_governance_keeps_only_chown(host):
    caps = unit_properties(host, "omero-governance.service", "CapabilityBoundingSet")["CapabilityBoundingSet"]
    assert caps == "cap_chown"


def test_governance_runs_under_its_sandbox(host):
    """side_effect.yml calls the tool directly; here the unit itself runs it (a drop-in pins the date of the
    last step, so the run has nothing new to send) and must succeed under its sandbox."""
    drop_in = "/run/systemd/system/omero-governance.service.d"
    exec_start = unit_properties(host, "omero-governance.service", "ExecStart")["ExecStart"]
    argv = exec_start.split("argv[]=", 1)[1].split(" ;", 1)[0]
    host.check_output(f"mkdir -p {drop_in} && printf '[Service]\\nExecStart=\\nExecStart=%s --today 2027-02-03\\n' "
                      f"'{argv}' > {drop_in}/date.conf && systemctl daemon-reload")
    try:
        res = host.run("systemctl start omero-governance.service")
        journal = host.run("journalctl -u omero-governance.service -n 30 --no-pager").stdout
        assert res.rc == 0, journal
        assert host.check_output("systemctl show -p Result --value omero-governance.service") == "success"
    finally:
        host.check_output(f"rm -rf {drop_in} && systemctl daemon-reload")
