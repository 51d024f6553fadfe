#!/usr/bin/env python3
"""Run OMERO.figure's own export code (Figure_To_Pdf.py, from the omero-figure wheel) on a saved figure, with
OMERO stubbed at the script's boundary: the BlitzGateway connection it is handed and the image wrappers it gets
from it. Everything else (figure JSON handling, rendering settings, crop, labels, info page, reportlab, PIL,
markdown) is the script's own code.

Usage: figure_export_harness.py <Figure_To_Pdf.py> <figure.json> <work dir>
Writes the PDF into <work dir> and prints one JSON line: {"pdf": path, "calls": [...], "annotated": path}.

The stub is strict: it offers only the calls the PDF export makes (an AttributeError names any other), answers
for the images it holds only (getObject returns None otherwise, as BlitzGateway does), and checks the arguments
of every rendering call against the image's dimensions. Each member names the omero-py call it stands for
(ome/omero-py src/omero/gateway/__init__.py).
"""
import importlib.util
import io
import json
import os
import sys
import types

from PIL import Image

# The image the export renders: its size, planes and the colour its rendered planes have (checked in the PDF).
IMAGE_ID = 1
GROUP_ID = 53
SIZE = {"x": 64, "y": 48, "z": 3, "c": 2, "t": 2}
RENDER_RGB = (200, 30, 60)
# BlitzGateway.getMaxPlaneSize(): omero.pixeldata.max_plane_width/height, 3192 by default (omero-server properties).
MAX_PLANE = (3192, 3192)


class StubImage:
    """ImageWrapper: only what FigureExport calls on an image."""

    def __init__(self, calls):
        self._calls = calls
        self._re = None  # ImageWrapper._re: no rendering engine left open
        self.id = IMAGE_ID

    def getDetails(self):  # BlitzObjectWrapper.getDetails().group.id.val
        return types.SimpleNamespace(group=types.SimpleNamespace(id=types.SimpleNamespace(val=GROUP_ID)))

    def setColorRenderingModel(self):
        self._calls.append("setColorRenderingModel")

    def setActiveChannels(self, channels, windows=None, colors=None, reverseMaps=None):
        if any(not 1 <= c <= SIZE["c"] for c in channels):  # 1-based channel indexes, as omero-py takes them
            raise ValueError(f"no such channel in {channels}")
        self._calls.append(["setActiveChannels", channels, windows, colors])
        return True

    def getSizeX(self):
        return SIZE["x"]

    def getSizeY(self):
        return SIZE["y"]

    def getSizeZ(self):
        return SIZE["z"]

    def getSizeC(self):
        return SIZE["c"]

    def renderImage(self, z, t, compression=0.9):  # a PIL image of the whole plane
        if not (0 <= z < SIZE["z"] and 0 <= t < SIZE["t"]):
            raise ValueError(f"plane z={z} t={t} outside the image")
        self._calls.append(["renderImage", z, t])
        return Image.new("RGB", (SIZE["x"], SIZE["y"]), RENDER_RGB)

    def getThumbnail(self, size=(64,), z=None, t=None):  # JPEG bytes
        self._calls.append(["getThumbnail", list(size)])
        out = io.BytesIO()
        Image.new("RGB", tuple(size), RENDER_RGB).save(out, "JPEG")
        return out.getvalue()

    def canAnnotate(self):
        return True


class StubConnection:
    """BlitzGateway: only what the PDF export calls on the connection."""

    def __init__(self):
        self.calls = []
        self.annotated = None
        self.SERVICE_OPTS = types.SimpleNamespace(setOmeroGroup=lambda gid: self.calls.append(["setOmeroGroup", gid]))

    def getObject(self, obj_type, oid=None):
        self.calls.append(["getObject", obj_type, oid])
        return StubImage(self.calls) if (obj_type, oid) == ("Image", IMAGE_ID) else None

    def getMaxPlaneSize(self):
        return MAX_PLANE

    def getEventContext(self):
        return types.SimpleNamespace(groupId=GROUP_ID)

    def createFileAnnfromLocalFile(self, localPath, origFilePathAndName=None, mimetype=None, ns=None, desc=None):
        if not os.path.isfile(localPath):
            raise OSError(f"{localPath}: no such file to upload")
        self.annotated = os.path.abspath(localPath)
        self.calls.append(["createFileAnnfromLocalFile", os.path.basename(localPath), mimetype, ns])
        return types.SimpleNamespace(_obj=object())

    def getUpdateService(self):
        def save(links, ctx=None):
            self.calls.append(["saveAndReturnArray", [link.parent.id.val for link in links]])
            return links
        return types.SimpleNamespace(saveAndReturnArray=save)


def load_script(path):
    spec = importlib.util.spec_from_file_location("figure_to_pdf_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # not __main__: its handle_main() does not run
    if not (module.reportlab_installed and module.markdown_imported and module.omero_installed):
        sys.exit("the export's dependencies are missing: reportlab "
                 f"{module.reportlab_installed}, markdown {module.markdown_imported}, omero {module.omero_installed}")
    return module


def main(script, figure, workdir):
    module = load_script(script)
    with open(figure) as f:
        figure_json = f.read()
    conn = StubConnection()
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)  # the script writes its PDF and thumbnails into the working directory, as on the server
    params = {"Figure_JSON": figure_json, "Export_Option": "PDF", "Webclient_URI": "https://omero.example.org/webclient/"}
    module.export_figure(conn, params)
    print(json.dumps({"pdf": conn.annotated, "annotated": conn.annotated, "calls": conn.calls}))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
