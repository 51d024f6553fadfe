"""How the stand-in (omero_test_server.py) is given data: the way OMERO.server itself creates it.

Real data is not born through ``saveAndReturnObject``: an import, a script run, an OMERO.web profile
photo each leave a graph of objects, some in the system group ``user``, that the graph requests
(Chown2, Delete2) must handle. Each function below creates, server-side and as the named person, what
the real server creates; every shape names its real source in a one-line comment.

These are the stand-in's server-side paths (the real ones need a Bio-Formats importer and a script
processor, which the stand-in has not): tests reach them through ``accounts_harness.Session`` which,
against a real server (``OMERO_TEST_HOST``), runs ``omero import`` / ``omero script`` instead
(``real_import_command``, ``real_script_command``).

Records in ``store.data`` (besides ``type``, ``owner``, ``group``):
  OriginalFile {name, path, mimetype, repo, size}; Fileset {name, template}; FilesetEntry {fileset, file};
  <kind>Job {}; FilesetJobLink / JobOriginalFileLink {parent, child}; Image {name, fileset, created, size};
  Pixels / Channel / RenderingDef / Roi {image}; Well / PlateAcquisition {plate}; WellSample {well, image,
  acquisition}; FileAnnotation {file, ns}; ExperimenterAnnotationLink {experimenter, child}.
"""

import datetime
import os
import re

MANAGED_REPO = "ManagedRepository"
SCRIPT_REPO = "ScriptRepository"
DIRECTORY = "Directory"  # ome.services.blitz.repo.PublicRepositoryI.DIRECTORY_MIMETYPE
PHOTO_NS = "openmicroscopy.org/omero/experimenter/photo"  # ome.logic.AdminImpl.NSEXPERIMENTERPHOTO
IMPORT_LOG = "application/omero-log-file"  # ome.formats.importer.ImportLibrary: the import log's mimetype


class ImportRefused(Exception):
    """What the real server would refuse (e.g. importing into a group one is not a member of)."""


def _today(created):
    return created or datetime.date.today().isoformat()


def fake_series(name):
    """Bio-Formats' fake reader: ``name&series=3&plates=1&plateRows=2&plateCols=2&fields=1.fake`` -> keys."""
    stem = name.removesuffix(".fake")
    out = {}
    for part in stem.split("&")[1:]:
        key, _eq, value = part.partition("=")
        out[key] = int(value) if value.isdigit() else value
    return out


def _new(store, kind, owner, group, **fields):
    return store.add_object(kind, owner, group, **fields)


def _member(store, uid, gid):
    # ManagedRepositoryI.importFileset runs in the caller's group context: a member's group only.
    if gid not in store.member_of(uid):
        raise ImportRefused(f"user {uid} is not a member of group {gid}")


def template_directories(store, uid, created):
    """The managed repository's template path ``%user%_%userId%//%year%-%month%/%day%/%time%``
    (omero.fs.repo.path default): one OriginalFile of mimetype Directory per level, owned by the
    importer IN GROUP ``user`` (RepositoryDaoImpl.makeDirs: "directories are in the user group";
    ManagedRepositoryI.createTemplateDir). Existing levels are reused, as the real repository does."""
    from omero_test_server import USER_GID

    day = datetime.date.fromisoformat(_today(created))
    store.import_counter = getattr(store, "import_counter", 0) + 1
    n = store.import_counter  # the %time% level: one per import
    clock = f"{12 + n // 3600 % 12:02d}-{n // 60 % 60:02d}-{n % 60:02d}.{n % 1000:03d}"
    levels = [f"{store.users[uid]['omename']}_{uid}", f"{day:%Y-%m}", f"{day:%d}", clock]
    known = store.__dict__.setdefault("template_dirs", {})  # (owner, path) -> id: levels made before
    path = ""
    ids = []
    for level in levels:
        path = f"{path}{level}/"
        if known.get((uid, path)) not in store.data:
            known[(uid, path)] = _new(store, "OriginalFile", uid, USER_GID, name=level, path=path[:-len(level) - 1],
                                      mimetype=DIRECTORY, repo=MANAGED_REPO, size=0)
        ids.append(known[(uid, path)])
    return path, ids


def import_file(store, uid, gid, name, dataset=None, created=None, size=1000):
    """One ``omero import`` of ``name`` (a Bio-Formats fake file name; ``series=N`` gives N images)
    into group ``gid`` and optionally a dataset. Returns {"fileset", "images", "files", "directories"}."""
    _member(store, uid, gid)
    keys = fake_series(name)
    if keys.get("plates"):
        return import_plate(store, uid, gid, name, created=created, size=size)
    with store.lock:
        path, dirs = template_directories(store, uid, created)
        fileset = _fileset(store, uid, gid, name, path, size)
        images = [_image(store, uid, gid, f"{name} [{i}]" if keys.get("series", 1) > 1 else name, fileset["fileset"],
                         created, size, keys.get("sizeC", 1))
                  for i in range(keys.get("series", 1))]
        if dataset is not None:
            for image in images:
                # ImportLibrary: the target dataset is linked to each image by the importer.
                _new(store, "DatasetImageLink", uid, gid, parent=dataset, child=image)
        return dict(fileset, images=images, directories=dirs)


def _fileset(store, uid, gid, name, path, size):
    # ManagedRepositoryI.importFileset: the Fileset, one FilesetEntry per uploaded file (the file in the
    # import's group, under the template path), and the UploadJob, then MetadataImportJob, PixelDataJob,
    # ThumbnailGenerationJob linked to the Fileset (ManagedRepositoryI.createImportProcess).
    fileset = _new(store, "Fileset", uid, gid, name=name, template=path)
    upload = _new(store, "OriginalFile", uid, gid, name=name, path=path, mimetype="application/octet-stream",
                  repo=MANAGED_REPO, size=size)
    _new(store, "FilesetEntry", uid, gid, fileset=fileset, file=upload)
    jobs = []
    for kind in ("UploadJob", "MetadataImportJob", "PixelDataJob", "ThumbnailGenerationJob"):
        job = _new(store, kind, uid, gid)
        _new(store, "FilesetJobLink", uid, gid, parent=fileset, child=job)
        jobs.append(job)
    # ImportLibrary: the import log is an OriginalFile linked to the UploadJob.
    log = _new(store, "OriginalFile", uid, gid, name=name + ".log", path=path, mimetype=IMPORT_LOG,
               repo=MANAGED_REPO, size=100)
    _new(store, "JobOriginalFileLink", uid, gid, parent=jobs[0], child=log)
    return {"fileset": fileset, "files": [upload, log], "jobs": jobs}


def _image(store, uid, gid, name, fileset, created, size, channels):
    # MetadataImportJob / PixelDataJob: per series an Image of the Fileset with its Pixels and Channels;
    # the importer's rendering settings (ThumbnailGenerationJob) on it.
    image = _new(store, "Image", uid, gid, name=name, fileset=fileset, created=_today(created), size=size)
    _new(store, "Pixels", uid, gid, image=image)
    for _c in range(channels):
        _new(store, "Channel", uid, gid, image=image)
    _new(store, "RenderingDef", uid, gid, image=image)
    return image


def import_plate(store, uid, gid, name, screen=None, created=None, size=1000):
    """An HCS import (``plates=1&plateRows=R&plateCols=C&fields=F``): Plate -> Well -> WellSample -> Image
    and a PlateAcquisition; the images are in no dataset (ome.model.screen; ManagedRepositoryI as above)."""
    _member(store, uid, gid)
    keys = fake_series(name)
    with store.lock:
        path, dirs = template_directories(store, uid, created)
        fileset = _fileset(store, uid, gid, name, path, size)
        plate = _new(store, "Plate", uid, gid, name=name, created=_today(created))
        run = _new(store, "PlateAcquisition", uid, gid, plate=plate)
        images = []
        for row in range(keys.get("plateRows", 1)):
            for col in range(keys.get("plateCols", 1)):
                well = _new(store, "Well", uid, gid, plate=plate, row=row, column=col)
                for field in range(keys.get("fields", 1)):
                    image = _image(store, uid, gid, f"{name} [Well {row}{col}, Field {field}]", fileset["fileset"],
                                   created, size, keys.get("sizeC", 1))
                    _new(store, "WellSample", uid, gid, well=well, image=image, acquisition=run)
                    images.append(image)
        if screen is not None:
            _new(store, "ScreenPlateLink", uid, gid, parent=screen, child=plate)
        return dict(fileset, plate=plate, images=images, directories=dirs)


def run_script(store, uid, gid, script="/omero/figure_scripts/Movie_Figure.py"):
    """``omero script launch``: a ScriptJob in the caller's group linked to the script (an OriginalFile of
    the script repository, in group ``user``) and to the run's stdout and stderr, uploaded as the caller's
    OriginalFiles in the caller's group (omero-py omero/processor.py ProcessI: upload of stdout/stderr,
    JobOriginalFileLink; ome/services/blitz/impl/ScriptsI: scripts live in group user)."""
    from omero_test_server import ROOT_UID, USER_GID

    _member(store, uid, gid)
    with store.lock:
        scripts = [oid for oid, o in store.data.items() if o["type"] == "OriginalFile" and o.get("repo") == SCRIPT_REPO
                   and o.get("path", "") + o.get("name", "") == script]
        script_id = scripts[0] if scripts else _new(store, "OriginalFile", ROOT_UID, USER_GID, name=script.rsplit("/", 1)[1],
                                                    path=script.rsplit("/", 1)[0] + "/", mimetype="text/x-python",
                                                    repo=SCRIPT_REPO, size=2000)
        job = _new(store, "ScriptJob", uid, gid)
        _new(store, "JobOriginalFileLink", uid, gid, parent=job, child=script_id)
        outputs = []
        for stream in ("stdout", "stderr"):
            out = _new(store, "OriginalFile", uid, gid, name=stream, path=f"/{job}/", mimetype="text/plain", repo=None,
                       size=10)
            _new(store, "JobOriginalFileLink", uid, gid, parent=job, child=out)
            outputs.append(out)
        return {"job": job, "script": script_id, "files": outputs}


def upload_photo(store, uid, name="photo.png"):
    """OMERO.web's profile photo (AdminImpl.uploadMyUserPhoto): an OriginalFile, a FileAnnotation of ns
    experimenter/photo and an ExperimenterAnnotationLink, all moved to group ``user``
    (AdminImpl.internalMoveToCommonSpace)."""
    from omero_test_server import USER_GID

    with store.lock:
        photos = [o["file"] for o in store.data.values() if o["type"] == "FileAnnotation" and o.get("ns") == PHOTO_NS
                  and o["owner"] == uid]
        if photos:  # AdminImpl.uploadMyUserPhoto: an existing photo's file is rewritten
            store.data[photos[0]].update(name=name, path=name)
            return {"file": photos[0]}
        file_id = _new(store, "OriginalFile", uid, USER_GID, name=name, path=name, mimetype="image/png", repo=None, size=500)
        annotation = _new(store, "FileAnnotation", uid, USER_GID, file=file_id, ns=PHOTO_NS)
        link = _new(store, "ExperimenterAnnotationLink", uid, USER_GID, experimenter=uid, child=annotation)
        return {"file": file_id, "annotation": annotation, "link": link}


# --------------------------------------------------------------------------------------------------
# The same flows on a real OMERO.server (OMERO_TEST_HOST): the command lines the harness runs
# --------------------------------------------------------------------------------------------------

_SAFE_NAME = re.compile(r"^[A-Za-z0-9._&=-]+\.fake$")


def real_import_command(omero_bin, connection, path, group_id, dataset=None, screen=None):
    """``omero import`` of a Bio-Formats fake file at ``path`` (an empty file: its name describes the
    image), in group ``group_id``, into a dataset or a screen. ``connection``: {host, port, session_key}: the
    harness logs in with omero-py and passes the session's key, so no password is ever on a command line."""
    if not _SAFE_NAME.match(os.path.basename(path)):
        raise ValueError(f"not a Bio-Formats fake file name: {path!r}")
    command = [omero_bin, "import", "-s", connection["host"], "-p", str(connection["port"]),
               "-k", connection["session_key"], "-g", str(group_id)]
    if dataset is not None:
        command += ["-T", f"Dataset:id:{int(dataset)}"]
    if screen is not None:
        command += ["-T", f"Screen:id:{int(screen)}"]
    return command + ["--", path]


def real_script_command(omero_bin, connection, script, group_id, arguments=()):
    """``omero script launch`` of a server script (by path: the CLI resolves it with IScript.getScriptID) as the
    session's user, in group ``group_id``, with ``param=value`` inputs."""
    command = [omero_bin, "script", "launch", "-s", connection["host"], "-p", str(connection["port"]),
               "-k", connection["session_key"], "-g", str(group_id), script]
    for key, value in arguments:
        command.append(f"{key}={value}")  # an argument of its own: no shell, no quoting
    return command
