#!/usr/bin/env python3
"""Benchmark the omero_accounts module against the in-process Ice test server.

Builds a synthetic accounts inventory (teams -> team and collaboration groups, referents, people),
expands it with the same model the validator uses, then runs the omero_accounts module twice through
omero-py's real client: a first run that creates everything and a no-change run. Counts the
admin-service (IAdmin) calls the server received in each run, and the sessions opened.

Usage: benchmarks/accounts.py [--users 500] [--groups 150] [--referents 2]
The last line of output is one JSON object (calls_first_run, calls_no_change, seconds_first_run,
seconds_no_change, ...). A no-change run costs 2 bulk reads, the session's own privileges
(getCurrentAdminPrivileges) and 1 getAdminPrivileges per referent.
"""
import argparse
import json
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "module_utils"), str(ROOT / "tests" / "support")]

from omero_accounts_expand import expand


def synthetic_documents(users, groups, referents):
    """``groups`` includes the referents and deactivated-users groups; the rest are team + collab pairs."""
    teams = max(1, (groups - 2) // 2)
    people = [{"omename": f"user{i:04d}", "first_name": f"First{i}", "last_name": f"Last{i}",
               "email": f"user{i:04d}@example.org", "site": f"Lab {i % teams}", "status": "active",
               "password_var": f"vault_pw_{i:04d}"} for i in range(users)]
    docs = {"bench/accounts/people.yml": {"people": people}}
    for t in range(teams):
        members = [p["omename"] for p in people[t::teams]]
        docs[f"bench/accounts/teams/team{t:03d}.yml"] = {"team": {
            "name": f"team{t:03d}", "site": f"Lab {t}", "leader": members[0], "members": members[1:]}}
    docs["bench/accounts/referents.yml"] = {"referents": {"members": [p["omename"] for p in people[:referents]]}}
    return docs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--groups", type=int, default=150)
    parser.add_argument("--referents", type=int, default=2)
    args = parser.parse_args()
    try:
        from module_runner import run_module
        from omero_test_server import OmeroTestServer
    except ImportError as exc:
        print(f"benchmark needs omero-py and zeroc-ice: {exc}", file=sys.stderr)
        return 2

    documents = synthetic_documents(args.users, args.groups, args.referents)
    desired = expand(documents)
    passwords = {f"vault_pw_{i:04d}": f"Bench-Passw0rd-{i}!" for i in range(args.users)}
    results = {}
    # As the role runs it: with a state directory (drift detection, records) on the server host.
    with OmeroTestServer() as server, tempfile.TemporaryDirectory() as state_dir:
        conn = server.connection_args()
        for run in ("first_run", "no_change"):
            server.reset_counts()
            start = time.perf_counter()
            result, _raw = run_module("omero_accounts", dict(conn, desired=desired, passwords=passwords,
                                                             state_dir=state_dir))
            seconds = time.perf_counter() - start
            if result.get("failed"):
                print(f"{run}: module failed: {result.get('msg')}", file=sys.stderr)
                return 1
            counts = dict(server.store.counts)
            results[run] = {
                "changed": result["changed"],
                "actions": len(result["actions"]),
                "admin_calls": server.store.admin_calls(),
                "sessions": counts.get("Router.createSession", 0),
                "graph_requests": sum(n for k, n in counts.items() if k.startswith("submit.")),
                "seconds": round(seconds, 3),
                "by_operation": dict(sorted((k, n) for k, n in counts.items() if k.startswith("IAdmin."))),
            }
        managed_groups = len(desired["groups"])
        managed_users = len(desired["users"])

    for run, r in results.items():
        print(f"{run:10s} changed={r['changed']!s:5s} actions={r['actions']:5d} admin-service calls={r['admin_calls']:5d} "
              f"sessions={r['sessions']} seconds={r['seconds']:.3f}")
        for op, n in r["by_operation"].items():
            print(f"    {op:50s} {n:5d}")
    print(f"managed: {managed_users} users, {managed_groups} groups, {args.referents} referents; "
          f"no-change target: <= 5 admin-service calls in one session")
    summary = {
        "users": managed_users,
        "groups": managed_groups,
        "referents": args.referents,
        "calls_first_run": results["first_run"]["admin_calls"],
        "calls_no_change": results["no_change"]["admin_calls"],
        "seconds_first_run": results["first_run"]["seconds"],
        "seconds_no_change": results["no_change"]["seconds"],
        "sessions_first_run": results["first_run"]["sessions"],
        "sessions_no_change": results["no_change"]["sessions"],
        "changed_no_change": results["no_change"]["changed"],
    }
    print(json.dumps(summary, sort_keys=True))
    ok = (summary["calls_no_change"] <= 5 and summary["sessions_no_change"] == 1 and not summary["changed_no_change"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
