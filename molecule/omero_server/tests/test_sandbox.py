"""systemd sandboxing of OMERO.server and a code tree its service user cannot change (issue 13).

The unit is installed and loaded without the artifacts, so its exposure is always measured; what needs the
unpacked server (ownership of OMERO.server-<version>, writes inside the sandbox) skips without them."""
import pytest
from sandbox import OWN_UNIT_LIMIT, exposure, unit_properties, writable_in_unit
from test_omero_server import BASE, VENV, needs_artifacts

CURRENT = f"{BASE}/OMERO.current"


def test_server_unit_exposure(host):
    assert exposure(host, "omero-server.service") <= OWN_UNIT_LIMIT


def test_server_unit_has_no_capability_and_no_jit_breaking_setting(host):
    props = unit_properties(host, "omero-server.service", "CapabilityBoundingSet", "MemoryDenyWriteExecute",
                            "ProtectSystem", "NoNewPrivileges")
    assert props == {"CapabilityBoundingSet": "", "MemoryDenyWriteExecute": "no", "ProtectSystem": "strict",
                     "NoNewPrivileges": "yes"}


def test_venv_is_root_owned_and_not_writable_by_the_service_user(host):
    assert host.file(VENV).user == "root"
    assert host.run(f"runuser -u omero-server -- test -w {VENV}/bin").rc != 0
    assert host.run(f"runuser -u omero-server -- find {VENV} -writable -print -quit").stdout == ""


@needs_artifacts
def test_server_code_is_root_owned(host):
    out = host.check_output(
        f"find -L {CURRENT}/ \\( -path {CURRENT}/var -o -path {CURRENT}/etc/grid \\) -prune -o "
        f"-path {CURRENT}/etc -prune -o ! -user root -print")
    assert out == ""
    assert host.run(f"runuser -u omero-server -- test -w {CURRENT}/lib").rc != 0


@needs_artifacts
@pytest.mark.parametrize("path,writable", [
    (f"{CURRENT}/var", True),
    (f"{CURRENT}/etc/grid", True),
    ("/OMERO", True),
    (f"{CURRENT}/lib", False),
    (f"{CURRENT}/etc/templates", False),
    (VENV, False),
    (f"{BASE}/config", False),
])
def test_server_writes_only_where_it_must(host, path, writable):
    assert writable_in_unit(host, "omero-server.service", path) is writable
