# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that imports omero-py: a session, a bulk read of the accounts, and the actions.

One ``OmeroAccounts`` object is one Glacier2 session. ``read_state`` makes three admin-service calls
(``lookupGroups``, ``lookupExperimenters``, ``getCurrentAdminPrivileges``) plus one
``getAdminPrivileges`` per restricted admin the caller manages; ``read_owned`` one IQuery projection
per data class, only when someone departs; ``dry_run`` asks the server what each graph request would
do (``dryRun``) before anything changes; ``apply`` turns the model's actions
(module_utils/omero_accounts_plan.py) into admin-service calls and graph requests (Chmod2, Chown2,
Delete2) submitted on the same session.
"""

import time

from ansible.module_utils.omero_accounts_actions import describe

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

# The classes whose objects make up "a person's data", read per group for a departure and moved
# (Chown2) or deleted (Delete2) by explicit ids: containers, images, ROIs, rendering settings, files,
# annotations (tags, comments, ratings, file attachments, key-value pairs: "Annotation" is
# polymorphic) and the links the person made. All are legal targets of both requests
# (blitz-chown-rules.xml chownTargets; "Experimenter" is not one).
DATA_CLASSES = (
    "Project", "Dataset", "Image", "Screen", "Plate", "Folder", "Roi", "RenderingDef", "OriginalFile", "Annotation",
    "Fileset", "Job", "JobOriginalFileLink",  # imports (fileset, its jobs) and script runs (a job, its output files)
    "ProjectDatasetLink", "DatasetImageLink", "ScreenPlateLink", "FolderImageLink",
    "ProjectAnnotationLink", "DatasetAnnotationLink", "ImageAnnotationLink", "ScreenAnnotationLink",
    "PlateAnnotationLink", "FolderAnnotationLink", "RoiAnnotationLink",
)
CROSS_GROUP = {"omero.group": "-1"}
# Links a Chown2 may delete, with the classes of their ends (an annotation link's child is polymorphic:
# CommentAnnotation serves as the unloaded reference, the server loads the real class).
LINK_ENDS_CLASSES = {"ProjectDatasetLink": ("Project", "Dataset"), "DatasetImageLink": ("Dataset", "Image"),
                     "ScreenPlateLink": ("Screen", "Plate"), "FolderImageLink": ("Folder", "Image")}
LINK_ENDS_CLASSES.update({f"{p}AnnotationLink": (p, "CommentAnnotation")
                          for p in ("Project", "Dataset", "Image", "Screen", "Plate", "Folder", "Roi")})
LINK_KINDS = frozenset(LINK_ENDS_CLASSES)
ROI_IMAGES = ("select o.id, o.image.id, o.image.details.owner.id, o.image.fileset.id, o.details.owner.id from Roi o "
              "where o.details.owner.id in (:uids)")
IMAGE_FILESETS = "select o.id, o.fileset.id from Image o where o.id in (:ids)"
FILESET_IMAGES = "select o.id, o.fileset.id from Image o where o.fileset.id in (:ids)"
LINKS_OF_CHILDREN = "select l.id, l.parent.id, l.child.id from {kind} l where l.child.id in (:ids)"
LINK_ENDS = "select l.id, l.parent.id, l.child.id, l.details.owner.id, l.details.group.id from {kind} l where l.id in (:ids)"


class OmeroAccountsError(Exception):
    pass


def _val(rtype):
    return rtype.val if rtype is not None else None


def _text(rtype):
    value = _val(rtype)
    return value if value is not None else ""


class OmeroAccounts:
    """A session on an OMERO.server with the admin-service operations the accounts modules need."""

    def __init__(self, host, port, user, password, protocol="ssl", progress_interval=60, on_progress=None):
        self.host = host
        self.port = port
        self.user = user
        self._password = password
        self.protocol = protocol
        self.progress_interval = progress_interval  # seconds between progress lines of a running graph request
        self.keepalive_interval = 60  # seconds between keep-alives while a graph request runs
        self.on_progress = on_progress  # called with each progress line (the module logs them)
        self.on_relink = None  # called with the links a transfer is about to cut and make again ([] once made)
        self.progress = []
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

        ``privileges_of``: omenames whose admin privileges to read when they are in ``system``. Also
        reads the session's own privileges (what this session may do and give).
        """
        groups = {}
        for g in self.admin.lookupGroups():
            name = _val(g.getName())
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
                "middle_name": _text(e.getMiddleName()),
                "last_name": _text(e.getLastName()),
                "email": _text(e.getEmail()),
                "institution": _text(e.getInstitution()),
                "ldap": bool(_val(e.getLdap())),
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
        caller = {"omename": self.user,
                  "privileges": sorted(_val(p.getValue()) for p in self.admin.getCurrentAdminPrivileges())}
        self._state = {"groups": groups, "users": users, "caller": caller}
        return self._state

    def read_group_config(self, names):
        """Fill ``config`` ({key: value}) of the named existing groups: one IQuery.get each.

        lookupGroups does not load a group's config (AdminImpl.lookupGroups fetches the memberships only);
        IQuery.get returns the group with it, as OMERO's own ``omero obj map-get`` reads it. Entries of one
        key are joined with "," (the server takes the union: BinaryAccessPolicy.groupRestrictions)."""
        for name in sorted(set(names) & set(self._state["groups"])):
            group = self._state["groups"][name]
            obj = self.session.getQueryService().get("ExperimenterGroup", group["id"], CROSS_GROUP)
            config = {}
            for nv in obj.getConfig() or []:
                if nv is not None:
                    config[nv.name] = ",".join(filter(None, (config.get(nv.name), nv.value)))
            group["config"] = config

    def _set_group_config(self, name, values):
        """Replace the group's entries of each key in ``values`` by one entry; others stay (IUpdate on the
        group, as ``omero obj map-set ExperimenterGroup:<id> config <key> <value>`` does)."""
        obj = self.session.getQueryService().get("ExperimenterGroup", self._gid(name), CROSS_GROUP)
        kept = [nv for nv in (obj.getConfig() or []) if nv is not None and nv.name not in values]
        obj.setConfig(kept + [omero.model.NamedValue(k, v) for k, v in sorted(values.items())])
        self.session.getUpdateService().saveAndReturnObject(obj)
        self._state["groups"][name]["config"] = dict(self._state["groups"][name].get("config") or {}, **values)

    def read_owned(self, names):
        """{omename: {group name: {class: [ids]}}}: what each named person owns, one query per class for all."""
        state = self._state
        ids = {state["users"][n]["id"]: n for n in names if n in state["users"]}
        owned = {n: {} for n in ids.values()}
        if not ids:
            return owned
        group_names = {g["id"]: name for name, g in state["groups"].items()}
        query = self.session.getQueryService()
        params = omero.sys.ParametersI()
        params.addLongs("uids", sorted(ids))
        for kind in DATA_CLASSES:
            rows = query.projection(f"select o.id, o.details.owner.id, o.details.group.id from {kind} o "
                                    "where o.details.owner.id in (:uids)", params, CROSS_GROUP)
            for row in rows:
                oid, owner, gid = (_val(x) for x in row)
                per_group = owned[ids[owner]].setdefault(group_names.get(gid, str(gid)), {})
                per_group.setdefault(kind, []).append(oid)
        state["owned"] = owned
        # ROIs on images: whose image, in which fileset (a ROI on another's image may need its image given).
        rois = state["roi_images"] = {n: {} for n in ids.values()}
        for row in query.projection(ROI_IMAGES, params, CROSS_GROUP):
            roi, image, image_owner, fileset, owner = (_val(x) for x in row)
            rois[ids[owner]][roi] = {"image": image, "owner": self._name_of(image_owner), "fileset": fileset}
        return owned

    def _name_of(self, uid):
        return next((n for n, u in self._state["users"].items() if u["id"] == uid), str(uid))

    def read_objects(self, keys):
        """{"Project:51": {"owner": omename}} for the listed objects that exist (one projection per type)."""
        by_kind = {}
        for key in keys:
            kind, oid = key.split(":")
            by_kind.setdefault(kind, []).append(int(oid))
        names = {u["id"]: n for n, u in self._state["users"].items()}
        query = self.session.getQueryService()
        objects = {}
        for kind, ids in sorted(by_kind.items()):
            params = omero.sys.ParametersI()
            params.addLongs("ids", sorted(set(ids)))
            for row in query.projection(f"select o.id, o.details.owner.id from {kind} o where o.id in (:ids)",
                                        params, CROSS_GROUP):
                oid, owner = (_val(x) for x in row)
                objects[f"{kind}:{oid}"] = {"owner": names.get(owner, str(owner))}
        self._state["objects"] = objects
        self._state["filesets"] = self._filesets(by_kind.get("Image", []))
        return objects

    def _filesets(self, images):
        """{image id: {"fileset", "images"}} for the listed images that belong to a fileset."""
        if not images:
            return {}
        query = self.session.getQueryService()
        params = omero.sys.ParametersI()
        params.addLongs("ids", sorted(set(images)))
        of = {_val(r[0]): _val(r[1]) for r in query.projection(IMAGE_FILESETS, params, CROSS_GROUP) if r[1] is not None}
        if not of:
            return {}
        params = omero.sys.ParametersI()
        params.addLongs("ids", sorted(set(of.values())))
        members = {}
        for row in query.projection(FILESET_IMAGES, params, CROSS_GROUP):
            members.setdefault(_val(row[1]), []).append(_val(row[0]))
        return {image: {"fileset": fid, "images": sorted(members.get(fid, [image]))} for image, fid in of.items()}

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

    @staticmethod
    def _experimenter(name, fields, uid=None, ldap=None):
        """An Experimenter as AdminImpl.copyAndSaveExperimenter reads it: every copied field is sent, since a
        missing one is cleared (the middle name is kept as read); ``ldap`` only on creation (never copied)."""
        e = omero.model.ExperimenterI(uid, True) if uid is not None else omero.model.ExperimenterI()
        e.setOmeName(rstring(name))
        e.setFirstName(rstring(fields.get("first_name") or ""))
        e.setMiddleName(rstring(fields["middle_name"]) if fields.get("middle_name") else None)
        e.setLastName(rstring(fields.get("last_name") or ""))
        e.setEmail(rstring(fields.get("email") or ""))
        e.setInstitution(rstring(fields.get("institution") or ""))
        if ldap is not None:
            e.setLdap(rbool(ldap))
        return e

    def _wait(self, request, what):
        """Submit a graph request on the session and wait until it finishes, however long it takes.

        On the server a graph request is one transaction and closing its handle before it finishes cancels
        it (omero/cmd/HandleI.close), so an unfinished handle is never closed: the wait has no deadline,
        reports the request's steps (``on_progress``, every ``progress_interval`` seconds and at each new
        step) and keeps the session alive. If the client dies, the server finishes or rolls back the request
        on its own and the next run plans from what it then holds."""
        handle = self.session.submit(request)
        response = handle.getResponse()
        started = last_report = last_alive = time.monotonic()
        step, delay = None, 0.05
        while response is None:
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
            now = time.monotonic()
            if now - last_alive >= self.keepalive_interval:
                self.session.keepAlive(None)  # the session must outlive the request
                last_alive = now
            status = handle.getStatus()
            if status.currentStep != step or now - last_report >= self.progress_interval:
                step, last_report = status.currentStep, now
                self._progress(f"{what}: step {status.currentStep}/{status.steps} ({now - started:.0f} s)")
            response = handle.getResponse()
        handle.close()  # finished: closing releases it, nothing is cancelled
        if isinstance(response, omero.cmd.ERR):
            params = dict(response.parameters or {})
            message = getattr(response, "message", "") or params.get("message", "")
            raise OmeroAccountsError(f"{what} refused by the server: {response.name}: {message}")
        return response

    def _progress(self, line):
        self.progress.append(line)
        if self.on_progress is not None:
            self.on_progress(line)

    @staticmethod
    def _short_names(by_class):
        return {kind.rsplit(".", 1)[-1]: sorted(ids) for kind, ids in sorted((by_class or {}).items()) if ids}

    def _chown(self, a, dry_run):
        request = omero.cmd.Chown2(targetObjects=dict(a["targets"]), userId=self._uid(a["to"]), dryRun=dry_run)
        what = (f"transfer {a['id']}" if a["action"] == "transfer_objects"
                else f"transfer data of {a['user']} in group {a['group']} to {a['to']}")
        return self._wait(request, what)

    def _chmod(self, a, dry_run):
        request = omero.cmd.Chmod2(targetObjects={"ExperimenterGroup": [self._gid(a["group"])]},
                                   permissions=a["after"], dryRun=dry_run)
        return self._wait(request, f"change permissions of group {a['group']}")

    def _delete(self, a, dry_run):
        request = omero.cmd.Delete2(targetObjects=dict(a["targets"]), dryRun=dry_run)
        return self._wait(request, f"delete data of {a['user']}")

    def _links_to_recreate(self, cut, a):
        """The links a transfer's Chown2 deletes (blitz-chown-rules.xml: container links left with one end
        given, outside read-write groups; annotation links becoming cross-owner in private groups), to be
        made again once the transfer is done: same parent, child and group; owned by whoever owned the
        link, or by the recipient when that was the person whose data is given. Making an object owned by
        someone else needs the WriteOwned privilege (OmeroInterceptor: a "privileged creator")."""
        relink = []
        names = {u["id"]: n for n, u in self._state["users"].items()}
        query = self.session.getQueryService()
        for kind, ids in sorted(cut.items()):
            if kind not in LINK_KINDS:
                continue
            params = omero.sys.ParametersI()
            params.addLongs("ids", ids)
            for row in query.projection(LINK_ENDS.format(kind=kind), params, CROSS_GROUP):
                lid, parent, child, owner, gid = (_val(x) for x in row)
                owner = names.get(owner, str(owner))
                relink.append({"kind": kind, "parent": parent, "child": child, "group_id": gid,
                               "owner": a["to"] if owner == a["user"] else owner, "was": lid})
        if relink and "WriteOwned" not in self._state["caller"]["privileges"]:
            raise OmeroAccountsError(
                f"{describe(a)}: the server would delete {len(relink)} link(s) that must then be made again for their "
                f"owners, which needs the WriteOwned privilege; the session's account {self.user!r} lacks it: run this "
                "departure or transfer as an administrator holding WriteOwned (e.g. root)")
        return relink

    def _recreate_links(self, relink):
        """Make each link again, owned by its owner, in its group (one save per link)."""
        update = self.session.getUpdateService()
        for r in relink:
            parent_kind, child_kind = LINK_ENDS_CLASSES[r["kind"]]
            link = getattr(omero.model, r["kind"] + "I")()
            link.setParent(getattr(omero.model, parent_kind + "I")(r["parent"], False))
            link.setChild(getattr(omero.model, child_kind + "I")(r["child"], False))
            link.getDetails().setOwner(self._user_ref(self._uid(r["owner"])))
            link.getDetails().setGroup(self._group_ref(r["group_id"]))
            update.saveAndReturnObject(link, {"omero.group": str(r["group_id"])})

    def recreate_missing_links(self, pending):
        """Links a transfer's Chown2 cut whose run stopped before making them again (``pending``, as recorded
        by ``on_relink``): those missing now are made; those still there (the transfer had not committed) are
        left. Returns the links made."""
        query = self.session.getQueryService()
        missing = []
        for kind in sorted({r["kind"] for r in pending}):
            wanted = [r for r in pending if r["kind"] == kind]
            params = omero.sys.ParametersI()
            params.addLongs("ids", sorted({r["child"] for r in wanted}))
            have = {(_val(row[1]), _val(row[2])) for row in query.projection(LINKS_OF_CHILDREN.format(kind=kind), params,
                                                                             CROSS_GROUP)}
            missing += [r for r in wanted if (r["parent"], r["child"]) not in have]
        self._recreate_links(missing)
        return missing

    def dry_run(self, actions):
        """Ask the server (dryRun) what each graph request of the plan would do; refusals surface here.

        Fills ``would_delete`` of downgrades, transfers and deletions, before anything is changed."""
        for a in actions:
            if a["action"] == "chmod_group" and a.get("downgrade"):
                a["would_delete"] = self._short_names(self._chmod(a, True).deletedObjects)
            elif a["action"] in ("transfer_data", "transfer_objects") and a["to"] in self._state["users"]:
                cut = self._short_names(self._chown(a, True).deletedObjects)
                a["relink"] = self._links_to_recreate(cut, a)
                a["would_delete"] = {k: ids for k, ids in cut.items() if k not in LINK_KINDS}
            elif a["action"] == "delete_data":
                a["would_delete"] = self._short_names(self._delete(a, True).deletedObjects)
        return actions

    def apply(self, actions, passwords, on_applied=None):
        """Run ``actions`` in order. ``passwords`` maps omename -> password (used, never returned).

        A failure names the action and how many were applied before it; running again converges, since
        the next plan starts from what the server then holds. ``on_applied(action)`` is called after each."""
        for number, a in enumerate(actions, 1):
            try:
                self._apply_one(a, passwords)
            except Exception as exc:
                raise OmeroAccountsError(
                    f"action {number} of {len(actions)} failed: {describe(a)}: {type(exc).__name__}: "
                    f"{getattr(exc, 'message', None) or exc}. {number - 1} earlier action(s) were applied; "
                    "fix the cause and run again: the next run plans from what the server holds now") from exc
            if on_applied is not None:
                on_applied(a)

    def _apply_one(self, a, passwords):
        state = self._state
        kind = a["action"]
        if kind == "create_group":
            g = omero.model.ExperimenterGroupI()
            g.setName(rstring(a["group"]))
            g.setDescription(rstring(a["description"]))
            g.setLdap(rbool(False))
            g.getDetails().setPermissions(omero.model.PermissionsI(a["permissions"]))
            # SimpleRoleProvider.copyGroup keeps the config given to createGroup.
            g.setConfig([omero.model.NamedValue(k, v) for k, v in sorted((a.get("config") or {}).items())])
            gid = self.admin.createGroup(g)
            state["groups"][a["group"]] = {"id": gid, "name": a["group"], "permissions": a["permissions"],
                                           "description": a["description"], "owners": [], "members": [],
                                           "config": dict(a.get("config") or {})}
        elif kind == "set_group_config":
            self._set_group_config(a["group"], a["after"])
        elif kind == "chmod_group":
            self._chmod(a, False)
            state["groups"][a["group"]]["permissions"] = a["after"]
        elif kind == "update_group":
            # No permissions on the object: AdminImpl.updateGroup would apply them (undoing a Chmod2).
            g = omero.model.ExperimenterGroupI(self._gid(a["group"]), True)
            g.setName(rstring(a["group"]))
            g.setDescription(rstring(a["after"]["description"]))
            self.admin.updateGroup(g)
        elif kind == "create_user":
            self._create_user(a, passwords.get(a["user"]))
        elif kind == "update_user":
            current = state["users"][a["user"]]
            fields = {f: current.get(f) for f in ("first_name", "middle_name", "last_name", "email", "institution")}
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
        elif kind in ("transfer_data", "transfer_objects"):
            relink = a.get("relink") or []
            if relink and self.on_relink is not None:
                self.on_relink(relink)  # written down first: a run stopped after the Chown2 makes them next time
            self._chown(a, False)
            self._recreate_links(relink)
            if relink and self.on_relink is not None:
                self.on_relink([])
        elif kind == "delete_data":
            self._delete(a, False)
        elif kind == "rename_user":
            current = state["users"].pop(a["user"])
            fields = dict(a["fields"], middle_name="")
            self.admin.updateExperimenter(self._experimenter(a["to"], fields, uid=current["id"]))
            current.update(dict(a["fields"], omename=a["to"]))
            state["users"][a["to"]] = current
        else:
            raise OmeroAccountsError(f"unknown action {kind!r}")

    def _create_user(self, a, password):
        name = a["user"]
        ldap = bool(a.get("ldap"))
        if not password and not ldap:
            raise OmeroAccountsError(f"user {name!r}: no initial password (the plan requires one)")
        e = self._experimenter(name, a["fields"], ldap=ldap)
        secret = rstring(password) if not ldap else None
        if a["admin"] and a["admin_privileges"] is not None:
            # Restricted administrator, created with its privileges: never a full administrator, not even
            # between two calls. The server puts them in system (default) and user; then their groups.
            privileges = self._privileges(a["admin_privileges"])
            uid = (self.admin.createRestrictedSystemUser(e, privileges) if ldap
                   else self.admin.createRestrictedSystemUserWithPassword(e, privileges, secret))
            groups = [a["default_group"]] + a["groups"]
            self.admin.addGroups(self._user_ref(uid), self._groups(groups))
            self.admin.setDefaultGroup(self._user_ref(uid), self._group_ref(self._gid(a["default_group"])))
            if not a["active"]:
                self.admin.removeGroups(self._user_ref(uid), self._groups(["user"]))
        else:
            others = list(a["groups"]) + (["user"] if a["active"] else []) + (["system"] if a["admin"] else [])
            default = self._group_ref(self._gid(a["default_group"]))
            if ldap:  # the directory holds the password: the password providers refuse one (PasswordProviders)
                uid = self.admin.createExperimenter(e, default, self._groups(others))
            else:
                uid = self.admin.createExperimenterWithPassword(e, secret, default, self._groups(others))
        self._state["users"][name] = dict({"id": uid, "omename": name, "groups": [], "privileges": None}, **a["fields"])
