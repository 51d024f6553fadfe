"""The public group's downloads (issue 20, item 4): its own ``omero.policy.binary_access``, set by the
accounts engine, and what the server then answers each person about an image's originals.

Against the stand-in (tests/support/omero_test_server_policy.py follows BinaryAccessPolicy) or a real
OMERO.server with OMERO_TEST_HOST (conftest.py): the same calls through omero-py either way.
"""
import pytest

from accounts_harness import password_of


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
        import omero.model
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
        import omero
        import omero.model
        group.setConfig([omero.model.NamedValue("omero.policy.binary_access", "+read,+write,+image")])
        with pytest.raises(omero.SecurityViolation):
            s.sf.getUpdateService().saveAndReturnObject(group)
    with target.session() as s:
        assert s.group_config(inv.n("public-data")) == {"omero.policy.binary_access": "-read"}
    assert password_of(inv.n("pubown"))  # the owner logged in with the inventory's initial password
