"""Module main() against the in-process Ice test server, through omero-py's real client and marshalling."""
import json
import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("omero", reason="omero-py (with zeroc-ice 3.6) is not installed: module tests need it")
pytest.importorskip("Ice", reason="zeroc-ice is not installed: module tests need it")

import omero_import
from module_runner import run_module
from omero_test_server import OmeroTestServer

ROOT = pathlib.Path(__file__).resolve().parents[2]
PASSWORD = "Initial-Passw0rd!"
PASSWORDS = {"vault_omero_accounts_password_fbrau": PASSWORD,
             "vault_omero_accounts_password_fbekkouche": "Other-Passw0rd!",
             "vault_omero_accounts_password_cmartin": "Third-Passw0rd!"}


@pytest.fixture
def server():
    with OmeroTestServer() as srv:
        yield srv


def expanded(inventory="local", today="2026-11-20"):
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "validate-inventory"), "--expand", "--today", today,
                          str(ROOT / "inventories" / inventory)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def all_passwords(desired):
    """Every password_var of the inventory gets a policy-compliant value; PASSWORDS override a few."""
    out = {u["password_var"]: "Gen-{}-Passw0rd!".format(u["omename"]) for u in desired["users"] if u.get("password_var")}
    return dict(out, **PASSWORDS)


def accounts_args(server, desired, **extra):
    return dict(server.connection_args(), desired=desired, passwords=all_passwords(desired), **extra)


def test_check_apply_reapply_changed_changed_unchanged(server):
    desired = expanded()
    check, _ = run_module("omero_accounts", accounts_args(server, desired), check_mode=True)
    assert check["changed"] is True, check
    assert server.store.mutating_calls() == 0, dict(server.store.counts)
    assert server.store.group_id("brau") is None

    apply, _ = run_module("omero_accounts", accounts_args(server, desired))
    assert apply["changed"] is True, apply
    assert apply["actions"] == check["actions"]
    assert server.store.group_id("brau") is not None

    server.reset_counts()
    again, _ = run_module("omero_accounts", accounts_args(server, desired))
    assert again["changed"] is False, again["actions"]
    assert again["actions"] == []
    assert server.store.mutating_calls() == 0
    # One session: two bulk reads, the session's own privileges, one privilege read per referent (2 here).
    assert server.store.counts["Router.createSession"] == 1
    assert server.store.admin_calls() == 5, dict(server.store.counts)


def test_apply_builds_the_dmp_model_on_the_server(server):
    run_module("omero_accounts", accounts_args(server, expanded()))
    store = server.store
    brau = store.group_id("brau")
    assert store.groups[brau]["permissions"] == "rwra--"
    assert store.groups[store.group_id("martin")]["permissions"] == "rwr---"
    assert store.groups[store.group_id("public")]["permissions"] == "rwr---"
    fbrau = store.user_id("fbrau")
    assert store.passwords[fbrau] == PASSWORD
    assert store.links[fbrau][0][0] == brau  # default group: own team
    assert [brau, True] in store.links[fbrau]  # leader owns the team group
    referent = store.user_id("mleroy")
    assert 0 in [g for g, _o in store.links[referent]]  # in system...
    assert store.admin_privileges(referent) == {"Chown", "ModifyGroup", "ModifyGroupMembership", "ModifyUser",
                                                "ReadSession"}
    assert store.user_id("pdubois") is None  # departed and never created: nothing to do
    lnguyen = store.user_id("lnguyen")
    assert store.passwords[lnguyen] == "Gen-lnguyen-Passw0rd!"  # every new account gets its initial password


def test_diff_and_output_never_contain_passwords(server):
    result, raw = run_module("omero_accounts", accounts_args(server, expanded()))
    assert result["changed"]
    for secret in PASSWORDS.values():
        assert secret not in raw
        assert secret not in json.dumps(result["diff"])
    assert "password" not in json.dumps(result["diff"])


def test_departure_transfers_data_renames_and_parks(server):
    desired = expanded()
    # pdubois is active first, owns two images.
    active = json.loads(json.dumps(desired))
    active["departed"] = []
    active["users"].append({"omename": "pdubois", "first_name": "Paul", "last_name": "Dubois",
                            "email": "paul.dubois@example.org", "institution": "iBV", "groups": ["martin"],
                            "default_group": "martin", "active": True, "admin": False, "admin_privileges": None,
                            "password_var": "vault_pd"})
    for g in active["groups"]:
        if g["name"] == "martin":
            g["members"] = sorted(g["members"] + ["pdubois"])
    run_module("omero_accounts", accounts_args(server, active))
    store = server.store
    uid = store.user_id("pdubois")
    martin = store.group_id("martin")
    imported = omero_import.import_file(store, uid, martin, "cells.fake")  # as OMERO creates an image
    image = imported["images"][0]
    dataset = store.add_object("Dataset", uid, martin)

    check, _ = run_module("omero_accounts", accounts_args(server, desired), check_mode=True)
    line = next(a for a in check["actions"] if a.startswith("transfer data of pdubois in group martin to cmartin"))
    assert "1 Dataset, 1 Fileset, 1 Image, 4 Job" in line, line
    assert store.user_id("pdubois") == uid and store.data[image]["owner"] == uid  # check mode: untouched

    result, _ = run_module("omero_accounts", accounts_args(server, desired))
    assert result["changed"]
    leader = store.user_id("cmartin")
    assert store.data[image]["owner"] == leader and store.data[dataset]["owner"] == leader
    assert store.users[uid]["omename"] == "A_utiliser_1"
    assert [g for g, _o in store.links[uid]] == [store.group_id("User d\u00e9sactiv\u00e9s")]
    assert "A_utiliser_1" in result["diff"]["after"]["users"]
    assert result["diff"]["after"]["users"]["A_utiliser_1"]["active"] is False
    chown = next(r for r in store.requests if r[0] == "Chown2" and not r[4])
    assert chown[1]["Image"] == [image] and chown[1]["Fileset"] == [imported["fileset"]] and chown[3] == leader
    again, _ = run_module("omero_accounts", accounts_args(server, desired))
    assert again["changed"] is False, again["actions"]


def test_departure_with_delete_data_deletes_only_then(server):
    desired = expanded()
    active = json.loads(json.dumps(desired))
    active["departed"] = []
    active["users"].append({"omename": "pdubois", "first_name": "Paul", "last_name": "Dubois", "email": "",
                            "institution": "", "groups": ["martin"], "default_group": "martin", "active": True,
                            "admin": False, "admin_privileges": None, "password_var": "vault_pd"})
    run_module("omero_accounts", accounts_args(server, active))
    store = server.store
    uid = store.user_id("pdubois")
    martin = store.group_id("martin")
    mine = omero_import.import_file(store, uid, martin, "cells.fake")
    theirs = store.add_object("Project", store.user_id("fbrau"), store.group_id("brau"))
    desired["departed"] = [{"omename": "pdubois", "transfer_to": "cmartin", "leaders": [], "delete_data": True}]
    result, _ = run_module("omero_accounts", accounts_args(server, desired))
    line = next(a for a in result["actions"] if a.startswith("delete data of pdubois in martin (delete_data: true): "))
    assert "1 Fileset" in line and "1 Image" in line, line
    assert not {mine["fileset"], *mine["images"], *mine["files"]} & set(store.data) and theirs in store.data
    assert all(d in store.data for d in mine["directories"])  # group user: never deleted
    assert not [r for r in store.requests if r[0] == "Chown2"]


def test_omero_group_permissions_owners_members_states(server):
    args = server.connection_args()
    run_module("omero_group", dict(args, groups=[{"name": "team-x", "permissions": "read-only"}, {"name": "team-y"}]))
    # Everyone has a second group: the server refuses to leave anyone in 'user' only (AdminImpl.removeGroups).
    run_module("omero_user", dict(args, users=[
        {"omename": n, "first_name": n.title(), "last_name": "Test", "groups": ["team-x", "team-y"], "password": PASSWORD}
        for n in ("anna", "bert", "carl")]))
    store = server.store
    gid = store.group_id("team-x")

    result, _ = run_module("omero_group", dict(args, groups=[
        {"name": "team-x", "permissions": "read-annotate", "description": "Team X", "owners": ["anna"],
         "members": ["anna", "bert"], "state": "exact"}]))
    assert result["changed"]
    assert store.counts["submit.Chmod2"] == 1
    assert store.groups[gid] == {"name": "team-x", "permissions": "rwra--", "description": "Team X", "ldap": False,
                                 "config": []}
    assert sorted(store.user_id(n) for n in ("anna", "bert")) == sorted(store.member_ids(gid))
    assert result["diff"]["before"]["groups"]["team-x"]["permissions"] == "read-only"
    assert result["diff"]["after"]["groups"]["team-x"]["members"] == ["anna", "bert"]

    result, _ = run_module("omero_group", dict(args, groups=[{"name": "team-x", "members": ["bert"], "state": "absent"}]))
    assert result["actions"] == ["remove user bert from team-x"]
    result, _ = run_module("omero_group", dict(args, groups=[{"name": "team-x", "members": ["carl"]}]))
    assert result["actions"] == ["add user carl to team-x"]
    result, _ = run_module("omero_group", dict(args, groups=[{"name": "team-x", "members": ["carl"]}]))
    assert result["changed"] is False


def test_omero_user_update_deactivate_reactivate_privileges_password(server):
    args = server.connection_args()
    run_module("omero_group", dict(args, groups=[{"name": "g1"}, {"name": "g2"}]))
    user = {"omename": "dora", "first_name": "Dora", "last_name": "Test", "email": "dora@example.org",
            "groups": ["g1"], "password": PASSWORD}
    run_module("omero_user", dict(args, users=[user]))
    store = server.store
    uid = store.user_id("dora")

    result, _ = run_module("omero_user", dict(args, users=[dict(user, email="dora.t@example.org", groups=["g2"],
                                                                 default_group="g2")], groups_state="exact"))
    assert result["changed"]
    assert store.users[uid]["email"] == "dora.t@example.org"
    assert next(g for g, _o in store.links[uid]) == store.group_id("g2")
    assert store.group_id("g1") not in [g for g, _o in store.links[uid]]

    result, _ = run_module("omero_user", dict(args, users=[{"omename": "dora", "active": False}]))
    assert result["actions"] == ["remove user dora from user"]
    assert 1 not in [g for g, _o in store.links[uid]]
    result, _ = run_module("omero_user", dict(args, users=[{"omename": "dora", "active": True}]))
    assert result["actions"] == ["add user dora to user"]

    privileges = ["ModifyGroup", "ModifyUser"]
    result, _ = run_module("omero_user", dict(args, users=[{"omename": "dora", "admin": True, "admin_privileges": privileges}]))
    assert store.admin_privileges(uid) == set(privileges)
    result, _ = run_module("omero_user", dict(args, users=[{"omename": "dora", "admin": True, "admin_privileges": privileges}]))
    assert result["changed"] is False

    result, raw = run_module("omero_user", dict(args, users=[{"omename": "dora", "password": "New-Passw0rd!!"}]))
    assert result["changed"] is False  # on_create
    result, raw = run_module("omero_user", dict(args, users=[{"omename": "dora", "password": "New-Passw0rd!!"}],
                                                update_password="always"))
    assert result["actions"] == ["set password of dora"]
    assert store.passwords[uid] == "New-Passw0rd!!"
    assert "New-Passw0rd!!" not in raw


def test_restricted_admin_is_created_with_privileges(server):
    args = server.connection_args()
    run_module("omero_group", dict(args, groups=[{"name": "referents"}]))
    result, _ = run_module("omero_user", dict(args, users=[
        {"omename": "rita", "first_name": "Rita", "last_name": "Ref", "groups": ["referents"], "admin": True,
         "admin_privileges": ["Chown", "ModifyUser"], "password": PASSWORD}]))
    assert result["changed"]
    uid = server.store.user_id("rita")
    assert server.store.counts["IAdmin.createRestrictedSystemUserWithPassword"] == 1
    assert server.store.admin_privileges(uid) == {"Chown", "ModifyUser"}
    assert server.store.links[uid][0][0] == server.store.group_id("referents")


def test_bad_credentials_fail_cleanly(server):
    result, raw = run_module("omero_group", dict(server.connection_args(), admin_password="wrong-password",
                                                 groups=[{"name": "g"}]))
    assert result["failed"] is True
    assert "PermissionDenied" in result["msg"]
    assert "wrong-password" not in raw


def test_unknown_member_fails_without_changes(server):
    result, _ = run_module("omero_group", dict(server.connection_args(), groups=[{"name": "g", "members": ["ghost"]}]))
    assert result["failed"] is True and "ghost" in result["msg"]
    assert server.store.mutating_calls() == 0


def test_benchmark_meets_the_no_change_budget():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "accounts.py"), "--users", "500", "--groups", "150"],
                          check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (summary["users"], summary["groups"]) == (500, 150)
    assert summary["calls_no_change"] <= 5
    assert summary["sessions_no_change"] == 1 and summary["changed_no_change"] is False
    assert summary["calls_first_run"] >= 500 + 150  # every user and group was really created


def test_omero_group_downgrade_is_opt_in_and_check_mode_lists_deletions(server):
    args = server.connection_args()
    run_module("omero_group", dict(args, groups=[{"name": "team-d", "permissions": "read-annotate"}]))
    run_module("omero_user", dict(args, users=[
        {"omename": n, "first_name": n.title(), "last_name": "Test", "groups": ["team-d"], "password": PASSWORD}
        for n in ("anna", "bert")]))
    store = server.store
    gid = store.group_id("team-d")
    image = store.add_object("Image", store.user_id("anna"), gid)
    tag = store.add_object("TagAnnotation", store.user_id("bert"), gid)
    store.add_object("ImageAnnotationLink", store.user_id("bert"), gid, parent=image, child=tag)
    refused, _ = run_module("omero_group", dict(args, groups=[{"name": "team-d", "permissions": "private"}]))
    assert refused["failed"] is True and "allow_downgrade" in refused["msg"]
    check, _ = run_module("omero_group", dict(args, groups=[{"name": "team-d", "permissions": "private",
                                                             "allow_downgrade": True}]), check_mode=True)
    assert check["actions"] == [("change permissions of group team-d from read-annotate to private "
                                 "(allow_downgrade: deletes 1 ImageAnnotationLink)")]
    assert store.groups[gid]["permissions"] == "rwra--"
    done, _ = run_module("omero_group", dict(args, groups=[{"name": "team-d", "permissions": "private",
                                                            "allow_downgrade": True}]))
    assert done["changed"] and store.groups[gid]["permissions"] == "rw----"
    assert tag in store.data and image in store.data  # the tag stays (not a basic/comment annotation)
