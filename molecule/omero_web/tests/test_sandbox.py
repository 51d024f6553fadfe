"""systemd sandboxing of OMERO.web and nginx (issue 13): exposure scores, and writes only where needed.
The login page test in test_web.py proves both still serve under their sandbox."""
from sandbox import (
    OWN_UNIT_LIMIT,
    PACKAGED_UNIT_LIMIT,
    exposure,
    unit_properties,
    writable_in_unit,
)

OMERODIR = "/opt/omero/web/OMERO.web"


def test_omero_web_exposure(host):
    assert exposure(host, "omero-web.service") <= OWN_UNIT_LIMIT


def test_nginx_exposure_with_the_drop_in(host):
    props = unit_properties(host, "nginx.service", "DropInPaths", "ActiveState")
    assert "/etc/systemd/system/nginx.service.d/omero-deploy-sandbox.conf" in props["DropInPaths"].split()
    assert props["ActiveState"] == "active"
    assert exposure(host, "nginx.service") <= PACKAGED_UNIT_LIMIT


def test_nginx_workers_still_drop_to_www_data(host):
    users = host.check_output("ps -o user= -C nginx").split()
    assert "root" in users and "www-data" in users


def test_omero_web_writes_its_logs_and_nothing_of_its_code(host):
    assert writable_in_unit(host, "omero-web.service", f"{OMERODIR}/var/log")
    assert writable_in_unit(host, "omero-web.service", "/var/lib/omero-web")
    for path in ("/opt/omero/web/venv3", "/opt/omero/web/static", "/opt/omero/web/config", f"{OMERODIR}/etc/grid"):
        assert not writable_in_unit(host, "omero-web.service", path), path


def test_omero_web_keeps_sessions_outside_the_private_tmp(host):
    env = unit_properties(host, "omero-web.service", "Environment")["Environment"]
    assert "TMPDIR=/var/lib/omero-web" in env.split()
    assert host.file("/var/lib/omero-web").user == "omero-web"
