"""Helpers of the backup_copy scenario's tests: both hosts and the S3 test server's identities."""
import json

import pytest
import testinfra

ENDPOINT = "http://127.0.0.1:16100"
COPY = "s3:http://127.0.0.1:16100/omero-copy/omero"
PRIMARY = "s3:http://127.0.0.1:16100/omero-primary/omero"
COPY_TOOL = "OMERO_BACKUP_CONFIG=/etc/omero-backup-copy/config.json /usr/local/sbin/omero-backup"
STATE = "/usr/local/bin/omero-test-state 16101 omero /OMERO /opt/omero/server/config"


@pytest.fixture(scope="module")
def omero_host():
    return testinfra.get_host("docker://s3-omero12")


@pytest.fixture(scope="module")
def copy_host():
    return testinfra.get_host("docker://s3-copy12")


@pytest.fixture(scope="module")
def keys(copy_host):
    """Keys of the identities that prepare.yml created (admin, omero_host, copy_host, restore)."""
    return json.loads(copy_host.check_output("cat /root/s3-credentials.json"))


def env_of(host, directory):
    """`KEY=value ...` of a tool's restic.env (the host's own S3 identity), for a shell command line."""
    lines = host.check_output(f"grep -v '^#' {directory}/restic.env").splitlines()
    return " ".join(line for line in lines if "=" in line)


def s3_status(host, identity, method, path):
    """HTTP status of a signed S3 request made from `host` with `identity` ({'id', 'secret'})."""
    return host.check_output(
        "curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 aws:amz:us-east-1:s3 "
        f"-u '{identity['id']}:{identity['secret']}' -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "
        f"-X {method} {ENDPOINT}/{path}" + (" --data probe" if method == "PUT" else ""))


def copy_runs(copy_host):
    return json.loads(copy_host.check_output(f"{COPY_TOOL} runs"))
