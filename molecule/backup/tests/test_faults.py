"""Loud failures that never hide the last good run: database down, SIGKILL in the middle of a run."""
import json

from conftest import (
    RESTIC_ENV,
    complete_run_ids,
    mails,
    pg_unit,
    runs,
    start_unit,
)
from polling import wait_for

ALERT = "omero-backup-alert@omero-backup.service.service"


def test_database_down_fails_alerts_and_keeps_snapshots(host, hv):
    before = runs(host)
    mails_before = mails(host)
    pg = pg_unit(host)
    assert pg.startswith("postgresql@")
    host.check_output(f"systemctl stop {pg}")
    try:
        assert start_unit(host, "omero-backup.service") != 0
        assert host.check_output("systemctl show omero-backup.service -p Result") == "Result=exit-code"
        new_mail = wait_for(lambda: sorted(set(mails(host)) - set(mails_before)))
        assert len(new_mail) == 1
        mail = host.check_output(f"cat {new_mail[0]}")
        assert "Subject: [omero-backup] omero-backup.service FAILED" in mail
        assert "To: omero-admins@example.org" in mail
        assert host.check_output(f"systemctl show {ALERT} -p Result") == "Result=success"
        # Nothing was written and nothing was removed: same runs, same snapshot ids.
        assert runs(host) == before
        assert host.check_output("ls -A /var/lib/omero-backup/dump") == ""
        prom = host.check_output("cat /var/lib/prometheus/node-exporter/omero_backup.prom")
        assert "omero_backup_last_run_success 0.000" in prom
        assert "omero_backup_last_success_timestamp_seconds" in prom
    finally:
        host.check_output(f"systemctl start {pg}")
    assert start_unit(host, "omero-backup.service") == 0
    assert len(complete_run_ids(host)) == len([r for r in before if r["complete"]]) + 1
    assert "omero_backup_last_run_success 1.000" in host.check_output(
        "cat /var/lib/prometheus/node-exporter/omero_backup.prom")


def test_killed_mid_run_next_run_and_check_succeed(host, hv):
    files_repo = f"{hv['backup_repository']}/files"
    files_dir = f"{hv['test_repository_dir']}/files"
    host.check_output("mkdir -p /OMERO/big && for i in $(seq 1 12); do head -c 50000000 /dev/urandom > /OMERO/big/$i.raw; done")
    before = complete_run_ids(host)
    packs_before = int(host.check_output(f"find {files_dir}/data -type f | wc -l"))
    host.check_output("systemctl start --no-block omero-backup.service")
    # Kill once restic has written packs of the new data: the run is in the middle of the file backup.
    written = wait_for(
        lambda: int(host.check_output(f"find {files_dir}/data -type f | wc -l")) >= packs_before + 3, interval=0.1)
    assert written
    host.check_output("systemctl kill --signal=SIGKILL omero-backup.service")
    wait_for(lambda: host.check_output("systemctl show omero-backup.service -p ActiveState") != "ActiveState=activating")
    assert host.check_output("systemctl show omero-backup.service -p Result") == "Result=signal"
    assert complete_run_ids(host) == before  # the killed run left no complete pair
    # The killed restic left its lock behind; the next run removes it as stale and succeeds.
    locks = host.check_output(f"{RESTIC_ENV} restic -r {files_repo} list locks --no-lock")
    assert locks.strip() != ""
    assert start_unit(host, "omero-backup.service") == 0
    assert len(complete_run_ids(host)) == len(before) + 1
    assert host.check_output(f"{RESTIC_ENV} restic -r {files_repo} list locks --no-lock").strip() == ""
    # The integrity check reads the next subset of the data of both repositories and passes.
    part = json.loads(host.check_output("cat /var/lib/omero-backup/state.json")).get("check_next_subset", 1)
    assert start_unit(host, "omero-backup-check.service") == 0
    state = json.loads(host.check_output("cat /var/lib/omero-backup/state.json"))
    assert state["check_next_subset"] == part % 12 + 1
    host.check_output("rm -rf /OMERO/big")
