#!/usr/bin/env python3
"""Benchmark a large departure: a member owning 100,000 imported images leaves; their data goes to the leader.

Against the in-process Ice stand-in, seeded the way OMERO creates data (tests/support/omero_import.py:
``--files`` imports of a ``--series``-series fake file into one dataset, each with its fileset, entries,
jobs, pixels, channels, rendering settings and template directories in group ``user``). The stand-in's
graph requests run ``--rate`` objects per second (a real Chown2 of this size runs for minutes), so the
engine's wait - progress, keep-alive, never closing an unfinished handle - is what is measured.

Usage: benchmarks/departure.py [--files 1000] [--series 100] [--rate 5000]
Prints the calls per operation, the progress lines, the time; the last line is one JSON object.
Exit status 0 when the departure completed (every image with the leader, no handle cancelled).
"""
import argparse
import json
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "module_utils"), str(ROOT / "tests" / "support")]

import omero_accounts_expand


def documents(departed):
    people = [{"omename": n, "first_name": n.title(), "last_name": "Bench", "email": f"{n}@example.org", "site": "iBV",
               "status": "departed" if departed and n == "memb" else "active", "password_var": f"pw_{n}"}
              for n in ("lead", "memb")]
    return {"bench/accounts/people.yml": {"people": people},
            "bench/accounts/teams/team.yml": {"team": {"name": "team", "site": "iBV", "leader": "lead",
                                                       "members": ["memb"]}}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--series", type=int, default=100)
    parser.add_argument("--rate", type=float, default=5000, help="objects per second of a graph request")
    args = parser.parse_args()
    try:
        import omero_import
        from module_runner import run_module
        from omero_test_server import OmeroTestServer
    except ImportError as exc:
        print(f"benchmark needs omero-py and zeroc-ice: {exc}", file=sys.stderr)
        return 2
    passwords = {"pw_lead": "Lead-Bench-Passw0rd!", "pw_memb": "Memb-Bench-Passw0rd!"}
    with OmeroTestServer() as server, tempfile.TemporaryDirectory() as state_dir:
        conn = dict(server.connection_args(), passwords=passwords, state_dir=state_dir)
        result, _raw = run_module("omero_accounts", dict(conn, desired=omero_accounts_expand.expand(documents(False))))
        store = server.store
        memb, gid = store.user_id("memb"), store.group_id("team")
        start = time.perf_counter()
        dataset = store.add_object("Dataset", memb, gid, name="all")
        images = []
        for i in range(args.files):
            images += omero_import.import_file(store, memb, gid, f"f{i}&series={args.series}.fake", dataset=dataset)["images"]
        seeded = time.perf_counter() - start
        print(f"seeded {len(images)} images in {args.files} filesets ({len(store.data)} objects) in {seeded:.1f} s")
        store.graph_rate = args.rate
        server.reset_counts()
        start = time.perf_counter()
        result, _raw = run_module("omero_accounts", dict(conn, desired=omero_accounts_expand.expand(documents(True))))
        seconds = time.perf_counter() - start
        if result.get("failed"):
            print(f"departure failed: {result.get('msg')}", file=sys.stderr)
            return 1
        lead = store.user_id("lead")
        with_leader = sum(1 for i in images if store.data[i]["owner"] == lead)
        counts = dict(sorted(store.counts.items()))
    for line in result["actions"]:
        print(f"action: {line[:160]}")
    for line in result["progress"]:
        print(f"progress: {line}")
    for op, n in counts.items():
        print(f"    {op:40s} {n:6d}")
    summary = {"images": len(images), "filesets": args.files, "objects": len(store.data), "rate": args.rate,
               "seconds_departure": round(seconds, 1), "images_with_leader": with_leader,
               "calls_total": sum(counts.values()), "admin_calls": sum(n for k, n in counts.items() if k.startswith("IAdmin.")),
               "graph_requests": sum(n for k, n in counts.items() if k.startswith("submit.")),
               "polls": counts.get("Handle.getResponse", 0), "keepalives": counts.get("ServiceFactory.keepAlive", 0),
               "cancelled": counts.get("Handle.cancelled", 0), "progress_lines": len(result["progress"])}
    print(json.dumps(summary, sort_keys=True))
    return 0 if with_leader == len(images) and not summary["cancelled"] else 1


if __name__ == "__main__":
    sys.exit(main())
