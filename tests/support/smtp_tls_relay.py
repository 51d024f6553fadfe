"""A real SMTP relay for the mail tests (aiosmtpd), on loopback, with STARTTLS, implicit TLS or none.

In process: ``with TlsRelay(mode="starttls", cert=..., key=...) as relay: ... relay.messages``; as a program
(the molecule scenarios run it with Debian's python3-aiosmtpd):
``smtp_tls_relay.py PORT SPOOL [--mode starttls|implicit|none] [--cert C --key K]``, each message written to
SPOOL/<nnnnnn>.eml (in delivery order) and every MAIL command to SPOOL/.commands.log
(``MAIL <from> tls=<yes|no>``), so a test can show that nothing was said in clear.

Modes: ``starttls`` offers STARTTLS and refuses MAIL before it (530); ``implicit`` speaks TLS from the first
byte; ``none`` offers no STARTTLS and would accept mail in clear (the relay a sender must refuse).
"""
import argparse
import asyncio
import itertools
import os
import pathlib
import socket
import ssl
import sys
import threading
import warnings

from aiosmtpd.controller import Controller

SERVER_NAME = "relay.test"  # not the host's name: postfix refuses a relay that greets with its own name (loop)


class Recorder:
    """aiosmtpd handler: keeps every MAIL command and message, in memory and optionally in a spool folder."""

    def __init__(self, spool=None):
        self.spool = pathlib.Path(spool) if spool else None
        self.commands = []
        self.messages = []
        # A restarted relay goes on numbering after the mails it kept.
        self._count = itertools.count(1 + (len(list(self.spool.glob("*.eml"))) if self.spool else 0))
        self._lock = threading.Lock()

    def _log(self, line):
        if self.spool:
            with open(self.spool / ".commands.log", "a", encoding="utf-8") as fh:
                fh.write(line + "\n")

    @staticmethod
    def _tls(server, session):
        # session.ssl is set by STARTTLS; an implicit-TLS connection is an SSL transport from the start.
        return session.ssl is not None or server.transport.get_extra_info("sslcontext") is not None

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        tls = self._tls(server, session)
        with self._lock:
            self.commands.append({"verb": "MAIL", "from": address, "tls": tls})
            self._log(f"MAIL {address} tls={'yes' if tls else 'no'}")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        item = {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "data": envelope.content,
                "tls": self._tls(server, session)}
        with self._lock:
            self.messages.append(item)
            n = next(self._count)
            if self.spool:
                tmp = self.spool / f".{n:06d}.eml.tmp"
                tmp.write_bytes(envelope.original_content or envelope.content)
                os.replace(tmp, self.spool / f"{n:06d}.eml")
        return "250 Message accepted"


def server_context(cert, key):
    # PROTOCOL_TLS (not _SERVER): aiosmtpd's Controller checks that an implicit-TLS server is up by connecting
    # with the same context as a client.
    with warnings.catch_warnings():  # PROTOCOL_TLS is deprecated for being both; that is the point here
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TlsRelay:
    def __init__(self, mode="starttls", cert=None, key=None, port=None, spool=None, host="127.0.0.1"):
        if mode not in ("starttls", "implicit", "none"):
            raise ValueError(mode)
        self.mode, self.cert, self.key, self.host = mode, cert, key, host
        self.port = port or free_port()
        self.handler = Recorder(spool)
        self.controller = None

    def __enter__(self):
        kwargs = {"server_hostname": SERVER_NAME, "ready_timeout": 10}
        if self.mode == "starttls":
            kwargs.update(tls_context=server_context(self.cert, self.key), require_starttls=True)
        elif self.mode == "implicit":
            kwargs.update(ssl_context=server_context(self.cert, self.key))
        self.controller = Controller(self.handler, hostname=self.host, port=self.port, **kwargs)
        self.controller.start()
        return self

    @property
    def messages(self):
        return self.handler.messages

    @property
    def commands(self):
        return self.handler.commands

    def __exit__(self, *exc):
        self.controller.stop()
        return False


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("spool")
    parser.add_argument("--mode", default="starttls", choices=["starttls", "implicit", "none"])
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    os.makedirs(args.spool, exist_ok=True)
    with TlsRelay(args.mode, args.cert, args.key, args.port, args.spool, args.host):
        print(f"relay ({args.mode}) on {args.host}:{args.port}", flush=True)
        asyncio.run(asyncio.Event().wait())  # until killed
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
