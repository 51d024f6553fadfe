#!/usr/bin/env python3
"""Benchmark of the backup design (restic, as the role `backup` runs it) on a synthetic OMERO tree.

Creates a repository of image-like files (a few of hundreds of MB, some tens of MB, many small ones;
random, i.e. incompressible, content: the worst case for compression and deduplication), then measures
in one run:

  raw read      read every file once (the physical floor of any full backup)
  full          first restic backup
  noop          backup again with nothing changed (the cost of scanning an unchanged tree)
  incremental   backup after rewriting 1 % of the files
  restore       restic restore of the latest snapshot into an empty directory
  repo size     after --snapshots snapshots (each after another 1 % change)

Page cache: every measured phase starts cold when possible. The script first tries
`echo 3 > /proc/sys/vm/drop_caches` (needs root and a writable /proc/sys); otherwise it evicts each file it
made (source tree, repository, restore target) with posix_fadvise(POSIX_FADV_DONTNEED), which needs no
privilege and drops clean pages of those files. It prints which method it used.

Usage: benchmarks/backup.py [--size-gb 2] [--workdir DIR] [--snapshots 5] [--pack-size-mib 64]
                            [--compression auto|off|max] [--keep]
The last line of the output is one JSON object with the figures.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

MiB = 1024 * 1024


def plan_files(total_bytes, rng):
    """Image-like sizes: ~40 % of the bytes in files of 150-400 MiB, ~35 % in 10-60 MiB, the rest in 64 KiB-2 MiB."""
    sizes = []
    for share, low, high in ((0.40, 150 * MiB, 400 * MiB), (0.35, 10 * MiB, 60 * MiB), (0.25, 64 * 1024, 2 * MiB)):
        budget = int(total_bytes * share)
        while budget > 0:
            size = min(budget, rng.randint(low, high))
            sizes.append(size)
            budget -= size
    return sizes


def write_random(path, size, rng):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        left = size
        while left:
            chunk = min(left, 8 * MiB)
            fh.write(rng.randbytes(chunk))
            left -= chunk
        fh.flush()
        os.fsync(fh.fileno())


def make_tree(src, total_bytes, rng):
    files = []
    for i, size in enumerate(plan_files(total_bytes, rng)):
        # ManagedRepository-like layout: user/date/time-stamped import folders.
        path = os.path.join(src, "ManagedRepository", f"user-{i % 7}_3", f"2026-{1 + i % 12:02d}", f"import-{i // 25:04d}",
                            f"image_{i:05d}.ome.tiff")
        write_random(path, size, rng)
        files.append(path)
    return files


def walk_files(*roots):
    for root in roots:
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                path = os.path.join(dirpath, name)
                if os.path.isfile(path) and not os.path.islink(path):
                    yield path


def drop_caches(*roots):
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("3\n")
        return "drop_caches"
    except OSError:
        pass
    for path in walk_files(*[r for r in roots if os.path.isdir(r)]):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fdatasync(fd) if os.access(path, os.W_OK) else None
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return "fadvise"


def raw_read(src):
    total = 0
    start = time.monotonic()
    buf = bytearray(8 * MiB)
    for path in walk_files(src):
        with open(path, "rb", buffering=0) as fh:
            while True:
                n = fh.readinto(buf)
                if not n:
                    break
                total += n
    return time.monotonic() - start, total


def restic(env, *args):
    start = time.monotonic()
    res = subprocess.run(["restic", *args], env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        sys.exit(f"restic {' '.join(args)} failed: {res.stderr.strip()}")
    return time.monotonic() - start, res.stdout


def summary(stdout):
    for line in reversed(stdout.splitlines()):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if obj.get("message_type") == "summary":
            return obj
    return {}


def change_files(files, fraction, rng):
    chosen = rng.sample(files, max(1, round(len(files) * fraction)))
    changed = 0
    for path in chosen:
        size = os.path.getsize(path)
        # Half rewritten in place (a re-exported image), half appended to (a growing file).
        if rng.random() < 0.5:
            write_random(path, size, rng)
            changed += size
        else:
            with open(path, "ab") as fh:
                extra = max(4096, size // 100)
                fh.write(rng.randbytes(extra))
                changed += extra
    return len(chosen), changed


def dir_bytes(root):
    return sum(os.path.getsize(p) for p in walk_files(root))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=2.0, help="size of the synthetic tree (GiB)")
    parser.add_argument("--workdir", default=None, help="where to build it (default: a new directory in $TMPDIR)")
    parser.add_argument("--snapshots", type=int, default=5, help="snapshots in the repository at the end (>= 3)")
    parser.add_argument("--changed-fraction", type=float, default=0.01, help="fraction of files changed per snapshot")
    parser.add_argument("--pack-size-mib", type=int, default=64, help="restic --pack-size (the role's default)")
    parser.add_argument("--compression", default="auto", choices=["auto", "off", "max"],
                        help="restic --compression (the role's default is auto)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    if not shutil.which("restic"):
        sys.exit("restic is not installed on this machine: apt install restic")
    version = subprocess.run(["restic", "version"], stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    rng = random.Random(args.seed)
    load_start = os.getloadavg()[0]
    work = args.workdir or tempfile.mkdtemp(prefix="omero-backup-bench-")
    os.makedirs(work, exist_ok=True)
    src, repo, target = (os.path.join(work, d) for d in ("OMERO", "repo", "restore"))
    env = dict(os.environ, RESTIC_REPOSITORY=repo, RESTIC_PASSWORD="benchmark-only-password",
               RESTIC_CACHE_DIR=os.path.join(work, "cache"))
    backup_args = ["backup", "--json", "--pack-size", str(args.pack_size_mib), "--compression", args.compression, src]
    try:
        print(f"{version}; work directory {work}; building {args.size_gb:g} GiB of image-like files", flush=True)
        t0 = time.monotonic()
        files = make_tree(src, int(args.size_gb * 1024 * MiB), rng)
        source_bytes = dir_bytes(src)
        print(f"  {len(files)} files, {source_bytes / MiB:.0f} MiB in {time.monotonic() - t0:.0f} s", flush=True)

        cache_method = drop_caches(src)
        raw_s, read_bytes = raw_read(src)
        print(f"raw read ({cache_method}): {raw_s:.1f} s, {read_bytes / MiB / raw_s:.0f} MiB/s", flush=True)

        restic(env, "init", "--repository-version", "2")
        drop_caches(src, repo)
        full_s, out = restic(env, *backup_args)
        full = summary(out)
        print(f"full backup: {full_s:.1f} s, {source_bytes / MiB / full_s:.0f} MiB/s, "
              f"{full.get('data_added', 0) / MiB:.0f} MiB added", flush=True)

        drop_caches(src, repo)
        noop_s, _ = restic(env, *backup_args)
        print(f"backup with nothing changed: {noop_s:.1f} s", flush=True)

        n_changed, changed_bytes = change_files(files, args.changed_fraction, rng)
        drop_caches(src, repo)
        incr_s, out = restic(env, *backup_args)
        incr = summary(out)
        print(f"incremental after changing {n_changed} files ({changed_bytes / MiB:.0f} MiB): {incr_s:.1f} s, "
              f"{incr.get('data_added', 0) / MiB:.0f} MiB added", flush=True)

        for _ in range(max(0, args.snapshots - 3)):
            change_files(files, args.changed_fraction, rng)
            restic(env, *backup_args)
        repo_bytes = dir_bytes(repo)
        print(f"repository after {args.snapshots} snapshots: {repo_bytes / MiB:.0f} MiB "
              f"({repo_bytes / source_bytes:.3f} x the source)", flush=True)

        drop_caches(src, repo)
        restore_s, _ = restic(env, "restore", "latest", "--target", target)
        restored = dir_bytes(target)
        if restored != dir_bytes(src):
            sys.exit(f"restore produced {restored} bytes, expected {dir_bytes(src)}")
        print(f"restore: {restore_s:.1f} s, {restored / MiB / restore_s:.0f} MiB/s", flush=True)

        result = {
            "restic": version.split()[1], "cache": cache_method, "compression": args.compression, "files": len(files), "source_bytes": source_bytes,
            "raw_read_s": round(raw_s, 2), "full_s": round(full_s, 2), "noop_s": round(noop_s, 2),
            "incremental_s": round(incr_s, 2), "incremental_changed_files": n_changed,
            "incremental_changed_bytes": changed_bytes, "restore_s": round(restore_s, 2),
            "snapshots": args.snapshots, "repo_bytes": repo_bytes,
            "full_vs_raw_read": round(full_s / raw_s, 2), "incremental_vs_full": round(incr_s / full_s, 3),
            "restore_vs_full": round(restore_s / full_s, 2), "cpus": os.cpu_count(),
            "loadavg_start": round(load_start, 2), "loadavg_end": round(os.getloadavg()[0], 2), "repo_vs_source": round(repo_bytes / source_bytes, 3),
        }
        print(f"{os.cpu_count()} CPUs, load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
              "(other work on the machine slows the CPU-bound restic phases)")
        print(f"ratios: full/raw-read {result['full_vs_raw_read']}, incremental/full {result['incremental_vs_full']}"
              f" (target <= 0.10), restore/full {result['restore_vs_full']}, repo/source {result['repo_vs_source']}")
        print(json.dumps(result, sort_keys=True))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
