"""Helpers shared by the backup scenario's tests."""
import json

import pytest

RESTIC_ENV = "RESTIC_PASSWORD_FILE=/etc/omero-backup/restic-password RESTIC_CACHE_DIR=/var/cache/omero-backup"


@pytest.fixture
def hv(host):
    return host.ansible.get_variables()


def runs(host):
    return json.loads(host.check_output("/usr/local/sbin/omero-backup runs"))


def complete_run_ids(host):
    return [r["run"] for r in runs(host) if r["complete"]]


def start_unit(host, unit):
    """systemctl start of a oneshot unit waits for the end; returns the exit status."""
    return host.run(f"systemctl start {unit}").rc


def mails(host):
    out = host.run("ls /var/spool/smtp-sink/*.eml 2>/dev/null").stdout.split()
    return sorted(out)


def pg_unit(host):
    return host.check_output("systemctl list-units --all --plain --no-legend 'postgresql@*' | awk '{print $1}' | head -1")


def live_state(host):
    """Files (sha256, owner, mode) under the backup paths and row counts, as omero-test-state reads them from the
    role's config.json (the paths and the database are named there once)."""
    return json.loads(host.check_output("/usr/local/bin/omero-test-state"))


def backup_paths(host):
    return host.check_output("/usr/local/bin/omero-test-state --paths").split()
