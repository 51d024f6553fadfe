#!/usr/bin/env python3
"""Write OMERO's database creation script with the root password read from stdin.

Usage: OMERODIR=<server dir> omero-db-script.py OUTPUT_SQL < password

Runs `omero db script` inside this process (the venv's python), so the password never appears on a
command line or in the process table. The output holds the password's hash: delete it after use.
"""
import os
import sys

from omero.cli import CLI


def main(argv):
    if len(argv) != 2 or "OMERODIR" not in os.environ:
        sys.exit(__doc__)
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        sys.exit("no password on stdin")
    old_umask = os.umask(0o077)
    try:
        cli = CLI()
        cli.loadplugins()
        cli.invoke(["db", "script", "--file", argv[1], "--password", password], strict=True)
    finally:
        os.umask(old_umask)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
