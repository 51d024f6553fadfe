"""OMERO's websockets through nginx: omero-py's real client opens a session at wss://<name>/omero-ws, which nginx
upgrades and proxies over TLS, the upstream certificate verified, to the Ice stand-in (tests/support/
omero_test_server.py: real Ice 3.6 marshalling, Glacier2 router, sessions) listening on a wss endpoint.

The stand-in runs in this test process on the controller; the platform's container shares the host network, so
nginx reaches it on loopback. The client runs in a private mount namespace whose /etc/hosts names the site
(Ice resolves names itself and sends no SNI: curl's --resolve has no Ice equivalent)."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
from omero_test_server import OmeroTestServer  # tests/support is not a package

CLIENT = pathlib.Path(__file__).resolve().parent.parent / "files" / "omero_ws_client.py"
UNKNOWN = "unknown.omero.test"


@pytest.fixture
def ws(site):
    if not site["vars"].get("nginx_omero_websocket_servers"):
        pytest.skip("this platform does not proxy OMERO's websockets (test_no_websocket_location_when_off)")
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("the client's private /etc/hosts needs root and unshare(1) on the controller")
    certs = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "omero-ws"
    return {"port": int(site["vars"]["test_omero_ws_port"]), "certs": certs}


def login(site, tmp_path, name, password):
    """omero-py's client at wss://name:https/omero-ws in a private mount namespace; (rc, output)."""
    hosts = tmp_path / "hosts"
    hosts.write_text(f"127.0.0.1 localhost {site['name']} {UNKNOWN}\n")
    url = f"wss://{name}:{site['https']}/omero-ws"
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
         'mount --bind "$0" /etc/hosts && exec "$1" "$2" "$3" root "$4"', str(hosts), sys.executable, str(CLIENT),
         url, password],
        capture_output=True, text=True, timeout=120, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_omero_client_session_through_nginx(host, site, ws, tmp_path):
    with OmeroTestServer(port=ws["port"], transport="wss",
                         tls=(ws["certs"] / "server.pem", ws["certs"] / "server.key")) as server:
        rc, out = login(site, tmp_path, site["name"], server.root_password)
        assert rc == 0, out
        assert server.store.counts["Router.createSession"] == 1  # the stand-in itself answered
    result = json.loads(out.splitlines()[-1])
    assert result["user"] == "root"
    assert f"wss -h {site['name']} -p {site['https']}" in result["router"] and "-r /omero-ws" in result["router"]
    log = host.check_output("cat /var/log/nginx/access.log")
    assert '"GET /omero-ws HTTP/1.1" 101 ' in log  # upgraded to a websocket


def test_wrong_password_refused_by_the_server_not_nginx(site, ws, tmp_path):
    with OmeroTestServer(port=ws["port"], transport="wss",
                         tls=(ws["certs"] / "server.pem", ws["certs"] / "server.key")) as server:
        rc, out = login(site, tmp_path, site["name"], "not-the-password")
        assert server.store.counts["Router.createSession"] == 1
    assert rc != 0 and "PermissionDeniedException" in out, out


def test_a_server_certificate_nginx_does_not_trust_is_refused(host, site, ws, tmp_path):
    # Same name and subject as the pinned one (localhost, OMERO.server), another key.
    with OmeroTestServer(port=ws["port"], transport="wss",
                         tls=(ws["certs"] / "other.pem", ws["certs"] / "other.key")) as server:
        rc, out = login(site, tmp_path, site["name"], server.root_password)
        assert server.store.counts["Router.createSession"] == 0
    assert rc != 0, out
    errors = host.check_output("cat /var/log/nginx/error.log")
    assert "upstream SSL certificate verify error" in errors


def test_unknown_name_gets_no_websocket(site, ws, tmp_path):
    with OmeroTestServer(port=ws["port"], transport="wss",
                         tls=(ws["certs"] / "server.pem", ws["certs"] / "server.key")) as server:
        rc, out = login(site, tmp_path, UNKNOWN, server.root_password)
        assert server.store.counts["Router.createSession"] == 0
    assert rc != 0, out


def test_websocket_location_keeps_connections_open_and_verifies(host, site, ws):
    conf = host.check_output("cat /etc/nginx/sites-enabled/omero-web.conf")
    block = conf[conf.index("location = /omero-ws {"):]
    block = block[:block.index("}")]
    timeout = int(site["vars"]["nginx_omero_websocket_timeout"])
    for line in ("proxy_http_version 1.1;", "proxy_set_header Upgrade $http_upgrade;",
                 'proxy_set_header Connection "upgrade";', f"proxy_read_timeout {timeout}s;",
                 f"proxy_send_timeout {timeout}s;", "proxy_ssl_verify on;", "proxy_ssl_name localhost;"):
        assert line in block, (line, block)


def test_no_websocket_location_when_off(host, site):
    if site["vars"].get("nginx_omero_websocket_servers"):
        pytest.skip("this platform proxies OMERO's websockets (the tests above)")
    conf = host.check_output("cat /etc/nginx/sites-enabled/omero-web.conf")
    assert "omero-ws" not in conf and "omero_websocket" not in conf
