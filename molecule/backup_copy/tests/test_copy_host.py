"""On the copy host: it pulled the runs, applied the copy's own 90-day retention, keeps its own metrics and
cannot destroy the primary either."""
import json

from conftest import COPY_TOOL, PRIMARY, copy_runs, env_of, s3_status

testinfra_hosts = ["s3-copy12"]


def _run_id(omero_host, days):
    return json.loads(omero_host.check_output(f"cat /root/run-{days}-days-ago.json"))["run"]


def test_copy_pulled_every_run_then_kept_90_days(host, omero_host):
    before = json.loads(host.check_output("cat /root/copy-runs-before-retention.json"))
    assert len([r for r in before if r["complete"]]) == 3
    kept = {r["run"] for r in copy_runs(host) if r["complete"]}
    assert _run_id(omero_host, 91) in {r["run"] for r in before} and _run_id(omero_host, 91) not in kept
    assert _run_id(omero_host, 89) in kept
    assert len(kept) == 2  # the 89-day-old run and the current one


def test_copy_has_its_own_password(host):
    own = host.check_output("cat /etc/omero-backup-copy/restic-password")
    primary = host.check_output("cat /etc/omero-backup-copy/source-password")
    assert own != primary and len(own) >= 12
    for name in ("restic-password", "source-password", "restic.env", "config.json"):
        f = host.file(f"/etc/omero-backup-copy/{name}")
        assert (f.user, f.mode) == ("root", 0o600), name


def test_copy_identity_cannot_destroy_the_primary(host, omero_host, keys):
    identity = keys["copy_host"]
    assert dict(line.split("=", 1) for line in env_of(host, "/etc/omero-backup-copy").split())["AWS_ACCESS_KEY_ID"] == identity["id"]
    assert s3_status(host, identity, "GET", "omero-primary/omero/database/config") == "200"
    for method, path in (("DELETE", "omero-primary/omero/database/config"), ("PUT", "omero-primary/omero/files/keys/x")):
        assert s3_status(host, identity, method, path) == "403", (method, path)
    # restic can read the primary with this identity, but forgetting (and so pruning) one of its snapshots fails.
    restic = (f"{env_of(host, '/etc/omero-backup-copy')} RESTIC_PASSWORD_FILE=/etc/omero-backup-copy/source-password "
              f"restic -r {PRIMARY}/database")
    # The primary was recreated empty after the restore: the OMERO host backs up once if nothing is there yet.
    if not json.loads(host.check_output(f"{restic} --no-lock snapshots --json")):
        assert omero_host.run("systemctl start omero-backup.service").rc == 0
    ids = [s["id"] for s in json.loads(host.check_output(f"{restic} --no-lock snapshots --json"))]
    assert ids
    res = host.run(f"{restic} forget --prune {ids[0]}")
    assert res.rc != 0
    assert [s["id"] for s in json.loads(host.check_output(f"{restic} --no-lock snapshots --json"))] == ids


def test_copy_units_and_metrics(host):
    for timer in ("omero-backup-copy.timer", "omero-backup-copy-retention.timer", "omero-backup-copy-check.timer"):
        assert host.service(timer).is_enabled and host.service(timer).is_running
    text = host.check_output("cat /var/lib/prometheus/node-exporter/omero_backup_copy.prom")
    values = dict(line.split() for line in text.splitlines() if line and not line.startswith("#"))
    now = float(host.check_output("date +%s"))
    assert float(values["omero_backup_copy_last_run_success"]) == 1.0
    assert now - float(values["omero_backup_copy_newest_run_timestamp_seconds"]) < 3600
    assert float(values["omero_backup_copy_complete_runs"]) == 2.0


def test_copy_check_passes(host):
    assert host.run("systemctl start omero-backup-copy-check.service").rc == 0
    assert host.run(f"{COPY_TOOL} runs").rc == 0
