"""The stand-in's download policy: OMERO.server's BinaryAccessPolicy over the stand-in's data.

Follows ome/omero-server ``src/main/java/ome/security/policy/BinaryAccessPolicy.java`` (read at commit
c9573f3f): the server-wide ``omero.policy.binary_access`` (default ``+read,+write,+image``,
``src/main/resources/omero-server.properties``) combined pessimistically with the entries of that name in
the object's group's ``config``. The restriction reaches clients as the extended restriction
``RESTRICT-BINARY-ACCESS`` on the object's permissions (BinaryAccessPolicy.NAME; omero-py's
``BlitzObjectWrapper.canDownload`` reads it).
"""

# omero-server.properties: omero.policy.binary_access=+read,+write,+image
SERVER_DEFAULT = "+read,+write,+image"
NAME = "RESTRICT-BINARY-ACCESS"  # BinaryAccessPolicy.NAME
KEY = "omero.policy.binary_access"
# The classes BinaryAccessPolicy.isRestricted looks at (others are never restricted by it).
HCS = ("Plate", "PlateAcquisition", "Well", "WellSample")


def group_restrictions(store, gid):
    """BinaryAccessPolicy.groupRestrictions: the union of every value of the key in the group's config,
    each split on ","."""
    settings = set()
    for name, value in store.groups[gid].get("config") or []:
        if name == KEY:
            settings.update(value.split(","))
    return settings


def _not_a_or_b(plus, minus, server, group):
    """BinaryAccessPolicy.notAorB: restricted when either side says minus, else allowed only when one says plus."""
    if minus in server or minus in group:
        return True
    return not (plus in server or plus in group)


def can_update(store, obj, uid):
    """BasicACLVoter.allowUpdate for a data object: its owner, a full administrator or one holding WriteOwned,
    an owner (leader) of its group."""
    if obj["owner"] == uid:
        return True
    if "WriteOwned" in store.admin_privileges(uid):
        return True
    return obj["group"] in store.leader_of(uid)


def _has_well_samples(store, image_id):
    return any(o["type"] == "WellSample" and o.get("image") == image_id for o in store.data.values())


def _file_images(store, file_id):
    """The images of the filesets that hold this original file (FilesetEntry -> Fileset -> Image)."""
    filesets = {o["fileset"] for o in store.data.values() if o["type"] == "FilesetEntry" and o.get("file") == file_id}
    return [oid for oid, o in store.data.items() if o["type"] == "Image" and o.get("fileset") in filesets]


def is_restricted(store, oid, uid, server=SERVER_DEFAULT):
    """BinaryAccessPolicy.isRestricted: may ``uid`` not download the binary of object ``oid``?"""
    obj = store.data[oid]
    server = set(server.split(","))
    group = group_restrictions(store, obj["group"])
    if _not_a_or_b("+write", "-write", server, group):
        return True  # "effectively None"
    if _not_a_or_b("+read", "-read", server, group) and not can_update(store, obj, uid):
        return True
    no_image = _not_a_or_b("+image", "-image", server, group)
    no_plate = _not_a_or_b("+plate", "-plate", server, group)
    kind = obj["type"]
    if kind == "OriginalFile":
        if (obj.get("name") or "").endswith(".txt"):
            return False  # "Quick short-cut for necessary files"
        images = _file_images(store, oid)
        return bool(images) and (no_image or (no_plate and any(_has_well_samples(store, i) for i in images)))
    if kind == "Image":
        return no_image or (no_plate and _has_well_samples(store, oid))
    if kind in HCS:
        return no_image or no_plate
    return False
