"""An in-process OMERO stand-in that speaks real Ice: a Glacier2 router, sessions, IAdmin, IQuery, graph requests.

The accounts modules talk to it through omero-py's real client (``omero.client(...).createSession``),
so every argument and result crosses Ice marshalling exactly as with an OMERO.server.

It must be AT LEAST AS STRICT AS THE REAL SERVER. Every rule it enforces names, in a one-line comment,
the real source it follows:
  - ome/omero-server ``src/main/java/ome/logic/AdminImpl.java`` (AdminImpl.<method>) and
    ``src/main/java/ome/security/auth/SimpleRoleProvider.java`` (SimpleRoleProvider.<method>);
  - ome/omero-server ``src/main/java/ome/security/auth/PasswordUtil.java`` (null password = locked);
  - ome/omero-blitz ``src/main/java/omero/cmd/graphs/{Chown2I,Chmod2I,Delete2I,GraphHelper}.java`` and
    ``src/main/resources/ome/services/graph-rules/blitz-{chown,chmod,delete}-rules.xml``.
Where it cannot know what the real server would do, it REFUSES (``_unknown``) rather than allows.

Its data is seeded the way OMERO creates it (omero_import.py: imports, script runs, photos, plates); the
graph rules over that data are in omero_test_server_graph.py. A graph request is one transaction applied
when its handle finishes (``graph_delay``/``graph_rate`` make it last); closing it earlier cancels it.

Each session acts with the privileges of the user who logged in: root is a full administrator, a
referent a restricted ("light") administrator whose privileges come from ``AdminPrivilege:<X>=false``
entries (``restricted``), anybody else a plain user who may be a group owner.

It listens on 127.0.0.1 on an ephemeral port and counts every call per operation so tests and the
benchmark can assert them. Not a security boundary: test use only.
"""

import collections
import itertools
import re
import threading
import time
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
import omero_test_server_governance  # governance hook (issue 11)
import omero_test_server_graph
import omero_test_server_policy  # download policy (issue 20)
from omero.rtypes import rbool, rlong, rstring

ALL_PRIVILEGES = frozenset((
    "Chgrp", "Chown", "DeleteFile", "DeleteManagedRepo", "DeleteOwned", "DeleteScriptRepo",
    "ModifyGroup", "ModifyGroupMembership", "ModifyUser", "ReadSession", "Sudo", "WriteFile",
    "WriteManagedRepo", "WriteOwned", "WriteScriptRepo",
))
ROOT_UID, GUEST_UID = 0, 1
SYSTEM_GID, USER_GID, GUEST_GID = 0, 1, 2
VALID_PERMISSIONS = ("rw----", "rwr---", "rwra--", "rwrw--")

# The data model the stand-in knows. Anything else is refused (it cannot know the real rules for it).
CONTAINERS = ("Project", "Dataset", "Screen", "Plate", "Folder")
ANNOTATIONS = ("TagAnnotation", "CommentAnnotation", "FileAnnotation", "LongAnnotation", "MapAnnotation")
# Annotations the real rules delete when orphaned "regardless of permissions" (BasicAnnotation,
# CommentAnnotation) or "considered for deletion" when unlinked (Map/List/Xml): blitz-chmod-rules.xml.
ORPHAN_DELETED = ("CommentAnnotation", "LongAnnotation", "MapAnnotation")
CONTAINER_LINKS = {"ProjectDatasetLink": ("Project", "Dataset"), "DatasetImageLink": ("Dataset", "Image"),
                   "ScreenPlateLink": ("Screen", "Plate"), "FolderImageLink": ("Folder", "Image")}
ANNOTATION_LINKS = {f"{p}AnnotationLink": p for p in ("Project", "Dataset", "Image", "Screen", "Plate", "Folder", "Roi")}
LINKS = dict(CONTAINER_LINKS, **{k: (v, "Annotation") for k, v in ANNOTATION_LINKS.items()})
ATTACHED = ("Roi", "RenderingDef", "Pixels", "Channel")  # hang off an Image ("image" key)
# Import-shaped data (tests/support/omero_import.py; rules in omero_test_server_graph.py).
JOB_TYPES = omero_test_server_graph.JOBS
IMPORTED = ("Fileset", "FilesetEntry", "FilesetJobLink", "JobOriginalFileLink", "Well", "WellSample", "PlateAcquisition",
            "ExperimenterAnnotationLink") + JOB_TYPES
OBJECT_TYPES = frozenset(CONTAINERS + ANNOTATIONS + tuple(LINKS) + ATTACHED + IMPORTED + ("Image", "OriginalFile"))
# Superclass names a request or query may use for the types above.
SUPERCLASSES = {"Annotation": ANNOTATIONS, "IAnnotationLink": tuple(ANNOTATION_LINKS), "Job": JOB_TYPES}
# blitz-chown-rules.xml <util:list id="chownTargets">: the classes Chown2 may target (no Experimenter).
CHOWN_TARGETS = frozenset((
    "Instrument", "Annotation", "IAnnotationLink", "Dataset", "DatasetImageLink", "Project", "ProjectDatasetLink",
    "Folder", "FolderImageLink", "FolderRoiLink", "Image", "OriginalFile", "RenderingDef", "Thumbnail", "Experiment",
    "Fileset", "Link", "Job", "JobOriginalFileLink", "Roi", "Plate", "Reagent", "Screen", "ScreenPlateLink",
    "WellReagentLink",
))
# blitz-chmod-rules.xml <util:list id="chmodTargets">: only groups.
CHMOD_TARGETS = frozenset(("ExperimenterGroup",))
# Chown2I.InternalProcessor.UNIQUENESS_RISK_LINK_TYPES.
UNIQUENESS_RISK = frozenset(tuple(ANNOTATION_LINKS) + ("ScreenPlateLink", "ProjectDatasetLink", "DatasetImageLink",
                                                       "FolderImageLink"))


def _val(x):
    return x.val if x is not None else None


def _exc(cls, server_class, message):
    return cls(serverStackTrace="", serverExceptionClass=server_class, message=message)


def _usage(message):
    return _exc(omero.ApiUsageException, "ome.conditions.ApiUsageException", message)


def _validation(message):
    return _exc(omero.ValidationException, "ome.conditions.ValidationException", message)


def _security(message):
    return _exc(omero.SecurityViolation, "ome.conditions.SecurityViolation", message)


def _unknown(message):
    """The stand-in cannot know the real rule: refuse rather than allow."""
    return _exc(omero.InternalException, "test-server.unknown-rule", f"test server refuses (real rule unknown): {message}")


class GraphFail(Exception):
    """A graph request cancelled the way the real helper.cancel() does: an ERR with a category and a name."""

    def __init__(self, name, message, graph=False):
        super().__init__(message)
        self.name = name
        self.graph = graph


def _type_matches(obj_type, name):
    return obj_type == name or obj_type in SUPERCLASSES.get(name, ())


class Store:
    """The server's state: groups, users, memberships, privileges, passwords, data objects."""

    def __init__(self, root_password):
        self.lock = threading.RLock()
        self.ids = itertools.count(100)
        self.groups = {}  # id -> dict(name, permissions, description, ldap, config [(name, value), ...])
        self.users = {}  # id -> dict(omename, first_name, middle_name, last_name, email, institution, ldap)
        self.links = {}  # user id -> [[group id, owner], ...] (index 0 = default group)
        self.passwords = {}  # user id -> password, or None (locked)
        self.restricted = {}  # user id -> privileges set to false in Experimenter.config (AdminPrivilege:<X>=false)
        # object id -> {"type", "owner", "group", and for links "parent"/"child", for ROIs and rendering settings
        # "image", for file annotations "file"; optional "name", "created" (YYYY-MM-DD), "size" (bytes)}
        self.data = {}
        self.counts = collections.Counter()  # "IAdmin.lookupGroups", "submit.Chown2", ...
        # Fault injection for tests: {"IAdmin.updateExperimenter": 1} fails the next such call once.
        self.faults = collections.Counter()
        self.requests = []  # graph requests received, as (kind, details)
        # The server-wide omero.policy.binary_access (omero-server.properties default).
        self.binary_access = omero_test_server_policy.SERVER_DEFAULT
        for gid, name in ((SYSTEM_GID, "system"), (USER_GID, "user"), (GUEST_GID, "guest")):
            self.groups[gid] = {"name": name, "permissions": "rw----", "description": "", "ldap": False, "config": []}
        self.users[ROOT_UID] = self._user_record("root", "root", "root")
        self.links[ROOT_UID] = [[SYSTEM_GID, False], [USER_GID, False]]
        self.passwords[ROOT_UID] = root_password
        self.users[GUEST_UID] = self._user_record("guest", "Guest", "Account")
        self.links[GUEST_UID] = [[GUEST_GID, False]]
        self.passwords[GUEST_UID] = None

    @staticmethod
    def _user_record(omename, first, last, **extra):
        record = {"omename": omename, "first_name": first, "middle_name": "", "last_name": last, "email": "",
                  "institution": "", "ldap": False}
        record.update(extra)
        return record

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
            raise _usage(f"No such experimenter: {uid}")  # AdminImpl.userProxy: an unknown id is refused

    def check_group(self, gid):
        if gid not in self.groups:
            raise _usage(f"No such group: {gid}")  # AdminImpl.groupProxy: an unknown id is refused

    def member_ids(self, gid):
        return [uid for uid, links in self.links.items() if any(g == gid for g, _o in links)]

    def member_of(self, uid):
        return [g for g, _o in self.links.get(uid, [])]

    def leader_of(self, uid):
        return [g for g, owner in self.links.get(uid, []) if owner]

    def is_admin(self, uid):
        return SYSTEM_GID in self.member_of(uid)

    def admin_privileges(self, uid):
        """AdminImpl.getAdminPrivileges: none outside system, else all but those set false in the user's config."""
        if not self.is_admin(uid):
            return set()
        return set(ALL_PRIVILEGES) - self.restricted.get(uid, set())

    def owned(self, uid):
        return {oid for oid, obj in self.data.items() if obj["owner"] == uid}

    def add_object(self, kind, owner, group, **fields):
        """Seed one data object (tests); returns its id."""
        if kind not in OBJECT_TYPES:
            raise ValueError(f"test server does not model {kind}")
        oid = next(self.ids)
        self.data[oid] = dict(fields, type=kind, owner=owner, group=group)
        return oid

    def mutating_calls(self):
        return sum(n for op, n in self.counts.items() if op.split(".", 1)[1] in MUTATING
                   or (op.startswith("submit.") and not op.endswith(".dryRun")))

    def admin_calls(self):
        return sum(n for op, n in self.counts.items() if op.startswith("IAdmin."))

    # model objects ---------------------------------------------------------------------------------
    def group_object(self, gid, with_members=True, with_config=False):
        g = self.groups[gid]
        obj = omero.model.ExperimenterGroupI(gid, True)
        obj.setName(rstring(g["name"]))
        obj.setDescription(rstring(g["description"]) if g["description"] else None)
        obj.setLdap(rbool(g["ldap"]))
        obj.getDetails().setPermissions(omero.model.PermissionsI(g["permissions"]))
        # AdminImpl.lookupGroups/getGroup fetch the memberships, not the config (left null); IQuery.get loads it.
        obj.setConfig([omero.model.NamedValue(n, v) for n, v in g.get("config") or []] if with_config else None)
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
        obj.setMiddleName(rstring(u["middle_name"]) if u["middle_name"] else None)
        obj.setLastName(rstring(u["last_name"]))
        obj.setEmail(rstring(u["email"]) if u["email"] else None)
        obj.setInstitution(rstring(u["institution"]) if u["institution"] else None)
        obj.setLdap(rbool(u["ldap"]))
        for gid, owner in self.links[uid]:
            link = omero.model.GroupExperimenterMapI()
            link.setParent(self.group_object(gid, with_members=False))
            link.setChild(omero.model.ExperimenterI(uid, False))
            link.setOwner(rbool(owner))
            obj.addGroupExperimenterMap(link)
        return obj


MUTATING = {
    "createGroup", "updateGroup", "createExperimenter", "createExperimenterWithPassword", "createRestrictedSystemUser", "createRestrictedSystemUserWithPassword",
    "updateExperimenter", "addGroups", "removeGroups", "addGroupOwners", "removeGroupOwners", "setDefaultGroup",
    "setAdminPrivileges", "changeUserPassword",
}


def _amd(name):
    """Turn ``_op(self, *args)`` into the AMD servant method ``<name>_async(self, cb, *args, current)``."""

    def decorate(fn):
        def dispatch(self, cb, *args):
            current = args[-1]
            args = args[:-1]
            with self.store.lock:
                op = f"{self.service}.{name}"
                self.store.counts[op] += 1
                self.ctx = dict(current.ctx or {}) if current is not None else {}
                try:
                    if self.store.faults[op] > 0:
                        self.store.faults[op] -= 1
                        raise omero.InternalException(serverStackTrace="", serverExceptionClass="test-server.fault",
                                                      message=f"injected fault in {op}")
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


class Caller:
    """The logged-in user of a session and the real server's permission helpers for them."""

    def __init__(self, store, uid):
        self.store = store
        self.uid = uid

    def privileges(self):
        # AdminImpl.getCurrentAdminPrivilegesForSession: privileges only for members of system.
        return self.store.admin_privileges(self.uid)

    def admin_with(self, privilege):
        return self.store.is_admin(self.uid) and privilege in self.privileges()

    def roles_allowed_system(self):
        # @RolesAllowed("system") on AdminImpl.createGroup / createRestrictedSystemUser* / setAdminPrivileges.
        if not self.store.is_admin(self.uid):
            raise _security("method requires the 'system' role")

    def admin_or_pi_of_groups(self, privilege, gids):
        # AdminImpl.adminOrPiOfGroups: an admin holding the privilege, else the owner of every group.
        if not self.admin_with(privilege):
            for gid in gids:
                if gid not in self.store.leader_of(self.uid):
                    raise _security("Current user is neither admin nor group-leader for the given user(s)/group(s)")

    def admin_of_user(self):
        # AdminImpl.adminOfUser: an admin holding ModifyUser.
        if not self.admin_with("ModifyUser"):
            raise _security("Current user is not admin for the given user(s)")

    def admin_or_pi_of_user(self, target):
        # AdminImpl.adminOrPiOfUser: an admin holding ModifyUser, or the owner of a group the target is in.
        if not (self.admin_with("ModifyUser") or set(self.store.member_of(target)) & set(self.store.leader_of(self.uid))):
            raise _security("Current user is neither admin nor group-leader for the given user(s)/group(s)")

    def no_elevation(self, target, before):
        # AdminImpl.assertNoPrivilegeElevation: privileges gained must be ones the caller holds.
        gained = self.store.admin_privileges(target) - set(before)
        if gained - self.privileges():
            raise _security("cannot give administrator privileges that current user does not have")


class AdminI(omero.api.IAdmin):
    service = "IAdmin"

    def __init__(self, store, caller):
        self.store = store
        self.caller = caller
        self.ctx = {}

    # reads ---------------------------------------------------------------------------------------
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
            raise _usage(f"No such group: {name}")  # AdminImpl.lookupGroup: ApiUsageException when absent
        return self.store.group_object(gid)

    @_amd("lookupExperimenter")
    def lookupExperimenter_async(self, name):
        uid = self.store.user_id(name)
        if uid is None:
            raise _usage(f"No such experimenter: {name}")  # AdminImpl.lookupExperimenter: ApiUsageException when absent
        return self.store.user_object(uid)

    @_amd("getAdminPrivileges")
    def getAdminPrivileges_async(self, user):
        uid = _val(user.getId())
        self.store.check_user(uid)
        return _privilege_objects(self.store.admin_privileges(uid))

    @_amd("getCurrentAdminPrivileges")
    def getCurrentAdminPrivileges_async(self):
        return _privilege_objects(self.caller.privileges())

    @_amd("getEventContext")
    def getEventContext_async(self):
        uid = self.caller.uid
        default = self.store.links[uid][0][0] if self.store.links[uid] else None
        return omero.sys.EventContext(
            userName=self.store.users[uid]["omename"], userId=uid, isAdmin=self.store.is_admin(uid),
            groupId=default, groupName=self.store.groups[default]["name"] if default is not None else "",
            memberOfGroups=self.store.member_of(uid), leaderOfGroups=self.store.leader_of(uid),
            adminPrivileges=sorted(self.caller.privileges()))

    @_amd("uploadMyUserPhoto")
    def uploadMyUserPhoto_async(self, filename, mimetype, data):
        # AdminImpl.uploadMyUserPhoto: the file, its photo FileAnnotation and the ExperimenterAnnotationLink,
        # moved to group user (tests/support/omero_import.upload_photo); a second upload replaces the file.
        import omero_import

        return omero_import.upload_photo(self.store, self.caller.uid, filename)["file"]

    # groups --------------------------------------------------------------------------------------
    @_amd("createGroup")
    def createGroup_async(self, group):
        self.caller.roles_allowed_system()
        # AdminImpl.createGroup: the session's privileges must include ModifyGroup.
        if "ModifyGroup" not in self.caller.privileges():
            raise _security("Current user is neither admin nor group-leader for the given user(s)/group(s)")
        name = _val(group.getName())
        if name is None:
            raise _validation("Group name may not be null.")  # SimpleRoleProvider.copyGroup
        if self.store.group_id(name) is not None:
            raise _validation(f"Group already exists: {name}")  # unique ExperimenterGroup.name
        perms = group.getDetails().getPermissions() if group.getDetails() is not None else None
        text = str(perms) if perms is not None else "rw----"  # SimpleRoleProvider.createGroup: null -> private
        if text not in VALID_PERMISSIONS:
            raise _unknown(f"group permissions {text!r}")
        gid = next(self.store.ids)
        # SimpleRoleProvider.copyGroup: the new group keeps the config it is given.
        config = [(nv.name, nv.value) for nv in group.getConfig() or [] if nv is not None]
        self.store.groups[gid] = {"name": name, "permissions": text, "description": _val(group.getDescription()) or "",
                                  "ldap": bool(_val(group.getLdap())), "config": config}
        return gid

    @_amd("updateGroup")
    def updateGroup_async(self, group):
        gid = _val(group.getId())
        self.store.check_group(gid)
        self.caller.admin_or_pi_of_groups("ModifyGroup", [gid])
        current = self.store.groups[gid]
        perms = group.getDetails().getPermissions() if group.getDetails() is not None else None
        if perms is not None and str(perms) != current["permissions"]:
            # AdminImpl.updateGroup: permissions sent are applied through changePermissions (ticket:1776).
            if not _readable(str(perms)) and _readable(current["permissions"]):
                raise _unknown("updateGroup downgrading a group to private (AdminImpl.changePermissions checks)")
            current["permissions"] = str(perms)
        name = _val(group.getName())
        if name != current["name"]:
            fixed = ("guest", "system", "user")
            if current["name"] in fixed:  # AdminImpl.updateGroup: special groups keep their names
                raise _validation(f"cannot change name of special group '{current['name']}'")
            if name in fixed:  # AdminImpl.updateGroup
                raise _validation(f"cannot change name to special group '{name}'")
            if self.store.links[self.caller.uid] and self.store.links[self.caller.uid][0][0] == gid:
                raise _validation(f"cannot rename the current group context '{current['name']}'")  # AdminImpl.updateGroup
            if name is None or self.store.group_id(name) is not None:
                raise _validation(f"group name {name!r} taken")  # unique ExperimenterGroup.name
        # AdminImpl.updateGroup copies name and description only: a config sent here is ignored, as there.
        current.update(name=name, description=_val(group.getDescription()) or "")  # null description clears it

    # users ---------------------------------------------------------------------------------------
    def _new_user(self, e, gids, restricted=None):
        # SimpleRoleProvider.copyUser: omeName required; first and last names are not-null columns.
        name = _val(e.getOmeName())
        if name is None:
            raise _validation("OmeName may not be null.")
        if self.store.user_id(name) is not None:
            raise _validation(f"user {name!r} exists")
        if not _val(e.getFirstName()) or not _val(e.getLastName()):
            raise _validation("first and last name required")
        for gid in gids:
            self.store.check_group(gid)
        if gids[0] == USER_GID:
            raise _unknown("a new user whose default group is 'user' (AdminImpl.setDefaultGroup refuses it)")
        uid = next(self.store.ids)
        self.store.users[uid] = Store._user_record(
            name, _val(e.getFirstName()), _val(e.getLastName()), middle_name=_val(e.getMiddleName()) or "",
            email=_val(e.getEmail()) or "", institution=_val(e.getInstitution()) or "", ldap=bool(_val(e.getLdap())))
        self.store.links[uid] = []
        for gid in gids:  # SimpleRoleProvider.linkGroupAndUser skips a group already linked
            if gid not in self.store.member_of(uid):
                self.store.links[uid].append([gid, False])
        if restricted is not None:
            self.store.restricted[uid] = set(restricted)
        return uid

    def _create(self, e, password, gids, restricted=None):
        # AdminImpl.createExperimenterWithPassword: adminOrPiOfNonUserGroups with ModifyUser.
        self.caller.admin_or_pi_of_groups("ModifyUser", [g for g in gids if g != USER_GID])
        with _rollback(self.store):
            uid = self._new_user(e, gids, restricted)
            # AdminImpl.changeUserPassword(isNewUser): adminOrPiOfUser, target no more privileged than the caller.
            self.caller.admin_or_pi_of_user(uid)
            if self.store.admin_privileges(uid) - self.caller.privileges():
                raise _security("Cannot change the password of a more privileged user.")
            if password is not None and self.store.users[uid]["ldap"]:
                # PasswordProviders.changePassword: an LDAP account's password belongs to the directory
                # (LdapPasswordProvider -> ConfigurablePasswordProvider.changePassword refuses it once the account
                # has its DN); the stand-in cannot know whether the DN exists yet, so it refuses a password.
                raise _security("PasswordChangeException: Cannot change password with this implementation: "
                                "LdapPasswordProvider")
            # PasswordUtil.preparePassword: a null (or blank, password_required) password locks the account.
            self.store.passwords[uid] = _val(password) if _val(password) and _val(password).strip() else None
            self.caller.no_elevation(uid, set())  # AdminImpl.createExperimenterWithPassword
        return uid

    @_amd("createExperimenterWithPassword")
    def createExperimenterWithPassword_async(self, e, password, default_group, other_groups):
        gids = [_val(default_group.getId())] + [_val(g.getId()) for g in other_groups]
        return self._create(e, password, gids)

    @_amd("createExperimenter")
    def createExperimenter_async(self, e, default_group, other_groups):
        # AdminImpl.createExperimenter: as createExperimenterWithPassword with a blank password (" "), which
        # PasswordUtil stores as no password: only the LDAP provider (for ldap accounts) can log them in.
        gids = [_val(default_group.getId())] + [_val(g.getId()) for g in other_groups]
        return self._create(e, None, gids)

    @_amd("createRestrictedSystemUser")
    def createRestrictedSystemUser_async(self, e, privileges):
        return self._restricted(e, privileges, None)  # AdminImpl.createRestrictedSystemUser: blank password

    @_amd("createRestrictedSystemUserWithPassword")
    def createRestrictedSystemUserWithPassword_async(self, e, privileges, password):
        return self._restricted(e, privileges, password)

    def _restricted(self, e, privileges, password):
        self.caller.roles_allowed_system()
        names = {_val(p.getValue()) for p in privileges}
        if names - ALL_PRIVILEGES:  # AdminImpl.assertKnownPrivileges
            raise _usage(f"unknown light administrator privilege: {min(names - ALL_PRIVILEGES)}")
        # AdminImpl.createSystemUserWithPassword: default group system, other group user.
        return self._create(e, password, [SYSTEM_GID, USER_GID], restricted=ALL_PRIVILEGES - names)

    @_amd("updateExperimenter")
    def updateExperimenter_async(self, e):
        uid = _val(e.getId())
        self.store.check_user(uid)
        if uid != self.caller.uid:
            self.caller.admin_of_user()  # AdminImpl.updateExperimenter (else updateSelf for oneself)
        elif not self.caller.admin_with("ModifyUser"):
            raise _unknown("updateSelf (AdminImpl.updateSelf has its own rules)")
        record = self.store.users[uid]
        name = _val(e.getOmeName())
        if name != record["omename"]:
            fixed = ("root", "guest")
            if record["omename"] in fixed:  # AdminImpl.copyAndSaveExperimenter
                raise _validation(f"cannot change name of special experimenter '{record['omename']}'")
            if name in fixed:  # AdminImpl.copyAndSaveExperimenter
                raise _validation(f"cannot change name to special experimenter '{name}'")
            if name is None or self.store.user_id(name) is not None:
                raise _validation(f"omeName {name!r} taken")  # unique Experimenter.omeName
        if not _val(e.getFirstName()) or not _val(e.getLastName()):
            raise _validation("first and last name required")  # not-null columns
        # AdminImpl.copyAndSaveExperimenter copies omeName, email, first, middle, last name and institution as
        # sent (null clears them) and never the ldap flag.
        record.update(omename=name, first_name=_val(e.getFirstName()), middle_name=_val(e.getMiddleName()) or "",
                      last_name=_val(e.getLastName()), email=_val(e.getEmail()) or "",
                      institution=_val(e.getInstitution()) or "")

    @_amd("addGroups")
    def addGroups_async(self, user, groups):
        uid = _val(user.getId())
        if not groups:
            raise _validation("Nothing to do.")  # AdminImpl.addGroups
        self.store.check_user(uid)
        gids = [_val(g.getId()) for g in groups]
        for gid in gids:
            self.store.check_group(gid)
        self._add_groups(uid, gids)

    def _add_groups(self, uid, gids):
        before = self.store.admin_privileges(uid)
        self.caller.admin_or_pi_of_groups("ModifyGroupMembership", gids)  # AdminImpl.addGroups
        with _rollback(self.store):
            for gid in gids:
                if gid not in self.store.member_of(uid):
                    self.store.links[uid].append([gid, False])
            _fix_default_group(self.store, uid)  # SimpleRoleProvider.addGroups -> fixDefaultGroup
            # AdminImpl.addGroups: joining system grants every privilege not set false in the user's config.
            self.caller.no_elevation(uid, before)

    @_amd("removeGroups")
    def removeGroups_async(self, user, groups):
        uid = _val(user.getId())
        self.store.check_user(uid)
        gids = [_val(g.getId()) for g in groups]
        self.caller.admin_or_pi_of_groups("ModifyGroupMembership", gids)  # AdminImpl.removeGroups
        system_or_user = bool({SYSTEM_GID, USER_GID} & set(gids))
        if system_or_user and uid == ROOT_UID:  # AdminImpl.removeGroups
            raise _validation("experimenter 'root' may not be removed from the 'system' or 'user' group")
        if system_or_user and uid == self.caller.uid:  # AdminImpl.removeGroups
            raise _validation("experimenters may not remove themselves from the 'system' or 'user' group")
        remaining = [link for link in self.store.links[uid] if link[0] not in gids]
        if not remaining:  # AdminImpl.removeGroups
            raise _validation("experimenter must remain a member of some group")
        if [g for g, _o in remaining] == [USER_GID]:  # AdminImpl.removeGroups
            raise _validation("experimenter cannot be a member of only the 'user' group, "
                              "a different default group is also required")
        self.store.links[uid] = remaining
        _fix_default_group(self.store, uid)  # SimpleRoleProvider.removeGroups -> fixDefaultGroup

    @_amd("setDefaultGroup")
    def setDefaultGroup_async(self, user, group):
        uid, gid = _val(user.getId()), _val(group.getId())
        if gid is None:
            raise _usage("Group argument to setDefaultGroup must be managed (i.e. have an id)")  # AdminImpl
        self.store.check_user(uid)
        if not (self.caller.admin_with("ModifyUser") or self.caller.uid == uid):  # AdminImpl.setDefaultGroup
            raise _security(f"User {uid} can only set own default group.")
        if gid == USER_GID:  # AdminImpl.setDefaultGroup
            raise _usage("Cannot set default group to: user")
        links = self.store.links[uid]
        match = [link for link in links if link[0] == gid]
        if not match:  # SimpleRoleProvider.setDefaultGroup
            raise _usage(f"Group {gid} was not found for user {uid}")
        links.remove(match[0])
        links.insert(0, match[0])

    def _owners(self, group, users, owner):
        gid = _val(group.getId())
        self.store.check_group(gid)
        self.caller.admin_or_pi_of_groups("ModifyGroupMembership", [gid])  # AdminImpl.add/removeGroupOwners
        for u in users:
            uid = _val(u.getId())
            self.store.check_user(uid)
            if gid not in self.store.member_of(uid):
                self._add_groups(uid, [gid])  # AdminImpl.toggleGroupOwner: a non-member is added first
            next(link for link in self.store.links[uid] if link[0] == gid)[1] = owner

    @_amd("addGroupOwners")
    def addGroupOwners_async(self, group, users):
        self._owners(group, users, True)

    @_amd("removeGroupOwners")
    def removeGroupOwners_async(self, group, users):
        self._owners(group, users, False)

    @_amd("setAdminPrivileges")
    def setAdminPrivileges_async(self, user, privileges):
        self.caller.roles_allowed_system()
        uid = _val(user.getId())
        self.store.check_user(uid)
        names = {_val(p.getValue()) for p in privileges}
        if names - ALL_PRIVILEGES:  # AdminImpl.assertKnownPrivileges
            raise _usage(f"unknown light administrator privilege: {min(names - ALL_PRIVILEGES)}")
        if uid == ROOT_UID and names != ALL_PRIVILEGES:  # AdminImpl.setAdminPrivileges
            raise _usage("cannot remove light administrator privileges from the root user")
        before = self.store.admin_privileges(uid)
        with _rollback(self.store):
            # AdminImpl.setAdminPrivileges writes the config whether or not the user is in system yet.
            self.store.restricted[uid] = set(ALL_PRIVILEGES - names)
            self.caller.no_elevation(uid, before)

    @_amd("changeUserPassword")
    def changeUserPassword_async(self, name, password):
        uid = self.store.user_id(name)
        if uid is None:
            raise _usage(f"No such experimenter: {name}")  # AdminImpl.userProxy(omeName)
        self.caller.admin_of_user()  # AdminImpl.changeUserPassword
        if self.store.admin_privileges(uid) - self.caller.privileges():  # AdminImpl.changeUserPassword
            raise _security("Cannot change the password of a more privileged user.")
        if self.store.users[uid]["ldap"]:
            raise _unknown("changing the password of an LDAP account (the LDAP password provider decides)")
        self.store.passwords[uid] = _val(password) if _val(password) and _val(password).strip() else None


def _privilege_objects(names):
    out = []
    for name in sorted(names):
        p = omero.model.AdminPrivilegeI()
        p.setValue(rstring(name))
        out.append(p)
    return out


def _fix_default_group(store, uid):
    # SimpleRoleProvider.shouldBeDefault: when 'user' is first and there is another group, that one is default.
    links = store.links[uid]
    if len(links) >= 2 and links[0][0] == USER_GID:
        links.insert(0, links.pop(1))


class _rollback:
    """A failed call changes nothing (the real server's transaction is rolled back)."""

    def __init__(self, store):
        self.store = store

    def __enter__(self):
        s = self.store
        self.saved = ({k: dict(v) for k, v in s.users.items()}, {k: [list(x) for x in v] for k, v in s.links.items()},
                      dict(s.passwords), {k: set(v) for k, v in s.restricted.items()})

    def __exit__(self, exc_type, *rest):
        if exc_type is not None:
            s = self.store
            s.users, s.links, s.passwords, s.restricted = self.saved
        return False


def _readable(permissions):
    return permissions[2] == "r"


class QueryI(omero.api.IQuery):
    """The owner projections the accounts modules use (others are refused)."""

    service = "IQuery"
    single = re.compile(r"^select o\.id from (\w+) o where o\.details\.owner\.id = :uid$")
    several = re.compile(r"^select o\.id, o\.details\.owner\.id, o\.details\.group\.id from (\w+) o "
                         r"where o\.details\.owner\.id in \(:uids\)$")

    def __init__(self, store, caller):
        self.store = store
        self.caller = caller
        self.ctx = {}

    def _visible(self, obj):
        # Queries see the session's current group unless the call context says omero.group=-1 (all groups).
        if self.ctx.get("omero.group") == "-1":
            if not self.store.is_admin(self.caller.uid):
                raise _unknown("cross-group queries by a non-administrator")
            return True
        links = self.store.links[self.caller.uid]
        return bool(links) and obj["group"] == links[0][0]

    def _class(self, name):
        if name not in OBJECT_TYPES and name not in SUPERCLASSES:
            raise _unknown(f"a query over {name}")
        return name

    @_amd("get")
    def get_async(self, klass, oid):
        """IQuery.get of a group (with its config) or of an image (with its download restriction)."""
        if klass == "ExperimenterGroup":
            self.store.check_group(oid)  # QueryImpl.get: an unknown id is refused
            # BasicACLVoter.allowLoad: groups are system types, readable by every user.
            return self.store.group_object(oid, with_members=False, with_config=True)
        if klass != "Image":
            raise _unknown(f"IQuery.get of {klass}")
        obj = self.store.data.get(oid)
        if obj is None or obj["type"] != "Image" or not self._visible(obj):
            raise _validation(f"No row with the given identifier exists: Image:{oid}")  # QueryImpl.get
        image = omero.model.ImageI(oid, True)
        image.setName(rstring(obj.get("name") or "image"))
        perms = omero.model.PermissionsI(self.store.groups[obj["group"]]["permissions"])
        # BasicACLVoter.postProcess: each policy's restriction travels as an extended restriction.
        perms._extendedRestrictions = (
            [omero_test_server_policy.NAME]
            if omero_test_server_policy.is_restricted(self.store, oid, self.caller.uid, self.store.binary_access)
            else [])
        details = image.getDetails()
        details.setPermissions(perms)
        details.setOwner(omero.model.ExperimenterI(obj["owner"], False))
        details.setGroup(omero.model.ExperimenterGroupI(obj["group"], False))
        return image

    @_amd("projection")
    def projection_async(self, query, params):
        match = self.single.match(query)
        if match:
            kind, uids = self._class(match.group(1)), {_val(params.map["uid"])}
            rows = lambda oid, obj: [rlong(oid)]
        else:
            match = self.several.match(query)
            if not match:
                rows = omero_test_server_graph.projection(self.store, query, params, self._visible)
                if rows is not None:  # the accounts engine's reads of import-shaped data
                    return rows
                # governance hook (issue 11): its projections, refused there when unknown
                return omero_test_server_governance.projection(self.store, query, params, _unknown, self._visible)
            kind, uids = self._class(match.group(1)), {_val(x) for x in _val(params.map["uids"])}
            rows = lambda oid, obj: [rlong(oid), rlong(obj["owner"]), rlong(obj["group"])]
        kinds = {kind, *SUPERCLASSES.get(kind, ())}
        return [rows(oid, obj) for oid, obj in self.store.data.items()  # ids ascend: the data is kept in id order
                if obj["owner"] in uids and obj["type"] in kinds and self._visible(obj)]


class UpdateI(omero.api.IUpdate):
    """saveAndReturnObject for the data the tests seed as real users would (containers, images, tags, ...)."""

    service = "IUpdate"

    def __init__(self, store, caller):
        self.store = store
        self.caller = caller
        self.ctx = {}

    @_amd("saveAndReturnObject")
    def saveAndReturnObject_async(self, obj):
        kind = type(obj).__name__.removesuffix("I")
        if kind == "ExperimenterGroup" and obj.getId() is not None:
            return self._save_group_config(obj)
        if kind not in OBJECT_TYPES or kind == "RenderingDef":
            raise _unknown(f"saving a {kind}")
        if obj.getId() is not None:
            raise _unknown("updating an existing object")
        uid = self.caller.uid
        links = self.store.links[uid]
        gid = int(self.ctx["omero.group"]) if "omero.group" in self.ctx else (links[0][0] if links else None)
        # OmeroInterceptor: an administrator holding WriteOwned is a "privileged creator": may set the owner
        # of a new object and create it in a group they are not a member of.
        privileged = self.caller.admin_with("WriteOwned")
        owner = obj.getDetails().getOwner() if obj.getDetails() is not None else None
        owner = _val(owner.getId()) if owner is not None else uid
        if owner != uid:
            if not privileged:  # OmeroInterceptor: "You are not authorized to set the Experimenter"
                raise _security(f"You are not authorized to set the Experimenter for {kind} to {owner}")
            if gid not in self.store.member_of(owner):
                raise _unknown(f"an object owned by user {owner} in group {gid}, which they are not a member of")
            uid = owner
        elif gid not in self.store.member_of(uid) and not privileged:
            raise _security(f"user {uid} is not a member of group {gid}")  # BasicSecuritySystem: a group of the user
        perms = self.store.groups[gid]["permissions"]
        record = {"type": kind, "owner": uid, "group": gid}
        name = getattr(obj, "getName", None)
        if name is not None and name() is not None:
            record["name"] = _val(name())
        if kind in LINKS:
            parent, child = _val(obj.getParent().getId()), _val(obj.getChild().getId())
            for end in (parent, child):
                if end not in self.store.data or self.store.data[end]["group"] != gid:
                    raise _security(f"cannot link object {end}: not in group {gid}")  # no cross-group links
            record.update(parent=parent, child=child)
            owners = {self.store.data[parent]["owner"], self.store.data[child]["owner"]}
            supervisor = gid in self.store.leader_of(uid) and self.store.data[parent]["owner"] == uid
            if kind in CONTAINER_LINKS and owners != {uid} and perms[3] != "w" and not supervisor:
                # ome.security.basic.BasicACLVoter: linking others' objects into containers needs a read-write group,
                # except for a group owner into their own container (OmeroInterceptor: isSupervisor)
                raise _security(f"cannot link another user's object in a {perms} group")
            if kind in ANNOTATION_LINKS:
                if self.store.data[child]["owner"] != uid and perms[3] != "w":
                    raise _security("cannot link another user's annotation")  # BasicACLVoter: annotation is linked by its owner
                if self.store.data[parent]["owner"] != uid and perms[3] not in "aw":
                    raise _security(f"cannot annotate another user's object in a {perms} group")  # BasicACLVoter.allowAnnotate
        elif kind == "Roi":
            image = _val(obj.getImage().getId())
            target = self.store.data.get(image)
            if target is None or target["group"] != gid:
                raise _security(f"cannot attach a ROI to object {image}")  # an ROI hangs off an image of the same group
            if target["owner"] != uid and perms[3] not in "aw":
                raise _security(f"cannot annotate another user's image in a {perms} group")  # BasicACLVoter.allowAnnotate
            record["image"] = image
        elif kind == "FileAnnotation":
            file_id = _val(obj.getFile().getId()) if obj.getFile() is not None else None
            if file_id is not None and file_id not in self.store.data:
                raise _security(f"no such file {file_id}")  # FileAnnotation.file must exist
            record["file"] = file_id
        oid = next(self.store.ids)
        self.store.data[oid] = record
        obj.setId(rlong(oid))
        return obj

    def _save_group_config(self, obj):
        return _save_group_config_checked(self.store, self.caller, obj)


def _save_group_config_checked(store, caller, obj):
    gid = _val(obj.getId())
    store.check_group(gid)
    # BasicACLVoter.allowUpdate: an ExperimenterGroup is a system type; only an administrator holding
    # ModifyGroup may update it through IUpdate (a group owner may not).
    if not caller.admin_with("ModifyGroup"):
        raise _security(f"Updating ExperimenterGroup:{gid} not allowed.")  # BasicACLVoter.throwUpdateViolation
    g = store.groups[gid]
    perms = obj.getDetails().getPermissions() if obj.getDetails() is not None else None
    same = (_val(obj.getName()) == g["name"] and (_val(obj.getDescription()) or "") == g["description"]
            and bool(_val(obj.getLdap())) == g["ldap"] and (perms is None or str(perms) == g["permissions"]))
    if not same:  # IUpdate bypasses AdminImpl.updateGroup/changePermissions: the stand-in cannot know the rules
        raise _unknown("changing a group's name, description, LDAP flag or permissions through IUpdate")
    if obj.getConfig() is None:
        raise _unknown("saving a group whose config was not loaded")
    g["config"] = [(nv.name, nv.value) for nv in obj.getConfig() if nv is not None]
    return store.group_object(gid, with_members=False, with_config=True)


class Graph:
    """Chown2, Chmod2 and Delete2 over the stand-in's data objects, with the real rules it knows."""

    def __init__(self, store, caller):
        self.store = store
        self.caller = caller
        self.data = store.data
        self.commits = []  # the request's changes, applied by its handle when it finishes (HandleI)

    def targets(self, target_objects, legal, what):
        out = set()
        for name, ids in (target_objects or {}).items():
            simple = name.rsplit(".", 1)[-1]
            if simple not in legal and not any(simple in SUPERCLASSES.get(c, ()) for c in legal):
                raise GraphFail("bad-target", f"cannot target {simple}")  # GraphHelper.getTargetMultimap
            if simple not in OBJECT_TYPES and simple not in SUPERCLASSES:
                raise _unknown(f"{what} of {simple}")
            for oid in ids:
                obj = self.data.get(oid)
                if obj is None or not _type_matches(obj["type"], simple):
                    raise _unknown(f"{what} of {simple}:{oid}, which does not exist")
                out.add(oid)
        return out

    def perms(self, obj):
        return self.store.groups[obj["group"]]["permissions"]

    def links_touching(self, oids):
        return {lid for lid, link in self.data.items() if link["type"] in LINKS and (link["parent"] in oids or link["child"] in oids)}

    def dependants(self, oids):
        """ROIs and rendering settings on the given images, file annotations' files."""
        return {oid for oid, obj in self.data.items() if obj["type"] in ATTACHED and obj["image"] in oids}

    def orphans_after(self, deleted_links, deleted, same_owner_too=False):
        """Annotations whose every link goes: comment, basic (ratings) and map annotations
        (blitz-chmod-rules.xml, blitz-delete-rules.xml "Delete orphaned annotations"); with
        ``same_owner_too`` also tags and file annotations owned by the owner of a deleted annotated object
        (blitz-delete-rules.xml "consider its file or tag annotations ... owned by the object's owner")."""
        out = set()
        for aid, ann in self.data.items():
            if aid in deleted or ann["type"] not in ANNOTATIONS:
                continue
            links = {lid for lid, link in self.data.items() if link["type"] in ANNOTATION_LINKS and link["child"] == aid}
            if not links or not links <= deleted_links:
                continue
            if ann["type"] in ORPHAN_DELETED or same_owner_too and any(self.data[self.data[lid]["parent"]]["owner"] == ann["owner"]
                                        and self.data[lid]["parent"] in deleted for lid in links):
                out.add(aid)
        return out

    @staticmethod
    def by_type(store, oids):
        out = {}
        for oid in sorted(oids):
            out.setdefault(store.data[oid]["type"], []).append(oid)
        return out

    # Chmod2 -----------------------------------------------------------------------------------------
    def chmod(self, request):
        permissions = request.permissions
        if permissions not in VALID_PERMISSIONS:
            raise GraphFail("bad-permissions", f"cannot parse permissions {permissions!r}")  # Chmod2I.init
        gids = self.targets_groups(request.targetObjects)
        deleted = set()
        for gid in gids:
            if gid in (SYSTEM_GID, USER_GID, GUEST_GID):
                raise _unknown("Chmod2 of a built-in group")
            if not self.store.is_admin(self.caller.uid):
                if gid not in self.store.leader_of(self.caller.uid):  # Chmod2I.InternalProcessor.assertMayProcess
                    raise GraphFail("graph-fail", f"user is not an owner of group {gid}", graph=True)
            elif "ModifyGroup" not in self.caller.privileges():
                raise _unknown("Chmod2 by a light administrator without ModifyGroup")
            # Chmod2I.step 0: only a downgrade from a readable group to private applies the graph rules.
            if not _readable(permissions) and _readable(self.store.groups[gid]["permissions"]):
                deleted |= self.private_downgrade(gid)
        response = omero.cmd.Chmod2Response(includedObjects={"ome.model.meta.ExperimenterGroup": sorted(gids)},
                                            deletedObjects=self.by_type(self.store, deleted))
        if not request.dryRun:
            def commit():
                for gid in gids:
                    self.store.groups[gid]["permissions"] = permissions
                self.delete(deleted)
            self.commits.append(commit)
        self.store.requests.append(("Chmod2", dict(request.targetObjects), permissions, bool(request.dryRun)))
        return response

    def targets_groups(self, target_objects):
        gids = []
        for name, ids in (target_objects or {}).items():
            if name.rsplit(".", 1)[-1] not in CHMOD_TARGETS:  # blitz-chmod-rules.xml chmodTargets
                raise GraphFail("bad-target", f"cannot target {name}")
            for gid in ids:
                if gid not in self.store.groups:
                    raise GraphFail("bad-group", f"no group {gid}")  # Chmod2I.step 0
                gids.append(gid)
        return gids

    def private_downgrade(self, gid):
        """What blitz-chmod-rules.xml deletes when a readable group becomes private."""
        owner = lambda oid: self.data[oid]["owner"]
        in_group = {oid: obj for oid, obj in self.data.items() if obj["group"] == gid}
        deleted = set()
        for oid, obj in in_group.items():
            if obj["type"] in LINKS and owner(obj["parent"]) != owner(obj["child"]):
                deleted.add(oid)  # "Delete cross-owner links regardless of permissions" (annotations, containers)
            elif obj["type"] in ATTACHED and obj["owner"] != owner(obj["image"]):
                deleted.add(oid)  # "delete others' rendering settings" / "Regardless of permissions delete others' ROIs"
            elif obj["type"] not in OBJECT_TYPES:
                raise _unknown(f"downgrade of a group holding {obj['type']}")
        deleted |= self.links_touching(deleted)  # "If an annotation link's parent or child is deleted then delete the link"
        deleted |= self.orphans_after({d for d in deleted if self.data[d]["type"] in ANNOTATION_LINKS}, deleted)
        return deleted

    # Chown2 -----------------------------------------------------------------------------------------
    def chown(self, request):
        to = request.userId
        if to not in self.store.users:
            raise _unknown(f"Chown2 to a user that does not exist ({to})")
        privileged = self.caller.admin_with("Chown")  # Chown2I.init: checkIsAdministrator(Chown)
        groups_from = groups_to = None
        if not privileged:
            groups_from = set(self.store.leader_of(self.caller.uid))
            groups_to = set(self.store.member_of(to))
            if not groups_from:  # Chown2I.init
                raise GraphFail("graph-fail", "not an owner of any group", graph=True)
            for target_user in request.targetUsers or []:
                if not groups_from & set(self.store.member_of(target_user)):  # Chown2I.init
                    raise GraphFail("graph-fail", f"not an owner of any group of ome.model.meta.Experimenter[{target_user}]",
                                    graph=True)
        given = self.targets(request.targetObjects, CHOWN_TARGETS, "Chown2")
        for target_user in request.targetUsers or []:  # Chown2I.targetAllUsersObjects
            given |= {oid for oid, obj in self.data.items() if obj["owner"] == target_user
                      and (groups_from is None or obj["group"] in groups_from)}
        idx = omero_test_server_graph.Index(self.data)
        self.grow_chown(idx, given)
        perms = self.perms
        omero_test_server_graph.chown_refusals(self.data, idx, given, perms, _unknown)
        self.check_chown(given, to, groups_from, groups_to)
        deleted = omero_test_server_graph.cut_links(self.data, idx, given, perms)
        for lid in set().union(*(idx.links(oid, ANNOTATION_LINKS) for oid in given)) - given:
            link = self.data[lid]
            owners = {to if end in given else self.data[end]["owner"] for end in (link["parent"], link["child"])}
            if len(owners) > 1 and not _readable(perms(link)):
                deleted.add(lid)  # "If an annotation link is to become cross-owner in a private group then delete it"
        response = omero.cmd.Chown2Response(includedObjects=self.by_type(self.store, given),
                                            deletedObjects=self.by_type(self.store, deleted))
        if not request.dryRun:
            def commit():
                for oid in given & set(self.data):
                    self.data[oid]["owner"] = to
                self.delete(deleted)
            self.commits.append(commit)
        self.store.requests.append(("Chown2", dict(request.targetObjects or {}), list(request.targetUsers or []), to,
                                    bool(request.dryRun)))
        return response

    def grow_chown(self, idx, given):
        # blitz-chown-rules.xml "If a container is given then consider its contents for giving if its owner is
        # the same" / "do not give an object if it is in another container"; then the subgraphs below given
        # objects (omero_test_server_graph.grow), until nothing more is given.
        before = -1
        while before != len(given):
            before = len(given)
            for parent in list(given):
                for lid in idx.by_parent.get(parent, ()):
                    link = self.data[lid]
                    child = link["child"]
                    if link["type"] not in CONTAINER_LINKS or child in given:
                        continue
                    if self.data[child]["owner"] != self.data[parent]["owner"]:
                        continue
                    if all(self.data[p]["parent"] in given for p in idx.by_child[child]
                           if self.data[p]["type"] in CONTAINER_LINKS):
                        given.add(child)
            omero_test_server_graph.grow(self.data, idx, given, owner_only=True)
        given |= omero_test_server_graph.job_links(self.data, idx, given)
        # "If both parent and child are given then give the ... link unless owned by a third party."
        for lid in set().union(*(idx.links(oid, LINKS) for oid in given)) - given:
            link = self.data[lid]
            if link["parent"] in given and link["child"] in given and link["owner"] in (
                    self.data[link["parent"]]["owner"], self.data[link["child"]]["owner"]):
                given.add(lid)

    def check_chown(self, given, to, groups_from, groups_to):
        owned_by_to = {(o["type"], o.get("parent"), o.get("child")) for o in self.data.values()
                       if o["owner"] == to and o["type"] in UNIQUENESS_RISK}
        seen = set()
        for oid in sorted(given):
            obj = self.data[oid]
            if obj["owner"] == to:
                continue
            if groups_from is not None and obj["group"] not in groups_from:  # Chown2I.InternalProcessor.assertMayProcess
                raise GraphFail("graph-fail", f"user {self.caller.uid} is not an owner of group {obj['group']}", graph=True)
            if groups_to is not None and obj["group"] not in groups_to:  # Chown2I.InternalProcessor.assertMayProcess
                raise GraphFail("graph-fail", f"user {to} is not a member of group {obj['group']}", graph=True)
            if obj["type"] in UNIQUENESS_RISK:  # Chown2I.InternalProcessor.assertMayProcess
                key = (obj["type"], obj["parent"], obj["child"])
                if key in owned_by_to or key in seen:
                    raise GraphFail("graph-fail", f"would have user {to} owning multiple identical links", graph=True)
                seen.add(key)

    # Delete2 ----------------------------------------------------------------------------------------
    def delete_request(self, request):
        targets = self.targets(request.targetObjects, OBJECT_TYPES | set(SUPERCLASSES), "Delete2")
        if not self.caller.admin_with("DeleteOwned"):
            others = [oid for oid in targets if self.data[oid]["owner"] != self.caller.uid]
            if others:
                raise _unknown("Delete2 of other users' data without the DeleteOwned privilege")
        deleted = set(targets)
        idx = omero_test_server_graph.Index(self.data)
        # blitz-delete-rules.xml: a container's contents go with it unless linked elsewhere; an image takes its
        # ROIs and rendering settings (any owner); links to deleted objects go; orphaned basic/comment/map
        # annotations go; the import-shaped subgraphs as omero_test_server_graph.delete_closure says.
        before = -1
        while before != len(deleted):
            before = len(deleted)
            for parent in list(deleted):
                for lid in idx.by_parent.get(parent, ()):
                    child = self.data[lid]["child"]
                    if self.data[lid]["type"] in CONTAINER_LINKS and child not in deleted and all(
                            self.data[p]["parent"] in deleted for p in idx.by_child[child] if self.data[p]["type"] == self.data[lid]["type"]):
                        deleted.add(child)
            omero_test_server_graph.delete_closure(self.data, idx, deleted, _unknown)
        links = set().union(*(idx.links(oid, LINKS) for oid in deleted)) if deleted else set()
        deleted |= links
        deleted |= self.orphans_after({d for d in links if self.data[d]["type"] in ANNOTATION_LINKS}, deleted,
                                      same_owner_too=True)
        omero_test_server_graph.delete_closure(self.data, idx, deleted, _unknown)
        response = omero.cmd.Delete2Response(deletedObjects=self.by_type(self.store, deleted))
        if not request.dryRun:
            self.commits.append(lambda: self.delete(deleted))
        self.store.requests.append(("Delete2", dict(request.targetObjects or {}), None, bool(request.dryRun)))
        return response

    def delete(self, oids):
        for oid in oids:
            self.data.pop(oid, None)


class HandleI(omero.cmd.Handle):
    """A graph request's handle (omero/cmd/HandleI.java). The request runs as one transaction: its changes
    (``commits``) apply when it finishes, which takes ``store.graph_delay`` seconds plus one second per
    ``store.graph_rate`` objects (0 and None: at once). ``close`` or ``cancel`` before then cancels it and
    nothing changes (HandleI.close: "Handle closed before finished!" -> cancel); ``getStatus`` reports the
    request's steps (Chown2I: 7, Delete2I: 6; helper.setSteps)."""

    def __init__(self, store, request, response, commits, size):
        self.store = store
        self.request = request
        self.response = response
        self.commits = commits
        self.steps = {"Chown2": 7, "Delete2": 6, "Chmod2": 6}.get(type(request).__name__, 1)
        rate = getattr(store, "graph_rate", None)
        self.duration = (getattr(store, "graph_delay", 0) or 0) + (size / rate if rate else 0)
        self.started = time.monotonic()
        self.state = "running"
        self.timer = None
        if self.duration <= 0 or not commits:
            self.finish()
        else:
            self.timer = threading.Timer(self.duration, self.finish)
            self.timer.daemon = True
            self.timer.start()
            store.running_handles = getattr(store, "running_handles", 0) + 1

    def finish(self):
        with self.store.lock:
            if self.state != "running":
                return
            for commit in self.commits:
                commit()
            self.state = "finished"
            if self.timer is not None:
                self.store.running_handles -= 1

    def getRequest(self, current=None):
        return self.request

    def getResponse(self, current=None):
        with self.store.lock:
            self.store.counts["Handle.getResponse"] += 1
            if self.state == "cancelled":
                return omero.cmd.ERR(category=type(self.request).__name__, name="cancel-called", parameters={})
            return self.response if self.state == "finished" else None

    def getStatus(self, current=None):
        with self.store.lock:
            self.store.counts["Handle.getStatus"] += 1
            done = self.state == "finished" or self.duration <= 0
            elapsed = time.monotonic() - self.started
            step = self.steps if done else min(self.steps - 1, int(self.steps * elapsed / self.duration))
            return omero.cmd.Status(steps=self.steps, currentStep=step)

    def addCallback(self, cb, current=None):
        pass

    def removeCallback(self, cb, current=None):
        pass

    def cancel(self, current=None):
        with self.store.lock:
            if self.state != "running":
                return False
            self.state = "cancelled"  # the transaction is rolled back: no commit runs
            self.store.counts["Handle.cancelled"] += 1
            if self.timer is not None:
                self.timer.cancel()
                self.store.running_handles -= 1
            return True

    def close(self, current=None):
        self.store.counts["Handle.close"] += 1
        self.cancel()  # HandleI.closeWithoutNotification: cancels a request not finished
        if current is not None:
            try:
                current.adapter.remove(current.id)
            except Ice.NotRegisteredException:
                pass


class SessionI(omero.api.ServiceFactory):
    def __init__(self, store, adapter, name, uid):
        self.store = store
        self.adapter = adapter
        self.name = name
        self.caller = Caller(store, uid)
        self.admin = adapter.add(AdminI(store, self.caller), Ice.Identity(name, "IAdmin"))
        self.query = adapter.add(QueryI(store, self.caller), Ice.Identity(name, "IQuery"))
        self.update = adapter.add(UpdateI(store, self.caller), Ice.Identity(name, "IUpdate"))
        self.handles = []  # graph requests submitted on this session

    def getAdminService(self, current=None):
        return omero.api.IAdminPrx.uncheckedCast(self.admin)

    def getQueryService(self, current=None):
        return omero.api.IQueryPrx.uncheckedCast(self.query)

    def getUpdateService(self, current=None):
        return omero.api.IUpdatePrx.uncheckedCast(self.update)

    def setCallback(self, callback, current=None):
        pass

    def keepAlive(self, proxy, current=None):
        with self.store.lock:
            self.store.counts["ServiceFactory.keepAlive"] += 1
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
            self.store.counts[f"submit.{kind}" + (".dryRun" if getattr(request, "dryRun", False) else "")] += 1  # hook: DiskUsage2 has no dryRun
            graph = Graph(self.store, self.caller)
            try:
                if self.store.faults[f"submit.{kind}"] > 0 and not getattr(request, "dryRun", False):
                    self.store.faults[f"submit.{kind}"] -= 1
                    raise GraphFail("fault", f"injected fault in submit.{kind}")
                if isinstance(request, omero.cmd.Chmod2):
                    response = graph.chmod(request)
                elif isinstance(request, omero.cmd.Chown2):
                    response = graph.chown(request)
                elif isinstance(request, omero.cmd.Delete2):
                    response = graph.delete_request(request)
                elif isinstance(request, omero.cmd.DiskUsage2):  # governance hook (issue 11)
                    response = omero_test_server_governance.disk_usage(self.store, request, self.caller)
                else:
                    raise _unknown(f"request {kind}")
            except GraphFail as exc:  # helper.cancel(...): an ERR, or a GraphException carrying the message
                if exc.graph:
                    response = omero.cmd.GraphException(category=type(request).__name__, name=exc.name,
                                                        parameters={}, message=str(exc))
                else:
                    response = omero.cmd.ERR(category=type(request).__name__, name=exc.name,
                                             parameters={"message": str(exc)})
            except omero.ServerError as exc:
                response = omero.cmd.ERR(category="test-server", name=exc.serverExceptionClass,
                                         parameters={"message": exc.message})
            commits = graph.commits if not isinstance(response, omero.cmd.ERR) else []
            size = sum(len(ids) for ids in (getattr(response, "includedObjects", None) or {}).values()) + sum(
                len(ids) for ids in (getattr(response, "deletedObjects", None) or {}).values())
            servant = HandleI(self.store, request, response, commits, size)
            self.handles.append(servant)
        handle = self.adapter.addWithUUID(servant)
        cb.ice_response(omero.cmd.HandlePrx.uncheckedCast(handle))


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
            # PasswordUtil: a null password is a locked account; a member of 'user' only may log in.
            ok = uid is not None and self.store.passwords.get(uid) is not None and self.store.passwords[uid] == password
            active = uid is not None and USER_GID in self.store.member_of(uid)
        if not (ok and active):
            cb.ice_exception(Glacier2.PermissionDeniedException("Password check failed"))
            return
        name = str(uuid.uuid4())
        prx = self.adapter.add(SessionI(self.store, self.adapter, name, uid), Ice.Identity(name, ""))
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
        servant = self.adapter.find(Ice.Identity(name, ""))
        for handle in getattr(servant, "handles", []):
            handle.cancel()  # ServiceFactoryI.destroy closes the session's servants: HandleI.close cancels
        for category in ("", "IAdmin", "IQuery", "IUpdate"):
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

    def __init__(self, root_password="Root-Test-Passw0rd!", port=0, transport="tcp", tls=None):
        self.root_password = root_password
        self.wanted_port = port  # governance hook (issue 11): a fixed port for the molecule scenario
        # Glacier2 listens on each transport of omero.client.icetransports (ssl, tcp, ws, wss; ports omero.ports.*:
        # ome/omero-server etc/omero.properties); ssl and wss need tls=(certificate PEM, key PEM).
        if transport not in ("tcp", "ssl", "ws", "wss") or (transport in ("ssl", "wss")) != (tls is not None):
            raise ValueError(f"transport {transport!r} with tls={tls!r}: ssl and wss need (cert, key), tcp and ws none")
        self.transport, self.tls = transport, tls
        self.store = Store(root_password)
        self.communicator = None
        self.port = None

    def __enter__(self):
        data = Ice.InitializationData()
        data.properties = Ice.createProperties()
        data.properties.setProperty("Ice.ThreadPool.Server.Size", "2")
        data.properties.setProperty("Ice.MessageSizeMax", "262144")
        if self.tls:
            # IceSSL with OpenSSL (Ice 3.6): PEM certificate and key; no client certificate is asked for (OMERO's
            # clients bring none: omero-py's omero/clients.py sets IceSSL.VerifyPeer=0 and no IceSSL.CertFile).
            for key, value in (("Ice.Plugin.IceSSL", "IceSSL:createIceSSL"), ("IceSSL.CertFile", str(self.tls[0])),
                               ("IceSSL.KeyFile", str(self.tls[1])), ("IceSSL.VerifyPeer", "0")):
                data.properties.setProperty(key, value)
        self.communicator = Ice.initialize(data)
        omero.ObjectFactoryRegistrar.registerObjectFactory(self.communicator, None)
        for factory in omero.rtypes.ObjectFactories.values():
            factory.register(self.communicator)
        endpoint = f"{self.transport} -h 127.0.0.1 -p {self.wanted_port}"
        adapter = self.communicator.createObjectAdapterWithEndpoints("OmeroTestServer", endpoint)
        adapter.add(RouterI(self.store, adapter), Ice.Identity("router", "OMERO.Glacier2"))
        adapter.activate()
        self.port = adapter.getEndpoints()[0].getInfo().port
        return self

    def __exit__(self, *exc_info):
        self.communicator.destroy()
        self.communicator = None
        return False

    def connection_args(self, user="root", password=None):
        return {"host": "127.0.0.1", "port": self.port, "protocol": "tcp",
                "admin_user": user, "admin_password": password if password is not None else self.root_password}

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
