"""Pure tests of the accounts model (module_utils/omero_accounts_*.py): no omero, no server."""
import datetime
import types

import pytest
import yaml
from omero_accounts_actions import blank_group, describe, simulate, view
from omero_accounts_base import (
    BUILTIN_GROUPS,
    DEFAULT_SETTINGS,
    MAX_PROBLEMS,
    password_problems,
    permissions_string,
)
from omero_accounts_expand import expand
from omero_accounts_inventory import load_inventory, semantic_problems
from omero_accounts_plan import (
    PlanError,
    next_deactivated_number,
    plan,
    transfer_problems,
)
from omero_accounts_yaml import load_yaml_strict


@pytest.mark.parametrize("password,failures", [
    ("Correct-Horse-42", []),
    ("Abcdefghi!", []),
    ("Abcdefgh!", ["shorter than 10 characters"]),
    ("abcdefghij!", ["no upper-case letter"]),
    ("Abcdefghijk", ["no special character"]),
    ("ABCDEFGHIJ KLM", ["no special character"]),
    ("", ["shorter than 10 characters", "no upper-case letter", "no special character"]),
    (None, ["is not a string"]),
])
def test_password_policy(password, failures):
    assert password_problems(password) == failures


@pytest.mark.parametrize("value,expected", [
    ("private", "rw----"), ("read-only", "rwr---"), ("read-annotate", "rwra--"), ("read-write", "rwrw--"),
    ("rwra--", "rwra--"),
])
def test_permissions_string(value, expected):
    assert permissions_string(value) == expected


def test_unknown_permission_level_is_an_error():
    with pytest.raises(ValueError, match="unknown permission level"):
        permissions_string("public")


@pytest.mark.parametrize("names,expected", [
    ([], 1), (["root", "A_utiliser_1"], 2), (["A_utiliser_9", "A_utiliser_10", "A_utiliser_x"], 11),
])
def test_next_deactivated_number(names, expected):
    assert next_deactivated_number(names, "A_utiliser_") == expected


def empty():
    return {"groups": {g: dict(blank_group(g), id=i) for i, g in enumerate(BUILTIN_GROUPS)},
            "users": {"root": {"id": 0, "omename": "root", "first_name": "root", "last_name": "root", "email": "",
                               "institution": "", "groups": ["system", "user"], "privileges": None}}}


def people_docs(**extra_people):
    people = [
        {"omename": "lead", "first_name": "Lea", "last_name": "Leader", "email": "lea@example.org",
         "site": "iBV", "status": "active"},
        {"omename": "memb", "first_name": "Max", "last_name": "Member", "email": "max@example.org",
         "site": "iBV", "status": "active"},
        {"omename": "staff", "first_name": "Sam", "last_name": "Staff", "email": "sam@example.org",
         "site": "MICA", "status": "active"},
        {"omename": "refe", "first_name": "Rita", "last_name": "Referent", "email": "rita@example.org",
         "site": "iBV", "status": "active"},
    ]
    for name, fields in extra_people.items():
        people.append(dict({"omename": name, "first_name": name.title(), "last_name": "X",
                            "email": name + "@example.org", "site": "iBV"}, **fields))
    return {
        "inv/accounts/people.yml": {"people": people},
        "inv/accounts/teams/a.yml": {"team": {"name": "team-a", "site": "iBV", "leader": "lead",
                                              "members": ["memb"] + [n for n in extra_people],
                                              "facility_staff": ["staff"]}},
        "inv/accounts/referents.yml": {"referents": {"members": ["refe"]}},
    }


def test_expand_team_into_team_and_collaboration_groups():
    desired = expand(people_docs())
    groups = {g["name"]: g for g in desired["groups"]}
    assert groups["team-a"] == {"name": "team-a", "permissions": "read-annotate", "description": "Team team-a (iBV)",
                                "owners": ["lead"], "members": ["lead", "memb"], "leader": "lead",
                                "allow_downgrade": False}
    assert groups["team-a-collab"]["members"] == ["lead", "memb", "staff"]
    assert groups["referents"]["members"] == ["refe"]
    users = {u["omename"]: u for u in desired["users"]}
    assert users["memb"]["default_group"] == "team-a"
    assert users["staff"]["default_group"] == "team-a-collab"
    assert users["refe"]["admin"] is True
    assert users["refe"]["admin_privileges"] == sorted(DEFAULT_SETTINGS["referent_privileges"])
    assert users["memb"]["admin"] is False and users["memb"]["admin_privileges"] is None


def test_departed_person_leaves_groups_and_goes_to_the_leader():
    desired = expand(people_docs(gone={"status": "departed"}))
    assert "gone" not in [u["omename"] for u in desired["users"]]
    assert all("gone" not in (g["members"] or []) for g in desired["groups"])
    # No transfer_to: the data in each group goes to that group's leader (DMP), decided at plan time.
    assert desired["departed"] == [{"omename": "gone", "transfer_to": None, "leaders": ["lead"], "delete_data": False}]


def test_expiry_report_uses_today():
    docs = people_docs()
    docs["inv/accounts/ext.yml"] = {"external_groups": [{"name": "ext-x", "site": "X", "created": "2026-01-01",
                                                         "expires": "2026-02-01", "quota_gb": 100, "owners": ["staff"]}]}
    assert expand(docs, today=datetime.date(2026, 1, 15))["reports"]["expired_external_groups"] == []
    expired = expand(docs, today=datetime.date(2026, 2, 2))["reports"]["expired_external_groups"]
    assert [g["name"] for g in expired] == ["ext-x"]


def full_plan(current, desired, **kw):
    kw.setdefault("passwords_given", {u["omename"] for u in desired["users"]})
    return plan(current, groups=[dict(g, state="exact") for g in desired["groups"]],
                      users=desired["users"], departed=desired["departed"], settings=desired["settings"], **kw)


def test_plan_from_empty_then_converges():
    desired = expand(people_docs())
    current = empty()
    with pytest.raises(PlanError, match="'memb': a new account needs an initial password"):
        full_plan(current, desired, passwords_given={"lead"})
    actions = full_plan(current, desired)
    kinds = [a["action"] for a in actions]
    assert kinds.count("create_group") == len(desired["groups"])
    assert kinds.count("create_user") == len(desired["users"])
    create_lead = next(a for a in actions if a.get("user") == "lead" and a["action"] == "create_user")
    assert create_lead["password"] is True and create_lead["default_group"] == "team-a"
    # Groups are created before anyone is put in them.
    assert max(i for i, k in enumerate(kinds) if k == "create_group") < min(i for i, k in enumerate(kinds) if k == "create_user")
    after = simulate(current, actions)
    assert full_plan(after, desired) == []
    shown = view(after, user_names={"refe"})
    assert shown["users"]["refe"]["admin"] is True and shown["users"]["refe"]["active"] is True


@pytest.mark.parametrize("drift,expected_action", [
    (lambda s: s["groups"]["team-a"].update(permissions="rwr---"), "chmod_group"),
    (lambda s: s["groups"]["team-a"].update(description="old"), "update_group"),
    (lambda s: s["users"]["memb"].update(email="old@example.org"), "update_user"),
    (lambda s: s["users"]["memb"]["groups"].remove("team-a-collab"), "add_groups"),
    (lambda s: s["users"]["refe"].update(privileges=["Chown"]), "set_privileges"),
    (lambda s: s["groups"]["team-a"]["owners"].append("memb"), "remove_group_owners"),
    (lambda s: s["groups"]["team-a"]["owners"].remove("lead"), "add_group_owners"),
])
def test_plan_repairs_drift(drift, expected_action):
    desired = expand(people_docs())
    state = simulate(empty(), full_plan(empty(), desired))
    drift(state)
    actions = full_plan(state, desired)
    assert [a["action"] for a in actions] == [expected_action]
    assert full_plan(simulate(state, actions), desired) == []


def test_exact_membership_removes_an_unlisted_member_and_present_does_not():
    desired = expand(people_docs())
    state = simulate(empty(), full_plan(empty(), desired))
    state["groups"]["team-a"]["members"].append("root")
    state["users"]["root"]["groups"].append("team-a")
    actions = full_plan(state, desired)
    assert actions == [{"action": "remove_groups", "user": "root", "groups": ["team-a"]}]
    present = plan(state, groups=[dict(g, state="present") for g in desired["groups"]], users=desired["users"])
    assert present == []


def test_group_state_absent_removes_listed_members_only():
    desired = expand(people_docs())
    state = simulate(empty(), full_plan(empty(), desired))
    actions = plan(state, groups=[{"name": "team-a", "members": ["memb"], "state": "absent"}])
    assert actions == [{"action": "remove_groups", "user": "memb", "groups": ["team-a"]}]


def test_departure_transfers_renames_and_parks_the_account():
    before = expand(people_docs(gone={"status": "active"}))
    state = simulate(empty(), full_plan(empty(), before))
    parked = DEFAULT_SETTINGS["deactivated_group"]
    assert parked == "User d\u00e9sactiv\u00e9s"  # the DMP's name
    state["users"]["A_utiliser_3"] = dict(state["users"]["root"], id=99, omename="A_utiliser_3", groups=[parked])
    state["owned"] = {"gone": {"team-a": {"Image": [7]}, "team-a-collab": {"Dataset": [8]}}}
    after_desired = expand(people_docs(gone={"status": "departed"}))
    actions = full_plan(state, after_desired)
    assert [a["action"] for a in actions] == ["transfer_data", "transfer_data", "add_groups", "set_default_group",
                                              "remove_groups", "rename_user"]
    assert actions[0] == {"action": "transfer_data", "user": "gone", "group": "team-a", "to": "lead",
                          "targets": {"Image": [7]}, "would_delete": None}
    assert actions[4]["groups"] == ["team-a", "team-a-collab", "user"]
    assert actions[5]["to"] == "A_utiliser_4"
    final = simulate(state, actions)
    assert "gone" not in final["users"]
    assert final["users"]["A_utiliser_4"]["groups"] == [parked]
    assert final["users"]["A_utiliser_4"]["email"] == ""
    # Re-running is a no-op: the renamed account is no longer "gone".
    assert full_plan(final, after_desired) == []


def test_departure_deletes_data_only_with_the_explicit_flag():
    state = simulate(empty(), full_plan(empty(), expand(people_docs(gone={"status": "active"}))))
    state["owned"] = {"gone": {"team-a": {"Image": [7]}}}
    keep = full_plan(state, expand(people_docs(gone={"status": "departed"})))
    assert "delete_data" not in [a["action"] for a in keep]
    delete = full_plan(state, expand(people_docs(gone={"status": "departed", "delete_data": True})))
    assert next(a["action"] for a in delete) == "delete_data"
    assert "transfer_data" not in [a["action"] for a in delete]


def test_password_changes_only_when_asked():
    desired = expand(people_docs())
    state = simulate(empty(), full_plan(empty(), desired))
    assert full_plan(state, desired, passwords_given={"memb"}) == []
    assert full_plan(state, desired, passwords_given={"memb"}, password_resets={"memb"}) == [
        {"action": "change_password", "user": "memb"}]
    with pytest.raises(PlanError, match="password_reset is set but the vault has no password"):
        full_plan(state, desired, passwords_given=set(), password_resets={"memb"})


def test_unknown_member_is_an_error():
    with pytest.raises(ValueError, match="unknown user"):
        plan(empty(), groups=[{"name": "team-z", "members": ["ghost"]}])
    with pytest.raises(PlanError, match="built-in group is never managed"):
        plan(empty(), groups=[{"name": "user", "members": ["root"]}])


def test_actions_and_views_never_carry_passwords():
    desired = expand(people_docs())
    actions = full_plan(empty(), desired)
    text = repr(actions) + repr(view(simulate(empty(), actions)))
    assert "password_var" not in text
    assert all(isinstance(a.get("password", False), bool) for a in actions)


def test_every_action_has_a_description():
    desired = expand(people_docs(gone={"status": "active"}))
    state = simulate(empty(), full_plan(empty(), desired))
    state["owned"] = {"gone": {"team-a": {"Image": [7]}}}
    actions = full_plan(empty(), desired) + full_plan(state, expand(people_docs(gone={"status": "departed"})))
    for action in actions:
        assert describe(action) != action["action"], action


# --------------------------------------------------------------------------------------------------
# Loading: duplicate keys (PyYAML's safe_load keeps the last one silently)
# --------------------------------------------------------------------------------------------------

def load_text(text, yaml_module=yaml):
    return load_yaml_strict(text, yaml_module)


# PyYAML without libyaml: the validator then uses PyYAML's own parser, and must say the same.
PURE_YAML = types.SimpleNamespace(**dict(vars(yaml), CSafeLoader=None))


@pytest.mark.parametrize("text,key,lines", [
    ("a: 1\na: 2\n", "a", (1, 2)),
    ("team:\n  name: x\n  leader: a\n  leader: b\n", "team.leader", (3, 4)),
    ("people:\n  - omename: x\n  - {omename: y, status: active, status: departed}\n", "people[1].status", (3, 3)),
    # YAML 1.1: yes and true are the same boolean key.
    ("? yes\n: 1\ntrue: 2\n", "true", (1, 3)),
])
def test_a_repeated_key_is_reported_with_its_path_and_lines(text, key, lines):
    _data, duplicates = load_text(text)
    assert len(duplicates) == 1, duplicates
    path, message = duplicates[0]
    assert path == key
    assert f"(first at line {lines[0]}, again at line {lines[1]})" in message


def test_plain_values_load_as_safe_load_does():
    text = ("day: 2026-11-02\nflag: yes\nnothing: ~\nquota: 1.5\ncount: 0x10\nquoted: '2026-11-02'\n"
            "flow: [a, {k: v}]\nblock:\n  - x: 1\n    y: [2]\noctal: 010\nbig: 123456789012345678901234\n"
            "neg: -7\nsexagesimal: 1:30\nempty:\nbang: ! 12\n")
    assert load_text(text, PURE_YAML) == load_text(text)
    data, problems = load_text(text)
    assert problems == []
    assert data == yaml.safe_load(text)
    assert data["day"] == datetime.date(2026, 11, 2) and data["quoted"] == "2026-11-02"


@pytest.mark.parametrize("text,key,message", [
    ("base: &b {k: 1}\n", "base", "anchor &b at line 1: anchors, aliases and merge keys are refused"),
    ("a: 1\nb: *x\n", "b", "alias *x at line 2: anchors, aliases and merge keys are refused"),
    ("other:\n  <<: {k: 1}\n  j: 2\n", "other.<<", "merge key '<<' at line 2: anchors, aliases and merge keys are refused"),
    ("team:\n  name: !!str x\n", "team.name", "tag tag:yaml.org,2002:str at line 2: tags are refused"),
    ("team:\n  name: !Ref x\n", "team.name", "tag !Ref at line 2: tags are refused"),
    ("people: !!python/object:os.system {}\n", "people", "tag tag:yaml.org,2002:python/object:os.system at line 1"),
    ("? [a, b]\n: 1\n", "(root)", "a list as a key at line 1: keys are plain names"),
    ("a: 1\n---\nb: 2\n", "(file)", "a second YAML document at line 2: an accounts file holds exactly one"),
    ("a: " + "[" * 11 + "]" * 11 + "\n", "a[0][0][0][0][0][0][0][0][0]", "nested deeper than 10 levels at line 1"),
    ("a: " + "x" * 2001 + "\n", "a", "a value of 2001 characters at line 1: over the 2000"),
    ("a: 2026-02-30\n", "a", "'2026-02-30' at line 1 is not a valid timestamp"),
    ("=: 1\n", "=", "'=' at line 1 reads as a YAML value: quote it"),
])
def test_constructs_an_accounts_file_never_needs_are_refused_where_they_are(text, key, message):
    for yaml_module in (yaml, PURE_YAML):
        _data, problems = load_text(text, yaml_module)
        assert problems, text
        assert problems[0][0] == key
        assert problems[0][1].startswith(message), problems


def test_a_billion_laughs_is_refused_at_each_anchor_without_expanding_anything():
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    data, problems = load_text("\n".join(lines) + "\n")
    # An anchored value is not read at all: one problem per anchor, nothing expanded.
    assert [key for key, _message in problems] == [f"a{i}" for i in range(10)]
    assert problems[0][1] == ("anchor &a0 at line 1: anchors, aliases and merge keys are refused (an accounts file"
                              " never needs them): write each value out")
    assert data == {f"a{i}": None for i in range(10)}


def test_a_construct_repeated_is_refused_each_time():
    _data, problems = load_text("people:\n" + "  - <<: {omename: x}\n    status: active\n" * 3 + "dates: [2026-02-30, 2026-02-30]\n")
    assert [key for key, _message in problems] == ["people[0].<<", "people[1].<<", "people[2].<<", "dates[0]", "dates[1]"]


def test_a_file_stops_being_read_after_max_problems():
    _data, problems = load_text("a: [" + ", ".join(["*x"] * 1000) + "]\n")
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[0][0] == "a[0]" and problems[MAX_PROBLEMS - 1][0] == f"a[{MAX_PROBLEMS - 1}]"
    assert problems[-1] == ("(file)", f"stopped reading after {MAX_PROBLEMS} problems")


def test_load_inventory_refuses_a_file_with_a_repeated_key_and_keeps_dates_normalised(tmp_path):
    accounts = tmp_path / "accounts"
    accounts.mkdir()
    (accounts / "a.yml").write_text("---\nexternal_groups:\n  - name: x\n    created: 2026-11-02\n")
    (accounts / "b.yml").write_text("---\nreferents:\n  members: [a]\n  members: [b]\n")
    documents, problems = load_inventory(str(tmp_path), yaml)
    assert list(documents) == [str(accounts / "a.yml")]
    assert documents[str(accounts / "a.yml")]["external_groups"][0]["created"] == "2026-11-02"
    expected = (f"{accounts / 'b.yml'}:referents.members: duplicate key 'members'"
                " (first at line 3, again at line 4): YAML would silently keep only the last one")
    assert [str(p) for p in problems] == [expected]


# --------------------------------------------------------------------------------------------------
# Semantic rules: OMERO's built-in accounts and groups, receivers of a departed person's data
# --------------------------------------------------------------------------------------------------

def problems_of(docs):
    return [str(p).split(":", 1)[1] for p in semantic_problems(docs)]


@pytest.mark.parametrize("name,rule", [
    ("root", "'root' is an OMERO built-in account: the inventory must never manage it"),
    ("guest", "'guest' is an OMERO built-in account: the inventory must never manage it"),
    ("Root", "'Root' is a case variant of the OMERO built-in account 'root'"),
    ("GUEST", "'GUEST' is a case variant of the OMERO built-in account 'guest'"),
])
def test_a_builtin_account_is_refused_in_every_role(name, rule):
    docs = people_docs()
    team = docs["inv/accounts/teams/a.yml"]["team"]
    team["external_collaborators"] = [name]
    team["collaboration_groups"] = [{"name": "team-a-x", "owners": [name], "members": [name]}]
    docs["inv/accounts/referents.yml"]["referents"]["members"].append(name)
    docs["inv/accounts/b.yml"] = {"team": {"name": "team-b", "site": "iBV", "leader": name}}
    docs["inv/accounts/pub.yml"] = {"public_group": {"name": "public", "owners": [name], "members": [name]}}
    docs["inv/accounts/ext.yml"] = {"external_groups": [{"name": "ext-x", "site": "X", "created": "2026-01-01",
                                                         "expires": "2026-02-01", "quota_gb": 10,
                                                         "owners": [name], "members": [name]}]}
    docs["inv/accounts/people.yml"]["people"].append(
        {"omename": "gone", "first_name": "G", "last_name": "X", "email": "g@example.org", "site": "iBV",
         "status": "departed", "transfer_to": name})
    keys = ["people[4].transfer_to", "team.external_collaborators[0]", "team.collaboration_groups[0].owners[0]",
            "team.collaboration_groups[0].members[0]", "team.leader", "referents.members[1]",
            "public_group.owners[0]", "public_group.members[0]", "external_groups[0].owners[0]",
            "external_groups[0].members[0]"]
    problems = problems_of(docs)
    assert sorted(p.split(":", 1)[0] for p in problems) == sorted(keys), problems
    assert all(p.split(": ", 1)[1].startswith(rule) for p in problems), problems


def test_a_builtin_account_as_a_person_is_refused():
    docs = people_docs(root={"status": "active"})
    assert problems_of(docs) == [
        "people[4].omename: 'root' is an OMERO built-in account: the inventory must never manage it",
        "team.members[1]: 'root' is an OMERO built-in account: the inventory must never manage it"]


@pytest.mark.parametrize("name", ["system", "user", "guest", "System", "USER", "gUeSt"])
def test_a_builtin_group_is_refused_wherever_a_group_is_named(name):
    docs = people_docs()
    docs["inv/accounts/people.yml"]["people"][1]["default_group"] = name
    docs["inv/accounts/b.yml"] = {"team": {"name": name, "site": "iBV", "leader": "lead",
                                           "collaboration_groups": [{"name": name, "members": ["memb"]}]}}
    docs["inv/accounts/pub.yml"] = {"public_group": {"name": name, "owners": ["lead"]}}
    docs["inv/accounts/ext.yml"] = {"external_groups": [{"name": name, "site": "X", "created": "2026-01-01",
                                                         "expires": "2026-02-01", "quota_gb": 10, "owners": ["lead"]}]}
    docs["inv/accounts/settings.yml"] = {"settings": {"deactivated_group": name, "referents_group": name}}
    problems = problems_of(docs)
    keys = sorted(p.split(":", 1)[0] for p in problems)
    assert keys == sorted(["people[1].default_group", "team.name", "team.collaboration_groups[0].name",
                           "public_group.name", "external_groups[0].name",
                           "settings.deactivated_group", "settings.referents_group"]), problems
    builtin = name.lower()
    exact = f"{name!r} is an OMERO built-in group: the inventory must never manage it"
    variant = f"{name!r} is a case variant of the OMERO built-in group {builtin!r}"
    assert all(p.split(": ", 1)[1].startswith(exact if name == builtin else variant) for p in problems), problems


def test_builtin_group_in_settings_names_the_settings_file():
    docs = people_docs()
    docs["inv/accounts/settings.yml"] = {"settings": {"referents_group": "system"}}
    expected = "inv/accounts/settings.yml:settings.referents_group: 'system' is an OMERO built-in group"
    assert [str(p) for p in semantic_problems(docs)] == [f"{expected}: the inventory must never manage it"]


@pytest.mark.parametrize("receiver,extra,message", [
    ("gone", {}, "'gone' is the person themselves: transfer_to must name another, active person"),
    ("left", {"left": {"status": "departed", "delete_data": True}},
     "'left' is departed: transfer_to must name another, active person"),
    ("nobody", {}, "unknown person 'nobody' (not in any people file): transfer_to must name another, active person"),
])
def test_transfer_to_must_be_another_active_person(receiver, extra, message):
    docs = people_docs(gone={"status": "departed", "transfer_to": receiver}, **extra)
    assert problems_of(docs) == [f"people[4].transfer_to: {message}"]


def test_transfer_to_another_active_person_is_valid():
    assert problems_of(people_docs(gone={"status": "departed", "transfer_to": "memb"})) == []


def test_a_departed_team_leader_is_refused():
    docs = people_docs()
    docs["inv/accounts/people.yml"]["people"][0]["status"] = "departed"
    assert "team.leader: 'lead' is departed and cannot hold this role" in problems_of(docs)


def test_transfers_checked_against_the_server():
    transfers = [{"id": "t1", "from": "memb", "to": "lead", "objects": ["Project:1", "Dataset:7", "Image:4"]}]
    objects = {"Project:1": {"owner": "memb"}, "Image:4": {"owner": "lead"}}
    users = {"memb": {"active": True}, "lead": {"active": True}}
    assert transfer_problems(transfers, objects, users) == [
        "transfer t1: Dataset:7 does not exist", "transfer t1: Image:4 belongs to 'lead', not 'memb'"]
    users["lead"]["active"] = False
    assert "not an active account" in transfer_problems(transfers, objects, users)[0]
    state = simulate(empty(), full_plan(empty(), expand(people_docs())))
    state["objects"] = {"Project:1": {"owner": "memb"}}
    actions = plan(state, transfers=[dict(transfers[0], objects=["Project:1"])])
    assert actions == [{"action": "transfer_objects", "id": "t1", "user": "memb", "to": "lead",
                        "targets": {"Project": [1]}, "would_delete": None}]
    with pytest.raises(PlanError, match="Dataset:7 does not exist"):
        plan(state, transfers=transfers)


def test_a_restricted_session_cannot_create_a_full_administrator():
    # AdminImpl.assertNoPrivilegeElevation: a new admin without a privilege list gets every privilege.
    state = simulate(empty(), full_plan(empty(), expand(people_docs())))
    state["caller"] = {"omename": "refe", "privileges": sorted(DEFAULT_SETTINGS["referent_privileges"])}
    new = {"omename": "boss", "first_name": "B", "last_name": "Oss", "groups": ["team-a"], "admin": True}
    with pytest.raises(PlanError, match="cannot give privileges it does not hold"):
        plan(state, users=[new], passwords_given={"boss"})
    same = dict(new, admin_privileges=DEFAULT_SETTINGS["referent_privileges"])
    assert plan(state, users=[same], passwords_given={"boss"})[0]["action"] == "create_user"
