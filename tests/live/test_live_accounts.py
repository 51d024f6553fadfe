"""The accounts modules against a real OMERO.server.

Runs only when OMERO_TEST_HOST is set (plus OMERO_TEST_PORT, default 4064; OMERO_TEST_PROTOCOL, default
ssl; OMERO_TEST_USER, default root; OMERO_TEST_PASSWORD, required). It creates groups and users with
a random ``ci<hex>`` prefix; OMERO cannot delete groups that were used, so point it at a test server.
"""
import os
import pathlib
import sys
import uuid

import pytest

HOST = os.environ.get("OMERO_TEST_HOST")
if not HOST:
    pytest.skip("OMERO_TEST_HOST is not set: no real OMERO.server to test against", allow_module_level=True)
if not os.environ.get("OMERO_TEST_PASSWORD"):
    pytest.skip("OMERO_TEST_HOST is set but OMERO_TEST_PASSWORD is not", allow_module_level=True)
pytest.importorskip("omero", reason="omero-py (with zeroc-ice 3.6) is not installed")

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from module_runner import run_module

CONNECTION = {
    "host": HOST,
    "port": int(os.environ.get("OMERO_TEST_PORT", "4064")),
    "protocol": os.environ.get("OMERO_TEST_PROTOCOL", "ssl"),
    "admin_user": os.environ.get("OMERO_TEST_USER", "root"),
    "admin_password": os.environ["OMERO_TEST_PASSWORD"],
}


@pytest.fixture(scope="module")
def prefix():
    return "ci" + uuid.uuid4().hex[:8]


def test_groups_check_apply_reapply(prefix):
    groups = [{"name": f"{prefix}-team", "permissions": "read-annotate", "description": "CI team"},
              {"name": f"{prefix}-collab", "permissions": "read-only"}]
    args = dict(CONNECTION, groups=groups)
    check, _ = run_module("omero_group", args, check_mode=True)
    assert check["changed"] is True, check
    again_check, _ = run_module("omero_group", args, check_mode=True)
    assert again_check["changed"] is True  # check mode created nothing
    applied, _ = run_module("omero_group", args)
    assert applied["changed"] is True, applied
    reapplied, _ = run_module("omero_group", args)
    assert reapplied["changed"] is False, reapplied["actions"]


def test_users_and_permissions_change(prefix):
    users = [{"omename": f"{prefix}-ann", "first_name": "Ann", "last_name": "CI", "email": "ann@example.org",
              "groups": [f"{prefix}-team", f"{prefix}-collab"], "default_group": f"{prefix}-team",
              "password": "Ci-Initial-Passw0rd!"}]
    applied, raw = run_module("omero_user", dict(CONNECTION, users=users))
    assert applied["changed"] is True, applied
    assert "Ci-Initial-Passw0rd!" not in raw
    reapplied, _ = run_module("omero_user", dict(CONNECTION, users=users))
    assert reapplied["changed"] is False, reapplied["actions"]
    chmod, _ = run_module("omero_group", dict(CONNECTION, groups=[{"name": f"{prefix}-collab", "permissions": "read-annotate"}]))
    assert chmod["actions"] == [f"change permissions of group {prefix}-collab from read-only to read-annotate"]
    deactivate, _ = run_module("omero_user", dict(CONNECTION, users=[{"omename": f"{prefix}-ann", "active": False}]))
    assert deactivate["actions"] == [f"remove user {prefix}-ann from user"]
