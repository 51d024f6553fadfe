"""Retention: runs back-dated 100, 91, 89 and 1 days; the retention unit removes the first two only."""
import json

from conftest import complete_run_ids, start_unit


def test_retention_keeps_90_days(host):
    dated = {}
    for days in (100, 91, 89, 1):
        when = host.check_output(f"date -d '{days} days ago' '+%Y-%m-%d %H:%M:%S'")
        out = host.check_output(f"/usr/local/sbin/omero-backup run --time '{when}'")
        dated[days] = json.loads(out)["run"]
    newest_before = complete_run_ids(host)[-1]
    assert set(dated.values()) <= set(complete_run_ids(host))
    assert start_unit(host, "omero-backup-retention.service") == 0
    remaining = set(complete_run_ids(host))
    assert dated[100] not in remaining and dated[91] not in remaining
    assert dated[89] in remaining and dated[1] in remaining and newest_before in remaining
    # Both halves of a forgotten run went: no orphan database or files snapshot remains.
    for run in json.loads(host.check_output("/usr/local/sbin/omero-backup runs")):
        assert run["run"] not in (dated[100], dated[91])
    # After the prune the repositories are still sound.
    assert start_unit(host, "omero-backup-check.service") == 0
