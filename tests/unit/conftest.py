"""Shared test set-up: the pure accounts model is imported from module_utils/ like the validator does."""
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
for path in (ROOT / "module_utils", ROOT / "tests" / "support"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """The site's CA, an unknown CA and three relay certificates (tests/support/test_pki.py)."""
    from test_pki import write_pki

    return write_pki(tmp_path_factory.mktemp("pki"))
