#!/usr/bin/python3
"""Test stand-in: answers every GET with 200 and a tiny login page over HTTPS on 127.0.0.1:PORT (tests only)."""
import http.server
import ssl
import sys

PORT, CERT, KEY = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<html><body><form>OMERO.web login (stand-in)</form></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Page)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(CERT, KEY)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
