"""Helpers of the accounts suite (tests/accounts): targets, sessions that seed and read back, inventories.

See tests/accounts/conftest.py for how the target is chosen (stand-in or a real OMERO.server).
"""
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
for path in (ROOT / "module_utils", ROOT / "tests" / "support"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from shutil import which as shutil_which

import omero
import omero.clients
import omero.constants.permissions
import omero.model
import omero.sys
import omero_governance
import omero_import
from module_runner import load_module, run_module
from omero.rtypes import rlong, rstring
from omero_accounts_expand import expand
from omero_accounts_inventory import semantic_problems

# What the tests seed and read back; independent of the code under test (module_utils/omero_client.py).
SEEDED_CLASSES = ("Project", "Dataset", "Image", "Screen", "Plate", "Roi", "OriginalFile", "Fileset", "Job",
                  "JobOriginalFileLink", "ProjectDatasetLink", "DatasetImageLink", "ImageAnnotationLink")
# Reading back (a real server answers the same HQL).
CHILDREN = "select l.child.id from {kind} l where l.parent.id in (:ids)"
IMAGE_FILESETS = "select o.id, o.fileset.id from Image o where o.id in (:ids)"
CLI = os.environ.get("OMERO_TEST_CLI", "omero")  # the importer of a real-server site (omero-py's CLI + Bio-Formats)


class Target:
    """Where the accounts are applied: the stand-in (``store`` set) or a real server."""

    def __init__(self, host, port, protocol, admin_user, admin_password, prefix, store=None):
        self.host, self.port, self.protocol = host, port, protocol
        self.admin_user, self.admin_password = admin_user, admin_password
        self.prefix = prefix
        self.store = store

    def connection_args(self, user=None, password=None):
        return {"host": self.host, "port": self.port, "protocol": self.protocol,
                "admin_user": user or self.admin_user,
                "admin_password": password if password is not None else self.admin_password}

    def fault(self, operation, times=1):
        """Make the next ``operation`` (e.g. "IAdmin.addGroups") fail on the server (stand-in only)."""
        if self.store is None:
            pytest.skip("fault injection needs the stand-in; a real OMERO.server cannot be told to fail a call")
        self.store.faults[operation] += times

    def session(self, user=None, password=None):
        return Session(self, user or self.admin_user, password if password is not None else self.admin_password)

    def can_login(self, user, password):
        try:
            with self.session(user, password):
                return True
        except Exception:  # noqa: BLE001 - any refusal means no
            return False


class Session:
    """One omero-py session, to seed data as a person would and to read the server back."""

    def __init__(self, target, user, password):
        self.target = target
        self.login = user
        self.password = password

    def __enter__(self):
        self.client = omero.client(host=f"{self.target.protocol}://{self.target.host}", port=int(self.target.port))
        try:
            self.sf = self.client.createSession(self.login, self.password)
        except Exception:
            self.client.closeSession()
            raise
        self.admin = self.sf.getAdminService()
        return self

    def __exit__(self, *exc):
        self.client.closeSession()
        return False

    # seeding, as the logged-in person, in a group they belong to
    def _save(self, obj, group):
        gid = self.admin.lookupGroup(group).getId().val
        return self.sf.getUpdateService().saveAndReturnObject(obj, {"omero.group": str(gid)}).getId().val

    def image(self, group, name="image"):
        """An image as OMERO makes one: the import of a (single-series) fake file. Returns its id."""
        return self.import_fake(group, f"{name}.fake")["images"][0]

    def dataset(self, group, name="dataset"):
        obj = omero.model.DatasetI()
        obj.setName(rstring(name))
        return self._save(obj, group)

    def screen(self, group, name="screen"):
        obj = omero.model.ScreenI()
        obj.setName(rstring(name))
        return self._save(obj, group)

    def tag(self, group, text="tag"):
        obj = omero.model.TagAnnotationI()
        obj.setTextValue(rstring(text))
        return self._save(obj, group)

    def comment(self, group, text="comment"):
        obj = omero.model.CommentAnnotationI()
        obj.setTextValue(rstring(text))
        return self._save(obj, group)

    def file_annotation(self, group, name="notes.txt"):
        original = omero.model.OriginalFileI()
        original.setName(rstring(name))
        original.setPath(rstring("/"))
        original.setSize(rlong(5))
        original.setMimetype(rstring("text/plain"))
        file_id = self._save(original, group)
        obj = omero.model.FileAnnotationI()
        obj.setFile(omero.model.OriginalFileI(file_id, False))
        return self._save(obj, group)

    def roi(self, group, image):
        obj = omero.model.RoiI()
        obj.setImage(omero.model.ImageI(image, False))
        return self._save(obj, group)

    def link(self, kind, group, parent, child):
        parent_kind, child_kind = {"DatasetImageLink": ("Dataset", "Image"),
                                   "ImageAnnotationLink": ("Image", "Annotation")}[kind]
        obj = getattr(omero.model, kind + "I")()
        obj.setParent(getattr(omero.model, parent_kind + "I")(parent, False))
        child_class = omero.model.TagAnnotationI if child_kind == "Annotation" else getattr(omero.model, child_kind + "I")
        obj.setChild(child_class(child, False))
        return self._save(obj, group)

    # seeding the way OMERO creates data (tests/support/omero_import.py; real server: omero import / script)
    def me(self):
        return self.admin.getEventContext().userId

    def gid(self, group):
        return self.admin.lookupGroup(group).getId().val

    def import_fake(self, group, name, dataset=None, screen=None):
        """Import the Bio-Formats fake file ``name`` as this person in ``group`` (into a dataset or, for a
        plate, a screen). Returns {"images": [...], "fileset": id, "plate": id or None}."""
        store = self.target.store
        if store is not None:
            if omero_import.fake_series(name).get("plates"):
                out = omero_import.import_plate(store, self.me(), self.gid(group), name, screen=screen)
            else:
                out = omero_import.import_file(store, self.me(), self.gid(group), name, dataset=dataset)
            return {"images": out["images"], "fileset": out["fileset"], "plate": out.get("plate")}
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, name)
            open(path, "wb").close()  # Bio-Formats' fake reader: an empty file, described by its name
            command = omero_import.real_import_command(CLI, self._cli_connection(), path, self.gid(group),
                                                       dataset=dataset, screen=screen)
            return self._real_imported(self._cli(command, name))

    def run_script(self, group, dataset):
        """Run a server script as this person (a figure of ``dataset``: a FileAnnotation, the job's stdout/stderr).
        Returns {"job": id, "files": [stdout, stderr ids]}."""
        store = self.target.store
        if store is not None:
            out = omero_import.run_script(store, self.me(), self.gid(group))
            return {"job": out["job"], "files": out["files"]}
        self._cli(omero_import.real_script_command(CLI, self._cli_connection(), "/omero/figure_scripts/Thumbnail_Figure.py",
                                                   self.gid(group), [("Data_Type", "Dataset"), ("IDs", dataset)]), "script")
        query = self.sf.getQueryService()
        params = omero.sys.ParametersI()
        params.addLong("uid", self.me())
        job = query.projection("select max(j.id) from ScriptJob j where j.details.owner.id = :uid", params,
                               {"omero.group": "-1"})[0][0].val
        params = omero.sys.ParametersI()
        params.addLongs("ids", [job])
        files = self.children("JobOriginalFileLink", job)
        return {"job": job, "files": [f for f in files if f in self.owned_files()]}

    def upload_photo(self):
        """OMERO.web's "upload a photo" (IAdmin.uploadMyUserPhoto, the same call on both targets)."""
        return self.admin.uploadMyUserPhoto("photo.png", "image/png", b"\x89PNG fake")

    def _cli_connection(self):
        return {"host": self.target.host, "port": self.target.port, "session_key": self.client.getSessionId()}

    @staticmethod
    def _cli(command, what):
        if shutil_which(command[0]) is None:
            pytest.skip(f"{command[0]} (OMERO's CLI with the Bio-Formats importer) is not on this host: {what} needs it")
        proc = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0:
            raise AssertionError(f"{' '.join(command[:2])} failed: {proc.stderr[-2000:]}")
        return proc.stdout

    def _real_imported(self, stdout):
        images = [int(x) for m in re.findall(r"^Image:([\d,]+)$", stdout, re.MULTILINE) for x in m.split(",")]
        plates = [int(x) for m in re.findall(r"^Plate:([\d,]+)$", stdout, re.MULTILINE) for x in m.split(",")]
        params = omero.sys.ParametersI()
        params.addLongs("ids", images or [-1])
        rows = self.sf.getQueryService().projection(IMAGE_FILESETS, params, {"omero.group": "-1"})
        filesets = {r[1].val for r in rows if r[1] is not None}
        return {"images": images, "fileset": min(filesets) if filesets else None, "plate": plates[0] if plates else None}

    def owned_files(self):
        return set(self.owned_by_id(self.me()).get("OriginalFile", []))

    def children(self, kind, parent):
        """Ids of the children linked to ``parent`` by ``kind`` links (e.g. the images of a dataset)."""
        params = omero.sys.ParametersI()
        params.addLongs("ids", [parent])
        rows = self.sf.getQueryService().projection(CHILDREN.format(kind=kind), params, {"omero.group": "-1"})
        return sorted(r[0].val for r in rows)

    # reading back (as an administrator)
    def owned(self, omename):
        """{class: sorted ids} of everything ``omename`` owns, in every group."""
        return self.owned_by_id(self.admin.lookupExperimenter(omename).getId().val)

    def owned_by_id(self, uid):
        params = omero.sys.ParametersI()
        params.addLongs("uids", [uid])
        out = {}
        for kind in SEEDED_CLASSES:
            rows = self.sf.getQueryService().projection(
                f"select o.id, o.details.owner.id, o.details.group.id from {kind} o where o.details.owner.id in (:uids)",
                params, {"omero.group": "-1"})
            if rows:
                out[kind] = sorted(r[0].val for r in rows)
        rows = self.sf.getQueryService().projection(
            "select o.id, o.details.owner.id, o.details.group.id from Annotation o where o.details.owner.id in (:uids)",
            params, {"omero.group": "-1"})
        if rows:
            out["Annotation"] = sorted(r[0].val for r in rows)
        return out

    def group(self, name):
        g = self.admin.lookupGroup(name)
        members, owners = [], []
        for link in g.copyGroupExperimenterMap():
            members.append(link.getChild().getId().val)
            if link.getOwner().val:
                owners.append(link.getChild().getId().val)
        names = {e.getId().val: e.getOmeName().val for e in self.admin.lookupExperimenters()}
        return {"permissions": str(g.getDetails().getPermissions()),
                "description": g.getDescription().val if g.getDescription() is not None else "",
                "members": sorted(names[m] for m in members), "owners": sorted(names[o] for o in owners)}

    def group_config(self, name):
        """The group's own config as {key: value}, read as OMERO's ``omero obj map-get`` reads it (IQuery.get)."""
        gid = self.admin.lookupGroup(name).getId().val
        group = self.sf.getQueryService().get("ExperimenterGroup", gid, {"omero.group": "-1"})
        return {nv.name: nv.value for nv in group.getConfig() or [] if nv is not None}

    def can_download(self, image):
        """What OMERO.web asks before it offers the originals (BlitzObjectWrapper.canDownload): whether the
        server marked the image with BinaryAccessPolicy's restriction for this session."""
        obj = self.sf.getQueryService().get("Image", image)  # in the session's group (the public group here)
        return not obj.getDetails().getPermissions().isRestricted(omero.constants.permissions.BINARYACCESS)

    def user(self, omename):
        e = self.admin.lookupExperimenter(omename)
        groups = [link.getParent().getName().val for link in e.copyGroupExperimenterMap()]
        privileges = sorted(p.getValue().val for p in self.admin.getAdminPrivileges(omero.model.ExperimenterI(e.getId().val, False)))
        text = lambda x: x.val if x is not None else ""
        return {"groups": groups, "privileges": privileges, "email": text(e.getEmail()),
                "middle_name": text(e.getMiddleName()), "ldap": bool(e.getLdap().val) if e.getLdap() is not None else False}

    def user_names(self):
        return {e.getOmeName().val for e in self.admin.lookupExperimenters()}


def password_of(omename):
    return f"Pw-{omename}-Init!"


class Inventory:
    """A small accounts inventory in memory, expanded with the validator's model, applied by the module."""

    def __init__(self, target, state_dir):
        self.t = target
        self.p = target.prefix
        self.state_dir = str(state_dir)
        self.people = {}
        self.teams = {}
        self.referents = []
        self.settings = {}
        self.external = []
        self.transfers = []
        self.public = None  # the public group's file (public_group), when the test has one
        self.public_downloads = False  # validate-inventory --public-downloads allow|deny

    def n(self, name):
        """A name with this run's prefix (empty against the stand-in)."""
        return self.p + name

    def person(self, name, **fields):
        omename = self.n(name)
        self.people[omename] = dict({"omename": omename, "first_name": name.title(), "last_name": "Test",
                                     "email": f"{omename}@example.org", "site": "iBV", "status": "active",
                                     "password_var": f"vault_pw_{omename.replace('-', '_')}"}, **fields)
        return omename

    def team(self, name, leader, members=(), **fields):
        self.teams[self.n(name)] = dict({"name": self.n(name), "site": "iBV", "leader": self.n(leader),
                                         "members": [self.n(m) for m in members]}, **fields)
        return self.n(name)

    def depart(self, name, check=False, **fields):
        """Mark the person ``name`` (unprefixed) departed (and ``fields``, e.g. delete_data) and run."""
        self.people[self.n(name)].update(status="departed", **fields)
        return self.run(check=check)

    def as_person(self, name):
        """A session of the person ``name`` (unprefixed), with their initial password."""
        return self.t.session(self.n(name), password_of(self.n(name)))

    def leader_files_members_import(self, group, leader="lead_a", member="memb", name="single.fake"):
        """``member`` imports ``name``; ``leader`` (a group owner) files its image in a new dataset of theirs.
        Returns (image, dataset)."""
        with self.as_person(member) as s:
            image = s.import_fake(self.n(group), name)["images"][0]
        with self.as_person(leader) as s:
            dataset = s.dataset(self.n(group), "leader's selection")
            s.link("DatasetImageLink", self.n(group), dataset, image)
        return image, dataset

    def documents(self):
        docs = {"inv/accounts/people.yml": {"people": list(self.people.values())},
                "inv/accounts/referents.yml": {"referents": {"members": [self.n(r) for r in self.referents]}},
                "inv/accounts/settings.yml": {"settings": dict({"referents_group": self.n("referents"),
                                                                "deactivated_group": self.n("User désactivés")},
                                                               **self.settings)}}
        for name, team in self.teams.items():
            docs[f"inv/accounts/teams/{name}.yml"] = {"team": team}
        if self.external:
            docs["inv/accounts/external_groups.yml"] = {"external_groups": self.external}
        if self.transfers:
            docs["inv/accounts/transfers.yml"] = {"transfers": self.transfers}
        if self.public:
            docs["inv/accounts/public.yml"] = {"public_group": self.public}
        return docs

    def desired(self, today=None):
        docs = self.documents()
        problems = semantic_problems(docs) + omero_governance.governance_problems(docs)
        assert not problems, problems
        return expand(docs, today=today, public_downloads=self.public_downloads)

    def run(self, check=False, user=None, password=None, **extra):
        desired = self.desired()
        passwords = {p["password_var"]: password_of(p["omename"]) for p in self.people.values() if p.get("password_var")}
        passwords.update(extra.pop("passwords", {}))
        args = dict(self.t.connection_args(user, password), desired=desired, passwords=passwords, **extra)
        if "state_dir" in load_module("omero_accounts").argument_spec():  # (older module versions had none)
            args["state_dir"] = self.state_dir
        result, raw = run_module("omero_accounts", args, check_mode=check)
        for secret in passwords.values():
            assert secret not in raw, "a password reached the module's output"
        return result


