"""An in-process OMERO stand-in that speaks real Ice: a Glacier2 router, a session, IAdmin, IQuery, Handle.

The accounts modules talk to it through omero-py's real client (``omero.client(...).createSession``),
so every argument and result crosses Ice marshalling exactly as with an OMERO.server. It implements
only the admin-service subset the modules use, with the server-side rules that matter to them
(unique names, membership before ownership, default group must be a membership, restricted admins in
``system``), and counts every call per operation so tests and the benchmark can assert them.

It listens on 127.0.0.1 on an ephemeral port. Not a security boundary: test use only.
"""

import collections
import itertools
import re
import threading
import uuid

import Glacier2
import Ice
import omero
import omero.api
import omero.clients
import omero.cmd
import omero.model
import omero.ObjectFactoryRegistrar
import omero.rtypes
from omero.rtypes import rbool, rlong, rstring

ALL_PRIVILEGES = (
    "Chgrp", "Chown", "DeleteFile", "DeleteManagedRepo", "DeleteOwned", "DeleteScriptRepo",
    "ModifyGroup", "ModifyGroupMembership", "ModifyUser", "ReadSession", "Sudo", "WriteFile",
    "WriteManagedRepo", "WriteOwned", "WriteScriptRepo",
)


def _val(x):
    return x.val if x is not None else None


def _usage(message):
    return omero.ApiUsageException(serverStackTrace="", serverExceptionClass="ome.conditions.ApiUsageException",
                                   message=message)


def _security(message):
    return omero.SecurityViolation(serverStackTrace="", serverExceptionClass="ome.conditions.SecurityViolation",
                                   message=message)


class Store:
    """The server's state: groups, users, memberships, privileges, passwords, data objects."""

    def __init__(self, root_password):
        self.lock = threading.RLock()
        self.ids = itertools.count(100)
        self.groups = {}  # id -> dict(name, permissions, description)
        self.users = {}  # id -> dict(omename, first_name, last_name, email, institution)
        self.links = {}  # user id -> [[group id, owner], ...] (index 0 = default group)
        self.passwords = {}  # user id -> password or None
        self.privileges = {}  # user id -> set of privilege names (admins only)
        self.data = {}  # object id -> {"type": ..., "owner": user id}
        self.counts = collections.Counter()  # "IAdmin.lookupGroups", "submit.Chown2", ...
        self.requests = []  # graph requests received, as (kind, details)
        for gid, name in ((0, "system"), (1, "user"), (2, "guest")):
            self.groups[gid] = {"name": name, "permissions": "rw----", "description": ""}
        self.users[0] = {"omename": "root", "first_name": "root", "last_name": "root", "email": "", "institution": ""}
        self.links[0] = [[0, False], [1, False]]
        self.passwords[0] = root_password
        self.privileges[0] = set(ALL_PRIVILEGES)
        self.users[1] = {"omename": "guest", "first_name": "Guest", "last_name": "Account", "email": "", "institution": ""}
        self.links[1] = [[2, False]]
        self.passwords[1] = ""

    # helpers -------------------------------------------------------------------------------------
    def group_id(self, name):
        for gid, g in self.groups.items():
            if g["name"] == name:
                return gid
        return None

    def user_id(self, name):
        for uid, u in self.users.items():
            if u["omename"] == name:
                return uid
        return None

    def check_user(self, uid):
        if uid not in self.users:
            raise _usage(f"No such experimenter: {uid}")

    def check_group(self, gid):
        if gid not in self.groups:
            raise _usage(f"No such group: {gid}")

    def member_ids(self, gid):
        return [uid for uid, links in self.links.items() if any(g == gid for g, _o in links)]

    def mutating_calls(self):
        return sum(n for op, n in self.counts.items() if op.split(".", 1)[1] in MUTATING or op.startswith("submit."))

    def admin_calls(self):
        return sum(n for op, n in self.counts.items() if op.startswith("IAdmin."))

    # model objects ---------------------------------------------------------------------------------
    def group_object(self, gid, with_members=True):
        g = self.groups[gid]
        obj = omero.model.ExperimenterGroupI(gid, True)
        obj.setName(rstring(g["name"]))
        obj.setDescription(rstring(g["description"]) if g["description"] else None)
        obj.setLdap(rbool(False))
        obj.getDetails().setPermissions(omero.model.PermissionsI(g["permissions"]))
        if with_members:
            for uid in self.member_ids(gid):
                link = omero.model.GroupExperimenterMapI()
                link.setParent(omero.model.ExperimenterGroupI(gid, False))
                link.setChild(omero.model.ExperimenterI(uid, False))
                link.setOwner(rbool(any(g == gid and o for g, o in self.links[uid])))
                obj.addGroupExperimenterMap(link)
        return obj

    def user_object(self, uid):
        u = self.users[uid]
        obj = omero.model.ExperimenterI(uid, True)
        obj.setOmeName(rstring(u["omename"]))
        obj.setFirstName(rstring(u["first_name"]))
        obj.setLastName(rstring(u["last_name"]))
        obj.setEmail(rstring(u["email"]) if u["email"] else None)
        obj.setInstitution(rstring(u["institution"]) if u["institution"] else None)
        obj.setLdap(rbool(False))
        for gid, owner in self.links[uid]:
            link = omero.model.GroupExperimenterMapI()
            link.setParent(self.group_object(gid, with_members=False))
            link.setChild(omero.model.ExperimenterI(uid, False))
            link.setOwner(rbool(owner))
            obj.addGroupExperimenterMap(link)
        return obj


MUTATING = {
    "createGroup", "updateGroup", "createExperimenterWithPassword", "createRestrictedSystemUserWithPassword",
    "updateExperimenter", "addGroups", "removeGroups", "addGroupOwners", "removeGroupOwners", "setDefaultGroup",
    "setAdminPrivileges", "changeUserPassword",
}


def _amd(name):
    """Turn ``_op(self, *args)`` into the AMD servant method ``<name>_async(self, cb, *args, current)``."""

    def decorate(fn):
        def dispatch(self, cb, *args):
            args = args[:-1]  # the last positional argument is the Ice.Current
            with self.store.lock:
                self.store.counts[f"{self.service}.{name}"] += 1
                try:
                    result = fn(self, *args)
                except omero.ServerError as exc:
                    cb.ice_exception(exc)
                    return
                except Exception as exc:  # noqa: BLE001 - surfaced to the client as a server error
                    cb.ice_exception(omero.InternalException(serverStackTrace="", serverExceptionClass=type(exc).__name__,
                                                             message=str(exc)))
                    return
            if result is None:
                cb.ice_response()
            else:
                cb.ice_response(result)

        dispatch.__name__ = f"{name}_async"
        return dispatch

    return decorate


class AdminI(omero.api.IAdmin):
    service = "IAdmin"

    def __init__(self, store):
        self.store = store

    @_amd("lookupGroups")
    def lookupGroups_async(self):
        return [self.store.group_object(gid) for gid in sorted(self.store.groups)]

    @_amd("lookupExperimenters")
    def lookupExperimenters_async(self):
        return [self.store.user_object(uid) for uid in sorted(self.store.users)]

    @_amd("lookupGroup")
    def lookupGroup_async(self, name):
        gid = self.store.group_id(name)
        if gid is None:
            raise _usage(f"No such group: {name}")
        return self.store.group_object(gid)

    @_amd("lookupExperimenter")
    def lookupExperimenter_async(self, name):
        uid = self.store.user_id(name)
        if uid is None:
            raise _usage(f"No such experimenter: {name}")
        return self.store.user_object(uid)

    @_amd("createGroup")
    def createGroup_async(self, group):
        name = _val(group.getName())
        if not name or self.store.group_id(name) is not None:
            raise omero.ValidationException(serverStackTrace="", serverExceptionClass="", message=f"group {name!r} exists")
        gid = next(self.store.ids)
        perms = group.getDetails().getPermissions()
        self.store.groups[gid] = {"name": name, "permissions": str(perms) if perms is not None else "rw----",
                                  "description": _val(group.getDescription()) or ""}
        return gid

    @_amd("updateGroup")
    def updateGroup_async(self, group):
        gid = _val(group.getId())
        self.store.check_group(gid)
        name = _val(group.getName())
        other = self.store.group_id(name)
        if other is not None and other != gid:
            raise _usage(f"group name {name!r} taken")
        self.store.groups[gid].update(name=name, description=_val(group.getDescription()) or "")

    def _new_user(self, e, password):
        name = _val(e.getOmeName())
        if not name or self.store.user_id(name) is not None:
            raise omero.ValidationException(serverStackTrace="", serverExceptionClass="", message=f"user {name!r} exists")
        if not _val(e.getFirstName()) or not _val(e.getLastName()):
            raise omero.ValidationException(serverStackTrace="", serverExceptionClass="", message="first and last name required")
        uid = next(self.store.ids)
        self.store.users[uid] = {"omename": name, "first_name": _val(e.getFirstName()), "last_name": _val(e.getLastName()),
                                 "email": _val(e.getEmail()) or "", "institution": _val(e.getInstitution()) or ""}
        self.store.passwords[uid] = _val(password)
        self.store.links[uid] = []
        return uid

    @_amd("createExperimenterWithPassword")
    def createExperimenterWithPassword_async(self, e, password, default_group, other_groups):
        gids = [_val(default_group.getId())] + [_val(g.getId()) for g in other_groups]
        for gid in gids:
            self.store.check_group(gid)
        uid = self._new_user(e, password)
        for gid in gids:
            if gid not in [g for g, _o in self.store.links[uid]]:
                self.store.links[uid].append([gid, False])
        return uid

    @_amd("createRestrictedSystemUserWithPassword")
    def createRestrictedSystemUserWithPassword_async(self, e, privileges, password):
        uid = self._new_user(e, password)
        self.store.links[uid] = [[1, False], [0, False]]  # user (default), system
        self.store.privileges[uid] = {_val(p.getValue()) for p in privileges}
        return uid

    @_amd("updateExperimenter")
    def updateExperimenter_async(self, e):
        uid = _val(e.getId())
        self.store.check_user(uid)
        name = _val(e.getOmeName())
        other = self.store.user_id(name)
        if not name or (other is not None and other != uid):
            raise _usage(f"omeName {name!r} taken")
        self.store.users[uid].update(omename=name, first_name=_val(e.getFirstName()) or "",
                                     last_name=_val(e.getLastName()) or "", email=_val(e.getEmail()) or "",
                                     institution=_val(e.getInstitution()) or "")

    @_amd("addGroups")
    def addGroups_async(self, user, groups):
        uid = _val(user.getId())
        self.store.check_user(uid)
        for g in groups:
            gid = _val(g.getId())
            self.store.check_group(gid)
            if gid not in [x for x, _o in self.store.links[uid]]:
                self.store.links[uid].append([gid, False])
        if 0 in [x for x, _o in self.store.links[uid]] and uid not in self.store.privileges:
            self.store.privileges[uid] = set(ALL_PRIVILEGES)

    @_amd("removeGroups")
    def removeGroups_async(self, user, groups):
        uid = _val(user.getId())
        self.store.check_user(uid)
        drop = {_val(g.getId()) for g in groups}
        remaining = [link for link in self.store.links[uid] if link[0] not in drop]
        if not remaining:
            raise _usage("a user must stay in at least one group")
        self.store.links[uid] = remaining
        if 0 in drop:
            self.store.privileges.pop(uid, None)

    @_amd("setDefaultGroup")
    def setDefaultGroup_async(self, user, group):
        uid, gid = _val(user.getId()), _val(group.getId())
        self.store.check_user(uid)
        links = self.store.links[uid]
        match = [link for link in links if link[0] == gid]
        if not match:
            raise _usage(f"user {uid} is not a member of group {gid}")
        links.remove(match[0])
        links.insert(0, match[0])

    def _owners(self, group, users, owner):
        gid = _val(group.getId())
        self.store.check_group(gid)
        for u in users:
            uid = _val(u.getId())
            self.store.check_user(uid)
            match = [link for link in self.store.links[uid] if link[0] == gid]
            if not match:
                raise _usage(f"user {uid} is not a member of group {gid}")
            match[0][1] = owner

    @_amd("addGroupOwners")
    def addGroupOwners_async(self, group, users):
        self._owners(group, users, True)

    @_amd("removeGroupOwners")
    def removeGroupOwners_async(self, group, users):
        self._owners(group, users, False)

    @_amd("getAdminPrivileges")
    def getAdminPrivileges_async(self, user):
        uid = _val(user.getId())
        self.store.check_user(uid)
        out = []
        for name in sorted(self.store.privileges.get(uid, ())):
            p = omero.model.AdminPrivilegeI()
            p.setValue(rstring(name))
            out.append(p)
        return out

    @_amd("setAdminPrivileges")
    def setAdminPrivileges_async(self, user, privileges):
        uid = _val(user.getId())
        self.store.check_user(uid)
        self.store.privileges[uid] = {_val(p.getValue()) for p in privileges}

    @_amd("changeUserPassword")
    def changeUserPassword_async(self, name, password):
        uid = self.store.user_id(name)
        if uid is None:
            raise _usage(f"No such experimenter: {name}")
        self.store.passwords[uid] = _val(password)

    @_amd("getEventContext")
    def getEventContext_async(self):
        return omero.sys.EventContext(userName="root", userId=0, isAdmin=True)


class QueryI(omero.api.IQuery):
    """Only the owner projection the delete_data path uses."""

    service = "IQuery"
    pattern = re.compile(r"^select o\.id from (\w+) o where o\.details\.owner\.id = :uid$")

    def __init__(self, store):
        self.store = store

    @_amd("projection")
    def projection_async(self, query, params):
        match = self.pattern.match(query)
        if not match:
            raise _usage(f"test server: unsupported query {query!r}")
        uid = _val(params.map["uid"])
        return [[rlong(oid)] for oid, obj in sorted(self.store.data.items())
                if obj["type"] == match.group(1) and obj["owner"] == uid]


class HandleI(omero.cmd.Handle):
    def __init__(self, request, response, adapter):
        self.request = request
        self.response = response
        self.adapter = adapter

    def getRequest(self, current=None):
        return self.request

    def getResponse(self, current=None):
        return self.response

    def getStatus(self, current=None):
        return omero.cmd.Status(steps=1, currentStep=1)

    def addCallback(self, cb, current=None):
        pass

    def removeCallback(self, cb, current=None):
        pass

    def cancel(self, current=None):
        return False

    def close(self, current=None):
        self.adapter.remove(current.id)


class SessionI(omero.api.ServiceFactory):
    def __init__(self, store, adapter, name):
        self.store = store
        self.adapter = adapter
        self.name = name
        self.admin = adapter.add(AdminI(store), Ice.Identity(name, "IAdmin"))
        self.query = adapter.add(QueryI(store), Ice.Identity(name, "IQuery"))

    def getAdminService(self, current=None):
        return omero.api.IAdminPrx.uncheckedCast(self.admin)

    def getQueryService(self, current=None):
        return omero.api.IQueryPrx.uncheckedCast(self.query)

    def setCallback(self, callback, current=None):
        pass

    def keepAlive(self, proxy, current=None):
        return True

    def keepAllAlive(self, proxies, current=None):
        return []

    def closeOnDestroy(self, current=None):
        pass

    def detachOnDestroy(self, current=None):
        pass

    def destroy(self, current=None):
        pass

    def submit_async(self, cb, request, current=None):
        kind = type(request).__name__
        with self.store.lock:
            self.store.counts[f"submit.{kind}"] += 1
            try:
                response = self._run(request)
            except Exception as exc:  # noqa: BLE001 - an ERR response, as the server would send
                response = omero.cmd.ERR(category="test-server", name=type(exc).__name__, parameters={"message": str(exc)})
        handle = self.adapter.addWithUUID(HandleI(request, response, self.adapter))
        cb.ice_response(omero.cmd.HandlePrx.uncheckedCast(handle))

    def _run(self, request):
        if isinstance(request, omero.cmd.Chmod2):
            for gid in request.targetObjects.get("ExperimenterGroup", []):
                self.store.check_group(gid)
                self.store.groups[gid]["permissions"] = request.permissions
            self.store.requests.append(("Chmod2", dict(request.targetObjects), request.permissions))
            return omero.cmd.Chmod2Response()
        if isinstance(request, omero.cmd.Chown2):
            moved = []
            for uid in request.targetObjects.get("Experimenter", []):
                self.store.check_user(uid)
                self.store.check_user(request.userId)
                for oid, obj in self.store.data.items():
                    if obj["owner"] == uid:
                        obj["owner"] = request.userId
                        moved.append(oid)
            self.store.requests.append(("Chown2", dict(request.targetObjects), request.userId))
            return omero.cmd.Chown2Response(includedObjects={"Image": moved})
        if isinstance(request, omero.cmd.Delete2):
            deleted = []
            for ids in request.targetObjects.values():
                for oid in ids:
                    if self.store.data.pop(oid, None) is not None:
                        deleted.append(oid)
            self.store.requests.append(("Delete2", dict(request.targetObjects), None))
            return omero.cmd.Delete2Response(deletedObjects={"Image": deleted})
        raise ValueError(f"test server: unsupported request {type(request).__name__}")


class RouterI(Glacier2.Router):
    def __init__(self, store, adapter):
        self.store = store
        self.adapter = adapter
        self.sessions = {}  # connection -> identity

    def getClientProxy(self, current=None):
        return None  # the client then sends everything to the router's own endpoints: this adapter

    def getServerProxy(self, current=None):
        return self.adapter.createProxy(Ice.Identity("callbacks", "test"))

    def addProxies(self, proxies, current=None):
        return []

    def getCategoryForClient(self, current=None):
        return "callback-" + str(abs(hash(current.con.toString())))

    def createSession_async(self, cb, user, password, current=None):
        with self.store.lock:
            self.store.counts["Router.createSession"] += 1
            uid = self.store.user_id(user)
            ok = uid is not None and self.store.passwords.get(uid) not in (None, "") and self.store.passwords[uid] == password
            active = uid is not None and any(g == 1 for g, _o in self.store.links.get(uid, []))
        if not (ok and active):
            cb.ice_exception(Glacier2.PermissionDeniedException("Password check failed"))
            return
        name = str(uuid.uuid4())
        prx = self.adapter.add(SessionI(self.store, self.adapter, name), Ice.Identity(name, ""))
        self.sessions[current.con.toString()] = name
        cb.ice_response(Glacier2.SessionPrx.uncheckedCast(prx))

    def createSessionFromSecureConnection_async(self, cb, current=None):
        cb.ice_exception(Glacier2.PermissionDeniedException("not supported by the test server"))

    def refreshSession_async(self, cb, current=None):
        cb.ice_response()

    def destroySession(self, current=None):
        with self.store.lock:
            self.store.counts["Router.destroySession"] += 1
        name = self.sessions.pop(current.con.toString(), None)
        if name is None:
            return  # nothing to destroy: Glacier2 would say SessionNotExist, which omero-py ignores
        for category in ("", "IAdmin", "IQuery"):
            try:
                self.adapter.remove(Ice.Identity(name, category))
            except Ice.NotRegisteredException:
                pass

    def getSessionTimeout(self, current=None):
        return 600

    def getACMTimeout(self, current=None):
        return 0


class OmeroTestServer:
    """Start with ``with OmeroTestServer() as server:``; connect to 127.0.0.1:``server.port`` over tcp."""

    def __init__(self, root_password="Root-Test-Passw0rd!"):
        self.root_password = root_password
        self.store = Store(root_password)
        self.communicator = None
        self.port = None

    def __enter__(self):
        data = Ice.InitializationData()
        data.properties = Ice.createProperties()
        data.properties.setProperty("Ice.ThreadPool.Server.Size", "2")
        data.properties.setProperty("Ice.MessageSizeMax", "262144")
        self.communicator = Ice.initialize(data)
        omero.ObjectFactoryRegistrar.registerObjectFactory(self.communicator, None)
        for factory in omero.rtypes.ObjectFactories.values():
            factory.register(self.communicator)
        adapter = self.communicator.createObjectAdapterWithEndpoints("OmeroTestServer", "tcp -h 127.0.0.1 -p 0")
        adapter.add(RouterI(self.store, adapter), Ice.Identity("router", "OMERO.Glacier2"))
        adapter.activate()
        self.port = adapter.getEndpoints()[0].getInfo().port
        return self

    def __exit__(self, *exc_info):
        self.communicator.destroy()
        self.communicator = None
        return False

    def connection_args(self):
        return {"host": "127.0.0.1", "port": self.port, "protocol": "tcp",
                "admin_user": "root", "admin_password": self.root_password}

    def reset_counts(self):
        with self.store.lock:
            self.store.counts.clear()


def main():
    """Serve until interrupted; print the port on stdout (manual playbook runs)."""
    import os
    import signal

    password = os.environ.get("OMERO_TEST_SERVER_ROOT_PASSWORD", "Root-Test-Passw0rd!")
    with OmeroTestServer(root_password=password) as server:
        print(server.port, flush=True)
        signal.signal(signal.SIGTERM, lambda *_: server.communicator.shutdown())
        try:
            server.communicator.waitForShutdown()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
