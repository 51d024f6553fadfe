#!/usr/bin/python3
"""JVM and OMERO repository metrics for node_exporter's textfile collector (role monitoring).

Debian packages no JMX exporter: the JDK's own jcmd reads each JVM's HotSpot performance counters
(`jcmd <pid> PerfCounter.print`, the hsperfdata that jstat reads) for heap, GC and threads. The JVMs are the
java processes of the configured systemd units (OMERO.server's Blitz-0, Indexer-0, PixelData-0 under
icegridnode); each is named by its IceGrid server id (".../servers/<id>/...", as icegridnode passes its
configuration), else its main class. The repository's disk comes from statvfs. Usage: omero-jvm-metrics CONFIG.
"""
import json
import os
import pathlib
import pwd
import re
import subprocess
import sys
import time

COUNTER = re.compile(r"^([\w.]+)=(.*)$")


def unit_processes(unit):
    """PIDs of the java processes in the unit's cgroup (/proc/<pid>/cgroup ends with /<unit>)."""
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cgroup = (proc / "cgroup").read_text()
            comm = (proc / "comm").read_text().strip()
        except OSError:
            continue  # the process ended meanwhile
        if comm == "java" and any(line.endswith("/" + unit) for line in cgroup.splitlines()):
            found.append(int(proc.name))
    return sorted(found)


def process_name(pid):
    args = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    for arg in args:
        match = re.search(r"/servers/([^/]+)/", arg)
        if match:
            return match.group(1)
    skip_next = False
    for arg in args[1:]:
        if skip_next:
            skip_next = False
        elif arg in ("-cp", "-classpath", "--class-path", "-jar", "--module-path", "-p"):
            skip_next = arg != "-jar"
            if arg == "-jar":
                return "jar"
        elif arg and not arg.startswith("-"):
            return arg.rsplit(".", 1)[-1]
    return str(pid)


def counters(jcmd, pid, timeout):
    """The JVM's performance counters, read as the process's owner (the attach mechanism's rule); setpriv, not
    runuser, so that no PAM session is logged at every run."""
    owner = pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid)
    out = subprocess.run(["setpriv", f"--reuid={owner.pw_uid}", f"--regid={owner.pw_gid}", "--init-groups", "--",
                          jcmd, str(pid), "PerfCounter.print"],
                         capture_output=True, text=True, timeout=timeout, check=True).stdout
    values = {}
    for line in out.splitlines():
        match = COUNTER.match(line.strip())
        if match:
            values[match.group(1)] = match.group(2).strip('"')
    return values


GENERATION = r"sun[.]gc[.]generation[.][0-9]+[.]"


def jvm_lines(labels, values):
    def each(pattern):
        return [int(v) for k, v in values.items() if re.fullmatch(GENERATION + pattern, k)] or [0]

    # G1 gives each generation the whole heap as its maxCapacity (OpenJDK 17's counters); other collectors split it.
    g1 = values.get("sun.gc.policy.name") == "GarbageFirst"
    heap = {"used": sum(each(r"space[.][0-9]+[.]used")), "committed": sum(each("capacity")),
            "max": (max if g1 else sum)(each("maxCapacity"))}
    lines = [f"omero_jvm_heap_{kind}_bytes{{{labels}}} {value}" for kind, value in heap.items()]
    lines += [f'omero_jvm_threads{{{labels},kind="{kind}"}} {int(values.get("java.threads." + kind, 0))}'
              for kind in ("live", "daemon")]
    frequency = int(values.get("sun.os.hrt.frequency", 1)) or 1
    for key, name in sorted(values.items()):
        match = re.fullmatch(r"sun[.]gc[.]collector[.]([0-9]+)[.]name", key)
        if match:
            prefix = f"sun.gc.collector.{match.group(1)}."
            gc = f'{labels},collector="{name}"'
            lines.append(f"omero_jvm_gc_collections_total{{{gc}}} {int(values.get(prefix + 'invocations', 0))}")
            lines.append(f"omero_jvm_gc_seconds_total{{{gc}}} {int(values.get(prefix + 'time', 0)) / frequency:.6f}")
    return lines


def unit_lines(config, entry):
    unit, expected = entry["unit"], set(entry.get("processes", []))
    lines, seen = [], set()
    for pid in unit_processes(unit):
        try:
            name = process_name(pid)
            values = counters(config["jcmd"], pid, config.get("timeout", 10))
        except (OSError, KeyError, subprocess.SubprocessError) as err:
            print(f"{unit} pid {pid}: {err}", file=sys.stderr)
            continue
        seen.add(name)
        lines.extend(jvm_lines(f'unit="{unit}",process="{name}"', values))
    lines.extend(f'omero_jvm_up{{unit="{unit}",process="{name}"}} {int(name in seen)}' for name in sorted(expected | seen))
    return lines


def repository_lines(paths):
    lines = []
    for path in paths:
        try:
            st = os.statvfs(path)
        except OSError:
            lines.append(f'omero_repository_present{{path="{path}"}} 0')
            continue
        lines += [f'omero_repository_present{{path="{path}"}} 1',
                  f'omero_repository_size_bytes{{path="{path}"}} {st.f_blocks * st.f_frsize}',
                  f'omero_repository_avail_bytes{{path="{path}"}} {st.f_bavail * st.f_frsize}']
    return lines


def main(config_path):
    config = json.loads(pathlib.Path(config_path).read_text())
    lines = []
    for entry in config["units"]:
        lines.extend(unit_lines(config, entry))
    lines.extend(repository_lines(config.get("repositories", [])))
    lines.append(f"omero_jvm_metrics_timestamp_seconds {time.time():.0f}")
    output = pathlib.Path(config["output"])
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(output)  # node_exporter never reads half a file


if __name__ == "__main__":
    main(sys.argv[1])
