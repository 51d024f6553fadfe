"""The DMP's account flows, against the in-process stand-in (default) or a real OMERO.server.

Set OMERO_TEST_HOST (and OMERO_TEST_PASSWORD, the root password; optional OMERO_TEST_PORT=4064,
OMERO_TEST_PROTOCOL=ssl, OMERO_TEST_USER=root) to run the same tests against a real server. Every name
then carries a random prefix, since OMERO cannot delete groups that were used: point it at a test
server. Everything the tests seed (data, changes "made in OMERO.web") goes through omero-py's API as
the person who would do it, and everything they check is read back through the API, so both
targets see the same calls. Fault injection exists only in the stand-in: those tests skip on a
real server, saying so.
"""
import os
import pathlib
import sys
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
for path in (ROOT / "module_utils", ROOT / "tests" / "support"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

pytest.importorskip("omero", reason="omero-py (with zeroc-ice 3.6) is not installed: the accounts suite needs it")
pytest.importorskip("Ice", reason="zeroc-ice is not installed: the accounts suite needs it")

from accounts_harness import Inventory, Target, password_of

REAL_HOST = os.environ.get("OMERO_TEST_HOST")


@pytest.fixture
def target():
    if REAL_HOST:
        if not os.environ.get("OMERO_TEST_PASSWORD"):
            pytest.skip("OMERO_TEST_HOST is set but OMERO_TEST_PASSWORD (root's password) is not")
        yield Target(REAL_HOST, int(os.environ.get("OMERO_TEST_PORT", "4064")),
                     os.environ.get("OMERO_TEST_PROTOCOL", "ssl"), os.environ.get("OMERO_TEST_USER", "root"),
                     os.environ["OMERO_TEST_PASSWORD"], prefix="ci" + uuid.uuid4().hex[:6])
        return
    from omero_test_server import OmeroTestServer

    with OmeroTestServer() as server:
        yield Target("127.0.0.1", server.port, "tcp", "root", server.root_password, prefix="", store=server.store)


@pytest.fixture
def inventory(target, tmp_path):
    return Inventory(target, tmp_path / "state")


@pytest.fixture
def two_teams(inventory):
    """Team A (read-annotate) led by lead_a, team B (read-only) led by lead_b; 'both' is in both teams;
    staff supports A; refe is a referent (restricted administrator)."""
    inv = inventory
    for name in ("lead_a", "lead_b", "memb", "both", "staff", "refe"):
        inv.person(name)
    inv.team("team-a", "lead_a", ["memb", "both"], permissions="read-annotate", facility_staff=[inv.n("staff")])
    inv.team("team-b", "lead_b", ["both"], permissions="read-only")
    inv.teams[inv.n("team-b")]["members"].append(inv.n("refe"))
    inv.referents = ["refe"]
    return inv


@pytest.fixture
def both_departs(target, two_teams):
    """two_teams applied; 'both' owns one image in team A and is now marked departed. Returns the image id."""
    inv = two_teams
    inv.run()
    both = inv.n("both")
    with target.session(both, password_of(both)) as s:
        image = s.image(inv.n("team-a"))
    inv.people[both]["status"] = "departed"
    return image
