"""The multi-host topology: firewall, encrypted links, shared sessions, host keys, site-wide preflight.

Traffic goes only between the scenario's containers and from the controller to them (their own bridge
network). A connection that must fail is tried only against a port where a service listens (checked first),
so the failure is the firewall's, not a missing service.
"""
import json
import os
import pathlib
import re
import shlex
import socket
import subprocess

import pytest
from inventory_vars import inventory_var
from polling import wait_for

ADDRESS = {"mh-db": "172.31.213.11", "mh-server": "172.31.213.12", "mh-web1": "172.31.213.21",
           "mh-web2": "172.31.213.22", "mh-proxy": "172.31.213.30"}
NAME = "omero.multihost.test"
EPHEMERAL = pathlib.Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
REPO = pathlib.Path(__file__).resolve().parents[3]

PROBE = ("import socket,sys\n"
         "s=socket.socket();s.settimeout(3)\n"
         "try:\n s.connect((sys.argv[1],int(sys.argv[2])));print('open')\n"
         "except TimeoutError:print('dropped')\n"
         "except ConnectionRefusedError:print('refused')\n"
         "except OSError as e:print('error',e)")


def connect_from(src, address, port):
    """'open', 'dropped' (no answer: the firewall's drop), 'refused' or 'error ...' from a test host."""
    return src.check_output(f"python3 -c {shlex.quote(PROBE)} {address} {port}").strip()


def connect_from_controller(address, port):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((address, port))
        return "open"
    except TimeoutError:
        return "dropped"
    except ConnectionRefusedError:
        return "refused"
    finally:
        s.close()


def listening(host, port):
    return any(f":{port} " in line for line in host.check_output("ss -Hltn").splitlines())


@pytest.fixture(scope="module")
def glacier2_probes(hosts):
    """No OMERO.server artifact here: stand-in listeners on 4064 (SSL) and 4063 (plain), 90 s at most."""
    server = hosts["mh-server"]
    for port in (4064, 4063):
        server.run(f"systemd-run --unit probe-{port} -p RuntimeMaxSec=90 python3 -c "
                   f"\"import socket;s=socket.create_server(('0.0.0.0',{port}));[s.accept() for _ in range(50)]\"")
    assert wait_for(lambda: listening(server, 4064) and listening(server, 4063), timeout=15)
    yield server
    for port in (4064, 4063):
        server.run(f"systemctl stop probe-{port}")


# --- firewall: what must pass, what must not --------------------------------------------------------

ALLOWED = [
    ("mh-server", "mh-db", 5432),   # PostgreSQL from the OMERO.server host
    ("mh-web1", "mh-db", 6380),     # sessions' Redis from the OMERO.web hosts
    ("mh-web2", "mh-db", 6380),
    ("mh-proxy", "mh-web1", 443),   # the nginx host to each OMERO.web host
    ("mh-proxy", "mh-web2", 443),
]
DENIED = [
    ("mh-web1", "mh-db", 5432),     # PostgreSQL: only the server hosts
    ("mh-proxy", "mh-db", 5432),
    ("mh-server", "mh-db", 6380),   # Redis: only the OMERO.web hosts
    ("mh-server", "mh-web1", 443),  # an OMERO.web host's nginx: only the nginx host
    ("mh-web2", "mh-web1", 443),
    ("mh-web1", "mh-db", 22),       # SSH: only the admin network
    ("mh-proxy", "mh-server", 22),
]


@pytest.mark.parametrize("src,dst,port", ALLOWED, ids=[f"{s}->{d}:{p}" for s, d, p in ALLOWED])
def test_allowed_between_hosts(hosts, src, dst, port):
    assert connect_from(hosts[src], ADDRESS[dst], port) == "open"


@pytest.mark.parametrize("src,dst,port", DENIED, ids=[f"{s}->{d}:{p}" for s, d, p in DENIED])
def test_denied_between_hosts(hosts, src, dst, port):
    assert listening(hosts[dst], port), f"nothing listens on {dst}:{port}: the check would prove nothing"
    assert connect_from(hosts[src], ADDRESS[dst], port) == "dropped"


def test_glacier2_ssl_open_plain_closed(hosts, glacier2_probes):
    # 4064 (SSL) is public; 4063 (plain) is open only where the inventory says so (not here).
    assert connect_from(hosts["mh-web1"], ADDRESS["mh-server"], 4064) == "open"
    assert connect_from_controller(ADDRESS["mh-server"], 4064) == "open"
    assert connect_from(hosts["mh-web1"], ADDRESS["mh-server"], 4063) == "dropped"
    assert connect_from_controller(ADDRESS["mh-server"], 4063) == "dropped"


def test_from_outside(hosts):
    # The controller stands for the outside world and the admin network (the gateway address).
    assert connect_from_controller(ADDRESS["mh-proxy"], 443) == "open"
    assert connect_from_controller(ADDRESS["mh-proxy"], 80) == "open"
    for name, address in ADDRESS.items():
        assert connect_from_controller(address, 22) == "open", name
    for dst, port in [("mh-db", 5432), ("mh-db", 6380), ("mh-web1", 443)]:
        assert listening(hosts[dst], port)
        assert connect_from_controller(ADDRESS[dst], port) == "dropped", f"{dst}:{port}"


def test_default_policy_is_drop(hosts):
    for name, h in hosts.items():
        ruleset = h.check_output("nft list chain inet omero_deploy input")
        assert re.search(r"policy drop", ruleset), name


# --- encrypted links ----------------------------------------------------------------------------------

def psql(server, password, sslmode):
    return server.run(
        f"PGPASSWORD='{password}' PGSSLMODE={sslmode} PGSSLROOTCERT=/opt/omero/server/database-server.crt "
        f"psql -h {ADDRESS['mh-db']} -U omero -d omero -tAc "
        "'SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()'")


def test_postgresql_only_over_verified_tls(hosts):
    server = hosts["mh-server"]
    password = inventory_var(server, "postgresql_omero_password")
    ok = psql(server, password, "verify-full")
    assert ok.rc == 0, ok.stderr
    assert ok.stdout.strip().startswith("t|TLSv1."), ok.stdout
    clear = psql(server, password, "disable")
    assert clear.rc != 0 and "no encryption" in clear.stderr
    hba = hosts["mh-db"].check_output("cat /etc/postgresql/15/main/pg_hba.conf")
    assert re.search(rf"^hostssl\s+omero\s+omero\s+{ADDRESS['mh-server']}/32\s+scram-sha-256", hba, re.MULTILINE)
    assert not re.search(rf"^host\s+.*{ADDRESS['mh-server']}", hba, re.MULTILINE)


def test_omero_server_uses_tls_to_the_database(hosts):
    config = hosts["mh-server"].check_output("cat /opt/omero/server/config/00-omero-deploy.omero")
    assert "jdbc:postgresql://172.31.213.11:5432/omero?sslmode=verify-full" in config
    assert re.search(r"^config set -- omero.client.icetransports ssl,wss$", config, re.MULTILINE)


@pytest.mark.parametrize("web", ["mh-web1", "mh-web2"])
def test_web_to_server_over_ssl_only(hosts, web):
    get = "cd /opt/omero/web && sudo -u omero-web OMERODIR=/opt/omero/web/OMERO.web /opt/omero/web/venv3/bin/omero config get"
    h = hosts[web]
    assert h.check_output(f"{get} omero.web.secure") == "true"
    assert h.check_output(f"{get} omero.web.server_list") == '[["mh-server", 4064, "omero"]]'


@pytest.mark.parametrize("web", ["mh-web1", "mh-web2"])
def test_redis_tls_verified_with_the_pinned_certificate(hosts, web):
    h = hosts[web]
    target = f"{ADDRESS['mh-db']}:6380"
    pinned = h.run(f"openssl s_client -connect {target} -CAfile /opt/omero/web/web-sessions.crt "
                   f"-verify_ip {ADDRESS['mh-db']} -verify_return_error </dev/null")
    assert pinned.rc == 0 and "Verify return code: 0 (ok)" in pinned.stdout
    unpinned = h.run(f"openssl s_client -connect {target} -verify_return_error </dev/null")
    assert unpinned.rc != 0  # not signed by any public CA: only the pinned certificate is trusted
    assert not listening(hosts["mh-db"], 6379)  # no plain-text port


def test_sessions_survive_the_other_web_host(hosts):
    # A session written through mh-web1's OMERO.web settings is read through mh-web2's, and the reverse.
    script = (
        "import os,sys,django;os.environ['DJANGO_SETTINGS_MODULE']='omeroweb.settings';django.setup()\n"
        "from importlib import import_module;from django.conf import settings\n"
        "S=import_module(settings.SESSION_ENGINE).SessionStore\n"
        "if sys.argv[1]=='write':\n s=S();s['probe']=sys.argv[2];s.save();print(s.session_key)\n"
        "else:\n print(S(session_key=sys.argv[2]).get('probe'))")
    run = ("cd /opt/omero/web && sudo -u omero-web OMERODIR=/opt/omero/web/OMERO.web "
           f"/opt/omero/web/venv3/bin/python -c {shlex.quote(script)}")
    for writer, reader in [("mh-web1", "mh-web2"), ("mh-web2", "mh-web1")]:
        value = f"written-by-{writer}"
        key = hosts[writer].check_output(f"{run} write {value}").strip().splitlines()[-1]
        assert hosts[reader].check_output(f"{run} read {key}").strip().splitlines()[-1] == value


# --- the nginx host in front of two OMERO.web hosts -----------------------------------------------------

def curl_proxy(path="/webclient/login/", name=NAME, extra=""):
    ca = EPHEMERAL / "proxy-ca.pem"
    return subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "20", "--cacert", str(ca), "--resolve",
         f"{name}:443:{ADDRESS['mh-proxy']}", "-o", "/dev/null", "-w", "%{http_code}", *extra.split(),
         f"https://{name}{path}"], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def proxy_ca(hosts):
    (EPHEMERAL / "proxy-ca.pem").write_text(hosts["mh-proxy"].file("/etc/nginx/tls/ca.pem").content_string)


def test_login_page_through_the_proxy_from_both_web_hosts(hosts, proxy_ca):
    def served(name):
        return int(hosts[name].check_output("grep -c 'GET /webclient/login/' /var/log/nginx/access.log || true") or 0)
    before = {n: served(n) for n in ("mh-web1", "mh-web2")}
    for _ in range(8):  # bounded: round robin over two upstreams
        res = curl_proxy()
        assert res.stdout == "200", res.stderr
    after = {n: served(n) for n in ("mh-web1", "mh-web2")}
    assert all(after[n] > before[n] for n in after), (before, after)


def test_unknown_host_name_gets_nothing(proxy_ca):
    res = curl_proxy(name="not-omero.multihost.test", extra="--insecure")
    assert res.returncode != 0 and res.stdout in ("000", "")


# --- SSH host keys --------------------------------------------------------------------------------------

def test_ssh_refuses_a_host_whose_key_is_not_the_known_one(tmp_path):
    known = (EPHEMERAL / "known_hosts").read_text().splitlines()
    keys = {line.split()[0]: line.split(None, 1)[1] for line in known if line.strip()}
    # mh-web1's address paired with mh-db's key: what an impostor at that address would look like.
    (tmp_path / "known_hosts").write_text(f"{ADDRESS['mh-web1']} {keys[ADDRESS['mh-db']]}\n")
    args = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=5",
            "-o", f"IdentityFile={EPHEMERAL / 'id_ed25519'}", "-o", "IdentitiesOnly=yes"]
    bad = subprocess.run(args + ["-o", f"UserKnownHostsFile={tmp_path / 'known_hosts'}",
                                 f"root@{ADDRESS['mh-web1']}", "true"], capture_output=True, text=True, check=False)
    assert bad.returncode == 255 and "REMOTE HOST IDENTIFICATION HAS CHANGED" in bad.stderr
    good = subprocess.run(args + ["-o", f"UserKnownHostsFile={EPHEMERAL / 'known_hosts'}",
                                  f"root@{ADDRESS['mh-web1']}", "true"], capture_output=True, text=True, check=False)
    assert good.returncode == 0, good.stderr


def test_repository_checks_host_keys():
    cfg = (REPO / "ansible.cfg").read_text()
    assert re.search(r"^host_key_checking = true$", cfg, re.MULTILINE)


# --- site.yml refuses a weak secret before any host changes (run by prepare.yml on untouched hosts) --------

def weak_run():
    return json.loads((EPHEMERAL / "weak-secret-run.json").read_text())


def test_weak_secret_stops_site_in_its_first_play():
    run = weak_run()
    out = re.sub(r"\x1b\[[0-9;]*m", "", run["stdout"] + run["stderr"])  # molecule may force colours
    assert run["rc"] != 0
    assert "governance_omero_password is refused" in out
    assert "omero-admin-2026" not in out  # the value is never printed
    plays = [p for p in re.findall(r"^PLAY \[(.*)\]", out, re.MULTILINE) if p != "PLAY RECAP"]
    # Only preflight.yml's plays (one per service playbook, then the one that stops every host) started.
    assert plays and all(p.startswith("Check every role") for p in plays), plays
    recap = re.findall(r"^(mh-\S+)\s*:\s*ok=\d+\s+changed=(\d+)", out, re.MULTILINE)
    assert sorted(h for h, _ in recap) == sorted(ADDRESS)
    assert all(changed == "0" for _, changed in recap), recap


@pytest.mark.parametrize("name", sorted(ADDRESS))
def test_weak_secret_run_installed_nothing(name):
    lines = (EPHEMERAL / f"after-weak-run-{name}.txt").read_text().splitlines()
    assert lines and lines[0].startswith(f"# {name}:")  # the record exists
    assert [line for line in lines[1:] if line.strip()] == []
