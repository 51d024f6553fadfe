# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that imports omero-py: a session, a bulk read of the accounts, and the actions.

One ``OmeroAccounts`` object is one Glacier2 session. ``read_state`` makes two admin-service calls
(``lookupGroups``, ``lookupExperimenters``) plus one ``getAdminPrivileges`` per restricted admin the
caller manages; ``apply`` turns the model's actions (module_utils/omero_accounts_model.py) into
admin-service calls and graph requests (Chmod2, Chown2, Delete2) submitted on the same session.
"""

import time

try:
    import omero
    import omero.clients
    import omero.cmd
    import omero.model
    import omero.sys
    from omero.rtypes import rbool, rstring

    HAS_OMERO = True
    OMERO_IMPORT_ERROR = None
except ImportError as exc:  # reported by the modules through missing_required_lib
    HAS_OMERO = False
    OMERO_IMPORT_ERROR = exc

# Types whose objects make up "a user's data" when delete_data is explicitly requested. Deleting a
# project deletes its datasets and their images unless they are linked elsewhere; the other types
# catch what is not in a container.
DATA_TYPES = ("Project", "Dataset", "Image", "Screen", "Plate", "Folder")
CROSS_GROUP = {"omero.group": "-1"}


class OmeroAccountsError(Exception):
    pass


def _val(rtype):
    return rtype.val if rtype is not None else None


def _text(rtype):
    value = _val(rtype)
    return value if value is not None else ""


class OmeroAccounts:
    """A session on an OMERO.server with the admin-service operations the accounts modules need."""

    def __init__(self, host, port, user, password, protocol="ssl", request_timeout=600):
        self.host = host
        self.port = port
        self.user = user
        self._password = password
        self.protocol = protocol
        self.request_timeout = request_timeout
        self.client = None
        self.session = None
        self.admin = None
        self.group_objects = {}
        self.user_objects = {}

    def __enter__(self):
        self.client = omero.client(host=f"{self.protocol}://{self.host}", port=int(self.port))
        try:
            self.session = self.client.createSession(self.user, self._password)
        except Exception:
            try:
                self.close()
            except Exception:  # noqa: BLE001, S110 - the login error below is the one to report
                pass
            raise
        self.admin = self.session.getAdminService()
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def close(self):
        if self.client is not None:
            try:
                self.client.closeSession()
            finally:
                self.client = None
                self.session = None
                self.admin = None

    # ----------------------------------------------------------------------------------------------
    # Reading
    # ----------------------------------------------------------------------------------------------

    def read_state(self, privileges_of=()):
        """Current groups and users as plain data (see the model's ``plan``).

        ``privileges_of``: omenames whose admin privileges to read when they are in ``system``.
        """
        groups = {}
        for g in self.admin.lookupGroups():
            name = _val(g.getName())
            self.group_objects[name] = g
            groups[name] = {
                "id": _val(g.getId()),
                "name": name,
                "permissions": str(g.getDetails().getPermissions()),
                "description": _text(g.getDescription()),
                "owners": [],
                "members": [],
            }
        users = {}
        for e in self.admin.lookupExperimenters():
            name = _val(e.getOmeName())
            self.user_objects[name] = e
            member_of = []
            for link in e.copyGroupExperimenterMap():
                if link is None or link.getParent() is None:
                    continue
                group_name = _val(link.getParent().getName())
                member_of.append(group_name)
                if group_name in groups:
                    groups[group_name]["members"].append(name)
                    if _val(link.getOwner()):
                        groups[group_name]["owners"].append(name)
            users[name] = {
                "id": _val(e.getId()),
                "omename": name,
                "first_name": _text(e.getFirstName()),
                "last_name": _text(e.getLastName()),
                "email": _text(e.getEmail()),
                "institution": _text(e.getInstitution()),
                "groups": member_of,
                "privileges": None,
            }
        for g in groups.values():
            g["members"].sort()
            g["owners"].sort()
        for name in sorted(set(privileges_of)):
            if name in users and "system" in users[name]["groups"]:
                privileges = self.admin.getAdminPrivileges(self._user_ref(users[name]["id"]))
                users[name]["privileges"] = sorted(_val(p.getValue()) for p in privileges)
        self._state = {"groups": groups, "users": users}
        return self._state

    # ----------------------------------------------------------------------------------------------
    # Writing
    # ----------------------------------------------------------------------------------------------

    @staticmethod
    def _user_ref(uid):
        return omero.model.ExperimenterI(uid, False)

    @staticmethod
    def _group_ref(gid):
        return omero.model.ExperimenterGroupI(gid, False)

    def _uid(self, name):
        user = self._state["users"].get(name)
        if user is None or user["id"] is None:
            raise OmeroAccountsError(f"user {name!r} does not exist")
        return user["id"]

    def _gid(self, name):
        group = self._state["groups"].get(name)
        if group is None or group["id"] is None:
            raise OmeroAccountsError(f"group {name!r} does not exist")
        return group["id"]

    def _groups(self, names):
        return [self._group_ref(self._gid(n)) for n in names]

    @staticmethod
    def _privileges(names):
        out = []
        for name in names:
            privilege = omero.model.AdminPrivilegeI()
            privilege.setValue(rstring(name))
            out.append(privilege)
        return out

    def _experimenter(self, name, fields, uid=None):
        e = omero.model.ExperimenterI(uid, True) if uid is not None else omero.model.ExperimenterI()
        e.setOmeName(rstring(name))
        e.setFirstName(rstring(fields.get("first_name") or ""))
        e.setLastName(rstring(fields.get("last_name") or ""))
        e.setEmail(rstring(fields.get("email") or ""))
        e.setInstitution(rstring(fields.get("institution") or ""))
        e.setLdap(rbool(False))
        return e

    def _wait(self, request, what):
        """Submit a graph request on the session and poll its handle until it finishes."""
        handle = self.session.submit(request)
        try:
            deadline = time.monotonic() + self.request_timeout
            delay = 0.05
            response = handle.getResponse()
            while response is None:
                if time.monotonic() > deadline:
                    raise OmeroAccountsError(f"{what}: no response after {self.request_timeout} s")
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                response = handle.getResponse()
        finally:
            handle.close()
        if isinstance(response, omero.cmd.ERR):
            params = dict(response.parameters or {})
            raise OmeroAccountsError(f"{what} failed: {response.category}/{response.name} {params}")
        return response

    def apply(self, actions, passwords):
        """Run ``actions`` in order. ``passwords`` maps omename -> password (used, never returned)."""
        state = self._state
        for a in actions:
            kind = a["action"]
            if kind == "create_group":
                g = omero.model.ExperimenterGroupI()
                g.setName(rstring(a["group"]))
                g.setDescription(rstring(a["description"]))
                g.setLdap(rbool(False))
                g.getDetails().setPermissions(omero.model.PermissionsI(a["permissions"]))
                gid = self.admin.createGroup(g)
                state["groups"][a["group"]] = {"id": gid, "name": a["group"], "permissions": a["permissions"],
                                               "description": a["description"], "owners": [], "members": []}
            elif kind == "chmod_group":
                request = omero.cmd.Chmod2()
                request.targetObjects = {"ExperimenterGroup": [self._gid(a["group"])]}
                request.permissions = a["after"]
                self._wait(request, f"change permissions of group {a['group']}")
            elif kind == "update_group":
                g = omero.model.ExperimenterGroupI(self._gid(a["group"]), True)
                g.setName(rstring(a["group"]))
                g.setDescription(rstring(a["after"]["description"]))
                g.setLdap(rbool(False))
                g.getDetails().setPermissions(omero.model.PermissionsI(state["groups"][a["group"]]["permissions"]))
                self.admin.updateGroup(g)
            elif kind == "create_user":
                self._create_user(a, passwords.get(a["user"]))
            elif kind == "update_user":
                current = state["users"][a["user"]]
                fields = {f: current.get(f) for f in ("first_name", "last_name", "email", "institution")}
                fields.update(a["after"])
                self.admin.updateExperimenter(self._experimenter(a["user"], fields, uid=current["id"]))
                current.update(a["after"])
            elif kind == "add_groups":
                self.admin.addGroups(self._user_ref(self._uid(a["user"])), self._groups(a["groups"]))
            elif kind == "remove_groups":
                self.admin.removeGroups(self._user_ref(self._uid(a["user"])), self._groups(a["groups"]))
            elif kind == "set_default_group":
                self.admin.setDefaultGroup(self._user_ref(self._uid(a["user"])), self._group_ref(self._gid(a["after"])))
            elif kind == "add_group_owners":
                self.admin.addGroupOwners(self._group_ref(self._gid(a["group"])),
                                          [self._user_ref(self._uid(u)) for u in a["users"]])
            elif kind == "remove_group_owners":
                self.admin.removeGroupOwners(self._group_ref(self._gid(a["group"])),
                                             [self._user_ref(self._uid(u)) for u in a["users"]])
            elif kind == "set_privileges":
                self.admin.setAdminPrivileges(self._user_ref(self._uid(a["user"])), self._privileges(a["after"]))
            elif kind == "change_password":
                self.admin.changeUserPassword(a["user"], rstring(passwords[a["user"]]))
            elif kind == "transfer_data":
                request = omero.cmd.Chown2()
                request.targetObjects = {"Experimenter": [self._uid(a["user"])]}
                request.userId = self._uid(a["to"])
                self._wait(request, f"transfer data of {a['user']} to {a['to']}")
            elif kind == "delete_data":
                self._delete_data(a["user"])
            elif kind == "rename_user":
                current = state["users"].pop(a["user"])
                self.admin.updateExperimenter(self._experimenter(a["to"], a["fields"], uid=current["id"]))
                current.update(dict(a["fields"], omename=a["to"]))
                state["users"][a["to"]] = current
            else:
                raise OmeroAccountsError(f"unknown action {kind!r}")

    def _create_user(self, a, password):
        name = a["user"]
        e = self._experimenter(name, a["fields"])
        secret = rstring(password) if password else None
        if a["admin"] and a["admin_privileges"] is not None:
            # Restricted administrator: the server puts them in system and user; then their groups.
            uid = self.admin.createRestrictedSystemUserWithPassword(e, self._privileges(a["admin_privileges"]), secret)
            groups = [a["default_group"]] + a["groups"]
            self.admin.addGroups(self._user_ref(uid), self._groups(groups))
            self.admin.setDefaultGroup(self._user_ref(uid), self._group_ref(self._gid(a["default_group"])))
            if not a["active"]:
                self.admin.removeGroups(self._user_ref(uid), self._groups(["user"]))
        else:
            others = list(a["groups"]) + (["user"] if a["active"] else []) + (["system"] if a["admin"] else [])
            uid = self.admin.createExperimenterWithPassword(
                e, secret, self._group_ref(self._gid(a["default_group"])), self._groups(others))
        self._state["users"][name] = dict({"id": uid, "omename": name, "groups": [], "privileges": None}, **a["fields"])

    def _delete_data(self, name):
        """Delete everything ``name`` owns (only reached with delete_data: true in the inventory)."""
        uid = self._uid(name)
        query = self.session.getQueryService()
        params = omero.sys.ParametersI()
        params.addLong("uid", uid)
        targets = {}
        for kind in DATA_TYPES:
            rows = query.projection(f"select o.id from {kind} o where o.details.owner.id = :uid", params, CROSS_GROUP)
            ids = [_val(row[0]) for row in rows]
            if ids:
                targets[kind] = ids
        if targets:
            request = omero.cmd.Delete2()
            request.targetObjects = targets
            self._wait(request, f"delete data of {name}")
