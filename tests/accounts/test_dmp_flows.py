"""The data management plan's account flows, end to end through the omero_accounts module.

Team set-up, a departure with data in two teams' groups, drift made in OMERO.web by a referent, a
downgrade to private, a referent promotion, an external group, and a failure mid-run followed by a
run that converges. See conftest.py for the target (stand-in or real server).
"""
import json
import os
import pathlib
import stat

from accounts_harness import password_of

REFERENT_PRIVILEGES = ["Chown", "ModifyGroup", "ModifyGroupMembership", "ModifyUser", "ReadSession"]


def test_team_setup_check_apply_reapply(target, two_teams):
    inv = two_teams
    check = inv.run(check=True)
    assert check["changed"] is True, check.get("msg")
    assert f"create group {inv.n('team-a')} (read-annotate)" in check["actions"]
    with target.session() as s:
        assert inv.n("lead_a") not in s.user_names()  # check mode created nothing

    applied = inv.run()
    assert applied["changed"] is True, applied.get("msg")
    assert applied["actions"] == check["actions"]
    with target.session() as s:
        team_a = s.group(inv.n("team-a"))
        assert team_a["permissions"] == "rwra--"
        assert team_a["owners"] == [inv.n("lead_a")]
        assert team_a["members"] == sorted([inv.n("lead_a"), inv.n("memb"), inv.n("both")])
        assert s.group(inv.n("team-b"))["permissions"] == "rwr---"
        assert s.group(inv.n("team-a") + "-collab")["members"] == sorted(
            [inv.n("lead_a"), inv.n("memb"), inv.n("both"), inv.n("staff")])
        referent = s.user(inv.n("refe"))
        assert "system" in referent["groups"] and referent["privileges"] == REFERENT_PRIVILEGES  # restricted
        assert s.user(inv.n("memb"))["groups"][0] == inv.n("team-a")  # default group: own team
    assert target.can_login(inv.n("memb"), password_of(inv.n("memb")))

    again = inv.run()
    assert again["changed"] is False, again["actions"]
    assert again["drift"] == []


def test_departure_with_data_in_two_teams_groups(target, two_teams):
    inv = two_teams
    inv.run()
    a, b, both = inv.n("team-a"), inv.n("team-b"), inv.n("both")
    with target.session(both, password_of(both)) as s:
        dataset = s.dataset(a)
        image_a = s.image(a)
        s.link("DatasetImageLink", a, dataset, image_a)
        image_b = s.image(b)
    with target.session(inv.n("lead_a"), password_of(inv.n("lead_a"))) as s:
        leader_image = s.image(a)
        comment = s.comment(a)
        s.link("ImageAnnotationLink", a, image_a, comment)  # the leader comments on both's image
    with target.session(both, password_of(both)) as s:
        tag = s.tag(a)
        s.link("ImageAnnotationLink", a, leader_image, tag)  # both tags the leader's image
    with target.session() as s:
        owned_before = s.owned(both)
    assert image_b in owned_before["Image"] and dataset in owned_before["Dataset"]

    inv.people[both]["status"] = "departed"
    check = inv.run(check=True)
    assert check["changed"] is True, check.get("msg")
    lines = "\n".join(check["actions"])
    # DMP: the data in each group goes to the leader of that group and stays there.
    assert f"transfer data of {both} in group {a} to {inv.n('lead_a')}" in lines
    # An imported image goes with its fileset, the fileset's files and import jobs.
    assert f"transfer data of {both} in group {b} to {inv.n('lead_b')} (1 Fileset, 1 Image, 4 Job, " in lines
    assert f"rename deactivated user {both} to A_utiliser_1" in lines
    with target.session() as s:
        assert s.owned(both) == owned_before  # check mode moved nothing

    result = inv.run()
    assert result["changed"] is True, result.get("msg")
    with target.session() as s:
        assert both not in s.user_names()
        lead_a_owns, lead_b_owns = s.owned(inv.n("lead_a")), s.owned(inv.n("lead_b"))
        assert {image_a, leader_image} <= set(lead_a_owns["Image"]) and dataset in lead_a_owns["Dataset"]
        assert image_b in lead_b_owns["Image"] and image_b not in lead_a_owns["Image"]
        assert tag in lead_a_owns.get("Annotation", [])
        parked = s.user("A_utiliser_1")
        assert parked["groups"] == [inv.n("User désactivés")]  # only the deactivated-users group
        assert parked["email"] == ""
        assert set(s.owned("A_utiliser_1")) == {"OriginalFile"}  # only the managed repository's directories
    assert not target.can_login("A_utiliser_1", password_of(both))
    # Which person became which A_utiliser_<n>: kept on the server host, for administrators only.
    records = os.path.join(inv.state_dir, "deactivated.json")
    assert stat.S_IMODE(os.stat(records).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(inv.state_dir).st_mode) == 0o700
    entry = json.loads(pathlib.Path(records).read_text(encoding="utf-8"))["A_utiliser_1"]
    assert entry["omename"] == both and entry["data_to"] == {a: inv.n("lead_a"), b: inv.n("lead_b")}

    again = inv.run()
    assert again["changed"] is False, again["actions"]


def test_drift_made_in_omero_web_is_reported_not_reverted(target, two_teams):
    inv = two_teams
    inv.run()
    refe, staff, lead_b = inv.n("refe"), inv.n("staff"), inv.n("lead_b")
    # A referent, in OMERO.web (a session with their own restricted privileges), adds staff to team B and
    # corrects lead_b's e-mail.
    with target.session(refe, password_of(refe)) as s:
        import omero.model
        from omero.rtypes import rstring

        staff_id = s.admin.lookupExperimenter(staff).getId().val
        s.admin.addGroups(omero.model.ExperimenterI(staff_id, False), [s.admin.lookupGroup(inv.n("team-b"))])
        e = s.admin.lookupExperimenter(lead_b)
        e.setEmail(rstring("lead.b@new.example.org"))
        s.admin.updateExperimenter(e)

    result = inv.run()
    assert result["changed"] is False, result["actions"]
    assert f"drift: {staff} joined group {inv.n('team-b')} in OMERO, not in the inventory (kept: set drift_policy: revert to undo it)" in result["drift"]
    assert any(f"email of user {lead_b} changed in OMERO to 'lead.b@new.example.org'" in d for d in result["drift"])
    with target.session() as s:
        assert staff in s.group(inv.n("team-b"))["members"]
        assert s.user(lead_b)["email"] == "lead.b@new.example.org"

    # A change the inventory does make is applied while the drift stays reported and kept.
    inv.teams[inv.n("team-b")]["members"].append(inv.n("memb"))
    result = inv.run()
    assert result["actions"] == [f"add user {inv.n('memb')} to {inv.n('team-b')}, {inv.n('team-b')}-collab"], result["actions"]
    assert len(result["drift"]) == 2

    # Reverting is an explicit policy of the inventory.
    inv.settings["drift_policy"] = "revert"
    check = inv.run(check=True)
    assert f"remove user {staff} from {inv.n('team-b')}" in check["actions"]
    result = inv.run()
    assert all(d.endswith("(reverted: drift_policy revert)") for d in result["drift"])
    with target.session() as s:
        assert staff not in s.group(inv.n("team-b"))["members"]
        assert s.user(lead_b)["email"] == f"{lead_b}@example.org"
    assert inv.run()["changed"] is False


def test_downgrade_to_private_is_opt_in_and_check_mode_lists_what_it_deletes(target, two_teams):
    inv = two_teams
    inv.run()
    collab = inv.n("team-a") + "-collab"
    memb, lead = inv.n("memb"), inv.n("lead_a")
    with target.session(memb, password_of(memb)) as s:
        image = s.image(collab)
        own_tag = s.tag(collab)
        s.link("ImageAnnotationLink", collab, image, own_tag)
    with target.session(lead, password_of(lead)) as s:
        comment = s.comment(collab)
        cross = s.link("ImageAnnotationLink", collab, image, comment)  # the leader comments on memb's image

    inv.teams[inv.n("team-a")]["collaboration_permissions"] = "private"
    refused = inv.run()
    assert refused.get("failed") is True
    assert f"group {collab}: changing read-annotate to private deletes" in refused["msg"]
    assert "allow_downgrade: true" in refused["msg"] and "nothing was changed" in refused["msg"]
    with target.session() as s:
        assert s.group(collab)["permissions"] == "rwra--"

    inv.teams[inv.n("team-a")]["allow_downgrade"] = True
    check = inv.run(check=True)
    line = next(a for a in check["actions"] if a.startswith(f"change permissions of group {collab}"))
    assert line.endswith("(allow_downgrade: deletes 1 CommentAnnotation, 1 ImageAnnotationLink)"), line
    with target.session() as s:
        assert s.group(collab)["permissions"] == "rwra--"
        assert comment in s.owned(lead).get("Annotation", [])  # check mode deleted nothing

    result = inv.run()
    assert result["changed"] is True, result.get("msg")
    with target.session() as s:
        assert s.group(collab)["permissions"] == "rw----"
        lead_owns, memb_owns = s.owned(lead), s.owned(memb)
        assert comment not in lead_owns.get("Annotation", []) and cross not in lead_owns.get("ImageAnnotationLink", [])
        assert own_tag in memb_owns["Annotation"] and image in memb_owns["Image"]  # same-owner data stays
        assert len(memb_owns["ImageAnnotationLink"]) == 1


def test_referent_promotion_never_passes_through_full_administrator(target, two_teams):
    inv = two_teams
    inv.run()
    memb = inv.n("memb")
    inv.referents.append("memb")
    check = inv.run(check=True)
    kinds = [a for a in check["actions"] if memb in a]
    assert kinds.index(f"set admin privileges of {memb} to {', '.join(REFERENT_PRIVILEGES)}") < kinds.index(
        f"add user {memb} to system"), kinds

    target.fault("IAdmin.addGroups")  # the run stops right after the privileges were written
    failed = inv.run()
    assert failed.get("failed") is True
    assert f"failed: add user {memb} to system" in failed["msg"] and "earlier action(s) were applied" in failed["msg"]
    with target.session() as s:
        assert s.user(memb)["privileges"] == []  # not an administrator at all, let alone a full one

    result = inv.run()
    assert result["changed"] is True, result.get("msg")
    with target.session() as s:
        promoted = s.user(memb)
        assert "system" in promoted["groups"] and promoted["privileges"] == REFERENT_PRIVILEGES
    assert inv.run()["changed"] is False


def test_external_group_is_created_and_its_expiry_reported(target, inventory):
    inv = inventory
    inv.person("lead")
    inv.person("extuser")
    inv.team("team", "lead")
    inv.external.append({"name": inv.n("ext-labx"), "site": "Lab X", "created": "2026-11-02", "expires": "2026-12-02",
                         "quota_gb": 100, "owners": [inv.n("lead")], "members": [inv.n("extuser")]})
    result = inv.run()
    assert result["changed"] is True, result.get("msg")
    with target.session() as s:
        group = s.group(inv.n("ext-labx"))
        assert group["members"] == sorted([inv.n("lead"), inv.n("extuser")]) and group["owners"] == [inv.n("lead")]
        assert s.user(inv.n("extuser"))["groups"][0] == inv.n("ext-labx")
    assert [g["name"] for g in result["reports"]["external_groups"]] == [inv.n("ext-labx")]


def test_failure_mid_run_names_the_action_and_the_next_run_converges(target, two_teams, both_departs):
    inv, image, both = two_teams, both_departs, two_teams.n("both")
    target.fault("IAdmin.updateExperimenter")  # the rename, the departure's last step, fails
    failed = inv.run()
    assert failed.get("failed") is True
    assert f"failed: rename deactivated user {both} to A_utiliser_1" in failed["msg"]
    assert "earlier action(s) were applied" in failed["msg"]
    with target.session() as s:
        assert image in s.owned(inv.n("lead_a"))["Image"]  # the data moved before the failure
        assert s.user(both)["groups"] == [inv.n("User désactivés")]  # parked: no rights left

    again = inv.run()
    assert again["changed"] is True, again.get("msg")
    kept = "4 managed-repository directories (group user, never deleted)"  # one import's
    assert again["actions"] == [f"rename deactivated user {both} to A_utiliser_1; stay with the renamed account: {kept}"]
    entry = json.loads(pathlib.Path(inv.state_dir, "deactivated.json").read_text(encoding="utf-8"))["A_utiliser_1"]
    assert entry["omename"] == both and entry["data_to"] == {inv.n("team-a"): inv.n("lead_a")}
    assert inv.run()["changed"] is False


def test_ownership_transfers_are_applied_once_in_the_accounts_session(target, two_teams):
    # DMP: "un formulaire en ligne ... compte de départ, d'arrivée et les projets concernés", applied in one go.
    inv = two_teams
    inv.run()
    a, memb, lead = inv.n("team-a"), inv.n("memb"), inv.n("lead_a")
    with target.session(memb, password_of(memb)) as s:
        dataset = s.dataset(a)
        image = s.image(a)
        s.link("DatasetImageLink", a, dataset, image)
        kept = s.dataset(a, "stays with memb")
    inv.transfers.append({"id": "form-7", "from": memb, "to": lead, "objects": [f"Dataset:{dataset}"],
                          "requested": "2026-11-20", "why": "handed over"})
    check = inv.run(check=True)
    assert f"transfer Dataset:{dataset} of {memb} to {lead} (transfer form-7)" in check["actions"]
    with target.session() as s:
        assert dataset in s.owned(memb)["Dataset"]  # check mode moved nothing

    result = inv.run()
    assert result["changed"] is True, result.get("msg")
    with target.session() as s:
        lead_owns, memb_owns = s.owned(lead), s.owned(memb)
    assert dataset in lead_owns["Dataset"] and image in lead_owns["Image"]  # the dataset's own images go with it
    assert memb_owns["Dataset"] == [kept]
    records = json.loads(pathlib.Path(inv.state_dir, "transfers.json").read_text(encoding="utf-8"))
    assert records["form-7"]["from"] == memb and records["form-7"]["to"] == lead
    assert inv.run()["changed"] is False  # each transfer id is applied once

    inv.transfers.append({"id": "form-8", "from": memb, "to": lead, "objects": ["Dataset:999999"]})
    refused = inv.run()
    assert refused.get("failed") is True
    assert "nothing was changed" in refused["msg"] and "transfer form-8: Dataset:999999 does not exist" in refused["msg"]
