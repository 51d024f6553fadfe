"""Monitoring: every target up, the rules loaded and unit-tested, alerts for a stale backup, a stopped backup
timer and an expiring certificate, and Alertmanager's mails at the test relay over verified STARTTLS; relays it
cannot verify (unknown CA, wrong name, no STARTTLS) get nothing."""
import json
import re

import pytest
from polling import wait_for

RULES = {"OmeroBackupStale", "OmeroBackupNeverSucceeded", "OmeroBackupRunFailed", "OmeroBackupTimerStopped",
         "OmeroBackupCheckFailed", "OmeroBackupCopyLagging", "OmeroBackupCopyFailed", "CertificateExpiresSoon",
         "DiskAlmostFull", "ServiceDown", "ProbeFailed", "TargetDown", "MailQueueStuck", "MailQueueGrowing",
         "OmeroJvmDown", "OmeroJvmHeapAlmostFull", "OmeroJvmGcTimeHigh", "OmeroJvmMetricsStale",
         "OmeroRepositoryMissing", "OmeroRepositoryAlmostFull"}


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
    log = host.check_output("cat /var/spool/smtp-sink/.commands.log").splitlines()
    assert log and all(line.endswith("tls=yes") for line in log), log  # every MAIL after STARTTLS


def test_alertmanager_configuration_verifies_the_relay(host, hv):
    conf = host.check_output("cat /etc/prometheus/alertmanager.yml")
    assert re.search(r"^  smtp_require_tls: true$", conf, re.MULTILINE)
    assert f'server_name: "{hv["monitoring_smtp_host"]}"' in conf and "insecure_skip_verify: false" in conf
    assert f'ca_file: "{hv["monitoring_smtp_ca_file"]}"' in conf


# What Alertmanager (Go's crypto/tls and its mail notifier) says for each relay it must refuse.
REFUSED = {"unknown_ca": "x509: certificate signed by unknown authority",
           "wrong_name": "x509: certificate is valid for mail.wrong.example, not localhost",
           "no_starttls": "does not advertise the STARTTLS extension"}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_alertmanager_refuses_a_relay_it_cannot_verify(host, hv, case):
    """The deployed configuration, its smarthost pointed at a bad relay, in a throwaway Alertmanager given one alert."""
    port, web = hv["test_bad_relays"][case], hv["test_throwaway_alertmanager_port"]
    smarthost = f'"{hv["monitoring_smtp_host"]}:{hv["monitoring_smtp_port"]}"'
    script = f"""
set -u
d=$(mktemp -d)
sed 's/{smarthost}/"localhost:{port}"/' /etc/prometheus/alertmanager.yml > $d/am.yml
grep -q '"localhost:{port}"' $d/am.yml || {{ echo 'smarthost not replaced'; exit 3; }}
prometheus-alertmanager --config.file=$d/am.yml --storage.path=$d --web.listen-address=127.0.0.1:{web} \
  --cluster.listen-address= > $d/log 2>&1 &
pid=$!
for i in $(seq 40); do curl -sf http://127.0.0.1:{web}/-/ready > /dev/null && break; sleep 0.5; done
curl -sf -XPOST -H 'Content-Type: application/json' http://127.0.0.1:{web}/api/v2/alerts \
  -d '[{{"labels": {{"alertname": "RelayCheck", "instance": "{case}"}}}}]'
for i in $(seq 60); do grep -q 'Notify attempt failed' $d/log && break; sleep 0.5; done
kill $pid; wait $pid
cat $d/log
rm -rf $d
"""
    out = host.run(script)
    assert out.rc in (0, 143) or "level=info" in out.stdout, out.stdout + out.stderr
    failed = [line for line in out.stdout.splitlines() if "Notify attempt failed" in line]
    assert failed and REFUSED[case] in failed[0], out.stdout[-3000:]
    assert host.run(f"ls /var/spool/relay-{case}/*.eml").rc != 0  # nothing delivered
    assert host.run(f"cat /var/spool/relay-{case}/.commands.log").stdout == ""  # no MAIL, in clear or not


def test_listens_on_loopback_only(host, hv):
    ports = [hv[f"monitoring_{p}_port"] for p in ("prometheus", "alertmanager", "node_exporter",
                                                  "postgres_exporter", "blackbox_exporter")]
    listening = host.check_output("ss -Hltn | awk '{print $4}'").split()
    for port in ports:
        assert f"127.0.0.1:{port}" in listening
        assert not [a for a in listening if a.endswith(f":{port}") and not a.startswith("127.0.0.1:")]
    # Alertmanager runs without a cluster: no gossip port (its default is 9094).
    assert "--cluster.listen-address=" in host.check_output("cat /etc/default/prometheus-alertmanager")


# The JVM metrics (roles/monitoring/files/omero-jvm-metrics.py): a real OpenJDK process (prepare.yml's
# jvm-standin.service, -Xmx64m) scraped while it ran (side_effect.yml kept Prometheus' answers), then stopped.
def test_running_jvm_was_scraped(host):
    up, used, heap_max, threads, gcs, repository = json.loads(host.check_output("cat /root/jvm-before.json"))
    assert [r["metric"]["unit"] for r in up] == ["jvm-standin.service"]
    assert 0 < float(used[0]["value"][1]) <= float(heap_max[0]["value"][1])
    assert 60 * 2**20 < float(heap_max[0]["value"][1]) <= 64 * 2**20 + 4096  # -Xmx64m, as G1 counts it
    assert float(threads[0]["value"][1]) >= 2  # main and the JVM's own threads
    assert {r["metric"]["collector"] for r in gcs} >= {"G1 young collection pauses"}
    assert float(repository[0]["value"][1]) > 0


def _standin_jvm_alerts(alerts):
    """The JVM alerts of this scenario's stand-in only: the host network is shared, and another exporter on it
    (e.g. the local embedded host's, deployed beside the tests) may have its own JVMs to report."""
    return [a for a in alerts if a["labels"]["alertname"].startswith("OmeroJvm")
            and a["labels"].get("unit") == "jvm-standin.service"]


def test_no_jvm_alert_while_it_ran(host):
    before = json.loads(host.check_output("cat /root/alerts-before.json"))["data"]["alerts"]
    assert _standin_jvm_alerts(before) == []


def test_stopped_jvm_alerts(host, hv):
    def down():
        alerts = api(host, hv, "alerts")["alerts"]
        return [a for a in _standin_jvm_alerts(alerts) if a["labels"]["alertname"] == "OmeroJvmDown" and a["state"] == "firing"]
    got = wait_for(down, timeout=90, interval=2)
    assert [a["labels"]["process"] for a in got] == ["Standin"], got
    assert host.check_output("systemctl is-active jvm-standin.service || true") == "inactive"
