"""The venv imports the real Ice binding and omero-py's client module on every platform."""


def test_ice_binding_loads(host):
    out = host.check_output("/opt/omero/test/venv3/bin/python -c 'import Ice; print(Ice.stringVersion())'")
    assert out.strip() == "3.6.5"


def test_omero_clients_imports(host):
    out = host.check_output(
        "/opt/omero/test/venv3/bin/python -c 'import omero, omero.clients; print(omero.clients.BaseClient.__name__)'"
    )
    assert out.strip() == "BaseClient"


def test_ice_communicator_round_trip(host):
    # Marshals a proxy string through the C++ core: proves the compiled extension works, not just imports.
    code = (
        "import Ice; c = Ice.initialize(); "
        "p = c.stringToProxy('Glacier2/router:tcp -h 127.0.0.1 -p 4063'); "
        "print(c.proxyToString(p)); c.destroy()"
    )
    out = host.check_output(f"/opt/omero/test/venv3/bin/python -c \"{code}\"")
    assert "Glacier2/router" in out and "-p 4063" in out


def test_venv_is_root_owned(host):
    venv = host.file("/opt/omero/test/venv3")
    assert venv.user == "root"
    assert not venv.mode & 0o002


def test_wheel_cached_on_host(host):
    files = host.check_output("ls /var/cache/omero-deploy/wheels").split()
    assert any(f.startswith("zeroc_ice-3.6.5-cp3") and f.endswith(".whl") for f in files), files
