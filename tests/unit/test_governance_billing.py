"""Billing of external groups past their first month (module_utils/omero_governance_billing.py, DMP section 6)."""
import datetime

from omero_governance_billing import (
    billable_window,
    billing,
    billing_period,
    daily_bytes,
    days_used,
)

GB = 1000 ** 3
D = datetime.date
GROUP = {"name": "ext-x", "site": "Lab X", "created": "2026-12-10", "expires": "2027-03-31", "quota_gb": 100, "billed": True,
         "owners": ["owner"], "members": ["owner", "ext", "ext2"]}
CONFIG = {"external_groups": [GROUP, dict(GROUP, name="ext-new", created="2027-01-20")]}


def _history(samples):
    return {day: {"total": size, "groups": {"ext-x": size}} for day, size in samples.items()}


def test_the_period_is_the_last_complete_month():
    assert billing_period(D(2027, 2, 3)) == (D(2027, 1, 1), D(2027, 1, 31), "2027-01")
    assert billing_period(D(2027, 1, 1)) == (D(2026, 12, 1), D(2026, 12, 31), "2026-12")


def test_the_first_month_is_free():
    first, last, _p = billing_period(D(2027, 2, 3))
    assert billable_window(GROUP, first, last) == (D(2027, 1, 10), D(2027, 1, 31))
    assert billable_window(dict(GROUP, created="2027-01-20"), first, last) is None  # still in its first month
    assert billable_window(dict(GROUP, created="2026-11-02"), first, last) == (first, last)


def test_days_used_count_the_members_own_logins_in_the_window():
    logins = [("ext", "2027-01-12"), ("ext", "2027-01-12"), ("ext2", "2027-01-15"), ("owner", "2027-01-20"),
              ("ext", "2027-01-05"), ("lead", "2027-01-21")]  # before the window; not a member
    assert days_used(logins, ["ext", "ext2"], D(2027, 1, 10), D(2027, 1, 31)) == ["2027-01-12", "2027-01-15"]


def test_gb_days_carry_each_sample_forward_and_leave_days_before_the_first_uncounted():
    per_day = daily_bytes(_history({"2027-01-22": 85 * GB, "2027-01-30": 10 * GB, "2027-02-02": GB}), "ext-x",
                          D(2027, 1, 10), D(2027, 1, 31))
    assert per_day[D(2027, 1, 21)] is None and per_day[D(2027, 1, 22)] == 85 * GB
    assert per_day[D(2027, 1, 29)] == 85 * GB and per_day[D(2027, 1, 31)] == 10 * GB
    assert sum(v for v in per_day.values() if v) / GB == 8 * 85 + 2 * 10


def test_an_external_group_past_its_month_gets_its_billing_columns_and_a_notice_to_support():
    history = _history({"2027-01-22": 85 * GB})
    logins = [("ext", "2027-01-12"), ("ext", "2027-01-15"), ("owner", "2027-01-13")]
    notices, rows, bills = billing(CONFIG, history, logins, D(2027, 2, 3), "support@example.org")
    assert [r["subject"] for r in rows] == ["ext-x"]  # ext-new is in its first month: not billed
    row = rows[0]
    assert (row["section"], row["billing_period"], row["days_used"], row["gb_days"]) == ("billing", "2027-01", "2", "850.000")
    assert row["flag"] == "no usage sample before 2027-01-22"
    assert row["detail"] == "2027-01: billed 2027-01-10 to 2027-01-31 (22 d past the first month)"
    (notice,) = notices
    assert notice["to"] == ["support@example.org"] and notice["keys"] == ["billing|ext-x|2027-01"]
    assert notice["subject"] == "[OMERO] Billing 2027-01: external group ext-x (2 day(s) used, 850.000 GB-days)"
    assert "2027-01-12, 2027-01-15" in notice["lines"][1] and "ext, ext2" in notice["lines"][3]
    assert bills[0]["samples"] == 1 and len(bills[0]["per_day"]) == 22


def test_an_expired_group_is_still_billed_for_its_volume_and_flagged():
    _n, rows, _b = billing({"external_groups": [dict(GROUP, expires="2027-01-27")]},
                           _history({"2027-01-01": 5 * GB}), [], D(2027, 2, 3), "s@example.org")
    assert rows[0]["days_used"] == "0" and rows[0]["gb_days"] == f"{22 * 5:.3f}"
    assert rows[0]["flag"] == "expired on 2027-01-27"


def test_a_group_not_billed_is_never_billed():
    # Without billed: true the validator keeps its lifetime to one month: past it, it has expired (data kept).
    _n, rows, _b = billing({"external_groups": [dict(GROUP, billed=False, expires="2027-01-10")]},
                           _history({"2027-01-01": 5 * GB}), [("ext", "2027-01-12")], D(2027, 2, 3), "s@example.org")
    assert rows == []
