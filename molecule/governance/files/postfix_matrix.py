#!/usr/bin/python3
"""The local MTA's forwarding against the test relays (governance scenario, side effect; run as root).

Usage: postfix_matrix.py LISTEN_PORT GOOD_PORT GOOD_SPOOL METRICS_FILE CASE=PORT... > result.json

Sends one mail per relay that must be refused (OMERO.server's way: plain SMTP to the local MTA on loopback),
each with the relay pointed at it, waits until postfix has tried and deferred it, and records the queue entry
(its delay_reason), what that relay received and the queue metrics; then points postfix at the good relay,
flushes the queue, sends one more mail, and records what the good relay received and the queue afterwards.
"""
import email
import email.message
import json
import pathlib
import smtplib
import subprocess
import sys
import time


def postfix(*args):
    subprocess.run(args, check=True, capture_output=True, text=True)


def point_at(port):
    postfix("postconf", "-e", f"relayhost = [localhost]:{port}")
    postfix("postfix", "reload")
    time.sleep(2)  # the smtp processes pick up the new main.cf


def send(listen, rcpt):
    msg = email.message.EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "omero-support@example.org", rcpt, f"through the local MTA to {rcpt}"
    msg.set_content("As OMERO.server sends it: plain SMTP to postfix on loopback.\n")
    with smtplib.SMTP("127.0.0.1", listen, timeout=30) as smtp:
        smtp.send_message(msg)


def queue():
    out = subprocess.run(["postqueue", "-j"], check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def wait(predicate, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = predicate()
        if got:
            return got
        time.sleep(1)
    return None


def spool(path):
    path = pathlib.Path(path)
    log = path / ".commands.log"
    mails = [email.message_from_bytes(p.read_bytes()) for p in sorted(path.glob("*.eml"))]
    return {"mails": [{"to": m["To"], "subject": m["Subject"]} for m in mails],
            "commands": log.read_text().splitlines() if log.exists() else []}


def metrics(path):
    """Run the role's metrics unit (oneshot: systemctl waits for it) and read what it wrote."""
    proc = subprocess.run(["systemctl", "start", "omero-mail-queue-metrics.service"], capture_output=True, text=True,
                          check=False)
    path = pathlib.Path(path)
    return {"rc": proc.returncode, "text": path.read_text() if path.exists() else "", "stderr": proc.stderr}


def deferred(rcpt):
    """The recipient's entry once postfix has put it in the deferred queue with its reason (it shows the reason
    already in the active queue, for a moment, under load)."""
    for entry in queue():
        for r in entry["recipients"]:
            if r["address"] == rcpt and r.get("delay_reason") and entry["queue_name"] == "deferred":
                return {"queue_name": entry["queue_name"], "delay_reason": r["delay_reason"]}
    return None


def main(argv):
    listen, good_port, good_spool, metrics_file = int(argv[0]), int(argv[1]), argv[2], argv[3]
    cases = dict(arg.split("=", 1) for arg in argv[4:])
    result = {"cases": {}, "good_before": spool(good_spool)}
    for case, port in cases.items():
        point_at(int(port))
        rcpt = f"{case}@example.org"
        send(listen, rcpt)
        result["cases"][case] = {"queued": wait(lambda r=rcpt: deferred(r), timeout=120),
                                 "relay": spool(f"/var/spool/gov-relay-{case}")}
    result["queue_while_refused"] = queue()
    result["metrics_while_refused"] = metrics(metrics_file)
    point_at(good_port)
    postfix("postqueue", "-f")
    send(listen, "good@example.org")
    result["queue_empty_after_fix"] = bool(wait(lambda: not queue() or None, timeout=90))
    result["good_after"] = spool(good_spool)
    result["metrics_after_fix"] = metrics(metrics_file)
    json.dump(result, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
