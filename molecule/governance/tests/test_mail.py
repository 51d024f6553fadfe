"""Every mail path of the OMERO.server host verifies the relay (issue 19), against real relays (aiosmtpd) on loopback.

The governance runner and postfix (role mail_relay, OMERO.server's path) each meet (a) the site's CA for the
right name: delivered over TLS; (b) an unknown CA, (c) the site's CA for a wrong name, (d) no STARTTLS: nothing
delivered, nothing said past EHLO, the reason given, the mail kept and delivered once the relay is fixed.
side_effect.yml runs the steps and keeps their results; these tests read them.
"""
import json
import re

import pytest

SPOOL = "/var/spool/gov-smtp-sink"
CASES = ("unknown_ca", "wrong_name", "no_starttls")
# What Python's ssl/smtplib says (the runner), and what postfix says (its queue's delay_reason).
RUNNER_REASON = {"unknown_ca": "certificate verify failed: unable to get local issuer certificate",
                 "wrong_name": "Hostname mismatch, certificate is not valid for 'localhost'",
                 "no_starttls": "STARTTLS extension not supported by server"}
POSTFIX_REASON = {"unknown_ca": "Server certificate not verified",  # postfix gives one reason for both
                  "wrong_name": "Server certificate not verified",
                  "no_starttls": "TLS is required, but was not offered"}


def step(host, name):
    rc = int(host.check_output(f"cat /root/step-{name}.rc"))
    summary = json.loads(host.check_output(f"tail -n 1 /root/step-{name}.json"))
    relays = {case: (int(host.check_output(f"cat /root/step-{name}.{case}.mails")),
                     host.run(f"cat /root/step-{name}.{case}.commands").stdout) for case in CASES}
    return rc, summary, int(host.check_output(f"cat /root/step-{name}.mails")), relays


@pytest.fixture(scope="module")
def matrix(host):
    return json.loads(host.check_output("cat /root/postfix-matrix.json"))


def test_runner_configuration_asks_for_verified_tls(host):
    cfg = json.loads("".join(line for line in host.file("/etc/omero-governance/config.json").content_string.splitlines(True)
                             if not line.startswith("#")))
    assert cfg["smtp"]["tls"] == "starttls" and cfg["smtp"]["ca_file"] == "/etc/test-relay/site-ca.pem"
    assert cfg["smtp"]["host"] == "localhost" and cfg["smtp"]["allow_plaintext"] is False


def test_runner_delivers_over_verified_tls(host):
    log = host.check_output(f"cat {SPOOL}/.commands.log").splitlines()
    assert log and all(line.endswith("tls=yes") for line in log), log


@pytest.mark.parametrize("case", CASES)
def test_runner_refuses_a_relay_it_cannot_verify(host, case):
    rc, summary, good, relays = step(host, f"tls-{case}")
    assert rc == 1 and summary["sent"] == [] and summary["failed"], summary
    assert all(RUNNER_REASON[case] in f["error"] for f in summary["failed"]), summary["failed"]
    err = host.check_output(f"cat /root/step-tls-{case}.err")
    assert "NOT SENT (retried next run)" in err and RUNNER_REASON[case] in err
    assert relays[case] == (0, "")  # nothing delivered, no MAIL command: nothing said in clear
    assert good == int(host.check_output("cat /root/step-playbook-check.mails"))  # nothing went elsewhere either


def test_runner_delivers_every_kept_notice_once_the_relay_is_fixed(host):
    _rc, refused, _good, _relays = step(host, "tls-unknown_ca")
    rc, summary, good, relays = step(host, "tls-fixed")
    assert rc == 0 and summary["failed"] == []
    missed = sorted(f["subject"] for f in refused["failed"])
    assert sorted(summary["sent"]) == missed and missed
    before = int(host.check_output("cat /root/step-playbook-check.mails"))
    assert good == before + len(missed)
    assert all(mails == 0 and commands == "" for mails, commands in relays.values())


@pytest.mark.parametrize("case", CASES)
def test_postfix_keeps_the_mail_it_cannot_forward_and_says_why(matrix, case):
    got = matrix["cases"][case]
    assert got["queued"] is not None, f"{case}: the mail never reached the deferred queue with a delay reason"
    assert got["queued"]["queue_name"] == "deferred"
    assert POSTFIX_REASON[case] in got["queued"]["delay_reason"], got["queued"]
    assert got["relay"] == {"mails": [], "commands": []}  # not a word past EHLO, in clear or not


def test_postfix_queue_metrics_count_the_kept_mails(matrix):
    assert matrix["metrics_while_refused"]["rc"] == 0, matrix["metrics_while_refused"]
    text = matrix["metrics_while_refused"]["text"]
    assert re.search(r'^omero_mail_queue_messages\{queue="deferred"\} 3$', text, re.MULTILINE), text
    assert re.search(r"^omero_mail_queue_up 1$", text, re.MULTILINE)
    assert int(re.search(r"^omero_mail_queue_oldest_message_age_seconds (\d+)$", text, re.MULTILINE).group(1)) > 0
    after = matrix["metrics_after_fix"]["text"]
    assert re.search(r'^omero_mail_queue_messages\{queue="deferred"\} 0$', after, re.MULTILINE), after
    assert re.search(r"^omero_mail_queue_oldest_message_age_seconds 0$", after, re.MULTILINE)


def test_postfix_delivers_the_kept_mails_and_new_ones_once_the_relay_is_fixed(matrix):
    assert matrix["queue_empty_after_fix"] is True
    new = matrix["good_after"]["mails"][len(matrix["good_before"]["mails"]):]
    assert sorted(m["to"] for m in new) == sorted([f"{c}@example.org" for c in CASES] + ["good@example.org"])
    log = matrix["good_after"]["commands"]
    assert log and all(line.endswith("tls=yes") for line in log), log


def test_postfix_listens_on_loopback_only_and_relays_for_loopback_only(host):
    port = host.ansible.get_variables()["mail_relay_listen_port"]
    listeners = [line.split()[3] for line in host.check_output("ss -Hltn").splitlines() if line.split()[3].endswith(f":{port}")]
    assert listeners and set(listeners) <= {f"127.0.0.1:{port}", f"[::1]:{port}"}, listeners
    conf = host.check_output("postconf -h inet_interfaces mynetworks smtpd_relay_restrictions smtp_tls_security_level "
                             "smtp_tls_secure_cert_match smtp_tls_CAfile").splitlines()
    assert conf == ["loopback-only", "127.0.0.0/8 [::1]/128", "permit_mynetworks, reject", "secure", "nexthop",
                    "/etc/test-relay/site-ca.pem"]
