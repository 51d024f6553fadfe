"""Every host of the scenario by name, for tests that go from one host to another."""
import pytest
import testinfra

NAMES = ["mh-db", "mh-server", "mh-web1", "mh-web2", "mh-proxy"]


@pytest.fixture(scope="session")
def hosts(request):
    inventory = request.config.option.ansible_inventory
    return {name: testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory}") for name in NAMES}
