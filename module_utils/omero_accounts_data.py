# Copyright: (c) the omero-deploy authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan layer's view of a person's data as OMERO holds it: what a departure gives, deletes or keeps,
and which ownership transfers the server can do.

Real data is born by imports (a fileset with its images, files and jobs; template directories of the
managed repository in the system group ``user``), script runs (a job linked to its output files),
OMERO.web (profile photos, in group ``user``), ROIs drawn on others' images. The rules below follow
ome/omero-blitz ``blitz-chown-rules.xml`` / ``blitz-delete-rules.xml`` and ome/omero-blitz
``ManagedRepositoryI`` / ``RepositoryDaoImpl``; each names its source. Pure Python, no omero import.

Inputs read by the client (module_utils/omero_client.py), beside ``current["owned"]``::

  current["roi_images"] = {omename: {roi id: {"image", "owner" (omename), "fileset" (id or None)}}}
  current["filesets"] = {image id: {"fileset": id, "images": [ids of the fileset]}}  # transfers' images
"""

try:  # the validator, the governance runner and the tests: module_utils/ is on sys.path
    import omero_accounts_base as model_base
except ImportError:  # an Ansible module: AnsiballZ ships module_utils as ansible.module_utils.*
    from ansible.module_utils import omero_accounts_base as model_base


def sorted_targets(targets):
    return {kind: sorted(set(ids)) for kind, ids in sorted(targets.items()) if ids}


def split_shared(data):
    """``(per group data, kept)``: what the person owns in group ``user`` is never given nor deleted by
    a departure - the managed repository's template directories (RepositoryDaoImpl: "directories are in
    the user group"; the repository checks their owner, so they stay with the renamed account) - except
    the OMERO.web profile photo (AdminImpl.uploadMyUserPhoto: a FileAnnotation, its file and an
    ExperimenterAnnotationLink, moved to group user), personal data that ``delete_data`` deletes."""
    data = {g: dict(per_class) for g, per_class in data.items()}
    return data, data.pop(model_base.USER_GROUP, {})


def kept_line(shared, photo_deleted):
    """What stays with the renamed account, for the plan (None when nothing)."""
    files, photos = len(shared.get("OriginalFile", [])), len(shared.get("Annotation", []))
    directories = max(files - photos, 0)
    parts = []
    if directories:
        parts.append(f"{directories} managed-repository directories (group user, never deleted)")
    if photos and not photo_deleted:
        parts.append("the OMERO.web profile photo (personal data; deleted only with delete_data)")
    return "; stay with the renamed account: " + ", ".join(parts) if parts else None


def deletion_targets(data, shared):
    """Everything the person owns outside group ``user``, and their profile photo (its file and link go
    with the FileAnnotation: blitz-delete-rules.xml)."""
    targets = {}
    for per_class in data.values():
        for kind, ids in per_class.items():
            targets.setdefault(kind, []).extend(ids)
    if shared.get("Annotation"):
        targets.setdefault("Annotation", []).extend(shared["Annotation"])
    return sorted_targets(targets)


def transfer_targets(name, to, group_perms, targets, rois):
    """The Chown2 targets of ``name``'s data in one group, and the ROIs it cannot give.

    blitz-chown-rules.xml "Cannot give ROI out of image in a private or read-only group"
    (``I:Image[E].rois = ROI:[I];perms=???-??``): a ROI on another owner's image goes only with its image.
    When the image already belongs to the recipient, its fileset (or the image) is named too - giving the
    recipient what they own changes nothing, and a fileset's images go only together (``within {F} may not
    give {I1} while {I2} remains``); the links that giving cuts are made again (the client). A ROI on a
    third person's image stays with the renamed account, visible in the group as before."""
    targets = {kind: list(ids) for kind, ids in targets.items()}
    kept = []
    if group_perms[3] in "aw":
        return sorted_targets(targets), kept
    for roi in list(targets.get("Roi", [])):
        info = rois.get(roi)
        if info is None or info["owner"] == name:
            continue
        if info["owner"] == to:
            kind, oid = ("Fileset", info["fileset"]) if info.get("fileset") is not None else ("Image", info["image"])
            targets.setdefault(kind, []).append(oid)
        else:
            targets["Roi"].remove(roi)
            kept.append(roi)
    return sorted_targets(targets), kept


def refused_transfers(transfers, filesets):
    """``(transfers the server can do, refusals)``: a transfer naming some but not all images of a
    fileset (one series of a multi-series file) is refused, with the reason, and the others go on
    (blitz-chown-rules.xml "within {F} may not give {I1} while {I2} remains")."""
    ok, refused = [], []
    for t in transfers:
        named = {int(o.split(":")[1]) for o in t.get("objects") or [] if o.startswith("Image:")}
        problems = []
        for image in sorted(named):
            info = filesets.get(image)
            if info is None or set(info["images"]) <= named:
                continue
            problems.append(f"transfer {t['id']}: Image:{image} is one of the {len(info['images'])} images of "
                            f"Fileset:{info['fileset']} (one file, e.g. a multi-series one): OMERO gives them only "
                            "together - list all of them ("
                            + ", ".join(f"Image:{i}" for i in sorted(info["images"])) + ") or none; not applied")
        if problems:
            refused.append(problems[0])
        else:
            ok.append(t)
    return ok, refused
