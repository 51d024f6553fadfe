"""Where role nginx proxies OMERO's websockets by default (nginx_omero_websocket_servers and its trusted
certificate, from the role's own defaults): on the hosts that serve the public name (web_proxy, else omero_web),
towards the omero_server hosts that published their certificate (role omero_server's facts.yml)."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = pathlib.Path(sys.executable).with_name("ansible-playbook")
if not PLAYBOOK_BIN.exists():
    pytest.skip(f"ansible-playbook not found next to {sys.executable}", allow_module_level=True)
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"


def defaults_on_each_host(tmp_path, inventory):
    """{host: [servers, trusted certificate]} as the role's defaults give them."""
    (tmp_path / "hosts.yml").write_text(json.dumps(inventory))
    play = [{"name": "Read", "hosts": "all", "gather_facts": False,
             "vars_files": [str(ROOT / "roles/nginx/defaults/main.yml")],
             "tasks": [{"name": "Write", "delegate_to": "localhost", "ansible.builtin.copy": {
                 "content": "{{ [nginx_omero_websocket_servers, nginx_omero_websocket_trusted_certificate] | to_json }}",
                 "dest": str(tmp_path) + "/{{ inventory_hostname }}.json", "mode": "0644"}}]}]
    (tmp_path / "play.yml").write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([str(PLAYBOOK_BIN), "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "play.yml")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}


def test_split_site_the_proxy_serves_them(tmp_path):
    got = defaults_on_each_host(tmp_path, {"all": {"vars": LOCAL, "children": {
        "omero_server": {"hosts": {"srv1": {"ansible_host": "10.0.0.21", "omero_server_websocket_certificate": PEM,
                                            "omero_server_websocket_ssl_port": 14066},
                                   "srv2": {"ansible_host": "10.0.0.22"}}},  # not started yet: no certificate
        "omero_web": {"hosts": {"web1": {}, "web2": {}}},
        "web_proxy": {"hosts": {"proxy1": {}}}}}})
    assert got["proxy1"] == [[{"host": "10.0.0.21", "port": 14066}], PEM]
    assert got["web1"][0] == [] and got["web2"][0] == []  # behind the proxy: not the public name
    assert got["srv1"][0] == []


def test_single_host_proxies_to_loopback_and_off_without_a_server(tmp_path):
    aio = {"omero_server_websocket_certificate": PEM}
    got = defaults_on_each_host(tmp_path, {"all": {"vars": LOCAL, "children": {
        "omero_server": {"hosts": {"aio": aio}}, "omero_web": {"hosts": {"aio": {}}}}}})
    assert got["aio"] == [[{"host": "127.0.0.1", "port": 4066}], PEM]
    (tmp_path / "alone").mkdir()
    alone = defaults_on_each_host(tmp_path / "alone", {"all": {"vars": LOCAL, "children": {
        "omero_web": {"hosts": {"web1": {}}}}}})
    assert alone["web1"] == [[], ""]
