#!/usr/bin/env python3
"""Log in to OMERO.server as USER with the password read from stdin; print the server version.

Usage: omero-check-login.py HOST PORT USER < password

Exit status 0 when the login works, 1 otherwise (the error on stderr). Used after start to prove the
server answers and the root password is the one in the inventory.
"""
import sys

import omero.clients  # defines omero.client and registers the model's object factories


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__)
    host, port, user = argv[1], int(argv[2]), argv[3]
    password = sys.stdin.readline().rstrip("\n")
    client = omero.client(host=host, port=port)
    try:
        session = client.createSession(user, password)
        print(session.getConfigService().getVersion())
        return 0
    except Exception as exc:  # noqa: BLE001  (report any Ice or OMERO error as a failed login)
        print(f"login as {user} failed: {exc}", file=sys.stderr)
        return 1
    finally:
        client.closeSession()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
