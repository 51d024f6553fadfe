"""The DMP lifecycle rules (module_utils/omero_governance.py) with a fixed today, without omero."""
import datetime

import omero_governance as gov
import pytest

D = datetime.date
GB = gov.GB
SUPPORT = "support@example.org"


def config(**over):
    base = {
        "people": {
            "lead": {"name": "Lea Leader", "email": "lead@example.org", "site": "iBV", "status": "active"},
            "memb": {"name": "Max Member", "email": "memb@example.org", "site": "iBV", "status": "active"},
            "old": {"name": "Olga Old", "email": "old@example.org", "site": "iBV", "status": "active"},
            "gone": {"name": "Gil Gone", "email": "gone@example.org", "site": "iBV", "status": "departed"},
            "ref": {"name": "Rita Ref", "email": "ref@example.org", "site": "iBV", "status": "active"},
            "ext": {"name": "Ext Ern", "email": "ext@labx.example.org", "site": "Lab X", "status": "active"},
            "owner": {"name": "Ona Owner", "email": "owner@example.org", "site": "MICA", "status": "active"},
        },
        "teams": {"team-a": {"leader": "lead", "site": "iBV"}},
        "external_groups": [{"name": "ext-x", "site": "Lab X", "created": "2026-11-02", "expires": "2026-12-02",
                             "quota_gb": 100, "owners": ["owner"], "members": ["ext"]}],
        "referents": ["ref"],
        "retention_extensions": [],
        "transfers": [],
    }
    base.update(over)
    return base


def server(ext_bytes=0, containers=(), logins=None):
    logins = logins or {}
    users = {}
    for uid, (name, groups) in enumerate([("lead", ["team-a"]), ("memb", ["team-a"]), ("old", ["team-a"]),
                                          ("ref", ["team-a"]), ("ext", ["ext-x"]), ("owner", ["ext-x", "team-a"])], start=10):
        users[uid] = {"omename": name, "groups": groups + ["user"], "active": True, "last_login": logins.get(name, "2026-11-01")}
    return {"groups": {5: {"name": "team-a"}, 6: {"name": "ext-x"}},
            "users": users,
            "usage": [[14, 6, ext_bytes], [11, 5, 3 * GB]],
            "containers": list(containers)}


def kinds(result):
    return sorted((n["kind"], n["item"]) for n in result["notices"])


# -- quota -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("used_gb,expected", [(79.9, []), (80, ["quota-80"]), (99.9, ["quota-80"]), (100, ["quota-100"]), (140, ["quota-100"])])
def test_quota_thresholds(used_gb, expected):
    result = gov.compute(config(), server(ext_bytes=int(used_gb * GB)), D(2026, 11, 10), SUPPORT)
    got = [n for n in result["notices"] if n["kind"].startswith("quota")]
    assert [n["kind"] for n in got] == expected
    for n in got:
        assert n["to"] == ["owner@example.org"] and n["cc"] == [SUPPORT]
        assert "ext-x" in n["subject"]


# -- expiry ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("today,expected", [
    (D(2026, 11, 24), []),  # 8 days left
    (D(2026, 11, 25), ["expiry-warning"]),  # 7 days left
    (D(2026, 12, 2), ["expiry-warning"]),  # the last day
    (D(2026, 12, 3), ["expired"]),
])
def test_expiry_warning_and_expiry(today, expected):
    result = gov.compute(config(), server(), today, SUPPORT)
    assert [n["kind"] for n in result["notices"] if n["item"] == "ext-x"] == expected


def test_expiry_disables_only_members_without_another_group():
    result = gov.compute(config(), server(), D(2026, 12, 3), SUPPORT)
    # ext is only in ext-x: loses the login; owner is also in team-a (and is an owner): keeps it.
    assert result["deactivate"] == ["ext"]
    expired = next(n for n in result["notices"] if n["kind"] == "expired")
    assert "can no longer log in: ext." in "\n".join(expired["lines"])


def test_expiry_policy_notify_only_keeps_logins():
    result = gov.compute(config(), server(), D(2026, 12, 3), SUPPORT, policy="notify_only")
    assert result["deactivate"] == []
    assert [n["kind"] for n in result["notices"] if n["item"] == "ext-x"] == ["expired"]


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError):
        gov.compute(config(), server(), D(2026, 12, 3), SUPPORT, policy="delete")


def test_report_says_what_the_group_cost():
    result = gov.compute(config(), server(ext_bytes=50 * GB), D(2026, 12, 10), SUPPORT)
    row = next(r for r in gov.report_rows(result) if r["section"] == "external group")
    assert row["cost"] == "30 days, 50.000 GB" and row["flag"] == "expired"


# -- retention -------------------------------------------------------------------------------------

OLD = [
    {"type": "Project", "id": 1, "name": "p-old", "owner": 11, "group": 5, "created": "2021-11-09"},
    {"type": "Dataset", "id": 2, "name": "d-old", "owner": 11, "group": 5, "created": "2020-01-01"},
    {"type": "Image", "id": 3, "name": "i-young", "owner": 11, "group": 5, "created": "2021-11-10"},
    {"type": "Image", "id": 4, "name": "i-lead", "owner": 10, "group": 5, "created": "2019-05-05"},
]


def test_five_year_retention_lists_items_per_owner_with_leader_in_copy():
    result = gov.compute(config(), server(containers=OLD), D(2026, 11, 10), SUPPORT)
    ret = {n["item"]: n for n in result["notices"] if n["kind"] == "retention"}
    assert sorted(ret) == ["lead/team-a", "memb/team-a"]
    assert ret["memb/team-a"]["items"] == ["Dataset:2", "Project:1"]  # Image:3 is 5 years old tomorrow
    assert ret["memb/team-a"]["to"] == ["memb@example.org"] and ret["memb/team-a"]["cc"] == ["lead@example.org"]
    assert ret["lead/team-a"]["cc"] == []  # the leader is not copied on their own data
    assert all(k.endswith("|2026-11") for k in ret["memb/team-a"]["keys"])


def test_extension_holds_until_its_date_and_never_past_six_years():
    ext = [{"what": "Project:1", "created": "2021-11-09", "until": "2027-06-01", "why": "thesis"},
           {"what": "group:team-a", "created": "2019-05-05", "until": "2030-01-01", "why": "too long, capped"}]
    result = gov.compute(config(retention_extensions=ext), server(containers=OLD), D(2026, 11, 10), SUPPORT)
    items = sorted(i for n in result["notices"] if n["kind"] == "retention" for i in n["items"])
    # Project:1 extended; Dataset:2 (2020-01-01) is capped at 2026-01-01, past; Image:4 capped at 2025-05-05.
    assert items == ["Dataset:2", "Image:4"]
    # Project:1 is covered by both until 2027-06-01 and the group's extension capped at 2027-11-09.
    held = gov.compute(config(retention_extensions=ext), server(containers=OLD), D(2027, 11, 9), SUPPORT)
    assert "Project:1" not in [i for n in held["notices"] if n["kind"] == "retention" for i in n["items"]]
    later = gov.compute(config(retention_extensions=ext), server(containers=OLD), D(2027, 11, 10), SUPPORT)
    assert "Project:1" in [i for n in later["notices"] if n["kind"] == "retention" for i in n["items"]]


def test_departed_owner_data_goes_to_support():
    containers = [{"type": "Project", "id": 9, "name": "x", "owner": 99, "group": 5, "created": "2015-01-01"}]
    srv = server(containers=containers)
    srv["users"][99] = {"omename": "gone", "groups": ["team-a"], "active": False, "last_login": None}
    result = gov.compute(config(), srv, D(2026, 11, 10), SUPPORT)
    n = next(n for n in result["notices"] if n["kind"] == "retention")
    assert n["to"] == [SUPPORT] and n["cc"] == ["lead@example.org"]


def test_retention_cutoff_on_29_february():
    assert gov.retention_cutoff(D(2028, 2, 29)) == D(2023, 2, 28)


# -- review ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("today,due", [(D(2026, 9, 1), True), (D(2027, 1, 15), True), (D(2026, 10, 1), False),
                                       (D(2026, 12, 31), False)])
def test_review_months(today, due):
    result = gov.compute(config(), server(), today, SUPPORT)
    assert any(n["kind"] == "review" for n in result["notices"]) is due


def test_review_flags_no_login_for_12_months_and_goes_to_the_sites_referents():
    logins = {"old": "2025-08-31", "memb": "2025-09-01", "lead": None}
    result = gov.compute(config(), server(logins=logins), D(2026, 9, 1), SUPPORT)
    review = {n["item"]: n for n in result["notices"] if n["kind"] == "review"}
    assert sorted(review) == ["Lab X", "MICA", "iBV"]
    ibv = review["iBV"]
    assert ibv["to"] == ["ref@example.org"] and ibv["cc"] == []
    text = "\n".join(ibv["lines"])
    assert "gone" not in text  # departed people are not reviewed
    flagged = {line.split()[0] for line in ibv["lines"] if "<-" in line}
    assert flagged == {"old", "lead"}  # memb logged in exactly 12 months ago: not flagged
    assert "(4 active, 2 flagged)" in ibv["subject"]
    assert review["Lab X"]["to"] == [SUPPORT]  # no referent for that site


# -- de-duplication --------------------------------------------------------------------------------

def test_a_notice_is_sent_once_per_period_and_a_refused_one_is_retried():
    state = gov.new_state()
    today = D(2026, 11, 10)
    result = gov.compute(config(), server(ext_bytes=85 * GB, containers=OLD), today, SUPPORT)
    due = gov.pending(result["notices"], state)
    assert len(due) == 3
    refused = due[0]
    for n in due[1:]:
        gov.mark_sent(state, n, today)
    # Same day: only the refused one is still due.
    again = gov.pending(gov.compute(config(), server(ext_bytes=85 * GB, containers=OLD), today, SUPPORT)["notices"], state)
    assert [(n["kind"], n["item"]) for n in again] == [(refused["kind"], refused["item"])]
    gov.mark_sent(state, again[0], today)
    assert gov.pending(result["notices"], state) == []
    # Next month, the retention items are due again; the quota notice is not (once per group lifetime).
    nxt = D(2026, 12, 1)
    later = gov.pending(gov.compute(config(), server(ext_bytes=85 * GB, containers=OLD), nxt, SUPPORT)["notices"], state)
    assert sorted(n["kind"] for n in later) == ["expiry-warning", "retention", "retention"]


def test_a_new_item_is_mailed_alone_within_the_month():
    state = gov.new_state()
    today = D(2026, 11, 10)
    for n in gov.pending(gov.compute(config(), server(containers=OLD), today, SUPPORT)["notices"], state):
        gov.mark_sent(state, n, today)
    tomorrow = D(2026, 11, 11)  # Image:3 turns 5 years old
    due = gov.pending(gov.compute(config(), server(containers=OLD), tomorrow, SUPPORT)["notices"], state)
    assert [(n["kind"], n["items"]) for n in due] == [("retention", ["Image:3"])]
    assert "Project:1" not in "\n".join(due[0]["lines"]) and "Image:3" in "\n".join(due[0]["lines"])


def test_threshold_100_after_80_is_a_new_notice():
    state = gov.new_state()
    today = D(2026, 11, 10)
    for n in gov.pending(gov.compute(config(), server(ext_bytes=85 * GB), today, SUPPORT)["notices"], state):
        gov.mark_sent(state, n, today)
    due = gov.pending(gov.compute(config(), server(ext_bytes=101 * GB), today, SUPPORT)["notices"], state)
    assert [n["kind"] for n in due] == ["quota-100"]


def test_usage_history_and_growth_plot():
    state = gov.new_state()
    gov.record_usage(state, D(2026, 11, 1), server(ext_bytes=GB))
    gov.record_usage(state, D(2026, 11, 2), server(ext_bytes=5 * GB))
    assert state["history"]["2026-11-02"]["groups"] == {"ext-x": 5 * GB, "team-a": 3 * GB}
    svg = gov.growth_svg(state["history"])
    assert svg.startswith("<svg") and "polyline" in svg and "2026-11-01" in svg and "2026-11-02" in svg
    gov.record_usage(state, D(2030, 1, 1), server())
    assert sorted(state["history"]) == ["2030-01-01"]  # samples older than 3 years are dropped


def test_expired_external_logins_from_the_inventory():
    docs = {
        "a/people.yml": {"people": []},
        "a/teams/t.yml": {"team": {"name": "t", "site": "s", "leader": "lead", "members": ["both"]}},
        "a/external_groups.yml": {"external_groups": [
            {"name": "ext-old", "created": "2026-10-01", "expires": "2026-11-01", "owners": ["lead"],
             "members": ["gone1", "both", "again"]},
            {"name": "ext-new", "created": "2026-11-10", "expires": "2026-12-10", "owners": ["lead"], "members": ["again"]}]},
    }
    assert gov.expired_external_logins(docs, D(2026, 11, 20)) == ["gone1"]
    assert gov.expired_external_logins(docs, D(2026, 11, 1)) == []  # the last day still counts
    assert gov.expired_external_logins(docs, D(2026, 12, 11)) == ["again", "gone1"]
    assert gov.expired_external_logins(docs, D(2026, 12, 11), policy="notify_only") == []
