#!/usr/bin/env python3
"""The stand-in OMERO server of the governance scenario, seeded, on 127.0.0.1:PORT (tests only).

Usage: gov-stand-in.py PORT PASSWORD_FILE (the modules of tests/support are next to this file).
"""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import omero_test_server_governance as seed
from omero_test_server import OmeroTestServer

GB = 1000 ** 3


def populate(store):
    uids = seed.sample_world(store, orphan_name="old-orphan.tif", orphan_size=GB)
    # The external member's own logins in January (days used, billed from 2027-01-10), an administrator's sudo
    # session as them and the group owner's login (neither counts).
    seed.login_sessions(store).extend([(uids["ext"], "2027-01-12"), (uids["ext"], "2027-01-15"),
                                       (uids["ext"], "2027-01-16", 0), (uids["owner"], "2027-01-18")])


def main():
    port, password_file = int(sys.argv[1]), sys.argv[2]
    with open(password_file, encoding="utf-8") as fh:
        password = fh.read().strip()
    with OmeroTestServer(root_password=password, port=port) as server:
        populate(server.store)
        signal.signal(signal.SIGTERM, lambda *_: server.communicator.shutdown())
        print(f"serving on 127.0.0.1:{server.port}", flush=True)
        server.communicator.waitForShutdown()


if __name__ == "__main__":
    main()
