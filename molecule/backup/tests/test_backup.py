"""Backup then restore of run 1 (done in side_effect.yml) reproduced the seeded files and rows exactly."""
import json
import re

from conftest import complete_run_ids, live_state
from polling import wait_on_host


def test_seeded_state_is_substantial(host):
    seeded = json.loads(host.check_output("cat /root/seeded-state.json"))
    assert len(seeded["files"]) >= 100
    assert seeded["tables"] == {"public.annotation": 20000, "public.image": 5000, "public.project": 12}


def test_restored_files_equal_seeded_state(host):
    seeded = json.loads(host.check_output("cat /root/seeded-state.json"))
    now = live_state(host)
    missing = sorted(set(seeded["files"]) - set(now["files"]))
    extra = sorted(set(now["files"]) - set(seeded["files"]))
    differ = sorted(p for p in seeded["files"] if p in now["files"] and now["files"][p] != seeded["files"][p])
    assert (missing, extra, differ) == ([], [], [])


def test_restored_row_counts_equal_seeded_state(host):
    seeded = json.loads(host.check_output("cat /root/seeded-state.json"))
    assert live_state(host)["tables"] == seeded["tables"]


def test_restored_database_owned_by_omero_and_usable(host, hv):
    port = hv["backup_postgresql_port"]
    owner = host.check_output(
        f"runuser -u postgres -- psql -p {port} -tAc \"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'omero'\"")
    assert owner == "omero"
    # The foreign keys and the index came back too (pg_restore --jobs restores them after the data).
    count = host.check_output(
        f"runuser -u postgres -- psql -p {port} -d omero -tAc "
        "\"SELECT count(*) FROM pg_constraint WHERE contype = 'f'\"")
    assert int(count) == 2


def test_restore_stopped_and_started_the_omero_services(host):
    before = host.check_output("cat /root/invocations-before-restore").split()
    now = host.check_output("systemctl show -p InvocationID --value omero-server omero-web").split()
    assert len(before) == 2 and len(now) == 2
    assert before[0] != now[0] and before[1] != now[1]  # new invocations: each was stopped, then started
    assert host.service("omero-server").is_running and host.service("omero-web").is_running


def test_two_runs_and_no_leftover_dump(host):
    assert len(complete_run_ids(host)) >= 2
    assert host.check_output("ls -A /var/lib/omero-backup/dump") == ""


def test_timer_fires_at_midnight_and_noon(host):
    out = host.check_output("systemctl show omero-backup.timer -p TimersCalendar")
    assert sorted(re.findall(r"OnCalendar=\*-\*-\* (\d\d:\d\d:\d\d)", out)) == ["00:00:00", "12:00:00"]
    assert host.check_output("systemctl show omero-backup.timer -p Persistent") == "Persistent=yes"
    for timer in ("omero-backup.timer", "omero-backup-retention.timer", "omero-backup-check.timer"):
        assert host.service(timer).is_enabled and host.service(timer).is_running


def test_service_is_oneshot_with_alert(host):
    out = host.check_output("systemctl show omero-backup.service -p Type -p OnFailure")
    assert "Type=oneshot" in out and "OnFailure=omero-backup-alert@omero-backup.service.service" in out


def test_secrets_are_root_only(host):
    for name in ("restic-password", "restic.env", "config.json"):
        f = host.file(f"/etc/omero-backup/{name}")
        assert (f.user, f.group, f.mode) == ("root", "root", 0o600), name
    assert host.file("/etc/omero-backup").mode == 0o700


def test_repositories_are_encrypted_and_separate(host, hv):
    for repo in ("database", "files"):
        assert host.file(f"{hv['test_repository_dir']}/{repo}/config").exists
        assert host.file(f"{hv['test_repository_dir']}/{repo}/snapshots").is_directory
    # Without the password the repository cannot be opened.
    res = host.run(f"RESTIC_PASSWORD=wrong-password restic -r {hv['backup_repository']}/files snapshots")
    assert res.rc != 0 and "wrong password" in (res.stderr + res.stdout).lower()


def test_metrics_file_reports_last_success(host):
    # node_exporter runs unprivileged: the file and its directory must be world-readable.
    assert host.file("/var/lib/prometheus/node-exporter").mode == 0o755
    assert host.file("/var/lib/prometheus/node-exporter/omero_backup.prom").mode == 0o644
    text = host.check_output("cat /var/lib/prometheus/node-exporter/omero_backup.prom")
    values = dict(line.split() for line in text.splitlines() if line and not line.startswith("#"))
    now = float(host.check_output("date +%s"))
    assert float(values["omero_backup_last_run_success"]) == 1.0
    assert now - float(values["omero_backup_last_success_timestamp_seconds"]) < 3600


def test_freshness_check(host):
    assert host.run("/usr/local/sbin/omero-backup freshness --max-age-hours 13").rc == 0
    # An age limit the last run cannot meet makes the check fail (exit 2) for monitoring.
    assert host.run("/usr/local/sbin/omero-backup freshness --max-age-hours 0.00001").rc == 2


def test_concurrent_run_is_refused(host):
    before = complete_run_ids(host)
    res = host.run("flock /run/lock/omero-backup.lock /usr/local/sbin/omero-backup run")
    assert res.rc == 75 and "refusing" in res.stderr
    assert complete_run_ids(host) == before


def test_check_waits_for_a_running_command(host):
    # The integrity check queues behind a running backup (here: a process holding the lock for 4 s, which
    # marks when it holds the lock and, last, when it lets go): the check ends only after the release mark.
    host.check_output("rm -f /run/test-lock-held /run/test-lock-released")
    host.check_output("setsid -f flock /run/lock/omero-backup.lock "
                      "sh -c 'touch /run/test-lock-held; sleep 4; touch /run/test-lock-released' >/dev/null 2>&1")
    assert wait_on_host(host, "test -e /run/test-lock-held", timeout=60).rc == 0, "the lock holder never started"
    res = host.run("/usr/local/sbin/omero-backup check")
    assert res.rc == 0, res.stderr
    assert host.file("/run/test-lock-released").exists, "the check ran while the lock was held"
