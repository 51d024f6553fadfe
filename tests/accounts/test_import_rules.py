"""The real server's rules on import-shaped data, one test each, and the departures they shape.

Graph requests are submitted directly (omero.cmd.Chown2 as root) where a rule is the point; the DMP's
flows go through the omero_accounts module. See conftest.py for the target (stand-in or real server).
"""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import omero
import omero.cmd
import pytest
from accounts_harness import password_of

MULTI = "multi&series=3.fake"
SINGLE = "single.fake"
PLATE = "plate&plates=1&plateRows=2&plateCols=2&fields=1.fake"
ROOT = pathlib.Path(__file__).resolve().parents[2]



def chown(session, targets, to, dry_run=True):
    """Submit a Chown2 and wait for its end; the response (ERR or Chown2Response)."""
    request = omero.cmd.Chown2(targetObjects=targets, userId=session.admin.lookupExperimenter(to).getId().val,
                               dryRun=dry_run)
    handle = session.sf.submit(request)
    for _ in range(600):
        response = handle.getResponse()
        if response is not None:
            handle.close()
            return response
        time.sleep(0.1)
    raise AssertionError("the request did not finish in 60 s")


def error_text(response):
    assert isinstance(response, omero.cmd.ERR), response
    return f"{response.name}: {getattr(response, 'message', '')} {dict(response.parameters or {})}"


def test_one_series_of_a_fileset_cannot_be_given_alone(target, two_teams):
    # blitz-chown-rules.xml: "within {F} may not give {I1} while {I2} remains".
    inv = two_teams
    inv.run()
    with inv.as_person("memb") as s:
        multi = s.import_fake(inv.n("team-a"), MULTI)
    with target.session() as s:
        assert "may not give" in error_text(chown(s, {"Image": multi["images"][:1]}, inv.n("lead_a")))
        whole = chown(s, {"Fileset": [multi["fileset"]]}, inv.n("lead_a"))
        assert not isinstance(whole, omero.cmd.ERR), error_text(whole)
        assert set(multi["images"]) <= set(whole.includedObjects.get("ome.model.core.Image", [])
                                           or whole.includedObjects.get("Image", []))


def test_a_script_output_cannot_be_given_without_its_job(target, two_teams):
    # blitz-chown-rules.xml: "may not give {OF} until {J} can be given".
    inv = two_teams
    inv.run()
    with inv.as_person("memb") as s:
        run = s.run_script(inv.n("team-a"), s.dataset(inv.n("team-a")))
    with target.session() as s:
        assert "may not give" in error_text(chown(s, {"OriginalFile": run["files"][:1]}, inv.n("lead_a")))
        together = chown(s, {"Job": [run["job"]], "OriginalFile": run["files"]}, inv.n("lead_a"))
        assert not isinstance(together, omero.cmd.ERR), error_text(together)


def test_a_group_owner_files_a_members_image_a_member_cannot_file_anothers(target, two_teams):
    # OmeroInterceptor isSupervisor: a group owner links members' images into their own containers.
    inv = two_teams
    inv.run()
    a = inv.n("team-a")
    with inv.as_person("both") as s:
        image = s.import_fake(a, SINGLE)["images"][0]
    with inv.as_person("memb") as s, pytest.raises(omero.SecurityViolation):
        s.link("DatasetImageLink", a, s.dataset(a), image)
    with inv.as_person("lead_a") as s:
        dataset = s.dataset(a)
        s.link("DatasetImageLink", a, dataset, image)
    with target.session() as s:
        assert s.children("DatasetImageLink", dataset) == [image]


def test_the_stand_in_refuses_a_password_for_an_ldap_account_and_giving_group_user_data(target, two_teams):
    if target.store is None:
        pytest.skip("a real server's answer depends on its LDAP settings and repository; the stand-in refuses both")
    from omero.rtypes import rbool, rstring

    inv = two_teams
    inv.run()
    with target.session() as s:
        e = omero.model.ExperimenterI()
        for setter, value in (("setOmeName", "ldapx"), ("setFirstName", "L"), ("setLastName", "X")):
            getattr(e, setter)(rstring(value))
        e.setLdap(rbool(True))
        group = omero.model.ExperimenterGroupI(s.gid(inv.n("team-a")), False)
        with pytest.raises(omero.SecurityViolation, match="PasswordChangeException"):
            s.admin.createExperimenterWithPassword(e, rstring("Some-Passw0rd!"), group, [])
        assert s.admin.createExperimenter(e, group, []) > 0  # no password: the directory's
    with inv.as_person("memb") as s:
        directories = s.import_fake(inv.n("team-a"), SINGLE)
    store = target.store
    dirs = [oid for oid, o in store.data.items() if o.get("mimetype") == "Directory" and o["owner"] == store.user_id(inv.n("memb"))]
    assert len(dirs) == 4 and directories["fileset"]
    with target.session() as s:
        assert "real rule unknown" in error_text(chown(s, {"OriginalFile": dirs[:1]}, inv.n("lead_a")))


def test_a_graph_request_closed_before_it_finishes_is_cancelled(target, two_teams):
    # omero/cmd/HandleI.close: "Handle closed before finished!" -> cancel: nothing changes.
    if target.store is None:
        pytest.skip("the stand-in's handle is made slow on purpose; a real server's request may finish first")
    inv = two_teams
    inv.run()
    with inv.as_person("memb") as s:
        dataset = s.dataset(inv.n("team-a"))
    target.store.graph_delay = 30
    with target.session() as s:
        request = omero.cmd.Chown2(targetObjects={"Dataset": [dataset]}, dryRun=False,
                                   userId=s.admin.lookupExperimenter(inv.n("lead_a")).getId().val)
        handle = s.sf.submit(request)
        assert handle.getResponse() is None and handle.getStatus().steps == 7
        handle.close()
    assert target.store.counts["Handle.cancelled"] == 1
    with target.session() as s:
        assert dataset in s.owned(inv.n("memb"))["Dataset"]


def test_hcs_owner_departs_plates_go_to_the_leader(target, two_teams):
    inv = two_teams
    inv.run()
    a, lead = inv.n("team-a"), inv.n("lead_a")
    with inv.as_person("memb") as s:
        screen = s.screen(a)
        plate = s.import_fake(a, PLATE, screen=screen)
    result = inv.depart("memb")
    assert result.get("failed") is not True and result["changed"] is True, result.get("msg")
    with target.session() as s:
        lead_owns = s.owned(lead)
        assert screen in lead_owns["Screen"] and plate["plate"] in lead_owns["Plate"]
        assert set(plate["images"]) <= set(lead_owns["Image"]) and plate["fileset"] in lead_owns["Fileset"]
        assert s.children("ScreenPlateLink", screen) == [plate["plate"]]


def test_delete_data_of_an_importer_keeps_the_directories_and_deletes_the_photo(target, two_teams):
    inv = two_teams
    inv.run()
    a, memb = inv.n("team-a"), inv.n("memb")
    with inv.as_person("memb") as s:
        imported = s.import_fake(a, MULTI, dataset=s.dataset(a))
        s.run_script(a, s.dataset(a))
        s.upload_photo()
    inv.people[memb].update(status="departed", delete_data=True)
    check = inv.run(check=True)
    assert check.get("failed") is not True, check.get("msg")
    lines = "\n".join(check["actions"])
    assert "4 managed-repository directories (group user, never deleted)" in lines, lines
    assert "profile photo" not in lines.split("rename deactivated user")[1], lines  # it is deleted
    result = inv.run()
    assert result.get("failed") is not True, result.get("msg")
    with target.session() as s:
        left = s.owned("A_utiliser_1")
        assert set(left) == {"OriginalFile"} and len(left["OriginalFile"]) == 4, left  # the directories only
        assert not set(imported["images"]) & set(s.owned(inv.n("lead_a")).get("Image", []))


def test_a_departure_keeps_the_profile_photo_and_says_so(target, two_teams):
    inv = two_teams
    inv.run()
    memb = inv.n("memb")
    with inv.as_person("memb") as s:
        s.upload_photo()
        s.dataset(inv.n("team-a"))
    result = inv.depart("memb")
    rename = next(x for x in result["actions"] if x.startswith(f"rename deactivated user {memb}"))
    assert "the OMERO.web profile photo (personal data; deleted only with delete_data)" in rename, rename
    with target.session() as s:
        assert len(s.owned("A_utiliser_1").get("Annotation", [])) == 1


def test_a_referent_session_refuses_a_transfer_whose_cut_links_it_cannot_remake(target, two_teams):
    # Re-creating a link for its owner needs WriteOwned (OmeroInterceptor); referents do not hold it.
    inv = two_teams
    inv.run()
    memb, refe = inv.n("memb"), inv.n("refe")
    image, _dataset = inv.leader_files_members_import("team-a")
    inv.people[memb]["status"] = "departed"
    result = inv.run(user=refe, password=password_of(refe))
    assert result.get("failed") is True and "nothing was changed" in result["msg"]
    assert "WriteOwned" in result["msg"], result["msg"]
    with target.session() as s:
        assert image in s.owned(memb)["Image"]


def test_a_run_killed_mid_transfer_leaves_the_server_consistent_and_the_next_converges(target, two_teams, tmp_path):
    if target.store is None:
        pytest.skip("the stand-in's handle is made slow on purpose to kill the run while its request runs")
    inv = two_teams
    inv.run()
    a, memb, lead = inv.n("team-a"), inv.n("memb"), inv.n("lead_a")
    with inv.as_person("memb") as s:
        imported = s.import_fake(a, MULTI)
    inv.people[memb]["status"] = "departed"
    desired = inv.desired()
    passwords = {p["password_var"]: password_of(p["omename"]) for p in inv.people.values()}
    args = dict(target.connection_args(), desired=desired, passwords=passwords, state_dir=inv.state_dir)
    (tmp_path / "args.json").write_text(json.dumps(args))
    target.store.graph_delay = 2.0
    code = ("import json, sys; sys.path[:0] = [sys.argv[1] + '/tests/support', sys.argv[1] + '/module_utils']\n"
            "from module_runner import run_module\n"
            "print(json.dumps(run_module('omero_accounts', json.load(open(sys.argv[2])))[0]))\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(ROOT), str(tmp_path / "args.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    for _ in range(300):  # until the transfer is running on the server
        if getattr(target.store, "running_handles", 0):
            break
        time.sleep(0.05)
    assert getattr(target.store, "running_handles", 0), proc.communicate(timeout=60)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    target.store.graph_delay = 0
    time.sleep(2.5)  # the server finishes (or rolls back) the request on its own
    with target.session() as s:
        owners = {i: s.owned(lead).get("Image", []) for i in imported["images"]}
        moved = [i in owners[i] for i in imported["images"]]
    assert all(moved) or not any(moved), "a fileset was split: the server is not consistent"
    result = inv.run()
    assert result.get("failed") is not True, result.get("msg")
    with target.session() as s:
        assert set(imported["images"]) <= set(s.owned(lead)["Image"]) and memb not in s.user_names()
    assert inv.run()["changed"] is False


def test_real_server_mode_imports_fake_files_and_runs_scripts(target, two_teams):
    if target.store is not None:
        pytest.skip("real-server mode: set OMERO_TEST_HOST (and OMERO_TEST_PASSWORD) on a host with OMERO's CLI and "
                    "the Bio-Formats importer (OMERO_TEST_CLI, default 'omero'); here the stand-in's import path is used")
    inv = two_teams
    inv.run()
    a = inv.n("team-a")
    with inv.as_person("memb") as s:
        multi = s.import_fake(a, MULTI, dataset=s.dataset(a))
        plate = s.import_fake(a, PLATE, screen=s.screen(a))
        run = s.run_script(a, s.dataset(a))
    assert len(multi["images"]) == 3 and multi["fileset"] is not None
    assert plate["plate"] is not None and len(plate["images"]) == 4
    assert run["job"] and len(run["files"]) >= 1


def test_links_cut_by_a_transfer_whose_run_stopped_are_made_by_the_next_run(target, two_teams):
    inv = two_teams
    inv.run()
    memb = inv.n("memb")
    image, filed = inv.leader_files_members_import("team-a")
    inv.people[memb]["status"] = "departed"
    target.fault("IUpdate.saveAndReturnObject")  # the run stops after the Chown2, before the link is made again
    failed = inv.run()
    assert failed.get("failed") is True and f"transfer data of {memb} in group {inv.n('team-a')}" in failed["msg"]
    with target.session() as s:
        assert s.children("DatasetImageLink", filed) == []  # cut by the server, not made yet
    again = inv.run()
    assert again.get("failed") is not True, again.get("msg")
    assert any(line.startswith("re-create DatasetImageLink") for line in again["actions"]), again["actions"]
    with target.session() as s:
        assert s.children("DatasetImageLink", filed) == [image]
    assert inv.run()["changed"] is False
