"""nginx in front of OMERO.web: unknown host names get nothing, Django's ALLOWED_HOSTS holds the site's
names only, login attempts are rate limited, and OCSP stapling stays off (and quiet) for certificates
that name no OCSP responder. Every request goes to loopback from inside the container."""
import pathlib
import time

import pytest
import yaml

SCENARIO = pathlib.Path(__file__).resolve().parent.parent
NGINX_DEFAULTS = yaml.safe_load((SCENARIO.parent.parent / "roles/nginx/defaults/main.yml").read_text())
MAX_REQUESTS = 30  # upper bound of every request loop below
UNKNOWN = "unknown.omero.test"  # the name conftest.py resolves to loopback too


def codes(host, command, count=MAX_REQUESTS):
    """Run `command` (a curl printing its status code) up to `count` times; the list of codes."""
    out = host.check_output(f"for i in $(seq 1 {count}); do {command}; echo; done")
    return out.split()


# --- unknown host names ---------------------------------------------------------------------------

def test_http_unknown_host_gets_no_reply(host, site):
    # curl 52: "Empty reply from server" - nginx closed the connection (444) without a status line.
    for url in (f"http://{UNKNOWN}:{site['http']}/webclient/login/", f"http://127.0.0.1:{site['http']}/"):
        r = host.run(f"{site['curl']} -o /dev/null -w '%{{http_code}}' {url}")
        assert r.rc == 52, (url, r.rc, r.stdout, r.stderr)


def test_http_real_name_is_redirected(host, site):
    r = host.run(f"{site['curl']} -o /dev/null -w '%{{http_code}}' http://{site['name']}:{site['http']}/webclient/login/")
    assert r.stdout == "301"


@pytest.mark.parametrize("sni", [f"-servername {UNKNOWN}", "-noservername"])
def test_https_unknown_or_absent_sni_handshake_refused(host, site, sni):
    if site["vars"].get("nginx_omero_websocket_servers"):
        pytest.skip("this platform proxies OMERO's websockets: Ice 3.6 clients send no SNI, so the handshake "
                    "completes (test_websocket.py checks that unknown names still get no reply)")
    r = host.run(f"openssl s_client -connect 127.0.0.1:{site['https']} {sni} -CAfile {site['ca']} </dev/null")
    out = r.stdout + r.stderr
    assert r.rc != 0, out
    assert "unrecognized name" in out, out  # ssl_reject_handshake's alert
    assert "no peer certificate available" in out and "BEGIN CERTIFICATE" not in out


def test_https_real_name_gets_the_login_page(host, site):
    r = host.run(f"{site['curl']} -o /tmp/front-login.html -w '%{{http_code}}' {site['base']}/webclient/login/")
    assert r.rc == 0, r.stderr
    assert r.stdout == "200"
    assert 'name="password"' in host.file("/tmp/front-login.html").content_string


def test_https_known_sni_with_another_host_header_gets_no_reply(host, site):
    r = host.run(f"{site['curl']} --http1.1 -H 'Host: {UNKNOWN}' -o /dev/null -w '%{{http_code}}' "
                 f"{site['base']}/webclient/login/")
    # No HTTP answer: curl 52 (empty reply) with nginx 1.22; 56 (TLS connection closed without
    # close_notify) with nginx 1.26.
    assert r.rc in (52, 56) and r.stdout == "000", (r.rc, r.stdout, r.stderr)


# --- Django's ALLOWED_HOSTS ----------------------------------------------------------------------

def test_django_allows_only_the_site_names(host, site):
    out = host.check_output(
        "runuser -u omero-web -- sh -c 'umask 077; OMERODIR=/opt/omero/web/OMERO.web "
        "/opt/omero/web/venv3/bin/omero config get omero.web.allowed_hosts'"
    )
    assert yaml.safe_load(out) == [site["name"]]
    # Straight to gunicorn (bypassing nginx): Django itself answers 400 to another Host header.
    direct = f"curl -s -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{site['gunicorn']}/webclient/login/"
    assert host.check_output(f"{direct} -H 'Host: {UNKNOWN}'") == "400"
    assert host.check_output(f"{direct} -H 'Host: {site['name']}'") == "200"


# --- login rate limit (order matters: the POST test empties the client's login bucket) --------------

def test_login_page_views_are_not_limited(host, site):
    got = codes(host, f"{site['curl']} -o /dev/null -w '%{{http_code}}' {site['base']}/webclient/login/")
    assert len(got) == MAX_REQUESTS and set(got) == {"200"}, got


def test_login_posts_are_limited(host, site):
    burst = int(NGINX_DEFAULTS["nginx_login_burst"])
    per_minute = int(NGINX_DEFAULTS["nginx_login_rate_per_minute"])
    start = time.monotonic()
    got = codes(host, f"{site['curl']} -o /dev/null -w '%{{http_code}}' -X POST "
                      f"-d username=nobody -d password=wrong {site['base']}/webclient/login/")
    # One more request is allowed every 60/rate seconds while the loop runs.
    drip = int((time.monotonic() - start) * per_minute / 60) + 1
    # The first ones reach Django (403: no CSRF token); then nginx answers 429 and keeps answering it.
    assert got[0] == "403", got
    assert "429" in got, got
    first = got.index("429")
    assert burst + 1 <= first <= burst + 1 + drip, (got, drip)
    assert set(got[first:]) <= {"429", "403"} and got[-1] == "429", got


@pytest.mark.parametrize("path", ["/webadmin/login/", "/api/v0/login/"])
def test_other_login_views_share_the_limit(host, site, path):
    # Same client, same zone: its bucket is empty after the test above.
    r = host.run(f"{site['curl']} -o /dev/null -w '%{{http_code}}' -X POST -d username=nobody -d password=wrong "
                 f"{site['base']}{path}")
    assert r.stdout == "429", r.stdout


def test_other_pages_are_not_limited(host, site):
    got = codes(host, f"{site['curl']} -o /dev/null -w '%{{http_code}}' {site['base']}/webclient/", count=15)
    assert set(got) == {"302"}, got  # to the login page
    got = codes(host, f"{site['curl']} -o /dev/null -w '%{{http_code}}' {site['base']}/webclient/login/", count=5)
    assert set(got) == {"200"}, got


def test_credentials_in_a_query_string_are_limited(host, site):
    got = codes(host, f"{site['curl']} -o /dev/null -w '%{{http_code}}' "
                      f"'{site['base']}/webgateway/get_thumbnails/?username=nobody&password=wrong'")
    assert got[0] != "429" and "429" in got, got


def test_rate_limit_refusals_are_logged(host):
    log = host.check_output("cat /var/log/nginx/error.log")
    assert "limiting requests" in log and 'zone "omero_login"' in log and 'zone "omero_login_query"' in log


# --- OCSP stapling -------------------------------------------------------------------------------

def test_no_stapling_for_a_certificate_without_ocsp_responder(host):
    # Neither the local CA (selfsigned) nor the test PKI (provided) names an OCSP responder.
    assert "OCSP" not in host.check_output("openssl x509 -in /etc/nginx/tls/fullchain.pem -noout -ext authorityInfoAccess || true")
    conf = host.check_output("nginx -T 2>/dev/null")
    assert "ssl_stapling" not in conf and "resolver " not in conf
    assert "OCSP stapling off: the certificate names no OCSP responder." in conf


def test_nginx_config_test_is_clean_and_no_stapling_warning_logged(host):
    # nginx reports stapling problems (no responder URL, no issuer, no resolver) as [warn] when it loads
    # its configuration: on `nginx -t`'s stderr and, at start and reload, in nginx.service's journal.
    r = host.run("nginx -t")
    assert r.rc == 0
    lines = [line for line in r.stderr.splitlines() if "syntax is ok" not in line and "test is successful" not in line]
    assert lines == [], r.stderr
    assert "stapling" not in host.check_output("journalctl -u nginx.service --no-pager; cat /var/log/nginx/error.log")


def test_the_warning_check_above_would_see_a_stapling_warning(host):
    # The same certificate with stapling forced on, in a throw-away configuration that only `nginx -t` reads:
    # nginx does warn, so the clean output above means something.
    conf = ("pid /tmp/stapling-probe.pid; error_log stderr; events {} http { server { listen 127.0.0.1:9 ssl; "
            "ssl_certificate /etc/nginx/tls/fullchain.pem; ssl_certificate_key /etc/nginx/tls/privkey.pem; "
            "ssl_stapling on; } }")
    r = host.run(f"printf '%s' '{conf}' > /tmp/stapling-probe.conf && nginx -t -c /tmp/stapling-probe.conf")
    assert r.rc == 0, r.stderr
    assert "[warn]" in r.stderr and "ssl_stapling" in r.stderr, r.stderr


# --- load-balancing mode (the platforms whose host_vars list upstream servers) ---------------------

def test_upstream_list_with_a_dead_server_keeps_serving(host, site):
    if "nginx_upstream_servers" not in site["vars"]:
        pytest.skip("this platform uses the single loopback upstream (nginx_upstream_servers not set)")
    conf = host.check_output("nginx -T 2>/dev/null")
    assert f"server 127.0.0.1:{site['gunicorn']} max_fails=1 fail_timeout=10s;" in conf
    assert "server 127.0.0.1:24089 max_fails=1 fail_timeout=10s;" in conf
    assert host.run("ss -Hltn 'sport = :24089'").stdout.strip() == ""  # nothing listens there
    got = codes(host, f"{site['curl']} -o /dev/null -w '%{{http_code}}' {site['base']}/webclient/login/", count=10)
    assert set(got) == {"200"}, got
