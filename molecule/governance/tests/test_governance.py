"""The governance runner as installed by the real playbook, against the seeded stand-in and the test relay
(STARTTLS, verified)."""
import email
import json
import re

import pytest

SPOOL = "/var/spool/gov-smtp-sink"
SUPPORT = "omero-support@example.org"


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
        "[OMERO] Account review 2027-01: Lab X (1 active, 1 flagged)",
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
                      "[OMERO] Group ext-x expired on 2027-01-27"]
    assert "NOT SENT" in host.check_output("cat /root/step-down.err")
    rc, summary, mails = step(host, "back")
    assert rc == 0 and mails == 9 and sorted(summary["sent"]) == missed
    assert sorted(s for s, _f, _r, _b in delivered[6:9]) == missed
    # The expired group's external member lost the login (in the down run: server changes do not need the relay).
    assert step(host, "down")[1]["deactivated"] == ["ext"]


def test_playbook_check_mode_delivers_nothing(host):
    out = host.check_output("cat /root/step-playbook-check.out")
    # The debug task of the role shows the runner's check summary: March, the retention items again.
    assert re.search(r"""['"]?check['"]?:\s*(true|True)""", out), out[-2000:]
    assert "older than 5 years" in out
    assert int(host.check_output("cat /root/step-playbook-check.mails")) == 9
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
    assert csv_text.splitlines()[0] == "section,subject,detail,value,flag,cost"
    assert "external group,ext-x," in csv_text


def test_secrets_are_root_only(host):
    for name in ("config.json", "omero-password"):
        f = host.file(f"/etc/omero-governance/{name}")
        assert (f.user, f.mode) == ("root", 0o600), name
    assert host.file("/etc/omero-governance").mode == 0o700
