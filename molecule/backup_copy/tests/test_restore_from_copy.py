"""On the OMERO host: the restore from the copy alone reproduced the state, and the host's own credentials
can neither read, forget, prune nor delete the copy."""
import json

from conftest import COPY, PRIMARY, STATE, copy_runs, env_of, s3_status

testinfra_hosts = ["s3-omero12"]


def test_primary_was_lost_before_the_restore(host):
    log = host.check_output("cat /root/restore.log")
    # restore.yml configured the tool on the copy's repositories, then restored the latest run from there.
    assert f"{COPY}/database" in log and f"{COPY}/files" in log
    assert "Restore the database and the files" in log
    assert "database before the restore kept in (no database existed)" in log


def test_restored_files_and_rows_equal_the_seeded_state(host):
    seeded = json.loads(host.check_output("cat /root/seeded-state.json"))
    now = json.loads(host.check_output(STATE))
    assert len(seeded["files"]) >= 50
    assert seeded["tables"] == {"public.image": 3000, "public.project": 7}
    assert now["tables"] == seeded["tables"]
    differ = sorted(p for p in set(seeded["files"]) | set(now["files"]) if seeded["files"].get(p) != now["files"].get(p))
    assert differ == []


def test_host_is_back_on_its_own_primary(host):
    cfg = json.loads(host.check_output("grep -v '^#' /etc/omero-backup/config.json"))
    assert cfg["repositories"] == {"database": f"{PRIMARY}/database", "files": f"{PRIMARY}/files"}
    def complete():
        return [r for r in json.loads(host.check_output("/usr/local/sbin/omero-backup runs")) if r["complete"]]
    before = complete()
    assert host.run("systemctl start omero-backup.service").rc == 0
    assert len(complete()) == len(before) + 1


def test_omero_host_cannot_forget_or_prune_the_copy(host, copy_host):
    before = copy_runs(copy_host)
    own = f"{env_of(host, '/etc/omero-backup')} RESTIC_PASSWORD_FILE=/etc/omero-backup/restic-password"
    for repo in ("database", "files"):
        res = host.run(f"{own} restic -r {COPY}/{repo} forget --keep-last 1 --prune")
        assert res.rc != 0, res.stdout
        res = host.run(f"{own} restic -r {COPY}/{repo} --no-lock snapshots")
        assert res.rc != 0, res.stdout
    assert copy_runs(copy_host) == before and len(before) >= 2


def test_omero_host_identity_cannot_touch_the_copy_bucket(host, copy_host, keys):
    own = dict(line.split("=", 1) for line in env_of(host, "/etc/omero-backup").split())
    identity = {"id": own["AWS_ACCESS_KEY_ID"], "secret": own["AWS_SECRET_ACCESS_KEY"]}
    assert identity["id"] == keys["omero_host"]["id"]
    # The signing works: the same identity writes and deletes in its own primary bucket.
    assert s3_status(host, identity, "PUT", "omero-primary/probe") == "200"
    assert s3_status(host, identity, "DELETE", "omero-primary/probe") == "204"
    # The copy bucket refuses it: no delete, no overwrite, no read, no listing.
    for method, path in (("DELETE", "omero-copy/omero/database/config"), ("DELETE", "omero-copy/omero/files/config"),
                         ("PUT", "omero-copy/omero/files/config"), ("GET", "omero-copy/omero/files/config"),
                         ("GET", "omero-copy?list-type=2")):
        assert s3_status(host, identity, method, path) == "403", (method, path)
    admin = keys["admin"]
    assert s3_status(copy_host, admin, "GET", "omero-copy/omero/database/config") == "200"  # still there


def test_omero_host_holds_no_copy_secret(host, copy_host, keys):
    copy_password = copy_host.check_output("cat /etc/omero-backup-copy/restic-password")
    for secret in (copy_password, keys["copy_host"]["secret"], keys["restore"]["secret"]):
        res = host.run(f"grep -rlF -- '{secret}' /etc /var/lib/omero-backup /usr/local")
        assert res.rc == 1 and res.stdout == "", res.stdout
    assert not host.file("/etc/omero-backup-copy").exists
    assert not host.file("/etc/systemd/system/omero-backup-copy.service").exists
