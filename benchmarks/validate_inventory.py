#!/usr/bin/env python3
"""Benchmark scripts/validate-inventory on accounts trees of about 1 MB built to be slow or dangerous.

Each tree of tests/support/hostile_accounts.py (billion laughs, alias fan-out, merge keys, tags, deep
nesting, duplicate keys, a 1 MB value, many documents, many files, floods of wrong entries, lists
jsonschema would compare pairwise, backtracking e-mail addresses, bytes that are not UTF-8, and one
valid tree of the same size) is written to a temporary directory and validated by the real command,
as CI runs it (a new interpreter each time). Prints, per tree: bytes, exit status, wall seconds, CPU
seconds of the run, lines printed and the first one. Target: every tree answered within 5 s.

Usage: benchmarks/validate_inventory.py [--size 1000000] [--repeat 1]
The last line of output is one JSON object (max_seconds, target_seconds, trees: {name: seconds}, ...).
"""
import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "support")]

import hostile_accounts
import yaml

TARGET_SECONDS = 5.0


def one_tree(name, size):
    with tempfile.TemporaryDirectory() as tmp:
        expected = hostile_accounts.TREES[name](tmp, size)
        size_bytes = hostile_accounts.tree_bytes(tmp)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "validate-inventory"), tmp],
                              capture_output=True, text=True, check=False, timeout=600)
        seconds = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        lines = proc.stdout.splitlines()
        first = lines[0][len(tmp) + 1:] if lines else ""
        ok = (proc.returncode == 0 and not lines) if expected is None else (
            proc.returncode == 1 and first.startswith("{}:{}: {}".format(*expected)))
        return {"bytes": size_bytes, "rc": proc.returncode, "seconds": round(seconds, 2),
                "cpu_seconds": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2),
                "lines": len(lines), "first": first[:110], "as_expected": ok}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=hostile_accounts.SIZE, help="bytes per tree (about)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tree; the slowest is kept")
    args = parser.parse_args()
    print(f"validate-inventory on {len(hostile_accounts.TREES)} trees of about {args.size} bytes; "
          f"YAML parser: {'libyaml' if getattr(yaml, '__with_libyaml__', False) else 'pure Python'}; "
          f"target: <= {TARGET_SECONDS} s each; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'tree':20s} {'bytes':>8s} {'rc':>2s} {'wall s':>6s} {'cpu s':>6s} {'lines':>5s}  first line")
    results = {}
    for name in hostile_accounts.TREES:
        runs = [one_tree(name, args.size) for _ in range(args.repeat)]
        r = max(runs, key=lambda x: x["seconds"])
        results[name] = r
        flag = "" if r["as_expected"] else "  <- NOT AS EXPECTED"
        print(f"{name:20s} {r['bytes']:8d} {r['rc']:2d} {r['seconds']:6.2f} {r['cpu_seconds']:6.2f} {r['lines']:5d}  "
              f"{r['first']}{flag}", flush=True)
    worst = max(results.values(), key=lambda r: r["seconds"])
    print(json.dumps({"max_seconds": worst["seconds"], "max_cpu_seconds": max(r["cpu_seconds"] for r in results.values()),
                      "target_seconds": TARGET_SECONDS, "all_within_target": worst["seconds"] <= TARGET_SECONDS,
                      "all_as_expected": all(r["as_expected"] for r in results.values()),
                      "load_average": round(os.getloadavg()[0], 1), "size": args.size, "trees": {n: r["seconds"] for n, r in results.items()}}, sort_keys=True))
    return 0 if worst["seconds"] <= TARGET_SECONDS and all(r["as_expected"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
