"""Our own mail senders verify the relay: their TLS contexts, the backup alert against a real STARTTLS relay, and
the preflight rule (plugins/filter/mail_relay.py).

The relay is aiosmtpd on 127.0.0.1 (tests/support/smtp_tls_relay.py) with certificates made in a temporary
folder (tests/support/test_pki.py): (a) the site's CA for the right name, (b) an unknown CA for the right name,
(c) the site's CA for a wrong name, (d) no STARTTLS offered. The governance runner's matrix is in
test_governance_runner.py (it needs the OMERO stand-in).
"""
import importlib.machinery
import importlib.util
import json
import os
import pathlib
import ssl
import subprocess
import sys

import pytest
from smtp_tls_relay import TlsRelay

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOVERNANCE = ROOT / "roles" / "governance" / "files" / "omero-governance"
BACKUP = ROOT / "roles" / "backup" / "files" / "omero-backup"
UNIT = "omero-backup.service"


def load_script(path, name):
    """Import an installed script (no .py suffix) as a module, without running its main."""
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


_rule = load_script(ROOT / "plugins" / "filter" / "mail_relay.py", "mail_relay_filter")
is_loopback, mail_relay_problems = _rule.is_loopback, _rule.mail_relay_problems


@pytest.fixture(scope="module")
def senders():
    os.environ.setdefault("OMERO_GOVERNANCE_LIB", str(ROOT / "module_utils"))
    governance = load_script(GOVERNANCE, "omero_governance_runner")
    backup = load_script(BACKUP, "omero_backup_tool")
    return {"governance": governance.tls_context, "backup": backup.relay_tls_context}


@pytest.mark.parametrize("sender", ["governance", "backup"])
def test_each_sender_builds_a_verifying_context(senders, sender, pki):
    for ca_file in (None, str(pki["site_ca"])):
        ctx = senders[sender](ca_file)
        assert ctx.verify_mode == ssl.CERT_REQUIRED
        assert ctx.check_hostname is True
        assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    # The CA bundle, when given, is what the chain must end in.
    subjects = [dict(x[0] for x in c["subject"]) for c in senders[sender](str(pki["site_ca"])).get_ca_certs()]
    assert {"commonName": "Test site_ca"} in subjects


# --------------------------------------------------------------------------------------------------
# The backup alert (omero-backup alert UNIT) against the relay
# --------------------------------------------------------------------------------------------------

def backup_alert(tmp_path, relay_port, **smtp):
    cfg = {"host": "bak.example.org", "state_dir": str(tmp_path / "state"), "metrics_file": str(tmp_path / "m.prom"),
           "alert": {"from": "omero-backup@example.org", "recipients": ["admins@example.org"],
                     "smtp_host": "localhost", "smtp_port": relay_port, "smtp_tls": "starttls", "smtp_user": "",
                     "smtp_password_file": str(tmp_path / "smtp-password"), **smtp}}
    config = tmp_path / "config.json"
    config.write_text("# Ansible managed\n" + json.dumps(cfg))
    return subprocess.run([sys.executable, str(BACKUP), "alert", UNIT], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, OMERO_BACKUP_CONFIG=str(config)), check=False)


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_backup_alert_delivered_over_verified_tls(tmp_path, pki, mode):
    with TlsRelay(mode, *pki["good"]) as relay:
        proc = backup_alert(tmp_path, relay.port, smtp_tls=mode, smtp_ca_file=str(pki["site_ca"]))
    assert proc.returncode == 0, proc.stderr
    assert len(relay.messages) == 1 and relay.messages[0]["tls"] is True
    assert relay.messages[0]["to"] == ["admins@example.org"]
    assert f"[omero-backup] {UNIT} FAILED on bak.example.org" in relay.messages[0]["data"].decode()


BAD_RELAYS = {
    "unknown_ca": ("starttls", "unknown_ca", "certificate verify failed: unable to get local issuer certificate"),
    "wrong_name": ("starttls", "wrong_name", "Hostname mismatch, certificate is not valid for 'localhost'"),
    "no_starttls": ("none", "good", "STARTTLS extension not supported by server"),
}


@pytest.mark.parametrize("case", sorted(BAD_RELAYS))
def test_backup_alert_refuses_a_relay_it_cannot_verify_and_keeps_the_alert_in_the_journal(tmp_path, pki, case):
    mode, cert, reason = BAD_RELAYS[case]
    with TlsRelay(mode, *pki[cert]) as relay:
        proc = backup_alert(tmp_path, relay.port, smtp_ca_file=str(pki["site_ca"]))
    assert proc.returncode == 1
    assert relay.messages == [] and relay.commands == []  # not a word past EHLO, in clear or not
    lines = proc.stderr.splitlines()
    assert any(line.startswith(f"<2>omero-backup alert for {UNIT} NOT MAILED") and reason in line for line in lines), proc.stderr
    assert f"<2>Subject: [omero-backup] {UNIT} FAILED on bak.example.org" in lines  # the alert itself, at crit
    assert "not mailed" in lines[-1]


def test_backup_alert_refuses_plain_smtp_off_this_host_and_a_login_in_clear(tmp_path, pki):
    # Refused before any connection: 192.0.2.1 (TEST-NET-1) is never contacted.
    proc = backup_alert(tmp_path, 25, smtp_host="192.0.2.1", smtp_tls="none")
    assert proc.returncode == 1 and "refusing plain SMTP to 192.0.2.1:25" in proc.stderr
    with TlsRelay("none") as relay:
        proc = backup_alert(tmp_path, relay.port, smtp_tls="none", smtp_user="alerts")
    assert proc.returncode == 1 and "refusing to log in" in proc.stderr and relay.commands == []


# --------------------------------------------------------------------------------------------------
# The preflight rule
# --------------------------------------------------------------------------------------------------

GOOD = {"host": "smtp.example.org", "port": 587, "tls": "starttls", "ca_file": "", "user": "", "allow_plaintext": False}


@pytest.mark.parametrize("change, expected", [
    ({}, []),
    ({"tls": "implicit", "port": 465}, []),
    ({"host": "127.0.0.1", "port": 25, "tls": "none"}, []),  # the local MTA
    ({"host": "localhost", "port": 25, "tls": "none"}, []),
    ({"tls": "none", "allow_plaintext": True}, []),  # explicit opt-in
    ({"tls": "none"}, ["x_tls is none but x_host 'smtp.example.org' is not this host"]),
    ({"tls": "none", "user": "u", "allow_plaintext": True}, ["a login over an unencrypted connection is always refused"]),
    ({"host": "127.0.0.1", "tls": "none", "user": "u"}, ["a login over an unencrypted connection is always refused"]),
    ({"tls": "ssl"}, ["x_tls must be one of starttls, implicit, none"]),
    ({"port": 0}, ["x_port must be a TCP port"]),
    ({"host": ""}, ["x_host must name the relay"]),
    ({"ca_file": "relay-ca.pem"}, ["x_ca_file must be an absolute path"]),
])
def test_preflight_rule(change, expected):
    problems = mail_relay_problems(dict(GOOD, **change), "x")
    assert len(problems) == len(expected), problems
    for problem, text in zip(problems, expected):
        assert text in problem


def test_preflight_rule_implicit_ports_and_loopback_names():
    assert mail_relay_problems(dict(GOOD, tls="implicit", port=587), "m", implicit_ports=[465]) == [
        "m_tls is implicit but m_port is 587: this sender starts TLS at connect only on port(s) 465."]
    assert mail_relay_problems(dict(GOOD, tls="implicit", port=465), "m", implicit_ports=[465]) == []
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("10.0.0.1", "smtp.example.org", "localhost.example.org", ""))
