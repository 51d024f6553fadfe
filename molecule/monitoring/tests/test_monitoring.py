"""Monitoring: every target up, the rules loaded and unit-tested, alerts for a stale backup, a stopped backup
timer and an expiring certificate, and Alertmanager's mails in the SMTP sink."""
import json
import re

from polling import wait_for

RULES = {"OmeroBackupStale", "OmeroBackupNeverSucceeded", "OmeroBackupRunFailed", "OmeroBackupTimerStopped",
         "OmeroBackupCheckFailed", "OmeroBackupCopyLagging", "OmeroBackupCopyFailed", "CertificateExpiresSoon",
         "DiskAlmostFull", "ServiceDown", "ProbeFailed", "TargetDown"}


def api(host, hv, path):
    return json.loads(host.check_output(f"curl -sf http://127.0.0.1:{hv['monitoring_prometheus_port']}/api/v1/{path}"))["data"]


def firing(host, hv):
    return {(a["labels"]["alertname"], a["labels"].get("name") or a["labels"].get("instance"))
            for a in api(host, hv, "alerts")["alerts"] if a["state"] == "firing"}


def test_every_target_up(host, hv):
    targets = api(host, hv, "targets")["activeTargets"]
    jobs = {t["labels"]["job"] for t in targets}
    assert jobs == {"prometheus", "alertmanager", "blackbox", "node", "postgres", "probe_https", "probe_tls"}
    assert [t["scrapeUrl"] for t in targets if t["health"] != "up"] == []


def test_rules_loaded_and_unit_tested(host, hv):
    groups = api(host, hv, "rules")["groups"]
    loaded = {r["name"] for g in groups for r in g["rules"] if r["type"] == "alerting"}
    assert loaded == RULES
    out = host.check_output("promtool test rules /etc/prometheus/rules-tests/omero.test.yml 2>&1")
    assert "SUCCESS" in out
    tests = host.check_output("cat /etc/prometheus/rules-tests/omero.test.yml")
    assert {name for name in RULES if re.search(rf"alertname: {name}\b", tests)} == RULES  # every rule tested


def test_exporters_report(host, hv):
    metrics = host.check_output(f"curl -sf http://127.0.0.1:{hv['monitoring_postgres_exporter_port']}/metrics")
    assert re.search(r"^pg_up 1$", metrics, re.MULTILINE)
    node = host.check_output(f"curl -sf http://127.0.0.1:{hv['monitoring_node_exporter_port']}/metrics")
    assert "omero_backup_last_success_timestamp_seconds" in node  # the backup role's textfile metrics
    assert 'node_systemd_unit_state{name="omero-ssl-standin.service"' not in node  # only the listed units
    assert re.search(r'node_systemd_unit_state\{name="postgresql@15-main.service",state="active",type="\w+"\} 1', node)


def test_no_backup_alert_while_healthy(host):
    before = json.loads(host.check_output("cat /root/alerts-before.json"))["data"]["alerts"]
    names = {a["labels"]["alertname"] for a in before}
    assert "OmeroBackupStale" not in names and "OmeroBackupTimerStopped" not in names


def test_stale_backup_and_stopped_timer_alert(host, hv):
    expected = {("OmeroBackupStale", f"127.0.0.1:{hv['monitoring_node_exporter_port']}"),
                ("OmeroBackupTimerStopped", "omero-backup.timer")}
    got = wait_for(lambda: expected <= firing(host, hv) and firing(host, hv), timeout=90, interval=2)
    assert got and expected <= got, got


def test_certificate_expiring_within_14_days_alerts(host, hv):
    login = hv["monitoring_probe_https_urls"][0]
    got = wait_for(lambda: ("CertificateExpiresSoon", login) in firing(host, hv) and firing(host, hv), timeout=60)
    assert got and ("CertificateExpiresSoon", login) in got
    assert ("CertificateExpiresSoon", hv["monitoring_probe_tls_targets"][0]) not in got  # valid for a year


def test_alertmanager_mails_the_support_address(host):
    def mails():
        names = host.run("ls /var/spool/smtp-sink/ 2>/dev/null").stdout.split()
        texts = [host.check_output(f"cat /var/spool/smtp-sink/{n}") for n in names if n.endswith(".eml")]
        return [t for t in texts if "OmeroBackupStale" in t]
    found = wait_for(mails, timeout=90, interval=2)
    assert found, "no mail about OmeroBackupStale reached the sink"
    assert re.search(r"^To: omero-support@example.org", found[0], re.MULTILINE)


def test_listens_on_loopback_only(host, hv):
    ports = [hv[f"monitoring_{p}_port"] for p in ("prometheus", "alertmanager", "node_exporter",
                                                  "postgres_exporter", "blackbox_exporter")]
    listening = host.check_output("ss -Hltn | awk '{print $4}'").split()
    for port in ports:
        assert f"127.0.0.1:{port}" in listening
        assert not [a for a in listening if a.endswith(f":{port}") and not a.startswith("127.0.0.1:")]
    # Alertmanager runs without a cluster: no gossip port (its default is 9094).
    assert "--cluster.listen-address=" in host.check_output("cat /etc/default/prometheus-alertmanager")
