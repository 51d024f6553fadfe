"""OMERO.server: what runs without the artifacts is checked for function; the server itself when given.

Without OMERO_SERVER_ZIP / OMERO_ICE_RUNTIME (paths on the controller), the artifact tests skip with that
reason. With them, the server must be installed, running, and root must log in with the vault password.
"""
import json
import os
import shlex

import pytest
from inventory_vars import inventory_var

BASE = "/opt/omero/server"
VENV = f"{BASE}/venv3"
CONFIG = f"{BASE}/config"
ARTIFACTS_GIVEN = bool(os.environ.get("OMERO_SERVER_ZIP") and os.environ.get("OMERO_ICE_RUNTIME"))
NO_ARTIFACT = (
    "no OMERO.server artifacts: set OMERO_SERVER_ZIP (OMERO.server-5.6.17-ice36.zip) and OMERO_ICE_RUNTIME "
    "(Ice 3.6 runtime tarball), paths on the controller, to install and test the running server"
)
needs_artifacts = pytest.mark.skipif(not ARTIFACTS_GIVEN, reason=NO_ARTIFACT)
JAVA_MAJOR = {"12": "17", "13": "21"}


@pytest.fixture(scope="module")
def ports(host):
    return {
        "db": int(inventory_var(host, "postgresql_port")),
        "registry": int(inventory_var(host, "omero_server_registry_port")),
        "tcp": int(inventory_var(host, "omero_server_glacier2_port")),
        "ssl": int(inventory_var(host, "omero_server_glacier2_ssl_port")),
    }


@pytest.fixture(scope="module")
def local_fact(host):
    return json.loads(host.file("/etc/ansible/facts.d/omero_server.fact").content_string)


# --- Steps that need no artifact -------------------------------------------------------------------

def test_java_runtime(host):
    major = host.system_info.release.split(".")[0]
    out = host.run("java -version")
    assert out.rc == 0, out.stderr
    assert f'version "{JAVA_MAJOR[major]}.' in out.stderr


def test_venv_imports_omero_clients(host):
    out = host.check_output(
        f"{VENV}/bin/python -c 'import Ice, omero, omero.clients; print(Ice.stringVersion(), omero.clients.BaseClient.__name__)'"
    )
    assert out.split() == ["3.6.5", "BaseClient"]


def test_venv_has_the_pinned_packages(host):
    out = host.check_output(f"{VENV}/bin/python -m pip list --format=json")
    versions = {p["name"].lower(): p["version"] for p in json.loads(out)}
    assert versions.get("omero-py") == "5.23.0"
    assert versions.get("omero-certificates") == "0.4.0"


def test_system_user(host):
    user = host.user("omero-server")
    assert user.exists
    assert user.uid < 1000
    assert user.home == BASE
    assert user.shell == "/usr/sbin/nologin"


@pytest.mark.parametrize("path,owner,group,mode", [
    (BASE, "root", "root", 0o755),
    (CONFIG, "root", "omero-server", 0o750),
    (f"{CONFIG}/00-omero-deploy.omero", "root", "omero-server", 0o640),
    (f"{CONFIG}/10-db-password.omero", "omero-server", "omero-server", 0o600),
    ("/OMERO", "omero-server", "omero-server", 0o750),
])
def test_paths_and_modes(host, path, owner, group, mode):
    f = host.file(path)
    assert f.exists, path
    assert (f.user, f.group, f.mode) == (owner, group, mode)


def test_settings_file_has_no_password(host, ports):
    content = host.file(f"{CONFIG}/00-omero-deploy.omero").content_string
    assert "omero.db.pass" not in content
    assert f"config set -- omero.db.port {ports['db']}" in content
    assert f"config set -- omero.ports.ssl {ports['ssl']}" in content


def test_config_files_load_into_an_omero_config(host, ports):
    # What ExecStartPre does at every start, run against a scratch OMERODIR as the service user
    # (proves the files parse and that omero-server can read the 0600 password file).
    password = inventory_var(host, "postgresql_omero_password")
    scratch = "/tmp/omerodir-test"
    host.check_output(f"rm -rf {scratch} && install -d -o omero-server -g omero-server {scratch}/etc/grid")
    omero = f"runuser -u omero-server -- env OMERODIR={scratch} HOME=/tmp {VENV}/bin/omero"
    res = host.run(f"{omero} load --glob '{CONFIG}/*.omero'")
    assert res.rc == 0, res.stderr
    got = {}
    for key in ("omero.db.port", "omero.db.user", "omero.data.dir", "omero.ports.ssl", "omero.ports.registry",
                "omero.jvmcfg.heap_size.blitz", "omero.db.pass"):
        got[key] = host.check_output(f"{omero} config get {key}").strip()
    assert got["omero.db.port"] == str(ports["db"])
    assert got["omero.db.user"] == "omero"
    assert got["omero.data.dir"] == "/OMERO"
    assert got["omero.ports.ssl"] == str(ports["ssl"])
    assert got["omero.ports.registry"] == str(ports["registry"])
    assert got["omero.jvmcfg.heap_size.blitz"] == "1G"
    assert got["omero.db.pass"] == password


def test_rendered_config_holds_the_production_settings(host):
    # Loaded as ExecStartPre loads them (scratch OMERODIR): the pool size and the other settings of issue 20.
    scratch = "/tmp/omerodir-tuning"
    host.check_output(f"rm -rf {scratch} && install -d -o omero-server -g omero-server {scratch}/etc/grid")
    omero = f"runuser -u omero-server -- env OMERODIR={scratch} HOME=/tmp {VENV}/bin/omero"
    res = host.run(f"{omero} load --glob '{CONFIG}/*.omero'")
    assert res.rc == 0, res.stderr

    def get(key):
        return host.check_output(f"{omero} config get {key}").strip()

    assert get("omero.db.poolsize") == str(inventory_var(host, "omero_server_db_poolsize")) == "20"
    # Two script processors in the single node, the rest as omero-py's admin rewrite lays it out by default.
    assert get("omero.server.nodedescriptors") == (
        "master:Blitz-0,Indexer-0,DropBox,MonitorServer,FileServer,Storm,PixelData-0,Processor-0,Processor-1,"
        "Tables-0,TestDropBox")
    # omero-py's own rewrite of default.xml's master node (what `omero admin start` does) makes two processors.
    layout = host.check_output(
        f"{VENV}/bin/python -c 'import sys; from omero.util._process_defaultxml import _process_xml; "
        "print(_process_xml(\"<node name=\\\"master\\\"><server-instance template=\\\"Glacier2Template\\\"/></node>\", sys.argv[1]))' "
        f"{get('omero.server.nodedescriptors')}")
    assert layout.count('template="ProcessorTemplate"') == 2 and 'index="1"' in layout, layout
    assert get("omero.policy.binary_access") == "+read,+write,+image,-plate"
    assert get("omero.jvmcfg.append.blitz") == "-Xss2m"
    assert get("omero.glacier2.IceSSL.Protocols") == "TLS1_2,TLS1_3"
    assert get("omero.glacier2.IceSSL.ProtocolVersionMin") == "TLS1_2"
    assert get("omero.glacier2.IceSSL.ProtocolVersionMax") == "TLS1_3"
    assert get("omero.glacier2.IceSSL.Ciphers") == "HIGH"
    assert get("omero.glacier2.IceSSL.CertFile") == "server.p12"  # omero-certificates' self-signed one


def test_systemd_unit_is_valid(host):
    res = host.run("systemd-analyze verify /etc/systemd/system/omero-server.service")
    assert res.rc == 0, res.stderr
    assert "omero-server.service" not in res.stderr, res.stderr


def test_systemd_unit_settings(host):
    out = host.check_output("systemctl show omero-server -p Restart -p User -p Type -p LoadState")
    props = dict(line.split("=", 1) for line in out.splitlines())
    assert props == {"Restart": "on-failure", "User": "omero-server", "Type": "forking", "LoadState": "loaded"}


def omero_sql(host, ports, sql):
    """Run one SQL statement as the omero role over TCP on loopback, with the server's credentials."""
    password = inventory_var(host, "postgresql_omero_password")
    return host.run(
        f"PGPASSWORD={shlex.quote(password)} psql -X -A -t 'host=127.0.0.1 port={ports['db']} user=omero dbname=omero' "
        f"-c {shlex.quote(sql)}"
    )


def test_database_login_for_the_server(host, ports):
    # The credentials the server will use work over TCP on loopback.
    res = omero_sql(host, ports, "select current_user")
    assert res.rc == 0, res.stderr
    assert res.stdout.strip() == "omero"


def test_installed_fact_matches_the_artifacts(local_fact):
    assert local_fact["installed"] is ARTIFACTS_GIVEN


# --- Steps that need the artifacts -----------------------------------------------------------------

@needs_artifacts
def test_versioned_directory_and_current_link(host):
    link = host.file(f"{BASE}/OMERO.current")
    assert link.is_symlink
    assert link.linked_to == f"{BASE}/OMERO.server-5.6.17-ice36"
    assert host.file(f"{BASE}/OMERO.server-5.6.17-ice36/etc/grid/templates.xml").exists


@needs_artifacts
def test_server_running_and_listening(host, ports):
    assert host.service("omero-server").is_running
    assert host.service("omero-server").is_enabled
    # Host network: ss sees every socket of the machine, so filter on this platform's ports.
    for port in (ports["tcp"], ports["ssl"]):
        assert host.check_output(f"ss -ltnH 'sport = :{port}'").strip(), f"nothing listens on {port}"


@needs_artifacts
def test_omero_login_as_root(host, ports):
    # omero login takes the password from OMERO_PASSWORD when there is no terminal: never from argv.
    password = inventory_var(host, "omero_server_root_password")
    omero = f"runuser -u omero-server -- env HOME=/tmp/omero-test-home {VENV}/bin/omero"
    host.check_output("install -d -o omero-server -g omero-server /tmp/omero-test-home")
    res = host.run(
        f"OMERO_PASSWORD={shlex.quote(password)} runuser -u omero-server -w OMERO_PASSWORD -- "
        f"env HOME=/tmp/omero-test-home {VENV}/bin/omero login -s 127.0.0.1 -p {ports['ssl']} -u root"
    )
    assert res.rc == 0, res.stderr
    who = host.run(f"{omero} user info")
    assert who.rc == 0, who.stderr
    assert "root" in who.stdout
    host.run(f"{omero} logout")


@needs_artifacts
def test_root_wrong_password_is_refused(host, ports):
    res = host.run(
        f"printf 'wrong-password\\n' | {VENV}/bin/python {BASE}/bin/omero-check-login.py 127.0.0.1 {ports['ssl']} root"
    )
    assert res.rc == 1
    assert "login as root failed" in res.stderr


@needs_artifacts
def test_schema_initialised(host, ports):
    res = omero_sql(host, ports, "select currentversion from dbpatch order by id desc limit 1")
    assert res.rc == 0, res.stderr
    assert res.stdout.strip().startswith("OMERO5.4")


def test_certificate_is_signed_only_when_missing_or_near_expiry(host):
    # The unit's own guard around `omero certificates` (ExecStartPre), run as the service user against a scratch
    # OMERODIR and certificate folder: a restart must keep the certificate that nginx's /omero-ws proxy pins.
    unit = host.file("/etc/systemd/system/omero-server.service").content_string
    guard = next(line.removeprefix("ExecStartPre=") for line in unit.splitlines()
                 if line.startswith("ExecStartPre=/bin/sh -c") and "omero certificates" in line)
    scratch = "/tmp/omerodir-certs"
    certs = f"{scratch}/data/certs"
    command = guard.replace("/OMERO/certs/", f"{certs}/")  # the unit's certificate folder, here the scratch one
    assert command != guard
    run = f"cd /tmp && runuser -u omero-server -- env OMERODIR={scratch} HOME=/tmp PATH={VENV}/bin:/usr/bin:/bin "
    host.check_output(f"rm -rf {scratch} && install -d -o omero-server -g omero-server {scratch}/etc/grid {scratch}/data")
    try:
        assert host.run(f"{run} {VENV}/bin/omero config set omero.data.dir {scratch}/data").rc == 0

        def fingerprint():
            return host.check_output(f"openssl x509 -noout -fingerprint -sha256 -in {certs}/server.pem")

        res = host.run(run + command)
        assert res.rc == 0, res.stderr
        first = fingerprint()
        assert host.file(f"{certs}/server.p12").size > 0
        assert host.run(run + command).rc == 0
        assert fingerprint() == first  # valid for more than the renewal window: kept
        # A certificate within the window (1 day left, same key): the next start signs a new one.
        host.check_output(f"runuser -u omero-server -- openssl req -new -x509 -days 1 -subj /CN=expiring "
                          f"-key {certs}/server.key -out {certs}/server.pem")
        assert host.run(run + command).rc == 0
        renewed = fingerprint()
        assert renewed not in (first, "")
        assert host.run(f"openssl x509 -checkend 864000 -noout -in {certs}/server.pem").rc == 0
    finally:
        host.run(f"rm -rf {scratch}")


@needs_artifacts
def test_glacier2_certificates(host):
    assert host.file("/OMERO/certs/server.p12").exists


def test_pg_hba_admits_exactly_the_other_server_hosts(host):
    # Each database's pg_hba.conf carries one hostssl scram-sha-256 rule (TLS only) per other host of the
    # inventory's omero_server group (no traffic is sent to those addresses) and none for itself (it uses loopback).
    # With both platforms that is the other platform; with one (--platform-name), none at all.
    me = host.backend.get_hostname()
    others = sorted(h for h in host.ansible.get_variables()["groups"]["omero_server"] if h != me)
    version = host.check_output("pg_lsclusters -h").split()[0]
    lines = host.file(f"/etc/postgresql/{version}/main/pg_hba.conf").content_string.splitlines()
    marked = sorted(line.removeprefix("# OMERO.server host ") for line in lines if line.startswith("# OMERO.server host "))
    assert marked == others
    for other in others:
        rule = lines[lines.index(f"# OMERO.server host {other}") + 1].split()
        assert rule[:3] == ["hostssl", "omero", "omero"] and rule[-1] == "scram-sha-256", rule


def test_max_connections_holds_every_pool(host, ports):
    # Blitz, Indexer and PixelData each open omero.db.poolsize connections; with the monitoring exporter, the
    # spare and the superuser-reserved ones they fit the running cluster's max_connections (the preflight's sum).
    pool = int(inventory_var(host, "omero_server_db_poolsize"))
    res = omero_sql(host, ports, "select current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int")
    assert res.rc == 0, res.stderr
    assert 3 * pool + 1 + 5 <= int(res.stdout.strip())
