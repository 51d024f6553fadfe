"""One test per rule of the real OMERO.server (and of the DMP) that the accounts code must respect.

Each refusal is caught at plan time, before any change, with a message naming the person or group
and the rule; where the server changes data (Chown2, Chmod2, Delete2) the test reads it back.
"""
import omero.model
from accounts_harness import password_of
from module_runner import run_module
from omero.rtypes import rstring


def mutations(target):
    return target.store.mutating_calls() if target.store is not None else None


def test_departure_moves_data_with_explicit_targets_never_experimenter(target, two_teams, both_departs):
    # blitz-chown-rules.xml chownTargets has no Experimenter: the whole-user form of the old code was refused.
    inv, image = two_teams, both_departs
    result = inv.run()
    assert result["changed"] is True, result.get("msg")
    transfers = [a for a in result["plan"] if a["action"] == "transfer_data"]
    assert transfers and all("Experimenter" not in a["targets"] for a in transfers)
    with target.session() as s:
        assert image in s.owned(inv.n("lead_a"))["Image"]


def test_permissions_and_description_changed_in_one_run_both_stick(target, two_teams):
    # AdminImpl.updateGroup applies the permissions it is sent: the description update must send none.
    inv = two_teams
    inv.run()
    team_b = inv.teams[inv.n("team-b")]
    team_b.update(permissions="read-annotate", description="Team B, now annotating")
    result = inv.run()
    assert [a["action"] for a in result["plan"]] == ["chmod_group", "update_group"], result["actions"]
    with target.session() as s:
        group = s.group(inv.n("team-b"))
    assert group["permissions"] == "rwra--" and group["description"] == "Team B, now annotating"
    assert inv.run()["changed"] is False


def test_leaving_someone_in_user_only_is_refused_before_any_change(target):
    # AdminImpl.removeGroups: "experimenter cannot be a member of only the 'user' group".
    p = target.prefix
    args = target.connection_args()
    run_module("omero_group", dict(args, groups=[{"name": p + "solo"}]))
    run_module("omero_user", dict(args, users=[{"omename": p + "solo_user", "first_name": "S", "last_name": "U",
                                                "groups": [p + "solo"], "password": "Solo-Passw0rd!"}]))
    before = mutations(target)
    result, _ = run_module("omero_group", dict(args, groups=[{"name": p + "solo", "members": [], "state": "exact"}]))
    assert result.get("failed") is True
    assert f"user '{p}solo_user' would be left in the 'user' group only" in result["msg"]
    assert "nothing was changed" in result["msg"]
    assert mutations(target) == before
    with target.session() as s:
        assert p + "solo" in s.user(p + "solo_user")["groups"]


def test_moving_someone_between_teams_adds_before_it_removes(target, two_teams):
    # The server refuses the removal first (only 'user' left), so the new groups come first.
    inv = two_teams
    inv.run()
    memb = inv.n("memb")
    inv.teams[inv.n("team-a")]["members"].remove(memb)
    inv.teams[inv.n("team-b")]["members"].append(memb)
    result = inv.run()
    assert result["changed"] is True, result.get("msg")
    with target.session() as s:
        groups = s.user(memb)["groups"]
    assert groups[0] == inv.n("team-b") and inv.n("team-a") not in groups


def test_root_guest_and_the_session_user_are_protected(target, two_teams):
    inv = two_teams
    inv.run()
    args = target.connection_args()
    for spec in ({"omename": "root", "active": False}, {"omename": "guest", "email": "g@example.org"}):
        result, _ = run_module("omero_user", dict(args, users=[spec]))
        assert result.get("failed") is True and "built-in account is never managed" in result["msg"], result
    # A referent may not take themselves out of system/user (AdminImpl.removeGroups).
    refe = inv.n("refe")
    result, _ = run_module("omero_user", dict(target.connection_args(refe, password_of(refe)),
                                              users=[{"omename": refe, "active": False}]))
    assert result.get("failed") is True
    assert f"user '{refe}' runs this session and may not remove themselves" in result["msg"]
    # The default group is never 'user' (AdminImpl.setDefaultGroup).
    result, _ = run_module("omero_user", dict(args, users=[{"omename": inv.n("memb"), "default_group": "user"}]))
    assert result.get("failed") is True and "the default group can never be 'user'" in result["msg"]


def test_a_referent_session_cannot_give_privileges_it_does_not_hold(target, two_teams):
    # AdminImpl.assertNoPrivilegeElevation, with the referent's own restricted session.
    inv = two_teams
    inv.run()
    refe = inv.n("refe")
    args = target.connection_args(refe, password_of(refe))
    result, _ = run_module("omero_user", dict(args, users=[{"omename": inv.n("memb"), "admin": True}]))
    assert result.get("failed") is True
    assert "cannot give" in result["msg"] or "would give privileges" in result["msg"], result["msg"]
    with target.session() as s:
        assert s.user(inv.n("memb"))["privileges"] == []
    # What the referent holds, they may give: a second referent, run from the referent's session.
    inv.referents.append("memb")
    result = inv.run(user=refe, password=password_of(refe))
    assert result["changed"] is True, result.get("msg")
    with target.session() as s:
        assert s.user(inv.n("memb"))["privileges"] == ["Chown", "ModifyGroup", "ModifyGroupMembership", "ModifyUser",
                                                       "ReadSession"]


def test_middle_name_and_ldap_flag_survive_an_update(target, two_teams):
    # AdminImpl.copyAndSaveExperimenter copies the middle name as sent (null clears it).
    inv = two_teams
    inv.run()
    memb = inv.n("memb")
    with target.session() as s:
        e = s.admin.lookupExperimenter(memb)
        e.setMiddleName(rstring("Marie"))
        s.admin.updateExperimenter(e)
    inv.people[memb]["email"] = "memb.new@example.org"
    result = inv.run()
    assert result["actions"] == [f"update email of user {memb}"], result["actions"]
    with target.session() as s:
        user = s.user(memb)
    assert user["middle_name"] == "Marie" and user["email"] == "memb.new@example.org" and user["ldap"] is False


def test_delete_data_takes_tags_files_rois_and_links_too(target, two_teams):
    inv = two_teams
    inv.run()
    a, both, lead = inv.n("team-a"), inv.n("both"), inv.n("lead_a")
    with target.session(lead, password_of(lead)) as s:
        leader_image = s.image(a)
    with target.session(both, password_of(both)) as s:
        s.image(a)
        tag = s.tag(a)
        s.link("ImageAnnotationLink", a, leader_image, tag)
        s.file_annotation(a)
        s.roi(a, leader_image)
    inv.people[both].update(status="departed", delete_data=True)
    check = inv.run(check=True)
    line = next(x for x in check["actions"] if x.startswith(f"delete data of {both}"))
    assert "1 FileAnnotation" in line and "1 Roi" in line and "1 TagAnnotation" in line, line
    result = inv.run()
    assert result["changed"] is True, result.get("msg")
    with target.session() as s:
        assert set(s.owned("A_utiliser_1")) == {"OriginalFile"}  # the managed repository's directories stay
        assert leader_image in s.owned(lead)["Image"]  # nobody else's data is touched


def test_identical_links_refusal_is_found_before_any_change(target, inventory):
    # Chown2I.assertMayProcess: "would have user N owning multiple identical links".
    inv = inventory
    inv.person("lead")
    inv.person("gone")
    inv.team("team", "lead", ["gone"], collaboration_permissions="read-write")
    inv.run()
    collab = inv.n("team") + "-collab"
    with target.session(inv.n("lead"), password_of(inv.n("lead"))) as s:
        image = s.image(collab)
        tag = s.tag(collab)
        s.link("ImageAnnotationLink", collab, image, tag)
    with target.session(inv.n("gone"), password_of(inv.n("gone"))) as s:
        s.link("ImageAnnotationLink", collab, image, tag)  # the same link, owned by the person who leaves
    inv.people[inv.n("gone")]["status"] = "departed"
    before = mutations(target)
    result = inv.run()
    assert result.get("failed") is True
    assert "nothing was changed" in result["msg"] and "owning multiple identical links" in result["msg"]
    assert f"transfer data of {inv.n('gone')} in group {collab}" in result["msg"]
    assert mutations(target) == before
    assert target.can_login(inv.n("gone"), password_of(inv.n("gone")))


def test_a_new_account_needs_an_initial_password(target, inventory):
    inv = inventory
    inv.person("lead")
    inv.person("nopw", password_var=None)
    del inv.people[inv.n("nopw")]["password_var"]
    inv.team("team", "lead", ["nopw"])
    result = inv.run()
    assert result.get("failed") is True
    assert f"'{inv.n('nopw')}': a new account needs an initial password" in result["msg"]
    with target.session() as s:
        assert inv.n("lead") not in s.user_names()  # nothing at all was created


def test_password_reset_is_one_shot(target, two_teams):
    inv = two_teams
    inv.run()
    memb = inv.n("memb")
    var = inv.people[memb]["password_var"]
    assert inv.run(passwords={var: "Chosen-by-Memb-1!"})["changed"] is False  # never reset without a request
    inv.people[memb]["password_reset"] = "2026-11-28"
    result = inv.run(passwords={var: "Reset-Passw0rd-1!"})
    assert result["actions"] == [f"set password of {memb}"]
    assert target.can_login(memb, "Reset-Passw0rd-1!")
    assert inv.run(passwords={var: "Reset-Passw0rd-1!"})["changed"] is False  # the same request: done
    inv.people[memb]["password_reset"] = "2027-01-10"
    assert inv.run(passwords={var: "Reset-Passw0rd-2!"})["actions"] == [f"set password of {memb}"]
    assert target.can_login(memb, "Reset-Passw0rd-2!")


def test_the_stand_in_refuses_what_it_cannot_know(target):
    if target.store is None:
        return  # the real server is the reference: nothing to compare
    import pytest

    with target.session() as s, pytest.raises(omero.InternalException, match="real rule unknown"):
        s.sf.getQueryService().projection("select count(i) from Image i", None)
