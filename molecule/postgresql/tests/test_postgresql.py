"""PostgreSQL for OMERO: the omero role logs in with its password over TCP on loopback, nothing else does."""
import shlex

import pytest
from inventory_vars import inventory_var

EXPECTED_MAJOR = {"12": "15", "13": "17"}


@pytest.fixture(scope="module")
def pg(host):
    return {
        "port": int(inventory_var(host, "postgresql_port")),
        "password": inventory_var(host, "postgresql_omero_password"),
    }


def psql_tcp(host, pg, user, password, dbname="omero", sql="select current_user || '@' || current_database()"):
    cmd = (
        f"PGPASSWORD={shlex.quote(password)} PGCONNECT_TIMEOUT=5 psql -X -A -t "
        f"'host=127.0.0.1 port={pg['port']} user={user} dbname={dbname}' -c {shlex.quote(sql)}"
    )
    return host.run(cmd)


def psql_postgres(host, pg, sql, dbname="postgres"):
    # Peer authentication over the Unix socket, as the backup role does.
    return host.check_output(f"runuser -u postgres -- psql -X -A -t -p {pg['port']} -d {dbname} -c {shlex.quote(sql)}")


def test_secret_was_resolved(pg):
    assert pg["password"] and "{{" not in pg["password"] and pg["password"] != "CHANGE_ME"


def test_omero_logs_in_over_tcp_with_its_password(host, pg):
    res = psql_tcp(host, pg, "omero", pg["password"])
    assert res.rc == 0, res.stderr
    assert res.stdout.strip() == "omero@omero"


def test_omero_can_create_tables_in_its_database(host, pg):
    sql = "create table if not exists molecule_probe (id int); insert into molecule_probe values (1); select count(*) > 0 from molecule_probe"
    res = psql_tcp(host, pg, "omero", pg["password"], sql=sql)
    assert res.rc == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "t"


def test_wrong_password_is_refused(host, pg):
    res = psql_tcp(host, pg, "omero", pg["password"] + "x")
    assert res.rc != 0
    assert "password authentication failed" in res.stderr


def test_another_role_cannot_connect(host, pg):
    psql_postgres(host, pg, "drop role if exists molecule_intruder")
    psql_postgres(host, pg, "create role molecule_intruder login password 'Intruder_Pass_1%'")
    try:
        for dbname in ("omero", "postgres"):
            res = psql_tcp(host, pg, "molecule_intruder", "Intruder_Pass_1%", dbname=dbname)
            assert res.rc != 0, f"molecule_intruder reached {dbname}"
            assert "no pg_hba.conf entry" in res.stderr or "rejects connection" in res.stderr, res.stderr
    finally:
        psql_postgres(host, pg, "drop role if exists molecule_intruder")


def test_public_has_no_connect_privilege_on_omero(host, pg):
    out = psql_postgres(host, pg, "select has_database_privilege('public', 'omero', 'CONNECT')")
    assert out.strip() == "f"


def test_password_is_stored_as_scram(host, pg):
    out = psql_postgres(host, pg, "select rolpassword like 'SCRAM-SHA-256$%' from pg_authid where rolname = 'omero'")
    assert out.strip() == "t"


def test_omero_owns_its_database_and_is_not_superuser(host, pg):
    out = psql_postgres(
        host, pg,
        "select pg_get_userbyid(d.datdba) || ',' || r.rolsuper from pg_database d, pg_roles r "
        "where d.datname = 'omero' and r.rolname = 'omero'",
    )
    assert out.strip() == "omero,false"


def test_distribution_version(host, pg):
    major = host.system_info.release.split(".")[0]
    out = psql_postgres(host, pg, "show server_version_num")
    assert out.strip()[:2] == EXPECTED_MAJOR[major]


def test_listens_on_loopback_only(host, pg):
    # Host network: ss sees every socket of the machine, so filter on this platform's port.
    out = host.check_output(f"ss -ltnH 'sport = :{pg['port']}'")
    addresses = {line.split()[3].rsplit(":", 1)[0] for line in out.splitlines() if line.strip()}
    assert addresses, f"nothing listens on {pg['port']}"
    assert addresses <= {"127.0.0.1", "[::1]"}, addresses


def test_no_default_cluster_on_5432(host):
    assert host.check_output("pg_lsclusters -h | wc -l").strip() == "1"


def test_pg_hba_is_private_to_postgres(host):
    out = host.check_output("pg_lsclusters -h")
    version = out.split()[0]
    f = host.file(f"/etc/postgresql/{version}/main/pg_hba.conf")
    assert f.user == "postgres" and f.group == "postgres"
    assert f.mode == 0o640


def test_service_enabled(host):
    version = host.check_output("pg_lsclusters -h").split()[0]
    svc = host.service(f"postgresql@{version}-main")
    assert svc.is_running
    assert svc.is_enabled
