"""The graph rules of Chown2 and Delete2 over import-shaped data, for the stand-in (omero_test_server.py).

Filesets and their images, entries, files and jobs; script jobs and their files; plates, wells, fields
and runs; ROIs, pixels, channels and rendering settings on images; the system group ``user`` (managed
repository directories, profile photos). Each rule names the rule of ome/omero-blitz
``src/main/resources/ome/services/graph-rules/blitz-{chown,delete}-rules.xml`` it follows, in a one-line
comment; what the stand-in cannot know is refused (``unknown``).

``Index`` is built once per request (one pass over the data), so a request over 100,000 images stays
linear.
"""

import collections

JOBS = ("UploadJob", "MetadataImportJob", "PixelDataJob", "ThumbnailGenerationJob", "IndexingJob", "ScriptJob",
        "ParseJob")
SCRIPT_JOBS = ("ScriptJob", "ParseJob")  # blitz-chown-rules.xml: "the kinds of job associated with scripts"
ON_IMAGE = ("Roi", "RenderingDef", "Pixels", "Channel")  # "image" key
CONTAINER_LINK_TYPES = ("ProjectDatasetLink", "DatasetImageLink", "ScreenPlateLink", "FolderImageLink")


class Index:
    """Who refers to whom, from one pass over ``data``."""

    def __init__(self, data):
        self.data = data
        self.by_parent = collections.defaultdict(set)  # object -> links (parent/child records) below it
        self.by_child = collections.defaultdict(set)
        self.on_image = collections.defaultdict(set)  # image -> ROIs, rendering settings, pixels, channels
        self.samples_of_image = collections.defaultdict(set)
        self.in_plate = collections.defaultdict(set)  # plate -> wells, runs
        self.samples_of_well = collections.defaultdict(set)
        self.fileset_images = collections.defaultdict(set)
        self.fileset_entries = collections.defaultdict(set)
        self.file_users = collections.defaultdict(set)  # original file -> entries, file annotations
        self.photo_links = collections.defaultdict(set)  # annotation -> ExperimenterAnnotationLinks
        for oid, o in data.items():
            kind = o["type"]
            if "parent" in o and "child" in o:
                self.by_parent[o["parent"]].add(oid)
                self.by_child[o["child"]].add(oid)
            elif kind in ON_IMAGE:
                self.on_image[o["image"]].add(oid)
            elif kind == "WellSample":
                self.samples_of_image[o["image"]].add(oid)
                self.samples_of_well[o["well"]].add(oid)
            elif kind in ("Well", "PlateAcquisition"):
                self.in_plate[o["plate"]].add(oid)
            elif kind == "Image" and o.get("fileset") is not None:
                self.fileset_images[o["fileset"]].add(oid)
            elif kind == "FilesetEntry":
                self.fileset_entries[o["fileset"]].add(oid)
                self.file_users[o["file"]].add(oid)
            elif kind == "FileAnnotation" and o.get("file") is not None:
                self.file_users[o["file"]].add(oid)
            elif kind == "ExperimenterAnnotationLink":
                self.photo_links[o["child"]].add(oid)

    def links(self, oid, kinds=None):
        out = self.by_parent.get(oid, set()) | self.by_child.get(oid, set())
        return {lid for lid in out if kinds is None or self.data[lid]["type"] in kinds}


def _name(data, oid):
    return f"{data[oid]['type']}:{oid}"


def _below(data, idx, oid, owner_only):
    """What giving or deleting ``oid`` takes along (one level)."""
    o = data[oid]
    kind = o["type"]
    out = set()
    if kind == "Plate":
        out |= idx.in_plate[oid]  # "Plate[I].wells", "Plate[I].plateAcquisitions" -> [I]
    elif kind == "Well":
        out |= idx.samples_of_well[oid]  # "Well[I].wellSamples = WS" -> [I]
    elif kind == "WellSample":
        out.add(o["image"])  # "WellSample[I].image = I:[E]{i}" -> considered, given with its fields
    elif kind == "Fileset":
        out |= idx.fileset_images[oid] | idx.fileset_entries[oid]  # "Fileset[I].images", ".usedFiles" -> [I]
        for lid in idx.by_parent[oid]:
            out |= {lid, data[lid]["child"]}  # "Fileset[I].jobLinks", "FilesetJobLink[I].child = J" -> [I]
    elif kind == "FilesetEntry":
        out.add(o["file"])  # "FilesetEntry[I].originalFile = OF:[E]{i}" -> considered
    elif kind == "Image":
        out |= {x for x in idx.on_image[oid] if not owner_only or data[x]["owner"] == o["owner"]
                or data[x]["type"] in ("Pixels", "Channel")}  # "Image[I].pixels", "Pixels[I].channels", "Image[I].rois =/o"
    elif kind in JOBS and kind not in SCRIPT_JOBS:
        # "Consider giving an original file if giving a same-owner job that links to it" (upload, import jobs).
        out |= {data[lid]["child"] for lid in idx.by_parent[oid] if data[data[lid]["child"]]["owner"] == o["owner"]}
    elif kind == "FileAnnotation" and o.get("file") is not None and (not owner_only or data[o["file"]]["owner"] == o["owner"]):
        out.add(o["file"])  # "FileAnnotation[I].file = OF:[E]{i}" -> considered
    return out


def grow(data, idx, given, owner_only):
    """Close ``given`` under the rules' "give/delete the subgraph below" (in place); returns it."""
    todo = list(given)
    while todo:
        oid = todo.pop()
        for other in _below(data, idx, oid, owner_only):
            if other in given or other not in data:
                continue
            if data[other]["type"] == "OriginalFile" and any(u not in given for u in idx.file_users[other]):
                continue  # "Do not give an original file that is being used by an object"
            given.add(other)
            todo.append(other)
        image_fileset = data[oid].get("fileset") if data[oid]["type"] == "Image" else None
        if image_fileset is not None and image_fileset not in given and idx.fileset_images[image_fileset] <= given:
            given.add(image_fileset)  # "A fileset may be given by means of its images only if all ... are given"
            todo.append(image_fileset)
    return given


def job_links(data, idx, given):
    """JobOriginalFileLinks given along: "Give job link to original file if both job and file are to be
    given (or file is ignored)" (script jobs' files in group user are ignored)."""
    from omero_test_server import USER_GID

    out = set()
    for job in [oid for oid in given if data[oid]["type"] in JOBS]:
        for lid in idx.by_parent[job]:
            child = data[lid]["child"]
            if child in given or (data[job]["type"] in SCRIPT_JOBS and data[child]["group"] == USER_GID):
                out.add(lid)
    return out


def chown_refusals(data, idx, given, group_perms, unknown):
    """The errors of blitz-chown-rules.xml that import-shaped data meets; raises ``GraphFail`` or unknown."""
    from omero_test_server import USER_GID, GraphFail

    for oid in sorted(given):
        o = data[oid]
        kind = o["type"]
        if o["group"] == USER_GID:  # managed-repository directories, photos, scripts: not modelled
            raise unknown(f"Chown2 of {_name(data, oid)} in group 'user'")
        if kind == "Image" and o.get("fileset") is not None:
            rest = sorted(idx.fileset_images[o["fileset"]] - given)
            if rest:  # "F:Fileset[E].images = I1:[I], F.images = I2:[E]"
                raise GraphFail("graph-fail", f"within Fileset:{o['fileset']} may not give Image:{oid} while "
                                              f"Image:{rest[0]} remains", graph=True)
        elif kind == "Roi" and o["image"] not in given and group_perms(o)[3] == "-":
            # "I:Image[E].rois = ROI:[I];perms=???-??": no ROI out of its image in a private or read-only group.
            raise GraphFail("graph-fail", f"cannot give Roi:{oid} while Image:{o['image']} remains", graph=True)
        if kind == "OriginalFile":
            for lid in idx.by_child[oid]:
                job = data[lid]["parent"]
                if data[lid]["type"] == "JobOriginalFileLink" and job not in given:
                    # "L:JobOriginalFileLink[E].parent = J:[E], L.child = OF:[I]"
                    raise GraphFail("graph-fail", f"may not give OriginalFile:{oid} until {_name(data, job)} can be given",
                                    graph=True)
        if kind in JOBS:
            for lid in idx.by_parent[oid]:
                child = data[lid]["child"]
                ignored = kind in SCRIPT_JOBS and data[child]["group"] == USER_GID
                if child not in given and not ignored:
                    # "L:JobOriginalFileLink[E].parent = J:[I], L.child = OF:[E]"
                    raise GraphFail("graph-fail", f"may not give {_name(data, oid)} while OriginalFile:{child} remains",
                                    graph=True)
        if kind == "WellSample" and o["image"] not in given and group_perms(o)[2] == "-":
            # "WS:WellSample[I].image = I:[E];perms=??-???"
            raise GraphFail("graph-fail", f"may not give WellSample:{oid} while Image:{o['image']} remains", graph=True)


def cut_links(data, idx, given, group_perms):
    """Container links left with one end given, outside read-write groups: deleted "regardless of
    permissions" (blitz-chown-rules.xml "delete any remaining cross-owner links ... outside read-write
    groups": the rule matches on the link's ends being given or not, whoever owns them afterwards)."""
    out = set()
    for oid in given:
        for lid in idx.links(oid, CONTAINER_LINK_TYPES):
            link = data[lid]
            if lid in given or (link["parent"] in given) == (link["child"] in given):
                continue
            if group_perms(link)[3] != "w":
                out.add(lid)
    return out


def delete_closure(data, idx, deleted, unknown):
    """Delete2 over import-shaped data (blitz-delete-rules.xml): an image takes its pixels, channels, ROIs
    and rendering settings whoever owns them; a fileset goes when all its images go, with its entries,
    files and jobs; a plate takes its wells, fields, runs and their images; a deleted file annotation takes
    its file and its experimenter links. Returns the closure; raises GraphFail or unknown."""
    from omero_test_server import USER_GID, GraphFail

    grow(data, idx, deleted, owner_only=False)
    for oid in [o for o in deleted if data[o]["type"] == "Image"]:
        for sample in idx.samples_of_image[oid]:
            deleted.add(sample)  # a field goes with its image
    for oid in [o for o in deleted if data[o]["type"] == "FileAnnotation"]:
        deleted |= idx.photo_links[oid]
    for oid in [o for o in deleted if data[o]["type"] in JOBS]:
        deleted |= idx.by_parent[oid]  # "If a job is deleted then delete its links"
    for oid in sorted(deleted):
        o = data[oid]
        if o["type"] == "Image" and o.get("fileset") is not None:
            rest = sorted(idx.fileset_images[o["fileset"]] - deleted)
            if rest:  # "within {F} may not delete {I1} while {I2} remains"
                raise GraphFail("graph-fail", f"within Fileset:{o['fileset']} may not delete Image:{oid} while "
                                              f"Image:{rest[0]} remains", graph=True)
        if o["group"] == USER_GID and not (o["type"] in ("FileAnnotation", "ExperimenterAnnotationLink") or (
                o["type"] == "OriginalFile" and o.get("mimetype") != "Directory" and idx.file_users[oid] <= deleted)):
            raise unknown(f"Delete2 of {_name(data, oid)} in group 'user' (managed repository, scripts)")
    return deleted


# --------------------------------------------------------------------------------------------------
# The projections the accounts engine (module_utils/omero_client.py) makes over this data (exact text)
# --------------------------------------------------------------------------------------------------

LINK_KINDS = CONTAINER_LINK_TYPES + tuple(f"{p}AnnotationLink" for p in ("Project", "Dataset", "Image", "Screen", "Plate",
                                                                           "Folder", "Roi"))
LINK_ENDS = "select l.id, l.parent.id, l.child.id, l.details.owner.id, l.details.group.id from {kind} l where l.id in (:ids)"
ROI_IMAGES = ("select o.id, o.image.id, o.image.details.owner.id, o.image.fileset.id, o.details.owner.id from Roi o "
              "where o.details.owner.id in (:uids)")
IMAGE_FILESETS = "select o.id, o.fileset.id from Image o where o.id in (:ids)"
LINKS_OF_CHILDREN = "select l.id, l.parent.id, l.child.id from {kind} l where l.child.id in (:ids)"
CHILDREN = "select l.child.id from {kind} l where l.parent.id in (:ids)"
FILESET_IMAGES = "select o.id, o.fileset.id from Image o where o.fileset.id in (:ids)"


def _ids(params, name):
    from omero_test_server import _usage

    given = dict(params.map) if params is not None and params.map else {}
    if name not in given:  # ome.services.query: "Parameter ... not bound"
        raise _usage(f"Parameter {name} not bound")
    return {x.val for x in given[name].val}


def projection(store, query, params, visible):
    """Rows for one of the projections above, or None when ``query`` is not one of them."""
    from omero.rtypes import rlong

    data = store.data
    opt = lambda x: rlong(x) if x is not None else None
    for kind in LINK_KINDS:
        if query == LINK_ENDS.format(kind=kind):
            ids = _ids(params, "ids")
            return [[rlong(oid), rlong(data[oid]["parent"]), rlong(data[oid]["child"]), rlong(data[oid]["owner"]),
                     rlong(data[oid]["group"])]
                    for oid in sorted(ids) if oid in data and data[oid]["type"] == kind and visible(data[oid])]
    for kind in LINK_KINDS + ("JobOriginalFileLink",):
        if query == CHILDREN.format(kind=kind):  # the tests' read-back
            ids = _ids(params, "ids")
            return [[rlong(o["child"])] for o in data.values() if o["type"] == kind and o["parent"] in ids and visible(o)]
    for kind in LINK_KINDS:
        if query == LINKS_OF_CHILDREN.format(kind=kind):
            ids = _ids(params, "ids")
            return [[rlong(oid), rlong(o["parent"]), rlong(o["child"])] for oid, o in data.items()
                    if o["type"] == kind and o["child"] in ids and visible(o)]
    if query == ROI_IMAGES:
        uids = _ids(params, "uids")
        return [[rlong(oid), rlong(o["image"]), rlong(data[o["image"]]["owner"]), opt(data[o["image"]].get("fileset")),
                 rlong(o["owner"])]
                for oid, o in data.items() if o["type"] == "Roi" and o["owner"] in uids and visible(o)]
    if query in (IMAGE_FILESETS, FILESET_IMAGES):
        ids = _ids(params, "ids")
        key = (lambda oid, o: oid) if query == IMAGE_FILESETS else (lambda oid, o: o.get("fileset"))
        return [[rlong(oid), opt(o.get("fileset"))] for oid, o in data.items()
                if o["type"] == "Image" and key(oid, o) in ids and visible(o)]
    return None
