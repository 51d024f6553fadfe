"""The platform's site as the converge saw it (the scenario's host_vars file), for test_web and test_front."""
import pathlib

import pytest
import yaml

HOST_VARS = pathlib.Path(__file__).resolve().parent.parent / "host_vars"
CA_FILES = {"selfsigned": "/etc/nginx/tls/ca.pem", "provided": "/root/provided-root-ca.pem"}
UNKNOWN = "unknown.omero.test"  # a name nginx must not answer


@pytest.fixture(scope="module")
def site(host):
    v = yaml.safe_load((HOST_VARS / f"{host.backend.hostname}.yml").read_text())
    name, https, http = v["nginx_server_name"], int(v["nginx_https_port"]), int(v["nginx_http_port"])
    mode = v.get("nginx_tls_mode", "selfsigned")
    resolve = f"--resolve {name}:{https}:127.0.0.1 --resolve {name}:{http}:127.0.0.1"
    return {
        "vars": v,
        "mode": mode,
        "ca": CA_FILES[mode],
        "name": name,
        "https": https,
        "http": http,
        "gunicorn": int(v["omero_web_port"]),
        "base": f"https://{name}:{https}",
        "resolve": resolve,
        "curl": f"curl --silent --show-error --max-time 30 {resolve} --resolve {UNKNOWN}:{https}:127.0.0.1 "
                f"--resolve {UNKNOWN}:{http}:127.0.0.1 --cacert {CA_FILES[mode]}",
    }
