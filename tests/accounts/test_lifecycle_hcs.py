"""The lifecycle runner (roles/governance/files/omero-governance) on HCS data and on sudo sessions.

Plates are imported the way OMERO creates them (tests/support/omero_import.py: Screen -> Plate -> Well ->
WellSample -> Image, the images in no dataset); the runner runs as a subprocess against the stand-in, in
check mode (it reads, computes and prints what is due; nothing is sent).
"""
import json
import os
import pathlib
import subprocess
import sys

import omero_import
import omero_test_server_governance as seed
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUNNER = ROOT / "roles" / "governance" / "files" / "omero-governance"
TODAY = "2027-01-22"  # a review month
OLD = "2020-03-02"  # more than five years before TODAY


@pytest.fixture
def world(target, tmp_path):
    if target.store is None:
        pytest.skip("seeds the stand-in's store directly (dates in the past cannot be imported on a real server)")
    store = target.store
    uids = {"lead": seed.add_user(store, "lead", ["team-h"], owner_of=["team-h"], email="lead@example.org"),
            "memb": seed.add_user(store, "memb", ["team-h"], email="memb@example.org"),
            "ref": seed.add_user(store, "ref", ["team-h"], email="ref@example.org")}
    gid = store.group_id("team-h")
    password = tmp_path / "pw"
    password.write_text(target.admin_password + "\n")
    inventory = {"people": {n: {"name": n.title(), "email": f"{n}@example.org", "site": "iBV", "status": "active"}
                            for n in uids},
                 "teams": {"team-h": {"leader": "lead", "site": "iBV"}}, "external_groups": [], "referents": ["ref"],
                 "retention_extensions": [], "transfers": []}
    cfg = {"omero": {"host": "127.0.0.1", "port": target.port, "protocol": "tcp", "user": "root",
                     "password_file": str(password)},
           "smtp": {"host": "127.0.0.1", "port": 9}, "mail_from": "s@example.org", "support": "s@example.org",
           "state_file": str(tmp_path / "state.json"), "report_dir": str(tmp_path / "reports"),
           "lock_file": str(tmp_path / "lock"), "expiry_policy": "disable_login", "inventory": inventory}
    return {"store": store, "uids": uids, "gid": gid, "cfg": cfg, "dir": tmp_path}


def check_run(world):
    path = world["dir"] / "config.json"
    path.write_text(json.dumps(world["cfg"]))
    env = dict(os.environ, OMERO_GOVERNANCE_LIB=str(ROOT / "module_utils"))
    proc = subprocess.run([sys.executable, str(RUNNER), "--config", str(path), "run", "--check", "--today", TODAY],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def retention_items(summary):
    return sorted(i for d in summary["due"] if "older than" in d["subject"] for i in d["items"])


def test_hcs_retention_counts_plates_not_plate_images(world):
    store, memb, gid = world["store"], world["uids"]["memb"], world["gid"]
    screen = seed.add_object(store, "Screen", memb, gid, "screen 2020", OLD)
    plate = omero_import.import_plate(store, memb, gid, "plate&plates=1&plateRows=2&plateCols=2&fields=1.fake",
                                      screen=screen, created=OLD)
    loose = omero_import.import_plate(store, memb, gid, "loose&plates=1&plateRows=1&plateCols=2&fields=1.fake",
                                      created=OLD)
    items = retention_items(check_run(world))
    assert items == sorted([f"Screen:{screen}", f"Plate:{loose['plate']}"]), items  # the screened plate: via its screen
    assert not any(f"Image:{i}" in items for i in plate["images"] + loose["images"])


def test_retention_extensions_of_plates_and_screens_apply(world):
    store, memb, gid = world["store"], world["uids"]["memb"], world["gid"]
    created = "2021-06-01"  # over five years before TODAY, under six: an extension can still cover it
    screen = seed.add_object(store, "Screen", memb, gid, "screen 2021", created)
    omero_import.import_plate(store, memb, gid, "p&plates=1&plateRows=1&plateCols=1&fields=1.fake", screen=screen,
                              created=created)
    loose = omero_import.import_plate(store, memb, gid, "q&plates=1&plateRows=1&plateCols=1&fields=1.fake",
                                      created=created)
    assert retention_items(check_run(world)) == sorted([f"Screen:{screen}", f"Plate:{loose['plate']}"])
    world["cfg"]["inventory"]["retention_extensions"] = [
        {"what": f"Screen:{screen}", "created": created, "until": "2027-06-01", "why": "paper in review"},
        {"what": f"Plate:{loose['plate']}", "created": created, "until": "2027-06-01", "why": "paper in review"}]
    assert retention_items(check_run(world)) == []


def test_account_review_counts_only_a_persons_own_logins(world):
    store, uids = world["store"], world["uids"]
    sessions = seed.login_sessions(store)
    sessions.append((uids["memb"], "2025-06-01"))  # memb's own last login: over 12 months before TODAY
    sessions.append((uids["memb"], "2027-01-10", 0))  # root acting as memb (sudo): not memb's login
    sessions.append((uids["lead"], "2027-01-05"))
    sessions.append((uids["ref"], "2027-01-02"))
    review = next(d for d in check_run(world)["due"] if d["subject"].startswith("[OMERO] Account review"))
    assert "1 flagged" in review["subject"], review["subject"]
