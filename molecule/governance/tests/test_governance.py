"""The governance runner as installed by the real playbook, against the seeded stand-in and the test relay
(STARTTLS, verified)."""
import email
import json
import re

import pytest

SPOOL = "/var/spool/gov-smtp-sink"
SUPPORT = "omero-support@example.org"
BILLING = "[OMERO] Billing 2027-01: external group ext-x (2 day(s) used, 850.000 GB-days)"


def step(host, name):
    rc = int(host.check_output(f"cat /root/step-{name}.rc")) if host.file(f"/root/step-{name}.rc").exists else 0
    summary = json.loads(host.check_output(f"tail -n 1 /root/step-{name}.json"))
    return rc, summary, int(host.check_output(f"cat /root/step-{name}.mails"))


@pytest.fixture(scope="module")
def delivered(host):
    """The sink's mails in delivery order: (subject, from, to + cc, body)."""
    out = []
    for name in sorted(host.check_output(f"ls {SPOOL}").split()):
        msg = email.message_from_string(host.file(f"{SPOOL}/{name}").content_string)
        rcpt = sorted(a.strip() for h in ("To", "Cc") for a in (msg.get(h) or "").split(",") if a.strip())
        out.append((msg["Subject"], msg["From"], rcpt, msg.get_payload(decode=True).decode()))
    return out


def test_timers_fire_at_the_right_local_times(host):
    assert host.file("/etc/localtime").linked_to == "/usr/share/zoneinfo/Europe/Paris"
    assert host.check_output("date +%Z") in ("CET", "CEST")
    daily = host.check_output("systemctl show omero-governance.timer -p TimersCalendar")
    assert "OnCalendar=*-*-* 06:30:00" in daily
    review = host.check_output("systemctl show omero-governance-review.timer -p TimersCalendar -p Unit")
    assert "OnCalendar=*-01,09-01 07:00:00" in review and "Unit=omero-governance.service" in review
    nxt = host.check_output("systemctl show omero-governance-review.timer -p NextElapseUSecRealtime --value")
    # Next 1 January or 1 September at 07:00 Paris time.
    assert re.search(r"\d{4}-(01|09)-01 07:00:00 CES?T$", nxt), nxt
    for timer in ("omero-governance.timer", "omero-governance-review.timer"):
        assert host.service(timer).is_enabled and host.service(timer).is_running
    assert "Type=oneshot" in host.check_output("systemctl show omero-governance.service -p Type")


def test_check_mode_delivers_nothing_and_writes_nothing(host):
    rc, summary, mails = step(host, "check")
    assert rc == 0 and summary["check"] is True
    assert len(summary["due"]) == 6 and mails == 0


def test_first_run_delivers_the_expected_mails(host, delivered):
    rc, summary, mails = step(host, "run1")
    assert rc == 0 and mails == 6 and len(summary["sent"]) == 6
    first = {subject: (sender, rcpt, body) for subject, sender, rcpt, body in delivered[:6]}
    assert sorted(first) == [
        "[OMERO] 1 item(s) of lead in team-a older than 5 years",
        "[OMERO] 1 item(s) of memb in team-a older than 5 years",
        "[OMERO] Account review 2027-01: Lab X (1 active, 0 flagged)",  # ext logged in on 2027-01-15
        "[OMERO] Account review 2027-01: iBV (4 active, 2 flagged)",
        "[OMERO] Group ext-x expires on 2027-01-27 (5 day(s) left)",
        "[OMERO] Group ext-x: 85 % of its 100 GB quota used",
    ]
    assert {sender for sender, _r, _b in first.values()} == {SUPPORT}
    _s, rcpt, body = first["[OMERO] 1 item(s) of memb in team-a older than 5 years"]
    assert rcpt == ["lead@example.org", "memb@example.org"] and "thesis" in body and "Project:" in body
    _s, rcpt, body = first["[OMERO] 1 item(s) of lead in team-a older than 5 years"]
    assert rcpt == ["lead@example.org"] and "old-orphan.tif" in body
    _s, rcpt, body = first["[OMERO] Account review 2027-01: iBV (4 active, 2 flagged)"]
    assert rcpt == ["ref@example.org"]
    assert re.search(r"memb .*last login: 2025-12-01 .*<- no login for 12 months", body)
    assert re.search(r"ref .*last login: never .*<- no login ever", body)
    _s, rcpt, _b = first["[OMERO] Group ext-x: 85 % of its 100 GB quota used"]
    assert rcpt == [SUPPORT, "owner@example.org"]


def test_second_run_delivers_nothing(host):
    rc, summary, mails = step(host, "run2")
    assert rc == 0 and summary["due"] == [] and mails == 6


def test_relay_down_fails_the_run_and_the_next_run_delivers_what_was_missed(host, delivered):
    rc, summary, mails = step(host, "down")
    assert rc == 1 and summary["sent"] == [] and mails == 6
    missed = sorted(f["subject"] for f in summary["failed"])
    assert missed == ["[OMERO] 1 item(s) of lead in team-a older than 5 years",
                      "[OMERO] 1 item(s) of memb in team-a older than 5 years",
                      BILLING,
                      "[OMERO] Group ext-x expired on 2027-01-27"]
    assert "NOT SENT" in host.check_output("cat /root/step-down.err")
    rc, summary, mails = step(host, "back")
    assert rc == 0 and mails == 10 and sorted(summary["sent"]) == missed
    assert sorted(" ".join(s.split()) for s, _f, _r, _b in delivered[6:10]) == missed  # (a long subject is folded)
    # The expired group's external member lost the login (in the down run: server changes do not need the relay).
    assert step(host, "down")[1]["deactivated"] == ["ext"]


def test_playbook_check_mode_delivers_nothing(host):
    out = host.check_output("cat /root/step-playbook-check.out")
    # The debug task of the role shows the runner's check summary: March, the retention items again.
    assert re.search(r"""['"]?check['"]?:\s*(true|True)""", out), out[-2000:]
    assert "older than 5 years" in out
    assert int(host.check_output("cat /root/step-playbook-check.mails")) == 10
    assert "2027-03-02" not in host.check_output("cat /root/step-playbook-check.reports")


def test_reports_are_for_administrators_only(host):
    reports = host.check_output("ls /var/lib/omero-governance/reports").split()
    assert sorted(reports) == ["governance-2027-01-22.csv", "governance-2027-01-22.html",
                               "governance-2027-02-03.csv", "governance-2027-02-03.html",
                               "governance-2027-04-05.csv", "governance-2027-04-05.html"]  # test_mail.py's runs
    for name in reports:
        f = host.file(f"/var/lib/omero-governance/reports/{name}")
        assert (f.user, f.group, f.mode) == ("root", "omero-admins", 0o640), name
    d = host.file("/var/lib/omero-governance/reports")
    assert (d.group, d.mode) == ("omero-admins", 0o750)
    state = host.file("/var/lib/omero-governance/state.json")
    assert (state.user, state.mode) == ("root", 0o600)
    html = host.file("/var/lib/omero-governance/reports/governance-2027-02-03.html").content_string
    assert "<svg" in html and "2027-01-22" in html and "2027-02-03" in html  # growth over the two days
    csv_text = host.file("/var/lib/omero-governance/reports/governance-2027-01-22.csv").content_string
    assert csv_text.splitlines()[0] == "section,subject,detail,value,flag,cost,billing_period,days_used,gb_days"
    assert "external group,ext-x," in csv_text
    assert not any(line.startswith("billing,") for line in csv_text.splitlines())  # December: its first month


def test_external_group_past_its_month_is_billed(host, delivered):
    """ext-x (created 2026-12-10) is billed from 2027-01-10: the run of 2027-02-03 bills January with the days of
    its member's own logins (12 and 15; not the sudo session, not the owner's login) and the GB-days from the
    usage sample kept on 2027-01-22 (85 GB a day from then: 10 days)."""
    csv_text = host.file("/var/lib/omero-governance/reports/governance-2027-02-03.csv").content_string
    (row,) = [line for line in csv_text.splitlines() if line.startswith("billing,")]
    assert row.startswith("billing,ext-x,2027-01: billed 2027-01-10 to 2027-01-31 (22 d past the first month),")
    assert row.endswith(",2027-01,2,850.000")
    assert "no usage sample before 2027-01-22" in row
    html = host.file("/var/lib/omero-governance/reports/governance-2027-02-03.html").content_string
    assert "Billing of external groups past their first month, 2027-01 (1)" in html
    assert 'aria-label="GB per day of ext-x"' in html
    (mail,) = [m for m in delivered if " ".join(m[0].split()) == BILLING]
    _subject, sender, rcpt, body = mail
    assert sender == SUPPORT and rcpt == [SUPPORT]
    assert "2027-01-12, 2027-01-15" in body and "850.000 GB-days from 1 daily usage sample(s)" in body
    state = json.loads(host.check_output("cat /var/lib/omero-governance/state.json"))
    assert state["history"]["2027-01-22"]["groups"]["ext-x"] == 85 * 1000 ** 3  # the sample billed, in the backed-up state


def test_secrets_are_root_only(host):
    for name in ("config.json", "omero-password"):
        f = host.file(f"/etc/omero-governance/{name}")
        assert (f.user, f.mode) == ("root", 0o600), name
    assert host.file("/etc/omero-governance").mode == 0o700
