"""restore.yml cannot surprise: it refuses without the host named, keeps the live database's dump, and swaps the
restored state in only when the restore succeeded (side_effect.yml ran restore.yml as an administrator does)."""
import json
import re

from conftest import backup_paths, complete_run_ids, live_state


def test_restore_without_confirmation_refused_and_changed_nothing(host):
    runs = [host.check_output(f"cat /root/restore-refused-{i}.log") for i in (0, 1)]
    for out in runs:
        assert "Refusing to restore: nothing was changed" in out
        assert "-e restore_confirm=<host>" in out
        recap = re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", out, re.MULTILINE)
        assert recap and all(changed == "0" for _, changed in recap), recap
    assert "got ''" in runs[0] and "got 'not-a-backup-host'" in runs[1]
    # Same files (sha256) and row counts before and after the two refused runs.
    before = json.loads(host.check_output("cat /root/state-before-refused.json"))
    after = json.loads(host.check_output("cat /root/state-after-refused.json"))
    assert len(before["files"]) >= 100 and before["tables"]
    assert before == after


def test_restore_touched_only_the_named_host(host, hv):
    log = host.check_output("cat /root/restore.log")
    name = hv["inventory_hostname"]
    recap = dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", log, re.MULTILINE))
    assert int(recap[name]) > 0
    assert all(changed == "0" for other, changed in recap.items() if other != name), recap


def test_current_database_was_dumped_and_kept(host, hv):
    dumps = host.run("ls /var/lib/omero-backup/pre-restore/*.pgdump 2>/dev/null").stdout.split()
    log = host.check_output("cat /root/restore.log")
    if hv["test_wipe_database"]:
        # The database had been dropped: nothing to keep, and the report says so.
        assert dumps == []
        assert "database before the restore kept in (no database existed)" in log
        return
    assert len(dumps) == 1
    f = host.file(dumps[0])
    assert (f.user, f.mode) == ("root", 0o600) and host.file("/var/lib/omero-backup/pre-restore").mode == 0o700
    assert f"database before the restore kept in {dumps[0]}" in log
    # It holds the live database of the moment (run 2's changes), not the restored run 1.
    listing = host.check_output(f"pg_restore --list {dumps[0]}")
    assert "TABLE public added_after_run_1" in listing


def test_no_staging_left_behind(host, hv):
    for path in backup_paths(host):
        assert host.run(f"ls -A {path} | grep -c omero-restore").stdout.strip() == "0"
    dbs = host.check_output(f"runuser -u postgres -- psql -p {hv['backup_postgresql_port']} -tAc 'SELECT datname FROM pg_database'")
    assert "omero" in dbs.split() and "omero_restore_staging" not in dbs


def test_failed_restore_leaves_the_live_state(host, hv):
    """A restore that fails after the files were staged (the staging database cannot be created: its owner
    does not exist) swaps nothing in: same files, same rows, no staging left, the live dump kept anyway."""
    before = live_state(host)
    cfg = json.loads(host.check_output("grep -v '^#' /etc/omero-backup/config.json"))
    cfg["postgresql"]["owner"] = "no_such_role"
    host.check_output(f"umask 077; cat > /root/broken-config.json <<'EOF'\n{json.dumps(cfg)}\nEOF")
    first_run = complete_run_ids(host)[0]
    dumps_before = host.run("ls /var/lib/omero-backup/pre-restore/ 2>/dev/null").stdout.split()
    res = host.run(f"OMERO_BACKUP_CONFIG=/root/broken-config.json /usr/local/sbin/omero-backup restore {first_run}")
    host.check_output("rm -f /root/broken-config.json")
    assert res.rc == 1, res.stdout + res.stderr
    assert "restore FAILED" in res.stderr and "createdb" in res.stderr
    assert "/OMERO/.omero-restore-staging" in res.stderr  # the files had been staged when it failed
    assert live_state(host) == before
    test_no_staging_left_behind(host, hv)
    # The live database was dumped and kept before anything else, as always.
    dumps_after = host.run("ls /var/lib/omero-backup/pre-restore/").stdout.split()
    assert len(dumps_after) == len(dumps_before) + 1
