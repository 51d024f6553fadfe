"""The stand-in's own rules, called directly through omero-py (the modules' plan never lets these calls through).

Each test names the real server source the rule follows; the stand-in must refuse at least what the
real server refuses.
"""
import pytest

pytest.importorskip("omero", reason="omero-py (with zeroc-ice 3.6) is not installed")

import omero
import omero.clients
import omero.cmd
import omero.model
from accounts_harness import Target
from omero.rtypes import rstring
from omero_test_server import OmeroTestServer

PASSWORD = "Some-Passw0rd!"


@pytest.fixture
def server():
    with OmeroTestServer() as srv:
        yield srv


@pytest.fixture
def root(server):
    target = Target("127.0.0.1", server.port, "tcp", "root", server.root_password, prefix="", store=server.store)
    with target.session() as s:
        yield s


def group(admin, name, perms="rwra--"):
    g = omero.model.ExperimenterGroupI()
    g.setName(rstring(name))
    g.getDetails().setPermissions(omero.model.PermissionsI(perms))
    return admin.createGroup(g)


def user(admin, name, gids, password=PASSWORD):
    e = omero.model.ExperimenterI()
    e.setOmeName(rstring(name))
    e.setFirstName(rstring(name.title()))
    e.setLastName(rstring("Test"))
    groups = [omero.model.ExperimenterGroupI(g, False) for g in gids]
    return admin.createExperimenterWithPassword(e, rstring(password), groups[0], groups[1:])


def ref(uid):
    return omero.model.ExperimenterI(uid, False)


def gref(gid):
    return omero.model.ExperimenterGroupI(gid, False)


def test_remove_groups_rules(root):
    # AdminImpl.removeGroups
    a = root.admin
    team = group(a, "team")
    uid = user(a, "anna", [team, 1])
    with pytest.raises(omero.ValidationException, match="only the 'user' group"):
        a.removeGroups(ref(uid), [gref(team)])
    with pytest.raises(omero.ValidationException, match="remain a member of some group"):
        a.removeGroups(ref(uid), [gref(team), gref(1)])
    with pytest.raises(omero.ValidationException, match="'root' may not be removed"):
        a.removeGroups(ref(0), [gref(0)])
    admin = user(a, "adm", [team, 1, 0])  # a full administrator who is not root
    target = Target("127.0.0.1", root.target.port, "tcp", "adm", PASSWORD, prefix="")
    with target.session() as s, pytest.raises(omero.ValidationException, match="may not remove themselves"):
        s.admin.removeGroups(ref(admin), [gref(1)])


def test_default_group_and_names_of_special_accounts(root):
    a = root.admin
    team = group(a, "team")
    uid = user(a, "anna", [team, 1])
    with pytest.raises(omero.ApiUsageException, match="Cannot set default group to: user"):
        a.setDefaultGroup(ref(uid), gref(1))  # AdminImpl.setDefaultGroup
    guest = a.lookupExperimenter("guest")
    guest.setOmeName(rstring("visitor"))
    with pytest.raises(omero.ValidationException, match="special experimenter 'guest'"):
        a.updateExperimenter(guest)  # AdminImpl.copyAndSaveExperimenter
    system = a.lookupGroup("system")
    system.setName(rstring("admins"))
    with pytest.raises(omero.ValidationException, match="special group 'system'"):
        a.updateGroup(system)  # AdminImpl.updateGroup


def test_update_group_applies_the_permissions_it_is_sent(root):
    # AdminImpl.updateGroup -> changePermissions (ticket:1776): an old value undoes a Chmod2.
    a = root.admin
    gid = group(a, "team", "rwr---")
    stale = a.lookupGroup("team")
    root.sf.submit(omero.cmd.Chmod2(targetObjects={"ExperimenterGroup": [gid]}, permissions="rwra--"))
    assert str(a.lookupGroup("team").getDetails().getPermissions()) == "rwra--"
    stale.setDescription(rstring("new"))
    a.updateGroup(stale)
    assert str(a.lookupGroup("team").getDetails().getPermissions()) == "rwr---"


def test_update_experimenter_clears_what_it_is_not_sent(root):
    # AdminImpl.copyAndSaveExperimenter copies the middle name as sent.
    a = root.admin
    uid = user(a, "anna", [group(a, "team"), 1])
    e = a.lookupExperimenter("anna")
    e.setMiddleName(rstring("Marie"))
    a.updateExperimenter(e)
    fresh = omero.model.ExperimenterI(uid, True)
    for field, value in (("OmeName", "anna"), ("FirstName", "Anna"), ("LastName", "Test")):
        getattr(fresh, "set" + field)(rstring(value))
    a.updateExperimenter(fresh)
    assert a.lookupExperimenter("anna").getMiddleName() is None


def test_joining_system_gives_every_privilege_not_restricted(root, server):
    # AdminImpl.getAdminPrivileges / setAdminPrivileges: privileges are the config's, applied in system.
    a = root.admin
    team = group(a, "team")
    uid = user(a, "anna", [team, 1])
    privilege = omero.model.AdminPrivilegeI()
    privilege.setValue(rstring("ModifyUser"))
    a.setAdminPrivileges(ref(uid), [privilege])
    assert a.getAdminPrivileges(ref(uid)) == []  # not in system yet
    a.addGroups(ref(uid), [gref(0)])
    assert [p.getValue().val for p in a.getAdminPrivileges(ref(uid))] == ["ModifyUser"]
    other = user(a, "bert", [team, 1])
    a.addGroups(ref(other), [gref(0)])
    assert len(a.getAdminPrivileges(ref(other))) == 15  # no restriction written: a full administrator


def test_a_restricted_session_cannot_elevate(server, root):
    # AdminImpl.assertNoPrivilegeElevation
    a = root.admin
    team = group(a, "team")
    privileges = []
    for name in ("ModifyUser", "ModifyGroupMembership", "ModifyGroup"):
        p = omero.model.AdminPrivilegeI()
        p.setValue(rstring(name))
        privileges.append(p)
    e = omero.model.ExperimenterI()
    for field, value in (("OmeName", "refe"), ("FirstName", "Rita"), ("LastName", "Ref")):
        getattr(e, "set" + field)(rstring(value))
    a.createRestrictedSystemUserWithPassword(e, privileges, rstring(PASSWORD))
    target = Target("127.0.0.1", server.port, "tcp", "refe", PASSWORD, prefix="", store=server.store)
    uid = user(a, "anna", [team, 1])
    with target.session() as s:
        with pytest.raises(omero.SecurityViolation, match="cannot give administrator privileges"):
            s.admin.addGroups(ref(uid), [gref(0)])
        assert s.admin.getAdminPrivileges(ref(uid)) == []  # refused calls change nothing
        with pytest.raises(omero.SecurityViolation, match="more privileged user"):
            s.admin.changeUserPassword("root", rstring("Whatever-1!"))


def test_chown_refuses_experimenter_targets_and_honours_dry_run(root, server):
    # blitz-chown-rules.xml chownTargets; Chown2I dryRun
    a = root.admin
    team = group(a, "team")
    anna, bert = user(a, "anna", [team, 1]), user(a, "bert", [team, 1])
    image = server.store.add_object("Image", anna, team)
    handle = root.sf.submit(omero.cmd.Chown2(targetObjects={"Experimenter": [anna]}, userId=bert))
    response = handle.getResponse()
    assert isinstance(response, omero.cmd.ERR) and response.name == "bad-target"
    response = root.sf.submit(omero.cmd.Chown2(targetUsers=[anna], userId=bert, dryRun=True)).getResponse()
    assert response.includedObjects == {"Image": [image]} and server.store.data[image]["owner"] == anna
    root.sf.submit(omero.cmd.Chown2(targetUsers=[anna], userId=bert))
    assert server.store.data[image]["owner"] == bert


def test_chmod_to_private_reports_and_deletes_cross_owner_links(root, server):
    # blitz-chmod-rules.xml: cross-owner links, others' ROIs and rendering settings, orphaned comments
    a = root.admin
    team = group(a, "team")
    anna, bert = user(a, "anna", [team, 1]), user(a, "bert", [team, 1])
    store = server.store
    image = store.add_object("Image", anna, team)
    comment = store.add_object("CommentAnnotation", bert, team)
    link = store.add_object("ImageAnnotationLink", bert, team, parent=image, child=comment)
    roi = store.add_object("Roi", bert, team, image=image)
    own_roi = store.add_object("Roi", anna, team, image=image)
    request = omero.cmd.Chmod2(targetObjects={"ExperimenterGroup": [team]}, permissions="rw----", dryRun=True)
    response = root.sf.submit(request).getResponse()
    assert response.deletedObjects == {"CommentAnnotation": [comment], "ImageAnnotationLink": [link], "Roi": [roi]}
    assert store.groups[team]["permissions"] == "rwra--" and roi in store.data  # dry run: nothing changed
    request.dryRun = False
    root.sf.submit(request)
    assert store.groups[team]["permissions"] == "rw----"
    assert roi not in store.data and comment not in store.data and own_roi in store.data


def test_unknown_requests_and_queries_are_refused(root):
    with pytest.raises(omero.InternalException, match="real rule unknown"):
        root.sf.getQueryService().projection("select e from Experimenter e", None)
    response = root.sf.submit(omero.cmd.Chgrp2(targetObjects={"Image": [1]}, groupId=1)).getResponse()
    assert isinstance(response, omero.cmd.ERR)
