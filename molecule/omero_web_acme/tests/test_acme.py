"""acme mode: certbot obtained the certificate from pebble by HTTP-01 through nginx, nginx serves it,
and a renewal replaces it (deploy hook reload). Clients verify against pebble's own root."""
import pathlib

import pytest
import yaml
from polling import wait_on_host

HOST_VARS = pathlib.Path(__file__).resolve().parent.parent / "host_vars"
API_CA = "/etc/pebble/api-ca.pem"
ROOT = "/tmp/pebble-root.pem"


@pytest.fixture(scope="module")
def site(host):
    v = yaml.safe_load((HOST_VARS / f"{host.backend.hostname}.yml").read_text())
    name, https = v["nginx_server_name"], int(v["nginx_https_port"])
    # pebble makes a new root at every start; fetch the one that issued this run's certificate.
    host.run_expect([0], f"curl -sS --cacert {API_CA} -o {ROOT} https://localhost:{v['pebble_management_port']}/roots/0")
    return {"name": name, "https": https, "http": int(v["nginx_http_port"]), "base": f"https://{name}:{https}",
            "ocsp": f"http://127.0.0.1:{v['pebble_ocsp_port']}/"}


def served_certificate(host, site):
    return host.check_output(
        f"openssl s_client -connect 127.0.0.1:{site['https']} -servername {site['name']} </dev/null 2>/dev/null"
        " | openssl x509 -noout -serial -issuer"
    )


def test_served_certificate_issued_by_pebble(host, site):
    assert "Pebble Intermediate CA" in served_certificate(host, site)


def test_login_page_verified_against_pebble_root(host, site):
    r = host.run(f"curl -sS --cacert {ROOT} -o /dev/null -w '%{{http_code}} %{{ssl_verify_result}}' "
                 f"{site['base']}/webclient/login/")
    assert r.rc == 0, r.stderr
    assert r.stdout == "200 0"


def test_http01_challenge_was_fetched_from_nginx(host, site):
    log = host.check_output("journalctl -u pebble.service --no-pager")
    assert f"Attempting to validate w/ HTTP: http://{site['name']}:{site['http']}/.well-known/acme-challenge/" in log


def test_http_redirects_except_acme_challenges(host, site):
    r = host.run(f"curl -s -o /dev/null -w '%{{http_code}} %{{redirect_url}}' http://{site['name']}:{site['http']}/webclient/")
    assert r.stdout == f"301 {site['base']}/webclient/"
    r = host.run(f"curl -s -o /dev/null -w '%{{http_code}}' http://{site['name']}:{site['http']}/.well-known/acme-challenge/none")
    assert r.stdout == "404"


def test_private_key_is_root_only(host, site):
    served = host.file("/etc/nginx/tls/privkey.pem")
    assert served.is_symlink and served.linked_to.startswith(f"/etc/letsencrypt/archive/{site['name']}/")
    key = host.file(served.linked_to)
    assert (key.user, key.mode) == ("root", 0o600)


def test_renewal_timer_enabled(host):
    timer = host.service("certbot.timer")
    assert timer.is_enabled and timer.is_running


def test_stapling_configured_because_the_certificate_names_a_responder(host, site):
    # pebble (prepare.yml) writes the responder URL into the certificate; the role read it and switched
    # stapling on, with the host's own nameservers as nginx's resolver (none hard-coded).
    assert host.check_output("openssl x509 -in /etc/nginx/tls/fullchain.pem -noout -ocsp_uri") == site["ocsp"]
    conf = host.check_output("nginx -T 2>/dev/null")
    assert "ssl_stapling on;" in conf and "ssl_stapling_verify on;" in conf
    assert "ssl_trusted_certificate /etc/nginx/tls/chain.pem;" in conf
    nameservers = host.check_output("awk '$1 == \"nameserver\" {print $2}' /etc/resolv.conf").split()
    assert nameservers, "the test host has no nameserver in /etc/resolv.conf"
    assert f"resolver {' '.join(nameservers)};" in conf


def ocsp_diagnostics(host):
    """What nginx and the responder stand-in said, for a failed stapling test."""
    return host.run("grep -i ocsp /var/log/nginx/error.log | tail -n 20; "
                    "journalctl -u pebble-ocsp.service --no-pager -n 20").stdout


def test_nginx_staples_a_good_ocsp_response(host, site):
    # Each nginx worker fetches the response on the first handshake that asks for one and staples it from then
    # on: handshake until one comes stapled. Polled on the host itself (wait_on_host), so that a slow connection
    # to the test host cannot use up the bound; 120 s covers a loaded 2-core machine with room to spare.
    handshake = (f"timeout 20 openssl s_client -connect 127.0.0.1:{site['https']} -servername {site['name']} "
                 f"-status -CAfile {ROOT} -verify_return_error </dev/null 2>/dev/null")
    res = wait_on_host(host, f"o=$({handshake}); case \"$o\" in *'OCSP Response Status: successful'*) "
                             "printf '%s' \"$o\";; *) exit 1;; esac", timeout=120)
    assert res.rc == 0, f"no OCSP response stapled after 120 s; nginx and the responder said:\n{ocsp_diagnostics(host)}"
    assert "Cert Status: good" in res.stdout
    assert "Verify return code: 0 (ok)" in res.stdout


def test_nginx_config_test_is_clean(host):
    r = host.run("nginx -t")
    assert r.rc == 0
    assert "[warn]" not in r.stderr and "[emerg]" not in r.stderr, r.stderr


def test_renewal_replaces_the_served_certificate(host, site):
    before = served_certificate(host, site)
    host.run_expect([0], f"certbot renew --force-renewal --no-random-sleep-on-renew --cert-name {site['name']} --non-interactive")
    # The deploy hook's `systemctl reload` returns once nginx is signalled; new workers take over shortly
    # after: poll on the host (wait_on_host) until a handshake shows another serial, within 120 s.
    serial = before.splitlines()[0]
    res = wait_on_host(host, f"o=$(openssl s_client -connect 127.0.0.1:{site['https']} -servername {site['name']} "
                             "</dev/null 2>/dev/null | openssl x509 -noout -serial -issuer) && "
                             f"! printf '%s' \"$o\" | grep -qxF '{serial}' && printf '%s' \"$o\"", timeout=120)
    assert res.rc == 0, f"still {serial} after 120 s: the deploy hook did not reload nginx"
    assert "Pebble Intermediate CA" in res.stdout


def omero_config(host, key):
    return host.check_output(
        "runuser -u omero-web -- sh -c 'umask 077; OMERODIR=/opt/omero/web/OMERO.web "
        f"/opt/omero/web/venv3/bin/omero config get {key}'"
    ).strip()


def test_public_user_enabled_with_its_filter(host):
    assert omero_config(host, "omero.web.public.enabled") == "true"
    assert omero_config(host, "omero.web.public.user") == "public"
    assert omero_config(host, "omero.web.public.get_only") == "true"
    assert "archived_files" in omero_config(host, "omero.web.public.url_filter")


def test_public_password_only_in_the_private_file(host):
    public = host.file("/opt/omero/web/config/50-public-user.omero")
    assert (public.user, public.group, public.mode) == ("root", "omero-web", 0o640)
    assert "omero.web.public.password" in public.content_string
    assert "password" not in host.file("/opt/omero/web/config/00-omero-web.omero").content_string
