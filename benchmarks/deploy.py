#!/usr/bin/env python3
"""Benchmark the no-op deploy: playbooks/site.yml on the local inventory against the already-deployed
omero-local container (`make deploy` first), measured the same way each time.

Usage: benchmarks/deploy.py [--runs 1] [--inventory inventories/local/hosts.yml] [--playbook playbooks/site.yml]
                            [--top 12]
Runs ansible-playbook with the json stdout callback (the profile callback off, so that stdout is one document)
and prints one JSON object a run: seconds (wall clock of ansible-playbook); cpu_seconds_controller (CPU time of
ansible-playbook and its children: workers, docker CLI) and cpu_seconds_host (CPU time used inside the
omero-local container meanwhile, its services' background work included, from its cgroup), which move far less
with the load of a shared machine than the wall clock; tasks (as the recap counts them: ok + failed + skipped +
unreachable), tasks_run (not skipped), changed, failed, unreachable, skipped, fact_gatherings, plays, rc,
seconds_by_role and slowest_tasks (the sum of the task durations by role and by task name), load_before (the
1-minute load average when the run started: the machines are shared, read the figures with it), ansible_core.
Exit status 1 when a run failed or changed anything (a no-op must change nothing).
"""
import argparse
import json
import os
import pathlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime

ROOT = pathlib.Path(__file__).resolve().parents[1]
CACHE = pathlib.Path(os.environ.get("OMERO_DEPLOY_CACHE")
                     or pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "omero-deploy")


def ansible_playbook():
    """The venv's ansible-playbook (scripts/setup-host), else the one on PATH."""
    venv = CACHE / "venv" / "bin" / "ansible-playbook"
    return str(venv) if venv.exists() else shutil.which("ansible-playbook") or sys.exit("ansible-playbook not found")


def check_host(name="omero-local"):
    proc = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", name],
                          capture_output=True, text=True, check=False)
    if proc.stdout.strip() != "true":
        sys.exit(f"benchmarks/deploy.py: the container {name} is not running; deploy it first (make deploy)")


def host_cpu_seconds(name="omero-local"):
    """CPU time the container has used so far (cgroup v1 cpuacct or v2 cpu.stat), None when unreadable."""
    cid = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", name], capture_output=True, text=True,
                         check=False).stdout.strip()
    for path, scale in ((f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage", 1e-9),
                        (f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat", 1e-6)):
        try:
            text = pathlib.Path(path).read_text()
        except OSError:
            continue
        value = text.split()[1] if text.startswith("usage_usec") else text.split()[0]
        return int(value) * scale
    return None


def seconds(duration):
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    return (datetime.strptime(duration["end"], fmt) - datetime.strptime(duration["start"], fmt)).total_seconds()


def summarize(report, top):
    """Figures of one json-callback report."""
    stats = report.get("stats", {})
    count = {k: sum(s.get(k, 0) for s in stats.values()) for k in ("ok", "changed", "failures", "skipped", "unreachable")}
    by_role = defaultdict(float)
    by_task = defaultdict(float)
    gatherings = tasks_run = 0
    for play in report.get("plays", []):
        for task in play["tasks"]:
            name = task["task"]["name"]
            role = name.split(" : ", 1)[0] if " : " in name else "(playbook)"
            if name == "Gathering Facts":
                role = "(fact gathering)"
            ran = [r for r in task["hosts"].values() if not r.get("skipped")]
            if name == "Gathering Facts":
                gatherings += len(ran)
            tasks_run += len(ran)
            if ran and "duration" in task["task"]:
                by_role[role] += seconds(task["task"]["duration"])
                by_task[name] += seconds(task["task"]["duration"])
    return {
        "tasks": count["ok"] + count["failures"] + count["skipped"] + count["unreachable"],
        "tasks_run": tasks_run,
        "changed": count["changed"],
        "failed": count["failures"],
        "unreachable": count["unreachable"],
        "skipped": count["skipped"],
        "fact_gatherings": gatherings,
        "plays": len(report.get("plays", [])),
        "seconds_by_role": {k: round(v, 1) for k, v in sorted(by_role.items(), key=lambda kv: -kv[1])[:top]},
        "slowest_tasks": {k: round(v, 1) for k, v in sorted(by_task.items(), key=lambda kv: -kv[1])[:top]},
    }


def run_once(args):
    # ansible.cfg's profile_tasks prints to stdout: the file-only tree callback replaces it, so that stdout
    # stays one JSON document (its files go to a temporary folder).
    tree = tempfile.mkdtemp(prefix="deploy-benchmark-")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.tree", ANSIBLE_CALLBACK_TREE_DIR=tree,
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    # As the Makefile exports them for `make deploy`.
    env.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(CACHE / "vault-password"))
    env.setdefault("OMERO_DEPLOY_WHEELHOUSE", str(CACHE / "wheelhouse"))
    cmd = [ansible_playbook(), "-i", args.inventory, args.playbook]
    load = os.getloadavg()[0]
    host_before, rusage = host_cpu_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    after, host_after = resource.getrusage(resource.RUSAGE_CHILDREN), host_cpu_seconds()
    # CPU seconds depend far less on what else the shared machine runs than wall-clock seconds do.
    cpu = {"cpu_seconds_controller": round(after.ru_utime + after.ru_stime - rusage.ru_utime - rusage.ru_stime, 1),
           "cpu_seconds_host": round(host_after - host_before, 1) if None not in (host_before, host_after) else None}
    shutil.rmtree(tree, ignore_errors=True)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        return {"seconds": round(wall, 1), "rc": proc.returncode, "error": "no JSON report from ansible-playbook"}
    version = subprocess.run([ansible_playbook(), "--version"], capture_output=True, text=True, check=False).stdout
    return {"seconds": round(wall, 1), **cpu, **summarize(report, args.top), "rc": proc.returncode,
            "load_before": round(load, 2), "cpus": os.cpu_count(),
            "ansible_core": version.split("core ", 1)[-1].split("]", 1)[0] if "core " in version else version.split("\n")[0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--inventory", default="inventories/local/hosts.yml")
    parser.add_argument("--playbook", default="playbooks/site.yml")
    parser.add_argument("--top", type=int, default=12, help="how many roles and tasks in seconds_by_role and slowest_tasks")
    args = parser.parse_args()
    if args.inventory == "inventories/local/hosts.yml":
        check_host()
    bad = False
    for _ in range(args.runs):
        figures = run_once(args)
        print(json.dumps(figures), flush=True)
        bad |= figures.get("rc") != 0 or figures.get("changed", 1) != 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
