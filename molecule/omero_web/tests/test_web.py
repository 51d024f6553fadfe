"""OMERO.web behind nginx, checked from inside each container with real clients (curl, openssl).

Every HTTPS request verifies the chain and the host name against the test CA: in selfsigned mode the
local CA that the nginx role generated, in provided mode the root of the chain prepare.yml made (the
server sends its certificate and the intermediate). No check skips verification.
"""
import hashlib

import pytest

ISSUERS = {"selfsigned": "OMERO deploy local CA", "provided": "OMERO test intermediate CA"}
STATIC = "/static/webgateway/css/ome.body.css"
STATIC_ROOT = "/opt/omero/web/static"


def curl(host, site, args):
    return host.run(f"curl --silent --show-error --max-time 30 {site['resolve']} {args}")


def test_services_running(host):
    assert host.service("omero-web").is_running
    assert host.service("omero-web").is_enabled
    assert host.service("nginx").is_running


def test_login_page_over_https_chain_verified(host, site):
    r = curl(host, site, f"--cacert {site['ca']} -o /tmp/login.html -w '%{{http_code}} %{{ssl_verify_result}}' "
                         f"{site['base']}/webclient/login/")
    assert r.rc == 0, r.stderr
    assert r.stdout == "200 0"
    page = host.file("/tmp/login.html").content_string
    assert "csrfmiddlewaretoken" in page and 'name="password"' in page


def test_certificate_not_trusted_without_the_test_ca(host, site):
    # Proves the check above really verifies: the system trust store does not know the local CA.
    r = curl(host, site, f"-o /dev/null {site['base']}/webclient/login/")
    assert r.rc == 60, (r.rc, r.stderr)


def test_served_certificate_names_and_issuer(host, site):
    out = host.check_output(
        f"openssl s_client -connect 127.0.0.1:{site['https']} -servername {site['name']} </dev/null 2>/dev/null"
        " | openssl x509 -noout -issuer -ext subjectAltName"
    )
    assert ISSUERS[site["mode"]] in out
    assert f"DNS:{site['name']}" in out


def test_private_keys_are_root_only(host, site):
    keys = ["/etc/nginx/tls/privkey.pem"] + (["/etc/nginx/tls/ca/ca.key"] if site["mode"] == "selfsigned" else [])
    for path in keys:
        f = host.file(path)
        assert (f.user, f.group, f.mode) == ("root", "root", 0o600), path


def test_http_redirects_to_https(host, site):
    r = curl(host, site, f"-o /dev/null -w '%{{http_code}} %{{redirect_url}}' "
                         f"http://{site['name']}:{site['http']}/webclient/login/")
    assert r.stdout == f"301 {site['base']}/webclient/login/"


def test_hsts_and_hardening_headers(host, site):
    headers = curl(host, site, f"--cacert {site['ca']} -D - -o /dev/null {site['base']}/webclient/login/").stdout.lower()
    assert "strict-transport-security: max-age=63072000" in headers
    assert "x-content-type-options: nosniff" in headers
    assert "referrer-policy: same-origin" in headers
    assert "server: nginx\r\n" in headers  # no version (server_tokens off)


def test_django_cookies_are_secure(host, site):
    headers = curl(host, site, f"--cacert {site['ca']} -D - -o /dev/null {site['base']}/webclient/login/").stdout
    cookie = [h for h in headers.splitlines() if h.lower().startswith("set-cookie: csrftoken=")]
    assert cookie and "; Secure" in cookie[0]


def test_static_file_served_by_nginx_from_disk(host, site):
    on_disk = hashlib.sha256(host.file(f"{STATIC_ROOT}{STATIC[len('/static'):]}").content).hexdigest()
    served = curl(host, site, f"--cacert {site['ca']} {site['base']}{STATIC} | sha256sum").stdout.split()[0]
    assert served == on_disk
    # gunicorn itself does not serve /static/, so the bytes above can only come from nginx.
    direct = host.run(f"curl -s -o /dev/null -w '%{{http_code}}' -H 'Host: {site['name']}' "
                      f"http://127.0.0.1:{site['gunicorn']}{STATIC}")
    assert direct.stdout == "404"


@pytest.mark.parametrize("static,path", [("omero_figure", "/figure/"), ("omero_iviewer", "/iviewer/"),
                                         ("mapr", "/mapr/gene/")])
def test_web_apps_are_routed(host, site, static, path):
    # Without a session the app redirects to the login page; an unregistered app would answer 404.
    r = curl(host, site, f"--cacert {site['ca']} -o /dev/null -w '%{{http_code}} %{{redirect_url}}' {site['base']}{path}")
    assert r.stdout.startswith(f"302 {site['base']}/webclient/login/"), r.stdout
    assert host.file(f"{STATIC_ROOT}/{static}").is_directory  # its static files were collected


def test_gunicorn_listens_on_loopback_only(host, site):
    sockets = host.check_output("ss -Hltn")
    assert f"127.0.0.1:{site['gunicorn']} " in sockets
    assert f"0.0.0.0:{site['gunicorn']} " not in sockets and f"*:{site['gunicorn']} " not in sockets


def test_secret_files_are_private(host):
    key = host.file("/opt/omero/web/OMERO.web/var/django_secret_key")
    assert (key.user, key.mode) == ("omero-web", 0o600)
    assert len(key.content_string.strip()) >= 32
    # config.xml may hold the public user's password; its directory is the service user's alone (the
    # omero CLI rewrites the file with the caller's umask, so the directory is the guarantee).
    grid = host.file("/opt/omero/web/OMERO.web/etc/grid")
    assert (grid.user, grid.mode) == ("omero-web", 0o700)


def test_server_list_points_at_loopback(host):
    out = host.check_output(
        "runuser -u omero-web -- sh -c 'umask 077; OMERODIR=/opt/omero/web/OMERO.web "
        "/opt/omero/web/venv3/bin/omero config get omero.web.server_list'"
    )
    assert out.strip() == '[["127.0.0.1", 4064, "omero"]]'


@pytest.mark.parametrize("flag", ["-tls1", "-tls1_1"])
def test_old_tls_versions_refused_by_the_server(host, site, flag):
    # SECLEVEL=0 lets the client offer TLS 1.0/1.1, so the failure is the server's "protocol version" alert.
    r = host.run(f"openssl s_client -connect 127.0.0.1:{site['https']} -servername {site['name']} "
                 f"{flag} -cipher 'DEFAULT:@SECLEVEL=0' </dev/null")
    assert r.rc != 0
    assert "alert protocol version" in r.stderr + r.stdout


@pytest.mark.parametrize("flag,version", [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")])
def test_modern_tls_versions_accepted(host, site, flag, version):
    r = host.run(f"openssl s_client -connect 127.0.0.1:{site['https']} -servername {site['name']} "
                 f"-verify_hostname {site['name']} -CAfile {site['ca']} -verify_return_error {flag} </dev/null")
    assert r.rc == 0, r.stderr
    assert f"Protocol  : {version}" in r.stdout or f"New, {version}," in r.stdout
    assert "Verify return code: 0 (ok)" in r.stdout
