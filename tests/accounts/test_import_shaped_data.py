"""Departures and transfers on data as OMERO really holds it (issue 17).

Everything here is seeded the way OMERO creates it: imports of Bio-Formats fake files (filesets, files in
the managed repository, template directories in group ``user``), script runs (a job linked to its
stdout/stderr), OMERO.web profile photos, plates, a leader filing members' images in the leader's own
datasets, ROIs drawn on another owner's image. See tests/support/omero_import.py (stand-in) and, on a
real server, ``omero import`` / ``omero script`` (accounts_harness.Session).
"""
import pytest
from accounts_harness import password_of

MULTI = "multi&series=3.fake"
SINGLE = "single&sizeC=2.fake"
PLATE = "plate&plates=1&plateRows=2&plateCols=2&fields=1.fake"



def test_importer_departs_data_goes_with_filesets_directories_stay(target, two_teams):
    inv = two_teams
    inv.run()
    a, memb, lead = inv.n("team-a"), inv.n("memb"), inv.n("lead_a")
    with inv.as_person("memb") as s:
        dataset = s.dataset(a)
        multi = s.import_fake(a, MULTI, dataset=dataset)
        single = s.import_fake(a, SINGLE)
        s.upload_photo()
    with target.session() as s:
        before = s.owned(memb)
    result = inv.depart("memb")
    assert result.get("failed") is not True and result["changed"] is True, result.get("msg")
    lines = "\n".join(result["actions"])
    assert "managed-repository directories" in lines and "stay with the renamed account" in lines, lines
    with target.session() as s:
        lead_owns, parked = s.owned(lead), s.owned("A_utiliser_1")
    assert set(multi["images"] + single["images"]) <= set(lead_owns["Image"])
    assert {multi["fileset"], single["fileset"]} <= set(lead_owns["Fileset"]) and dataset in lead_owns["Dataset"]
    # Every import file and log went with its fileset; what stays is in group user: directories and the photo.
    assert parked.get("OriginalFile") and set(parked["OriginalFile"]) < set(before["OriginalFile"])
    assert set(parked) <= {"OriginalFile", "Annotation"}, parked
    assert inv.run()["changed"] is False


def test_leaders_dataset_keeps_the_members_image(target, two_teams):
    inv = two_teams
    inv.run()
    a, memb, lead = inv.n("team-a"), inv.n("memb"), inv.n("lead_a")
    image, filed = inv.leader_files_members_import("team-a")  # a group owner may (OmeroInterceptor)
    inv.people[memb]["status"] = "departed"
    check = inv.run(check=True)
    assert check.get("failed") is not True, check.get("msg")
    line = next(x for x in check["actions"] if x.startswith(f"transfer data of {memb} in group {a}"))
    assert "re-creates 1 DatasetImageLink" in line, line
    result = inv.run()
    assert result.get("failed") is not True, result.get("msg")
    with target.session() as s:
        assert image in s.owned(lead)["Image"]
        assert s.children("DatasetImageLink", filed) == [image], "the leader's dataset lost the member's image"


def test_script_runner_departs(target, two_teams):
    inv = two_teams
    inv.run()
    a, lead = inv.n("team-a"), inv.n("lead_a")
    with inv.as_person("memb") as s:
        dataset = s.dataset(a)  # made in OMERO.web; the script makes a figure of it
        run = s.run_script(a, dataset)
    result = inv.depart("memb")
    assert result.get("failed") is not True and result["changed"] is True, result.get("msg")
    with target.session() as s:
        lead_owns = s.owned(lead)
    assert run["job"] in lead_owns["Job"] and set(run["files"]) <= set(lead_owns["OriginalFile"])
    assert dataset in lead_owns["Dataset"]


def test_one_series_of_a_multi_series_file_in_transfers_is_refused_and_the_rest_applies(target, two_teams):
    inv = two_teams
    inv.run()
    a, memb, lead = inv.n("team-a"), inv.n("memb"), inv.n("lead_a")
    with inv.as_person("memb") as s:
        multi = s.import_fake(a, MULTI)
        other = s.dataset(a, "handed over")
    one = multi["images"][1]
    inv.transfers += [{"id": "form-1", "from": memb, "to": lead, "objects": [f"Image:{one}"]},
                      {"id": "form-2", "from": memb, "to": lead, "objects": [f"Dataset:{other}"]}]
    result = inv.run()
    assert result.get("failed") is not True, result.get("msg")
    refused = "\n".join(result.get("refused", []))
    assert f"transfer form-1: Image:{one} is one of the 3 images of Fileset:{multi['fileset']}" in refused, refused
    with target.session() as s:
        assert other in s.owned(lead)["Dataset"]  # the rest of the run applied
        assert set(multi["images"]) <= set(s.owned(memb)["Image"])  # the fileset stays whole
    again = inv.run()
    assert again["changed"] is False and again["refused"] == result["refused"]


def test_roi_on_another_owners_image_in_a_downgraded_team(target, two_teams):
    inv = two_teams
    inv.run()
    a, lead = inv.n("team-a"), inv.n("lead_a")
    with inv.as_person("lead_a") as s:
        image = s.import_fake(a, SINGLE)["images"][0]
    with inv.as_person("memb") as s:
        roi = s.roi(a, image)  # allowed: the team is read-annotate
    inv.teams[a]["permissions"] = "read-only"
    assert inv.run()["changed"] is True
    with inv.as_person("memb") as s, pytest.raises(Exception, match="cannot annotate"):
        s.roi(a, image)  # now refused (BasicACLVoter.allowAnnotate)
    result = inv.depart("memb")
    assert result.get("failed") is not True and result["changed"] is True, result.get("msg")
    with target.session() as s:
        assert roi in s.owned(lead)["Roi"] and image in s.owned(lead)["Image"]


def test_ldap_account_is_created_without_a_password(target, inventory):
    inv = inventory
    inv.person("lead")
    inv.person("ldapuser")
    inv.team("team", "lead", ["ldapuser"])
    inv.settings["new_accounts_ldap"] = True
    result = inv.run()
    assert result.get("failed") is not True and result["changed"] is True, result.get("msg")
    with target.session() as s:
        assert s.user(inv.n("ldapuser"))["ldap"] is True
    # No local password: the directory authenticates (LdapPasswordProvider), the vault's value does not.
    assert not target.can_login(inv.n("ldapuser"), password_of(inv.n("ldapuser")))
    assert inv.run()["changed"] is False


def test_departure_whose_graph_request_outlasts_the_clients_wait_completes(target, two_teams, monkeypatch):
    if target.store is None:
        pytest.skip("the stand-in's handle is made slow on purpose; a real server's speed is its own")
    from ansible.module_utils import omero_client

    class Clock:
        """The client's clock runs 2 minutes per reading: the request outlasts any wait in seconds."""

        def __init__(self):
            self.now = 0.0

        def monotonic(self):
            self.now += 120.0
            return self.now

        sleep = staticmethod(__import__("time").sleep)
        time = staticmethod(__import__("time").time)

    inv = two_teams
    inv.run()
    a, memb, lead = inv.n("team-a"), inv.n("memb"), inv.n("lead_a")
    with inv.as_person("memb") as s:  # what a member makes in OMERO.web: datasets, tags, comments
        datasets = [s.dataset(a, f"d{i}") for i in range(3)]
        tags = [s.tag(a, f"t{i}") for i in range(3)]
    inv.people[memb]["status"] = "departed"
    target.store.graph_delay = 3.0  # every graph request runs 3 s
    monkeypatch.setattr(omero_client, "time", Clock())
    result = inv.run()
    assert result.get("failed") is not True and result["changed"] is True, result.get("msg")
    assert target.store.counts["Handle.cancelled"] == 0, "a handle was closed before its request finished"
    assert target.store.counts["ServiceFactory.keepAlive"] >= 1  # the session is kept alive while it waits
    assert any("step" in line and "/7" in line for line in result.get("progress", [])), result.get("progress")
    with target.session() as s:
        lead_owns = s.owned(lead)
    assert set(datasets) <= set(lead_owns["Dataset"]) and set(tags) <= set(lead_owns["Annotation"])
