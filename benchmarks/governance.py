#!/usr/bin/env python3
"""Benchmark one full governance run against the stand-in server on a synthetic catalogue.

Seeds the in-process stand-in (tests/support/omero_test_server.py with its governance module) with
--images images in --groups groups (projects, datasets, orphan images, 2% older than five years,
login sessions), then runs the real runner (roles/governance/files/omero-governance run, as a
subprocess with this interpreter's omero-py) against it with an SMTP sink, and counts the server
calls (as counted by the stand-in, and by the runner itself) and the seconds. Run twice with
different sizes, the call counts are equal: they do not grow with the catalogue. (The only writes of a
run are one removeGroups per external member whose group has just expired, once; the synthetic
external groups here expire in 4 days, so the run only reads and mails.)

Usage: benchmarks/governance.py [--images 100000] [--groups 500]
The last line of output is one JSON object.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "module_utils"), str(ROOT / "tests" / "support")]


def one_run(images, groups, today):
    import omero_test_server_governance as seed
    from omero_test_server import OmeroTestServer
    from smtp_sink_thread import SmtpSink

    with OmeroTestServer() as server, SmtpSink() as sink, tempfile.TemporaryDirectory() as tmp:
        start = time.monotonic()
        seed.synthetic_catalogue(server.store, images=images, groups=groups, today=today)
        seeded = time.monotonic() - start
        people = {u["omename"]: {"name": u["omename"], "email": f"{u['omename']}@example.org", "site": f"Site {i % 8}",
                                 "status": "active"} for i, u in enumerate(server.store.users.values())}
        teams = {f"bench{g:03d}": {"leader": f"b{g:03d}u0", "site": f"Site {g % 8}"} for g in range(groups)}
        external = [{"name": f"bench{g:03d}", "site": "external", "created": "2026-11-01", "expires": "2026-12-05",
                     "quota_gb": 1, "owners": [f"b{g:03d}u0"], "members": [f"b{g:03d}u1"]} for g in range(0, groups, 50)]
        password = pathlib.Path(tmp) / "pw"
        password.write_text(server.root_password)
        cfg = {"omero": {"host": "127.0.0.1", "port": server.port, "protocol": "tcp", "user": "root",
                         "password_file": str(password)},
               "smtp": {"host": "127.0.0.1", "port": sink.port}, "mail_from": "support@example.org",
               "support": "support@example.org", "state_file": f"{tmp}/state.json", "report_dir": f"{tmp}/reports",
               "report_group": "", "lock_file": f"{tmp}/lock", "expiry_policy": "disable_login",
               "inventory": {"people": people, "teams": teams, "external_groups": external,
                             "referents": [], "retention_extensions": [], "transfers": []}}
        (pathlib.Path(tmp) / "config.json").write_text(json.dumps(cfg))
        server.reset_counts()
        start = time.monotonic()
        proc = subprocess.run([sys.executable, str(ROOT / "roles" / "governance" / "files" / "omero-governance"),
                               "--config", f"{tmp}/config.json", "run", "--today", today],
                              capture_output=True, text=True, check=False, timeout=3600,
                              env=dict(os.environ, OMERO_GOVERNANCE_LIB=str(ROOT / "module_utils")))
        seconds = time.monotonic() - start
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            raise SystemExit(f"the run failed with exit {proc.returncode}")
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        counts = dict(server.store.counts)
        return {"images": images, "groups": groups, "seconds_seed": round(seeded, 2), "seconds_run": round(seconds, 2),
                "server_calls": sum(counts.values()), "runner_calls": summary["calls"], "calls_by_operation": counts,
                "mails": len(sink.messages), "deactivated": len(summary["deactivated"])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--today", default="2026-12-01")
    args = parser.parse_args()
    try:
        import omero  # noqa: F401 - only to say clearly what is missing
    except ImportError as exc:
        print(f"benchmark needs omero-py and zeroc-ice: {exc}", file=sys.stderr)
        return 2
    small = one_run(max(args.images // 100, args.groups), args.groups, args.today)
    print("small catalogue:", json.dumps(small), flush=True)
    big = one_run(args.images, args.groups, args.today)
    print("full catalogue:", json.dumps(big), flush=True)
    result = dict(big, calls_small_catalogue=small["runner_calls"],
                  calls_independent_of_size=small["runner_calls"] == big["runner_calls"],
                  calls_under_20=big["runner_calls"] < 20 and big["server_calls"] < 20)
    print(json.dumps(result, sort_keys=True))
    return 0 if result["calls_under_20"] else 1


if __name__ == "__main__":
    sys.exit(main())
