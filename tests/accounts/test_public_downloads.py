"""The public group's downloads (issue 20, item 4): its own ``omero.policy.binary_access``, set by the
accounts engine, and what the server then answers each person about an image's originals.

Against the stand-in (tests/support/omero_test_server_policy.py follows BinaryAccessPolicy) or a real
OMERO.server with OMERO_TEST_HOST (conftest.py): the same calls through omero-py either way.
"""
import os
import urllib.error
import urllib.request

import omero
import omero.model
import pytest
from accounts_harness import password_of

REAL_HOST = os.environ.get("OMERO_TEST_HOST")


@pytest.fixture
def public(inventory):
    """A public group owned by ``pubown`` (who publishes), read by the web's ``public`` user and by ``reader``."""
    inv = inventory
    for name in ("pubown", "reader", "public"):
        inv.person(name)
    inv.public = {"name": inv.n("public-data"), "permissions": "read-only", "license": "Etalab 2.0 / CC-BY",
                  "owners": [inv.n("pubown")], "members": [inv.n("public"), inv.n("reader")]}
    return inv


def _image(inv):
    with inv.as_person("pubown") as s:
        return s.image(inv.n("public-data"), "published")


@pytest.mark.parametrize("downloads, policy", [(False, "-read"), (True, "+read,+write,+image")])
def test_group_policy_set_at_creation_and_enforced(target, public, downloads, policy):
    inv = public
    inv.public_downloads = downloads
    result = inv.run()
    assert result["changed"] is True, result.get("msg")
    assert f"create group {inv.n('public-data')} (read-only), omero.policy.binary_access={policy}" in result["actions"]
    with target.session() as s:
        assert s.group_config(inv.n("public-data")) == {"omero.policy.binary_access": policy}
    image = _image(inv)
    for who, allowed in (("public", downloads), ("reader", downloads), ("pubown", True)):
        with inv.as_person(who) as s:
            assert s.can_download(image) is allowed, who
    again = inv.run()
    assert again["changed"] is False and again["actions"] == [], again["actions"]


def test_switching_the_setting_updates_the_existing_group_only(target, public):
    inv = public
    inv.run()
    image = _image(inv)
    with target.session() as s:  # an entry the inventory does not manage: kept
        gid = s.admin.lookupGroup(inv.n("public-data")).getId().val
        group = s.sf.getQueryService().get("ExperimenterGroup", gid, {"omero.group": "-1"})
        group.setConfig(list(group.getConfig() or []) + [omero.model.NamedValue("site.note", "kept")])
        s.sf.getUpdateService().saveAndReturnObject(group)

    inv.public_downloads = True
    check = inv.run(check=True)
    line = f"set omero.policy.binary_access=+read,+write,+image of group {inv.n('public-data')}"
    assert check["actions"] == [line]
    with target.session() as s:
        assert s.group_config(inv.n("public-data"))["omero.policy.binary_access"] == "-read"  # check mode: unchanged
    assert inv.run()["actions"] == [line]
    with target.session() as s:
        assert s.group_config(inv.n("public-data")) == {"omero.policy.binary_access": "+read,+write,+image",
                                                         "site.note": "kept"}
    with inv.as_person("public") as s:
        assert s.can_download(image) is True
    inv.public_downloads = False
    assert inv.run()["actions"] == [f"set omero.policy.binary_access=-read of group {inv.n('public-data')}"]
    with inv.as_person("public") as s:
        assert s.can_download(image) is False


def test_a_group_owner_cannot_set_the_policy(target, public):
    """IUpdate on a group is an administrator's (BasicACLVoter.allowUpdate: a system type); the owner of the
    public group cannot lift the restriction from their own session."""
    inv = public
    inv.run()
    with inv.as_person("pubown") as s:
        gid = s.admin.lookupGroup(inv.n("public-data")).getId().val
        group = s.sf.getQueryService().get("ExperimenterGroup", gid, {"omero.group": "-1"})
        group.setConfig([omero.model.NamedValue("omero.policy.binary_access", "+read,+write,+image")])
        with pytest.raises(omero.SecurityViolation):
            s.sf.getUpdateService().saveAndReturnObject(group)
    with target.session() as s:
        assert s.group_config(inv.n("public-data")) == {"omero.policy.binary_access": "-read"}
    assert password_of(inv.n("pubown"))  # the owner logged in with the inventory's initial password


WEB_URL = os.environ.get("OMERO_TEST_WEB_URL")
PUBLIC_IMAGE = os.environ.get("OMERO_TEST_PUBLIC_IMAGE")


@pytest.mark.skipif(not (REAL_HOST and WEB_URL and PUBLIC_IMAGE),
                    reason="end to end on a deployed site only: set OMERO_TEST_HOST, OMERO_TEST_WEB_URL (the site's "
                           "OMERO.web, e.g. https://omero-staging.example.org) and OMERO_TEST_PUBLIC_IMAGE (an image "
                           "of its public group); OMERO_TEST_PUBLIC_DOWNLOADS=allow|deny as deployed (default deny)")
def test_deployed_site_answers_an_anonymous_download_as_set():
    """An anonymous visitor (OMERO.web's public user) asks for an image's originals: the deployed URL filter
    and the public group's policy together give them only with omero_public_downloads: true."""
    allowed = os.environ.get("OMERO_TEST_PUBLIC_DOWNLOADS", "deny") == "allow"
    opener = urllib.request.build_opener(_NoRedirect)
    for path in (f"/webgateway/archived_files/download/{PUBLIC_IMAGE}/", f"/webgateway/render_image/{PUBLIC_IMAGE}/"):
        try:
            status = opener.open(WEB_URL.rstrip("/") + path, timeout=60).status
        except urllib.error.HTTPError as exc:
            status = exc.code
        expect_ok = allowed or "render_image" in path  # viewing is always public
        assert (status == 200) is expect_ok, (path, status)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A refused public URL answers with a redirect to the login page (omeroweb/decorators.py): keep it a 3xx."""

    def redirect_request(self, *args, **kwargs):
        return None
