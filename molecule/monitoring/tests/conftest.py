"""Fixtures of the monitoring scenario's tests."""
import pytest


@pytest.fixture
def hv(host):
    return host.ansible.get_variables()
