"""The firewall role's rules for sample multi-host inventories, and its refusals.

The rules are rendered by the role's own defaults, vars and template (a throwaway role in a temporary folder
links them and holds only the template task), with connection local into a temporary folder: nothing is ever
loaded, and no nft runs on this machine. The rendered files' syntax is checked by `nft -c -f` inside a
throwaway container on a bridge network this test creates (skipped, with the reason, without Docker or the
project's base image). The preflight tests run the role's real preflight against localhost (read-only).
"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "firewall"
PLAYBOOK_BIN = pathlib.Path(sys.executable).with_name("ansible-playbook")
if not PLAYBOOK_BIN.exists():
    pytest.skip(f"ansible-playbook not found next to {sys.executable}", allow_module_level=True)
IMAGE = os.environ.get("OMERO_DEPLOY_FIREWALL_TEST_IMAGE", "omero-deploy/debian12")

ADMIN = ["192.0.2.0/24", "2001:db8:a::/48"]
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}

# Split topology: database, OMERO.server (dual stack, firewall_addresses), two OMERO.web behind a proxy, the
# session store, monitoring, backup on the database host; one extra rule by group name and CIDR.
SPLIT = {"all": {
    "vars": {**LOCAL, "firewall_admin_networks": ADMIN,
             "firewall_extra_rules": [{"port": 8443, "sources": ["monitoring", "198.51.100.7"], "comment": "reporting"}]},
    "children": {
        "database": {"hosts": {"db1": {"ansible_host": "10.10.0.11"}}},
        "omero_server": {"hosts": {"srv1": {"ansible_host": "srv1.example.org",
                                            "firewall_addresses": ["10.10.0.21", "2001:db8::21"]}}},
        "omero_web": {"hosts": {"web1": {"ansible_host": "10.10.0.31"}, "web2": {"ansible_host": "10.10.0.32"}}},
        "web_proxy": {"hosts": {"proxy1": {"ansible_host": "10.10.0.41"}}},
        "web_sessions": {"hosts": {"redis1": {"ansible_host": "10.10.0.51"}}},
        "monitoring": {"hosts": {"mon1": {"ansible_host": "10.10.0.61"}}},
        "backup": {"hosts": {"db1": {}}},
    }}}

# Small topology: database + server + backup on one host, one OMERO.web without a proxy, no monitoring; the
# plain Glacier2 port opened, the former omero_server_firewall_sources still set, service ports moved.
SMALL = {"all": {
    "vars": {**LOCAL, "firewall_admin_networks": ["192.0.2.10"], "postgresql_port": 15432,
             "nginx_https_port": 8443, "omero_server_glacier2_ssl_port": 14064},
    "children": {
        "database": {"hosts": {"aio": {"ansible_host": "10.20.0.1"}}},
        "omero_server": {"hosts": {"aio": {}},
                         "vars": {"firewall_omero_plain_port_open": True,
                                  "omero_server_firewall_sources": ["203.0.113.0/24"]}},
        "omero_web": {"hosts": {"web1": {"ansible_host": "10.20.0.2"}}},
        "backup": {"hosts": {"aio": {}}},
    }}}


def _ansible(tmp_path, inventory, playbook, extra_env=None):
    (tmp_path / "hosts.yml").write_text(json.dumps(inventory))
    (tmp_path / "play.yml").write_text(json.dumps(playbook))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_ROLES_PATH=str(tmp_path / "roles"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0")
    env.update(extra_env or {})
    return subprocess.run([str(PLAYBOOK_BIN), "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "play.yml")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)


def render(tmp_path, inventory):
    """Every host's /etc/nftables.conf as the role writes it, rendered into tmp_path/out/<host>.nft."""
    role = tmp_path / "roles" / "firewall_render"
    (role / "tasks").mkdir(parents=True)
    for part in ("defaults", "vars", "templates"):
        (role / part).symlink_to(ROLE / part)
    (role / "tasks" / "main.yml").write_text(json.dumps([{"name": "Render", "ansible.builtin.template": {
        "src": "nftables.conf.j2", "dest": str(tmp_path / "out") + "/{{ inventory_hostname }}.nft", "mode": "0644"}}]))
    (tmp_path / "out").mkdir()
    proc = _ansible(tmp_path, inventory, [{"name": "Render", "hosts": "all", "gather_facts": False,
                                           "roles": ["firewall_render"]}])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {p.stem: p.read_text() for p in (tmp_path / "out").glob("*.nft")}


def parse(text):
    """The input chain's service rules: {(proto, port): None (anywhere) or the set of source networks}."""
    sets = {name: {e.strip() for e in body.split(",")}
            for name, body in re.findall(r"set (\w+) \{[^}]*?elements = \{ ([^}]*) \}", text)}
    chain = re.search(r"chain input \{(.*?)\n\t\}", text, re.DOTALL).group(1)
    rules = {}
    for proto, ports, source in re.findall(
            r"^\t\t(tcp|udp) dport (\{ [^}]+ \}|\S+)(?: ip6? saddr @(\w+))? counter accept$", chain, re.MULTILINE):
        for port in ports.strip("{} ").split(", "):
            key = (proto, int(port))
            if source is None or source == "":
                rules[key] = None
            elif rules.get(key, set()) is not None:
                rules[key] = rules.get(key, set()) | sets[source]
    return rules


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    return render(tmp_path_factory.mktemp("split"), SPLIT)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return render(tmp_path_factory.mktemp("small"), SMALL)


def test_every_host_gets_a_file(split):
    assert sorted(split) == ["db1", "mon1", "proxy1", "redis1", "srv1", "web1", "web2"]


@pytest.mark.parametrize("host", ["db1", "mon1", "proxy1", "redis1", "srv1", "web1", "web2"])
def test_default_deny_and_only_the_table_of_the_role(split, host):
    text = split[host]
    assert text.startswith("#")  # ansible_managed
    assert "flush ruleset" not in text
    assert re.search(r"table inet omero_deploy\ndelete table inet omero_deploy\n", text)
    assert re.search(r"chain input \{\n\t\ttype filter hook input priority filter; policy drop;", text)
    assert re.search(r"chain forward \{\n\t\ttype filter hook forward priority filter; policy drop;", text)
    assert re.search(r"chain output \{\n\t\ttype filter hook output priority filter; policy accept;", text)
    chain = re.search(r"chain input \{(.*?)\n\t\}", text, re.DOTALL).group(1)
    for line in ('iif "lo" accept', "ct state established,related accept", "ct state invalid drop"):
        assert f"\t\t{line}\n" in chain
    assert re.search(r"icmp type echo-request limit rate 10/second accept", chain)
    assert re.search(r"icmpv6 type \{ nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert \} ip6 hoplimit 255", chain)


# Exactly what each host opens, and to whom (None: anywhere).
SPLIT_EXPECTED = {
    "db1": {5432: {"10.10.0.21", "2001:db8::21"}, 9187: {"10.10.0.61"}, 9100: {"10.10.0.61"}},
    "srv1": {4064: None, 4066: {"10.10.0.41"}, 9100: {"10.10.0.61"}},  # websockets: from the proxy's nginx only
    "web1": {443: {"10.10.0.41"}, 9100: {"10.10.0.61"}},
    "web2": {443: {"10.10.0.41"}, 9100: {"10.10.0.61"}},
    "proxy1": {80: None, 443: None, 9100: {"10.10.0.61"}},
    "redis1": {6380: {"10.10.0.31", "10.10.0.32"}, 9100: {"10.10.0.61"}},
    "mon1": {9090: set(ADMIN), 9093: set(ADMIN), 8443: {"198.51.100.7"}},
}


@pytest.mark.parametrize("host", sorted(SPLIT_EXPECTED))
def test_split_topology_opens_exactly_the_groups_ports(split, host):
    expected = {("tcp", 22): set(ADMIN)}
    expected.update({("tcp", port): sources for port, sources in SPLIT_EXPECTED[host].items()})
    if host != "mon1":  # the extra rule: 8443 from the monitoring group and one address, on every host
        expected[("tcp", 8443)] = {"10.10.0.61", "198.51.100.7"}
    assert parse(split[host]) == expected


def test_postgresql_only_from_the_server_hosts(split):
    for host, text in split.items():
        rules = parse(text)
        if host == "db1":
            assert rules[("tcp", 5432)] == {"10.10.0.21", "2001:db8::21"}
        else:
            assert ("tcp", 5432) not in rules


def test_plain_glacier2_port_closed_unless_opened(split, small):
    assert all(("tcp", 4063) not in parse(text) for text in split.values())
    assert ("tcp", 4063) in parse(small["aio"])


def test_ssh_only_from_the_admin_networks(split, small):
    for text in split.values():
        assert parse(text)[("tcp", 22)] == set(ADMIN)
    for text in small.values():
        assert parse(text)[("tcp", 22)] == {"192.0.2.10"}


def test_web_hosts_behind_a_proxy_accept_https_from_the_proxy_only(split):
    for host in ("web1", "web2"):
        rules = parse(split[host])
        assert rules[("tcp", 443)] == {"10.10.0.41"}
        assert ("tcp", 80) not in rules
    assert parse(split["proxy1"])[("tcp", 80)] is None and parse(split["proxy1"])[("tcp", 443)] is None


def test_web_hosts_open_to_the_proxy_the_ports_its_upstream_servers_name(tmp_path):
    # The proxy balances over the web hosts' OMERO.web port (one named by inventory name, one by address).
    inventory = json.loads(json.dumps(SPLIT))
    inventory["all"]["children"]["web_proxy"]["hosts"]["proxy1"]["nginx_upstream_servers"] = [
        {"host": "web1", "port": 4080}, {"host": "10.10.0.32", "port": 4081}]
    rendered = render(tmp_path, inventory)
    for host, port in (("web1", 4080), ("web2", 4081)):
        rules = parse(rendered[host])
        assert rules[("tcp", port)] == {"10.10.0.41"}
        assert ("tcp", 443) not in rules and ("tcp", 80) not in rules
    assert parse(rendered["proxy1"])[("tcp", 443)] is None


def test_small_topology_union_of_groups_and_the_former_sources(small):
    # aio is database + omero_server + backup: PostgreSQL's only client is itself (loopback), so 15432 is closed;
    # Glacier2 (moved to 14064) and the opened plain port: the former omero_server_firewall_sources + OMERO.web.
    assert parse(small["aio"]) == {
        ("tcp", 22): {"192.0.2.10"},
        ("tcp", 14064): {"203.0.113.0/24", "10.20.0.2"},
        ("tcp", 4063): {"203.0.113.0/24", "10.20.0.2"},
        ("tcp", 4066): {"10.20.0.2"},  # websockets: from OMERO.web's nginx (no proxy) only, whatever the sources
    }
    assert "PostgreSQL from the OMERO.server hosts: no source, closed" in small["aio"]
    # No proxy: OMERO.web's nginx is public on its own ports; no monitoring group: no exporter port.
    assert parse(small["web1"]) == {("tcp", 22): {"192.0.2.10"}, ("tcp", 80): None, ("tcp", 8443): None}


def test_websocket_port_closed_when_the_servers_serve_none(tmp_path):
    inventory = json.loads(json.dumps(SMALL))
    inventory["all"]["children"]["omero_server"]["vars"].update(omero_server_websockets=False,
                                                                omero_server_websocket_ssl_port=14066)
    assert ("tcp", 4066) not in parse(render(tmp_path, inventory)["aio"])
    inventory["all"]["children"]["omero_server"]["vars"]["omero_server_websockets"] = True
    assert parse(render(tmp_path / "on", inventory)["aio"])[("tcp", 14066)] == {"10.20.0.2"}  # follows the port


def test_database_port_follows_the_inventory(tmp_path):
    inventory = json.loads(json.dumps(SMALL))
    inventory["all"]["children"]["omero_server"] = {"hosts": {"srv": {"ansible_host": "10.20.0.3"}}}
    rules = parse(render(tmp_path, inventory)["aio"])
    assert rules[("tcp", 15432)] == {"10.20.0.3"}
    assert ("tcp", 14064) not in rules  # aio is no longer an OMERO.server host


def _docker(*args, timeout=120):
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


def test_rendered_rules_pass_nft_check_in_a_throwaway_container(split, small):
    if shutil.which("docker") is None or _docker("image", "inspect", IMAGE).returncode != 0:
        pytest.skip(f"needs Docker and the image {IMAGE} (make setup) to run nft -c in a container")
    name = f"omero-fw-unit-{uuid.uuid4().hex[:8]}"
    assert _docker("network", "create", name).returncode == 0
    try:
        # Its own bridge network (never the host's): nft -c there checks against that container's kernel state.
        run = _docker("run", "-d", "--rm", "--name", name, "--network", name, "--cap-add", "NET_ADMIN",
                      "--entrypoint", "sleep", IMAGE, "300")
        assert run.returncode == 0, run.stderr
        install = _docker("exec", name, "sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
                          "apt-get install -y -qq --no-install-recommends nftables >/dev/null", timeout=300)
        if install.returncode != 0:
            pytest.skip(f"nftables could not be installed in the container: {install.stderr[-300:]}")
        for host, text in {**{f"split-{h}": t for h, t in split.items()},
                           **{f"small-{h}": t for h, t in small.items()}}.items():
            check = subprocess.run(["docker", "exec", "-i", name, "nft", "-c", "-f", "-"], input=text,
                                   capture_output=True, text=True, timeout=60, check=False)
            assert check.returncode == 0, f"{host}: {check.stderr}"
    finally:
        _docker("rm", "-f", name)
        _docker("network", "rm", name)


def _preflight(tmp_path, inventory):
    (tmp_path / "roles").mkdir()
    (tmp_path / "roles" / "firewall").symlink_to(ROLE)
    return _ansible(tmp_path, inventory, [{
        "name": "Preflight", "hosts": "all", "gather_facts": False,
        "tasks": [{"ansible.builtin.include_role": {"name": "firewall", "tasks_from": "preflight.yml"}}]}])


def test_preflight_refuses_the_controllers_own_network_namespace(tmp_path):
    proc = _preflight(tmp_path, {"all": {"hosts": {"localhost": {**LOCAL, "firewall_admin_networks": ["127.0.0.0/8"]}}}})
    assert proc.returncode != 0
    assert "runs on the controller's kernel in the controller's network namespace" in proc.stdout + proc.stderr


def test_preflight_refuses_ssh_without_admin_networks(tmp_path):
    # The assertion needs no connection: it stops the play before Ansible would even reach the host.
    proc = _preflight(tmp_path, {"all": {"hosts": {"srv": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1"}}}})
    assert proc.returncode != 0
    assert "set firewall_admin_networks to the networks administrators" in proc.stdout + proc.stderr


def test_preflight_names_a_peer_without_address(tmp_path):
    inventory = {"all": {"vars": {"firewall_admin_networks": ["127.0.0.0/8"]}, "children": {
        "database": {"hosts": {"localhost": LOCAL}},
        # No firewall_addresses, no facts, a name as ansible_host, and a connection that cannot reach it.
        "omero_server": {"hosts": {"srv": {"ansible_connection": "community.docker.docker",
                                           "ansible_host": f"omero-fw-absent-{uuid.uuid4().hex[:8]}"}}}}}}
    proc = _preflight(tmp_path, inventory)
    assert proc.returncode != 0
    assert "The rules of localhost name srv, whose address is unknown" in proc.stdout + proc.stderr


def test_preflight_rejects_an_extra_rule_with_an_unknown_source(tmp_path):
    proc = _preflight(tmp_path, {"all": {"hosts": {"localhost": {
        **LOCAL, "firewall_admin_networks": ["127.0.0.0/8"],
        "firewall_extra_rules": [{"port": 8080, "sources": ["no_such_group"]}]}}}})
    assert proc.returncode != 0
    assert "firewall_extra_rules[0] must have a port" in proc.stdout + proc.stderr
