#!/usr/bin/env python3
"""OMERO database helpers that keep the root password off the command line.

Usage (OMERODIR set to the server directory, run with the server venv's python):
  omero-db-script.py schema              print the schema this release expects, e.g. OMERO5.4__0
  omero-db-script.py script OUTPUT_SQL   write the creation script; the root password is read from stdin

`script` runs `omero db script` inside this process, so the password never appears on a command line
or in the process table. Its output holds the password's hash: delete it after use. `schema` reads the
release's properties (the server jars, then etc/omero.properties) exactly as `omero db script` does.
"""
import os
import sys

from omero.cli import CLI
from omero.install.config_parser import PropertyParser
from omero_ext.path import path


def schema():
    cli = CLI()
    lines = cli.get_config_property_lines(path(os.environ["OMERODIR"]))
    props = {p.key: p.val for p in PropertyParser().parse_lines(lines)}
    print(f"{props['omero.db.version']}__{props['omero.db.patch']}")
    return 0


def script(output):
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        sys.exit("no password on stdin")
    old_umask = os.umask(0o077)
    try:
        cli = CLI()
        cli.loadplugins()
        cli.invoke(["db", "script", "--file", output, "--password", password], strict=True)
    finally:
        os.umask(old_umask)
    return 0


def main(argv):
    if "OMERODIR" not in os.environ:
        sys.exit(__doc__)
    if argv[1:] == ["schema"]:
        return schema()
    if len(argv) == 3 and argv[1] == "script":
        return script(argv[2])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
