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
    uids = {
        "lead": seed.add_user(store, "lead", ["team-a"], owner_of=["team-a"], email="lead@example.org"),
        "memb": seed.add_user(store, "memb", ["team-a"], email="memb@example.org"),
        "ref": seed.add_user(store, "ref", ["team-a"], email="ref@example.org"),
        "owner": seed.add_user(store, "owner", ["team-a", "ext-x"], owner_of=["ext-x"]),
        "ext": seed.add_user(store, "ext", ["ext-x"]),
    }
    team, ext = store.group_id("team-a"), store.group_id("ext-x")
    seed.add_object(store, "Image", uids["ext"], ext, "big.czi", "2027-01-02", 85 * GB)
    project = seed.add_object(store, "Project", uids["memb"], team, "thesis", "2021-06-01")
    dataset = seed.add_object(store, "Dataset", uids["memb"], team, "day1", "2021-06-01")
    seed.link(store, "ProjectDatasetLink", project, dataset)
    image = seed.add_object(store, "Image", uids["memb"], team, "cell.tif", "2021-06-01", 3 * GB)
    seed.link(store, "DatasetImageLink", dataset, image)
    seed.add_object(store, "Image", uids["lead"], team, "old-orphan.tif", "2020-02-02", GB)
    seed.login_sessions(store).extend([(uids["lead"], "2026-12-01"), (uids["memb"], "2025-12-01"),
                                       (uids["owner"], "2027-01-10")])


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
