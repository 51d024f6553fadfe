"""What the stand-in OMERO server (omero_test_server.py) needs for the governance runner (issue 11).

Kept apart from the stand-in so that both evolve independently; the stand-in calls in through two
marked hooks: ``disk_usage`` for a submitted ``omero.cmd.DiskUsage2`` and ``projection`` for an IQuery
projection its own table does not know. Each rule below names, in a comment, the real source it
follows (ome/omero-blitz unless said otherwise). Unknown queries and targets are refused, never guessed.

Data objects live in ``store.data[oid]`` as ``{"type", "owner", "group", "name", "created", "size"}``
(links: ``{"type": "DatasetImageLink"|"ProjectDatasetLink", "owner", "group", "parent", "child"}``);
name, created and size are optional. Login sessions (the server's ``Session`` table) live in
``store.login_sessions`` as ``(user id, "YYYY-MM-DD")`` or ``(user id, day, sudoer id)`` (sudo: not their login).
"""

import datetime
import functools
import re

import omero
import omero.api
import omero.cmd
from omero.rtypes import rlong, rstring, rtime

# src/main/resources/ome/services/graph-rules/blitz-disk-usage-rules.xml, list "diskUsageTargets".
DISK_USAGE_TARGETS = frozenset((
    "Instrument", "Annotation", "IAnnotationLink", "Dataset", "DatasetImageLink", "Project", "ProjectDatasetLink",
    "Folder", "FolderImageLink", "FolderRoiLink", "Channel", "Image", "LogicalChannel", "OriginalFile", "Pixels",
    "PixelsOriginalFileMap", "PlaneInfo", "ChannelBinding", "CodomainMapContext", "QuantumDef", "RenderingDef",
    "ProjectionDef", "Thumbnail", "Experiment", "MicrobeamManipulation", "Fileset", "FilesetEntry", "FilesetJobLink",
    "Link", "Job", "JobOriginalFileLink", "Experimenter", "ExperimenterGroup", "ExternalInfo", "AffineTransform", "Roi",
    "Shape", "Plate", "PlateAcquisition", "Reagent", "Screen", "ScreenPlateLink", "Well", "WellReagentLink",
    "WellSample", "StatsInfo"))
# What this stand-in can traverse among them; a legal target it cannot follow is refused, not guessed.
TRAVERSABLE = ("ExperimenterGroup", "Experimenter", "Project", "Dataset", "Image")


def login_sessions(store):
    if not hasattr(store, "login_sessions"):
        store.login_sessions = []
    return store.login_sessions


def _epoch_ms(day):
    d = datetime.date.fromisoformat(day)
    return int(datetime.datetime(d.year, d.month, d.day, 12, tzinfo=datetime.UTC).timestamp() * 1000)


def _err(name, message):
    # GraphHelper.getTargetSet/getTargetMultimap: helper.cancel(new ERR(), e, "bad-target") -> an ERR response.
    return omero.cmd.ERR(category="omero.cmd.graphs.DiskUsage2I", name=name, parameters={"message": message})


# --------------------------------------------------------------------------------------------------
# DiskUsage2
# --------------------------------------------------------------------------------------------------

def _images_of(store, kind, ids):
    """Image ids reached from the targets (the graph rules: group/owner -> all their data; project ->
    its datasets' images; dataset -> its images)."""
    data = store.data
    wanted = set(ids)
    images = set()
    if kind == "ExperimenterGroup":
        images = {oid for oid, o in data.items() if o["type"] == "Image" and o.get("group") in wanted}
    elif kind == "Experimenter":
        images = {oid for oid, o in data.items() if o["type"] == "Image" and o.get("owner") in wanted}
    elif kind == "Image":
        images = {oid for oid in wanted if data.get(oid, {}).get("type") == "Image"}
    elif kind in ("Project", "Dataset"):
        datasets = set(wanted) if kind == "Dataset" else {
            o["child"] for o in data.values() if o["type"] == "ProjectDatasetLink" and o["parent"] in wanted}
        images = {o["child"] for o in data.values() if o["type"] == "DatasetImageLink" and o["parent"] in datasets}
    return images


def disk_usage(store, request, caller=None):
    """The response of ``omero.cmd.DiskUsage2`` (src/main/java/omero/cmd/graphs/DiskUsage2I.java)."""
    if caller is not None and not store.is_admin(caller.uid):
        # The real traversal counts only what the caller may read (GraphPolicy + ACLVoter): the stand-in
        # does not model read permissions, so it refuses rather than guess.
        from omero_test_server import _unknown

        raise _unknown("DiskUsage2 by a non-administrator (read permissions not modelled)")
    targets = {}
    # DiskUsage2I.step(0): targetObjects through getTargetMultimap, targetClasses as "SELECT id FROM <class>".
    for name, ids in (request.targetObjects or {}).items():
        simple = name.rsplit(".", 1)[-1]  # GraphHelper: the class's simple name after the last dot
        if simple not in DISK_USAGE_TARGETS:
            return _err("bad-target", f"cannot target {simple}")
        targets.setdefault(simple, set()).update(ids)
    for name in request.targetClasses or []:
        simple = name.rsplit(".", 1)[-1]
        if simple not in DISK_USAGE_TARGETS:
            return _err("bad-target", f"cannot target {simple}")
        if simple == "ExperimenterGroup":
            everyone = store.groups
        elif simple == "Experimenter":
            everyone = store.users
        else:
            everyone = [oid for oid, o in store.data.items() if o["type"] == simple]
        targets.setdefault(simple, set()).update(everyone)
    images = set()
    for kind, ids in targets.items():
        if kind not in TRAVERSABLE:
            return _err("test-server", f"the stand-in does not traverse {kind}")
        images |= _images_of(store, kind, ids)
    count, size, total_count, total_size = {}, {}, {}, {}
    # Step 4: each file counted once (de-duplicated across referers), attributed to its owner and group;
    # Usage.add ignores files of size <= 0. An image's files are referred to by FilesetEntry.
    for oid in sorted(images):
        obj = store.data[oid]
        bytes_ = int(obj.get("size") or 0)
        if bytes_ <= 0:
            continue
        key = omero.api.LongPair(obj.get("owner", 0), obj.get("group", 0))
        count.setdefault(key, {}).setdefault("FilesetEntry", 0)
        count[key]["FilesetEntry"] += 1
        size.setdefault(key, {}).setdefault("FilesetEntry", 0)
        size[key]["FilesetEntry"] += bytes_
        total_count[key] = total_count.get(key, 0) + 1
        total_size[key] = total_size.get(key, 0) + bytes_
    store.requests.append(("DiskUsage2", {k: sorted(v) for k, v in targets.items()}, None))
    return omero.cmd.DiskUsage2Response(fileCountByReferer=count, bytesUsedByReferer=size,
                                        totalFileCount=total_count, totalBytesUsed=total_size)


# --------------------------------------------------------------------------------------------------
# IQuery projections used by roles/governance/files/omero-governance (exact text, whitespace-normalised)
# --------------------------------------------------------------------------------------------------

LAST_LOGINS = "select s.owner.id, max(s.started) from Session s group by s.owner.id"
# A person's own logins: a session an administrator opened as them (sudo) has its sudoer set
# (ome.model.meta.Session.sudoer; BasicACLVoter reads it).
OWN_LOGINS = "select s.owner.id, max(s.started) from Session s where s.sudoer is null group by s.owner.id"
# The billed members' own logins in a period (the runner's days used): one row per session.
LOGINS_BETWEEN = ("select s.owner.id, s.started from Session s where s.sudoer is null and s.started >= :since "
                  "and s.started < :until and s.owner.id in (:uids)")
OLD_PROJECTS = ("select o.id, o.name, o.details.owner.id, o.details.group.id, o.details.creationEvent.time "
                "from Project o where o.details.creationEvent.time < :cutoff")
OLD_DATASETS = ("select o.id, o.name, o.details.owner.id, o.details.group.id, o.details.creationEvent.time "
                "from Dataset o where o.details.creationEvent.time < :cutoff "
                "and not exists (select l.id from ProjectDatasetLink l where l.child.id = o.id)")
OLD_IMAGES = ("select o.id, o.name, o.details.owner.id, o.details.group.id, o.details.creationEvent.time "
              "from Image o where o.details.creationEvent.time < :cutoff "
              "and not exists (select l.id from DatasetImageLink l where l.child.id = o.id)")
# HCS (issue 17): plate images are in no dataset but in a well sample; plates not in a screen; screens.
OLD_LOOSE_IMAGES = OLD_IMAGES + " and not exists (select ws.id from WellSample ws where ws.image.id = o.id)"
OLD_SCREENS = ("select o.id, o.name, o.details.owner.id, o.details.group.id, o.details.creationEvent.time "
               "from Screen o where o.details.creationEvent.time < :cutoff")
OLD_PLATES = ("select o.id, o.name, o.details.owner.id, o.details.group.id, o.details.creationEvent.time "
              "from Plate o where o.details.creationEvent.time < :cutoff "
              "and not exists (select l.id from ScreenPlateLink l where l.child.id = o.id)")
# The owners of listed objects: omero_client.OmeroAccounts.read_objects (ownership transfers).
OWNERS = "select o.id, o.details.owner.id from {kind} o where o.id in (:ids)"


def _params(params, names):
    # ome.services.query.Query / QueryImpl: every named parameter of the HQL must be given
    # ("Parameter ... not bound" QueryException on the real server): refused here too.
    given = dict(params.map) if params is not None and params.map else {}
    for name in names:
        if name not in given:
            raise omero.QueryException(serverStackTrace="", serverExceptionClass="ome.conditions.ApiUsageException",
                                       message=f"Parameter {name} not bound")
    return given


def _old(store, params, visible, kind, not_child_of, in_no_well=False):
    cutoff = _params(params, ["cutoff"])["cutoff"]
    if not isinstance(cutoff, omero.RTime):
        # A timestamp compared with a long is an HQL type mismatch on the real server (QueryException).
        raise omero.QueryException(serverStackTrace="", serverExceptionClass="", message="cutoff must be an rtime")
    cutoff = cutoff.val
    linked = set()
    if not_child_of:
        linked = {o["child"] for o in store.data.values() if o["type"] == not_child_of}
    if in_no_well:
        linked |= {o["image"] for o in store.data.values() if o["type"] == "WellSample"}
    rows = []
    for oid, o in sorted(store.data.items()):
        if o["type"] != kind or oid in linked or not visible(o):
            continue
        created = _epoch_ms(o.get("created") or "1970-01-01")
        if created < cutoff:
            rows.append([rlong(oid), rstring(o.get("name") or ""), rlong(o.get("owner", 0)), rlong(o.get("group", 0)),
                         rtime(created)])
    return rows


def _last_logins(store, params, visible, own=False):
    # A Session belongs to its owner's group; without omero.group=-1 only the current group's are seen.
    # Entries are (user id, day) or (user id, day, sudoer id): a session opened by an administrator as the user.
    latest = {}
    for uid, day, *sudoer in login_sessions(store):
        if own and sudoer and sudoer[0] is not None:
            continue
        links = store.links.get(uid) or [[None, False]]
        if visible({"group": links[0][0]}):
            latest[uid] = max(latest.get(uid, day), day)
    # HQL max(timestamp) -> java.sql.Timestamp -> rtime (IceMapper); one row per owner with a session.
    return [[rlong(uid), rtime(_epoch_ms(day))] for uid, day in sorted(latest.items())]


def _logins_between(store, params, visible):
    given = _params(params, ["since", "until", "uids"])
    if not (isinstance(given["since"], omero.RTime) and isinstance(given["until"], omero.RTime)):
        # A timestamp compared with a long is an HQL type mismatch on the real server (QueryException).
        raise omero.QueryException(serverStackTrace="", serverExceptionClass="", message="since/until must be rtimes")
    since, until, uids = given["since"].val, given["until"].val, {x.val for x in given["uids"].val}
    rows = []
    for uid, day, *sudoer in login_sessions(store):
        if sudoer and sudoer[0] is not None or uid not in uids:
            continue
        links = store.links.get(uid) or [[None, False]]
        if visible({"group": links[0][0]}) and since <= _epoch_ms(day) < until:
            rows.append([rlong(uid), rtime(_epoch_ms(day))])  # Session.started: a timestamp -> rtime (IceMapper)
    return rows


def _owners(store, params, visible, kind):
    ids = _params(params, ["ids"])["ids"]
    wanted = {x.val for x in ids.val}
    return [[rlong(oid), rlong(o.get("owner", 0))] for oid, o in sorted(store.data.items())
            if oid in wanted and o["type"] == kind and visible(o)]


QUERIES = {
    LAST_LOGINS: _last_logins,
    OWN_LOGINS: functools.partial(_last_logins, own=True),
    LOGINS_BETWEEN: _logins_between,
    OLD_LOOSE_IMAGES: functools.partial(_old, kind="Image", not_child_of="DatasetImageLink", in_no_well=True),
    OLD_SCREENS: functools.partial(_old, kind="Screen", not_child_of=None),
    OLD_PLATES: functools.partial(_old, kind="Plate", not_child_of="ScreenPlateLink"),
    OLD_PROJECTS: functools.partial(_old, kind="Project", not_child_of=None),
    OLD_DATASETS: functools.partial(_old, kind="Dataset", not_child_of="ProjectDatasetLink"),
    OLD_IMAGES: functools.partial(_old, kind="Image", not_child_of="DatasetImageLink"),
}
for _kind in ("Project", "Dataset", "Image", "Screen", "Plate"):
    QUERIES[OWNERS.format(kind=_kind)] = functools.partial(_owners, kind=_kind)


def projection(store, query, params, refuse, visible=lambda obj: True):
    """Answer one of the governance runner's projections; ``refuse(message)`` for any other.

    ``visible(obj)``: the stand-in's group-context rule (QueryI._visible: the session's group unless the
    call context says omero.group=-1, which a non-administrator may not use)."""
    text = re.sub(r"\s+", " ", query.strip())
    handler = QUERIES.get(text)
    if handler is None:
        raise refuse(f"query {query!r}")
    return handler(store, params, visible)


# --------------------------------------------------------------------------------------------------
# Seeding
# --------------------------------------------------------------------------------------------------

def add_object(store, kind, owner, group, name=None, created=None, size=None, **extra):
    fields = dict(extra)
    for key, value in (("name", name), ("created", created), ("size", size)):
        if value is not None:
            fields[key] = value
    return store.add_object(kind, owner, group, **fields)  # the stand-in refuses types it does not model


def link(store, kind, parent, child):
    p = store.data[parent]
    return add_object(store, kind, p["owner"], p["group"], parent=parent, child=child)


def add_group(store, name, permissions="rwra--"):
    gid = store.group_id(name)
    if gid is None:
        gid = next(store.ids)
        store.groups[gid] = {"name": name, "permissions": permissions, "description": "", "ldap": False, "config": []}
    return gid


def add_user(store, omename, groups, owner_of=(), email="", first="First", last="Last", active=True, password=None):
    """``groups``: names (first = default). ``active``: in the ``user`` group (login allowed)."""
    uid = store.user_id(omename)
    if uid is None:
        uid = next(store.ids)
        store.users[uid] = store._user_record(omename, first, last, email=email)
        store.passwords[uid] = password
        store.links[uid] = []
    for name in list(groups) + (["user"] if active else []):
        gid = add_group(store, name)
        if gid not in [g for g, _o in store.links[uid]]:
            store.links[uid].append([gid, name in owner_of])
    return uid


def sample_world(store, orphan_name=None, orphan_size=None, ext_password=None):
    """The small world both the runner's unit tests and the governance scenario use: team-a (lead, memb,
    ref), the external group ext-x (owner, ext) at 85 % of its quota, memb's 2021 project, dataset and
    image, lead's orphan image of 2020, and last logins. Returns {omename: id}."""
    gb = 1000 ** 3
    uids = {"lead": add_user(store, "lead", ["team-a"], owner_of=["team-a"], email="lead@example.org"),
            "memb": add_user(store, "memb", ["team-a"], email="memb@example.org"),
            "ref": add_user(store, "ref", ["team-a"], email="ref@example.org"),
            "owner": add_user(store, "owner", ["team-a", "ext-x"], owner_of=["ext-x"]),
            "ext": add_user(store, "ext", ["ext-x"], password=ext_password)}
    team, ext = store.group_id("team-a"), store.group_id("ext-x")
    add_object(store, "Image", uids["ext"], ext, "big.czi", "2027-01-02", 85 * gb)
    project = add_object(store, "Project", uids["memb"], team, "thesis", "2021-06-01")
    dataset = add_object(store, "Dataset", uids["memb"], team, "day1", "2021-06-01")
    link(store, "ProjectDatasetLink", project, dataset)
    image = add_object(store, "Image", uids["memb"], team, "cell.tif", "2021-06-01", 3 * gb)
    link(store, "DatasetImageLink", dataset, image)
    add_object(store, "Image", uids["lead"], team, orphan_name, "2020-02-02", orphan_size)  # in no dataset
    login_sessions(store).extend([(uids["lead"], "2026-12-01"), (uids["memb"], "2025-12-01"),
                                  (uids["owner"], "2027-01-10")])
    return uids


def synthetic_catalogue(store, images=100_000, groups=500, users_per_group=2, today="2026-11-20", seed_old_every=50):
    """A catalogue of ``images`` images in ``groups`` groups: per group one project, two datasets
    (one in the project), images spread over them and some orphans; one image in ``seed_old_every`` is
    older than five years. Returns the group ids."""
    base = datetime.date.fromisoformat(today)
    gids = []
    per_group = max(1, images // groups)
    n = 0
    for g in range(groups):
        gid = add_group(store, f"bench{g:03d}")
        gids.append(gid)
        uids = [add_user(store, f"b{g:03d}u{u}", [f"bench{g:03d}"]) for u in range(users_per_group)]
        for uid in uids:
            login_sessions(store).append((uid, str(base - datetime.timedelta(days=(uid * 7) % 500))))
        old_day = str(base - datetime.timedelta(days=6 * 366))
        project = add_object(store, "Project", uids[0], gid, f"p{g}", old_day if g % 10 == 0 else str(base))
        ds_in = add_object(store, "Dataset", uids[0], gid, f"d{g}a", str(base))
        link(store, "ProjectDatasetLink", project, ds_in)
        ds_out = add_object(store, "Dataset", uids[-1], gid, f"d{g}b", old_day if g % 7 == 0 else str(base))
        for i in range(per_group):
            if n >= images:
                break
            old = n % seed_old_every == 0
            created = str(base - datetime.timedelta(days=6 * 366 if old else n % 1500))
            oid = add_object(store, "Image", uids[i % len(uids)], gid, f"img{n}", created, 1_000_000 + n % 1000)
            n += 1  # from here n % 100 == 1 for every other old image
            if i % 10 == 9 or (old and n % 100 == 1):
                continue  # an orphan image (some of them old: retention candidates of their own)
            link(store, "DatasetImageLink", ds_in if i % 2 else ds_out, oid)
    return gids
