"""The governance runner (roles/governance/files/omero-governance) against the stand-in server and an SMTP sink.

The runner runs as a subprocess with this interpreter (omero-py), the stand-in answers DiskUsage2 and
the projections (tests/support/omero_test_server_governance.py), the sink keeps the mails.
"""
import grp
import json
import os
import pathlib
import socket
import stat
import subprocess
import sys

import pytest

pytest.importorskip("omero", reason="omero-py (with zeroc-ice 3.6) is not installed: the runner needs it")

import omero_test_server_governance as seed
from omero_test_server import OmeroTestServer
from smtp_sink_thread import SmtpSink
from smtp_tls_relay import TlsRelay

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUNNER = ROOT / "roles" / "governance" / "files" / "omero-governance"
SUPPORT = "omero-support@example.org"
GB = 1000 ** 3
TODAY = "2027-01-22"  # a review month; ext-x expires in 5 days

INVENTORY = {
    "people": {
        "lead": {"name": "Lea Leader", "email": "lead@example.org", "site": "iBV", "status": "active"},
        "memb": {"name": "Max Member", "email": "memb@example.org", "site": "iBV", "status": "active"},
        "ref": {"name": "Rita Referent", "email": "ref@example.org", "site": "iBV", "status": "active"},
        "owner": {"name": "Ona Owner", "email": "owner@example.org", "site": "iBV", "status": "active"},
        "ext": {"name": "Ext Ern", "email": "ext@labx.example.org", "site": "Lab X", "status": "active"},
    },
    "teams": {"team-a": {"leader": "lead", "site": "iBV"}},
    "external_groups": [{"name": "ext-x", "site": "Lab X", "created": "2026-12-28", "expires": "2027-01-27",
                         "quota_gb": 100, "owners": ["owner"], "members": ["ext"]}],
    "referents": ["ref"],
    "retention_extensions": [],
    "transfers": [],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def world(tmp_path):
    with OmeroTestServer() as server, SmtpSink() as sink:
        store = server.store
        uids = seed.sample_world(store, ext_password="Ext-Passw0rd!")  # lead's orphan image: no name, no size
        password = tmp_path / "omero-password"
        password.write_text(server.root_password + "\n")
        (tmp_path / "reports").mkdir()
        cfg = {"omero": {"host": "127.0.0.1", "port": server.port, "protocol": "tcp", "user": "root",
                         "password_file": str(password)},
               "smtp": {"host": "127.0.0.1", "port": sink.port}, "mail_from": SUPPORT, "support": SUPPORT,
               "state_file": str(tmp_path / "state.json"), "report_dir": str(tmp_path / "reports"),
               "report_group": grp.getgrgid(os.getgid()).gr_name, "lock_file": str(tmp_path / "lock"),
               "expiry_policy": "disable_login", "inventory": INVENTORY}
        (tmp_path / "config.json").write_text(json.dumps(cfg))
        yield {"server": server, "sink": sink, "cfg": cfg, "dir": tmp_path, "uids": uids}


def run(world, *args, cfg=None):
    path = world["dir"] / "config.json"
    if cfg is not None:
        path = world["dir"] / "config-alt.json"
        path.write_text(json.dumps(cfg))
    env = dict(os.environ, OMERO_GOVERNANCE_LIB=str(ROOT / "module_utils"))
    proc = subprocess.run([sys.executable, str(RUNNER), "--config", str(path), *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    summary = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else None
    return proc.returncode, summary, proc.stderr


def mails(sink):
    return sorted(((m["message"]["Subject"], tuple(sorted(m["envelope"]["to"])), m["message"].get_payload())
                   for m in sink.messages), key=lambda t: t[0])


def test_run_mails_what_is_due_once_and_check_sends_nothing(world):
    sink, store = world["sink"], world["server"].store
    rc, summary, err = run(world, "run", "--check", "--today", TODAY)
    assert rc == 0, err
    assert len(summary["due"]) == 6 and sink.messages == [], [d["subject"] for d in summary["due"]]
    assert not (world["dir"] / "state.json").exists() and list((world["dir"] / "reports").iterdir()) == []
    assert store.mutating_calls() == store.counts["submit.DiskUsage2"] == 1  # a read-only request

    store.counts.clear()
    rc, summary, err = run(world, "run", "--today", TODAY)
    assert rc == 0, err
    got = mails(sink)
    subjects = [s for s, _to, _b in got]
    assert subjects == [
        "[OMERO] 1 item(s) of lead in team-a older than 5 years",
        "[OMERO] 1 item(s) of memb in team-a older than 5 years",
        "[OMERO] Account review 2027-01: Lab X (1 active, 1 flagged)",
        "[OMERO] Account review 2027-01: iBV (4 active, 2 flagged)",
        "[OMERO] Group ext-x expires on 2027-01-27 (5 day(s) left)",
        "[OMERO] Group ext-x: 85 % of its 100 GB quota used",
    ], subjects
    by_subject = {s: (to, body) for s, to, body in got}
    retention_to, retention_body = by_subject[subjects[1]]
    assert retention_to == ("lead@example.org", "memb@example.org")  # the owner, the leader in copy
    assert "Project:" in retention_body and "thesis" in retention_body
    assert by_subject[subjects[3]][0] == ("ref@example.org",)
    review = by_subject[subjects[3]][1]
    assert "memb" in review and "<- no login for 12 months" in review and "<- no login ever" in review
    assert by_subject[subjects[5]][0] == ("omero-support@example.org", "owner@example.org")
    assert all(m["message"]["From"] == SUPPORT for m in sink.messages)
    # One session; the reads do not depend on the catalogue's size.
    assert store.counts["Router.createSession"] == 1
    assert summary["calls"] < 20 and sum(store.counts.values()) < 20, dict(store.counts)
    assert store.counts["submit.DiskUsage2"] == 1 and store.counts["IQuery.projection"] == 6  # logins + 5 kinds of container

    # Reports: HTML (with the growth plot) and CSV, 0640 to the administrators' group.
    for path in summary["reports"]:
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_gid == os.getgid(), path
    html = pathlib.Path(summary["reports"][0]).read_text()
    assert "<svg" in html and "ext-x" in html
    assert "retention,memb / team-a,Project:" in pathlib.Path(summary["reports"][1]).read_text()
    assert stat.S_IMODE(os.stat(world["cfg"]["state_file"]).st_mode) == 0o600

    # Same day again: nothing new.
    rc, summary, _err = run(world, "run", "--today", TODAY)
    assert rc == 0 and summary["due"] == [] and len(sink.messages) == 6


def test_a_refused_notice_fails_the_run_and_is_sent_by_the_next(world):
    sink = world["sink"]
    closed = dict(world["cfg"], smtp={"host": "127.0.0.1", "port": free_port()})
    rc, summary, err = run(world, "run", "--today", TODAY, cfg=closed)
    assert rc == 1 and len(summary["failed"]) == 6 and summary["sent"] == []
    assert "NOT SENT" in err
    rc, summary, err = run(world, "run", "--today", TODAY)
    assert rc == 0, err
    assert len(summary["sent"]) == 6 and len(sink.messages) == 6


def test_expired_group_disables_external_logins_only_once(world):
    store, uids = world["server"].store, world["uids"]
    rc, summary, err = run(world, "run", "--check", "--today", "2027-01-28")
    assert rc == 0 and summary["deactivated"] == ["ext"]
    assert [g for g, _o in store.links[uids["ext"]]] == [store.group_id("ext-x"), 1]  # check mode: unchanged
    rc, summary, err = run(world, "run", "--today", "2027-01-28")
    assert rc == 0, err
    assert summary["deactivated"] == ["ext"]
    assert [g for g, _o in store.links[uids["ext"]]] == [store.group_id("ext-x")]  # out of "user": no login
    assert 1 in [g for g, _o in store.links[uids["owner"]]]  # the owner keeps theirs
    assert any(m["message"]["Subject"] == "[OMERO] Group ext-x expired on 2027-01-27" for m in world["sink"].messages)
    rc, summary, _err = run(world, "run", "--today", "2027-01-28")
    assert summary["deactivated"] == [] and summary["due"] == []



def test_stand_in_refuses_unknown_queries_and_targets(world):
    import omero
    import omero.cmd
    from omero_test_server import _unknown

    store = world["server"].store
    with pytest.raises(omero.InternalException):
        seed.projection(store, "select i.id from Image i", None, _unknown)
    with pytest.raises(omero.QueryException):
        seed.projection(store, seed.OLD_IMAGES, omero.sys.ParametersI(), _unknown)  # :cutoff not bound
    bad = omero.cmd.DiskUsage2(targetClasses=["Session"])
    assert isinstance(seed.disk_usage(store, bad), omero.cmd.ERR)
    ok = seed.disk_usage(store, omero.cmd.DiskUsage2(targetObjects={"ExperimenterGroup": [store.group_id("team-a")]}))
    assert sum(ok.totalBytesUsed.values()) == 3 * GB  # the orphan image without size is not counted


# --------------------------------------------------------------------------------------------------
# Verified TLS to the relay (issue 19): a real STARTTLS relay (aiosmtpd, tests/support/smtp_tls_relay.py)
# --------------------------------------------------------------------------------------------------

def tls_cfg(world, relay, pki, tls="starttls"):
    return dict(world["cfg"], smtp={"host": "localhost", "port": relay.port, "tls": tls, "ca_file": str(pki["site_ca"])})


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_notices_go_over_verified_tls(world, pki, mode):
    with TlsRelay(mode, *pki["good"]) as relay:
        rc, summary, err = run(world, "run", "--today", TODAY, cfg=tls_cfg(world, relay, pki, mode))
    assert rc == 0, err
    assert len(summary["sent"]) == 6 and len(relay.messages) == 6
    assert all(m["tls"] for m in relay.messages) and all(c["tls"] for c in relay.commands)
    assert world["sink"].messages == []


@pytest.mark.parametrize("case, reason", [
    ("unknown_ca", "certificate verify failed: unable to get local issuer certificate"),
    ("wrong_name", "Hostname mismatch, certificate is not valid for 'localhost'"),
    ("no_starttls", "STARTTLS extension not supported by server"),
])
def test_a_relay_that_cannot_be_verified_gets_nothing_and_the_next_run_delivers(world, pki, case, reason):
    mode, cert = ("none", "good") if case == "no_starttls" else ("starttls", case)
    with TlsRelay(mode, *pki[cert]) as bad:
        rc, summary, err = run(world, "run", "--today", TODAY, cfg=tls_cfg(world, bad, pki))
    assert rc == 1 and summary["sent"] == [] and len(summary["failed"]) == 6
    assert all(reason in f["error"] for f in summary["failed"]), summary["failed"]
    assert "NOT SENT (retried next run): " in err and reason in err
    assert bad.messages == [] and bad.commands == []  # nothing said past EHLO, in clear or not
    # The relay is fixed (the site's certificate for the right name): the next run sends every notice.
    with TlsRelay("starttls", *pki["good"]) as good:
        rc, summary, err = run(world, "run", "--today", TODAY, cfg=tls_cfg(world, good, pki))
    assert rc == 0, err
    assert len(summary["sent"]) == 6 and len(good.messages) == 6 and all(m["tls"] for m in good.messages)


def test_no_login_in_clear_and_no_plain_smtp_off_this_host(world):
    # Refused before connecting: 192.0.2.1 (TEST-NET-1) is never contacted; the sink on loopback hears nothing.
    remote = dict(world["cfg"], smtp={"host": "192.0.2.1", "port": 25, "tls": "none"})
    rc, summary, _err = run(world, "run", "--today", TODAY, cfg=remote)
    assert rc == 1 and "refusing plain SMTP to 192.0.2.1:25" in summary["failed"][0]["error"]
    login = dict(world["cfg"], smtp={"host": "127.0.0.1", "port": world["sink"].port, "tls": "none", "user": "gov",
                                     "password_file": str(world["dir"] / "omero-password")})
    rc, summary, _err = run(world, "run", "--today", TODAY, cfg=login)
    assert rc == 1 and "over an unencrypted connection" in summary["failed"][0]["error"]
    assert world["sink"].messages == []


def test_an_external_group_past_its_month_is_billed_to_support(world):
    """ext-x created on 2026-12-10: from 2027-01-10 it is billed. The run of 2027-01-22 keeps the day's usage
    sample (85 GB); the run of 2027-02-03 bills January: its member's own logins (a sudo session and the
    owner's login do not count) and the GB-days, in the CSV, the HTML (with the plot) and a mail to support."""
    store, sink = world["server"].store, world["sink"]
    cfg = dict(world["cfg"], inventory=dict(INVENTORY, external_groups=[
        dict(INVENTORY["external_groups"][0], created="2026-12-10", billed=True)]))
    uids = world["uids"]
    seed.login_sessions(store).extend([(uids["ext"], "2027-01-12"), (uids["ext"], "2027-01-15"),
                                       (uids["ext"], "2027-01-16", 0), (uids["owner"], "2027-01-18")])
    rc, _summary, err = run(world, "run", "--today", "2027-01-22", cfg=cfg)
    assert rc == 0, err
    assert not any("Billing" in m["message"]["Subject"] for m in sink.messages)  # December: first month, not billed
    store.counts.clear()
    rc, summary, err = run(world, "run", "--today", "2027-02-03", cfg=cfg)
    assert rc == 0, err
    subject = "[OMERO] Billing 2027-01: external group ext-x (2 day(s) used, 850.000 GB-days)"
    assert subject in summary["sent"]
    (mail,) = [m for m in sink.messages if " ".join(m["message"]["Subject"].split()) == subject]  # folded header
    assert mail["envelope"]["to"] == [SUPPORT]
    assert "2027-01-12, 2027-01-15" in mail["message"].get_payload()
    assert store.counts["IQuery.projection"] == 7  # the billed member's logins: one more projection
    csv_text = pathlib.Path(summary["reports"][1]).read_text().splitlines()
    assert csv_text[0] == "section,subject,detail,value,flag,cost,billing_period,days_used,gb_days"
    (row,) = [line for line in csv_text if line.startswith("billing,")]
    assert row.startswith("billing,ext-x,2027-01: billed 2027-01-10 to 2027-01-31")
    assert row.endswith(",2027-01,2,850.000")
    html = pathlib.Path(summary["reports"][0]).read_text()
    assert "Billing of external groups past their first month, 2027-01 (1)" in html
    assert 'aria-label="GB per day of ext-x"' in html
    rc, summary, err = run(world, "run", "--today", "2027-02-04", cfg=cfg)
    assert rc == 0 and not any("Billing" in s for s in summary["sent"]), summary  # once per period
