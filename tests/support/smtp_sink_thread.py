"""An in-process SMTP sink for tests: accepts every message on 127.0.0.1 and keeps it in ``messages``."""
import email
import socketserver
import threading


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        def send(line):
            self.wfile.write((line + "\r\n").encode())

        send("220 sink ready")
        envelope = {"from": None, "to": []}
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode(errors="replace").rstrip("\r\n")
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                send("250 sink")
            elif verb == "MAIL":
                envelope = {"from": line.split(":", 1)[1].strip(" <>"), "to": []}
                send("250 ok")
            elif verb == "RCPT":
                envelope["to"].append(line.split(":", 1)[1].strip(" <>"))
                send("250 ok")
            elif verb == "DATA":
                send("354 end with .")
                data = []
                while True:
                    part = self.rfile.readline().decode(errors="replace").rstrip("\r\n")
                    if part == ".":
                        break
                    data.append(part[1:] if part.startswith("..") else part)
                msg = email.message_from_string("\n".join(data) + "\n")
                self.server.messages.append({"envelope": envelope, "message": msg})
                send("250 stored")
            elif verb == "QUIT":
                send("221 bye")
                return
            else:
                send("250 ok")


class SmtpSink:
    def __init__(self, port=0):
        self.port = port
        self.server = None

    def __enter__(self):
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), _Handler)
        self.server.daemon_threads = True
        self.server.messages = []
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def messages(self):
        return self.server.messages

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        return False
