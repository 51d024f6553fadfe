"""playbooks/accounts.yml end to end on the controller (connection local) against the Ice test server.

check mode -> apply -> re-apply must report changed, changed, unchanged, and check mode must not make a
single mutating call; a bad inventory stops the play before any change; a host without OMERO.server
skips the apply step with a message instead of failing.
"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("omero", reason="omero-py (with zeroc-ice 3.6) is not installed: the playbook test needs it")

import omero_import
from omero_test_server import OmeroTestServer

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = pathlib.Path(sys.executable).with_name("ansible-playbook")
if not PLAYBOOK_BIN.exists():
    pytest.skip(f"ansible-playbook not found next to {sys.executable}", allow_module_level=True)

ROOT_PASSWORD = "Rt7-kq2VwXe9-pL4zN!"  # above the secret-strength floor (plugins/filter/secret_floor.py)
FBRAU_PASSWORD = "Fbrau-Initial-42!"


@pytest.fixture
def server():
    with OmeroTestServer(root_password=ROOT_PASSWORD) as srv:
        yield srv


def make_inventory(tmp_path, accounts=ROOT / "inventories" / "local" / "accounts", python=sys.executable, extra=None):
    inv = tmp_path / "inv"
    shutil.copytree(accounts, inv / "accounts")
    (inv / "group_vars").mkdir()
    (inv / "hosts.yml").write_text(json.dumps({"all": {"children": {"omero_server": {"hosts": {"testhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}}}))
    group_vars = {var: f"Gen-{var[-8:]}-Passw0rd!" for var in password_vars(accounts)}
    group_vars.update({"omero_server_root_password": ROOT_PASSWORD,
                       "vault_omero_accounts_password_fbrau": FBRAU_PASSWORD,
                       "omero_accounts_python": str(python),
                       "omero_accounts_state_dir": str(tmp_path / "state")})
    group_vars.update(extra or {})
    (inv / "group_vars" / "all.yml").write_text(json.dumps(group_vars))
    return inv


def password_vars(accounts):
    text = (pathlib.Path(accounts) / "people.yml").read_text() if (pathlib.Path(accounts) / "people.yml").exists() else ""
    return sorted(set(re.findall(r"password_var: (\w+)", text)))


def play(inv, server=None, check=False, diff=False):
    extra = {}
    if server is not None:
        extra = {"omero_accounts_host": "127.0.0.1", "omero_accounts_port": server.port, "omero_accounts_protocol": "tcp"}
    cmd = [str(PLAYBOOK_BIN), "-i", str(inv / "hosts.yml"), str(ROOT / "playbooks" / "accounts.yml"),
           "-e", json.dumps(extra)] + (["--check"] if check else []) + (["--diff"] if diff else [])
    # The json stdout callback; ansible.cfg's profile_tasks (which prints to stdout) is replaced by the
    # file-only tree callback so that stdout stays one JSON document.
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.tree",
               ANSIBLE_CALLBACK_TREE_DIR=str(inv / "tree"), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"no JSON report (rc {proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    return proc.returncode, report, proc.stdout


def task_results(report, name):
    out = []
    for p in report["plays"]:
        for t in p["tasks"]:
            if t["task"]["name"].split(" : ", 1)[-1] == name:
                out.extend(t["hosts"].values())
    return out


APPLY = "Reconcile groups and users in one OMERO session"


def test_check_apply_reapply(tmp_path, server):
    inv = make_inventory(tmp_path)
    rc, report, raw = play(inv, server, check=True)
    assert rc == 0, raw[-3000:]
    assert report["stats"]["testhost"]["changed"] == 1
    assert task_results(report, APPLY)[0]["changed"] is True
    assert server.store.mutating_calls() == 0
    assert FBRAU_PASSWORD not in raw and ROOT_PASSWORD not in raw

    rc, report, raw = play(inv, server)
    assert rc == 0, raw[-3000:]
    assert report["stats"]["testhost"]["changed"] == 1
    assert server.store.passwords[server.store.user_id("fbrau")] == FBRAU_PASSWORD
    assert FBRAU_PASSWORD not in raw and ROOT_PASSWORD not in raw

    server.reset_counts()
    rc, report, raw = play(inv, server)
    assert rc == 0, raw[-3000:]
    assert report["stats"]["testhost"]["changed"] == 0
    assert server.store.mutating_calls() == 0
    assert server.store.counts["Router.createSession"] == 1


def test_invalid_inventory_stops_before_any_change(tmp_path, server):
    inv = make_inventory(tmp_path, accounts=ROOT / "tests" / "unit" / "fixtures" / "bad_inventories" / "unknown_person_in_team" / "accounts")
    rc, report, _raw = play(inv, server)
    assert rc != 0
    failed = task_results(report, "Stop on an invalid accounts inventory")
    assert failed and failed[0]["failed"] is True
    assert any("team.members[1]: unknown person 'ghost'" in line for line in failed[0]["msg"])
    assert server.store.counts["Router.createSession"] == 0


def test_weak_initial_password_is_refused_without_echo(tmp_path, server):
    inv = make_inventory(tmp_path, extra={"vault_omero_accounts_password_fbrau": "weakpass"})
    rc, report, raw = play(inv, server)
    assert rc != 0
    failed = task_results(report, "Stop on a password that fails the policy")
    assert failed and failed[0]["failed"] is True
    assert any("vault_omero_accounts_password_fbrau fails the policy" in line for line in failed[0]["msg"])
    assert "weakpass" not in raw
    assert server.store.counts["Router.createSession"] == 0


def test_without_omero_server_the_apply_step_is_skipped_with_a_message(tmp_path):
    inv = make_inventory(tmp_path, python="/nonexistent/venv3/bin/python")
    rc, report, raw = play(inv)
    assert rc == 0, raw[-3000:]
    said = task_results(report, "Say why the accounts are not applied")
    assert said and "OMERO.server is required" in said[0]["msg"]
    assert task_results(report, APPLY) == []


def test_placeholder_initial_password_is_never_used(tmp_path, server):
    inv = make_inventory(tmp_path, extra={"vault_omero_accounts_password_fbrau": "CHANGE_ME"})
    rc, report, raw = play(inv, server)
    assert rc != 0, raw[-3000:]
    warned = task_results(report, "Warn about people whose initial password is not in the vault")
    assert warned and "vault_omero_accounts_password_fbrau" in warned[0]["msg"]
    # A new account without an initial password is refused at plan time: nothing at all is changed.
    stopped = task_results(report, "Stop when the accounts could not be applied")
    assert stopped and "'fbrau': a new account needs an initial password" in stopped[0]["msg"]
    assert "nothing was changed" in stopped[0]["msg"]
    assert server.store.mutating_calls() == 0 and server.store.user_id("fbrau") is None


def test_check_diff_prints_every_action_drift_and_what_a_downgrade_deletes(tmp_path, server):
    inv = make_inventory(tmp_path)
    rc, _report, raw = play(inv, server)
    assert rc == 0, raw[-3000:]
    store = server.store
    # A referent changed something in OMERO.web: lnguyen joined brau.
    store.links[store.user_id("lnguyen")].append([store.group_id("brau"), False])
    # Data with a cross-owner comment in brau-collab, and the inventory now makes that group private.
    collab = store.group_id("brau-collab")
    image = omero_import.import_file(store, store.user_id("fbekkouche"), collab, "cells.fake")["images"][0]
    comment = store.add_object("CommentAnnotation", store.user_id("fbrau"), collab)
    store.add_object("ImageAnnotationLink", store.user_id("fbrau"), collab, parent=image, child=comment)
    team = inv / "accounts" / "teams" / "brau.yml"
    team.write_text(team.read_text() + "  collaboration_permissions: private\n  allow_downgrade: true\n")
    server.reset_counts()

    rc, report, raw = play(inv, server, check=True, diff=True)
    assert rc == 0, raw[-3000:]
    shown = task_results(report, "Show what changed (or would change in check mode)")[0]["msg"]
    assert "change permissions of group brau-collab from read-annotate to private (allow_downgrade: deletes " \
           "1 CommentAnnotation, 1 ImageAnnotationLink)" in shown
    drift = task_results(report, "Report changes made in OMERO outside the inventory (drift)")[0]["msg"]
    assert "drift: lnguyen joined group brau in OMERO, not in the inventory (kept: set drift_policy: revert to undo it)" in drift
    assert store.mutating_calls() == 0 and comment in store.data
    assert store.groups[collab]["permissions"] == "rwra--"
