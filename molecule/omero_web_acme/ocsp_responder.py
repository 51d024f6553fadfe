#!/usr/bin/python3
"""Test stand-in for an ACME CA's OCSP responder (pebble names its URL in the certificates it issues but
runs none). For each request it asks pebble's management API for the certificate with that serial and
its status, and answers with an OCSP response signed by pebble's intermediate (the issuer itself).

Usage: ocsp_responder.py LISTEN_PORT MANAGEMENT_URL API_CA_FILE   (listens on 127.0.0.1 only)
"""
import base64
import datetime
import json
import ssl
import sys
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

PORT, MANAGEMENT, API_CA = int(sys.argv[1]), sys.argv[2].rstrip("/"), sys.argv[3]
CONTEXT = ssl.create_default_context(cafile=API_CA)


def management(path):
    # nginx waits 60 s for a responder (and retries only 5 minutes after a failure): stay within that.
    with urllib.request.urlopen(f"{MANAGEMENT}{path}", context=CONTEXT, timeout=30) as response:
        return response.read()


def respond(der_request):
    request = ocsp.load_der_ocsp_request(der_request)
    try:
        status = json.loads(management(f"/cert-status-by-serial/{request.serial_number:x}"))
    except OSError:  # pebble does not know the serial (404) or is down
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
    # pebble makes a new intermediate at every start: read the current one for every answer.
    issuer = x509.load_pem_x509_certificate(management("/intermediates/0"))
    key = serialization.load_pem_private_key(management("/intermediate-keys/0"), password=None)
    cert = x509.load_pem_x509_certificate(status["Certificate"].encode())
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    revoked = status.get("Status") == "Revoked"
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=cert,
        issuer=issuer,
        algorithm=request.hash_algorithm,
        cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
        this_update=now - datetime.timedelta(minutes=1),
        next_update=now + datetime.timedelta(hours=1),
        revocation_time=now if revoked else None,
        revocation_reason=None,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, issuer)
    return builder.sign(key, hashes.SHA256())


class Handler(BaseHTTPRequestHandler):
    def answer(self, der_request):
        body = respond(der_request).public_bytes(serialization.Encoding.DER)
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.answer(self.rfile.read(int(self.headers["Content-Length"])))

    def do_GET(self):  # RFC 6960 GET: base64 request in the path
        self.answer(base64.b64decode(urllib.parse.unquote(self.path[1:])))


if __name__ == "__main__":
    # One thread a request: each nginx worker fetches its own response, none waits behind another.
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
