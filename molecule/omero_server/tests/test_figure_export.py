"""OMERO.figure's export on the deployed server host: the server venv imports the export's dependencies at the
pinned releases, the role's placement tasks put the wheel's Figure_To_Pdf.py on a tree laid out as the server
zip (converge.yml's last play; the zip itself is not available here), and that placed script, run by the
service user with the server venv, renders the test figure to a PDF read back here with pypdf.
"""
import base64
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
from figure_pdf_check import FIGURE, HARNESS, check_figure_pdf

VENV = "/opt/omero/server/venv3"
ZIP_SCRIPTS = "/opt/omero/server/zip-layout-test/OMERO.server-5.6.17-ice36/lib/scripts"
PLACED = f"{ZIP_SCRIPTS}/omero/figure_scripts/Figure_To_Pdf.py"  # SCRIPT_PATH of omero_figure/views.py
PIN = yaml.safe_load((ROOT / "playbooks" / "vars" / "omero_figure.yml").read_text())["_omero_figure_pin"]
PINS = dict(p.split("==") for p in yaml.safe_load(
    (ROOT / "roles" / "omero_server" / "defaults" / "main.yml").read_text())["omero_server_figure_export_packages"])


def test_server_venv_imports_the_export_dependencies(host):
    out = host.check_output(
        f"{VENV}/bin/python -c 'import reportlab, markdown, PIL, zarr, dask.array, fsspec, aiohttp, omero.gateway; "
        "from importlib.metadata import version as v; "
        "print(v(\"omero-figure\"), v(\"reportlab\"), v(\"markdown\"), v(\"zarr\"), v(\"dask\"))'")
    assert out.split() == [PIN, PINS["reportlab"], PINS["Markdown"], PINS["zarr"], PINS["dask"]]


def _wheel_script(host):
    return host.check_output(
        f"{VENV}/bin/python -c 'import importlib.util as u; "
        "print(u.find_spec(\"omero_figure\").submodule_search_locations[0])'") + "/scripts/omero/figure_scripts/Figure_To_Pdf.py"


def test_script_placed_at_the_web_apps_path_on_a_zip_layout_tree(host):
    placed = host.file(PLACED)
    assert placed.exists
    assert (placed.user, placed.group, placed.mode) == ("root", "omero-server", 0o644)
    assert placed.sha256sum == host.file(_wheel_script(host)).sha256sum
    assert f'VERSION = "{PIN}"' in placed.content_string
    # OME's own figure scripts of the zip are left as they were.
    names = host.check_output(f"ls {ZIP_SCRIPTS}/omero/figure_scripts").split()
    assert names == ["Figure_To_Pdf.py", "Movie_Figure.py", "Movie_ROI_Figure.py", "ROI_Split_Figure.py",
                     "Split_View_Figure.py", "Thumbnail_Figure.py"]
    assert host.file(f"{ZIP_SCRIPTS}/omero/figure_scripts/Movie_Figure.py").content_string.startswith("# figure_scripts/")
    assert host.run(f"runuser -u omero-server -- test -r {PLACED}").rc == 0


def _upload(host, path, data):
    encoded = base64.b64encode(data).decode()
    host.check_output(f"echo {encoded} | base64 -d > {path}")


def test_placed_script_renders_the_figure_with_the_server_venv(host):
    work = "/tmp/figure-export-test"
    host.check_output(f"rm -rf {work} && install -d -o omero-server -g omero-server {work}")
    _upload(host, f"{work}/harness.py", HARNESS.read_bytes())
    _upload(host, f"{work}/figure.json", FIGURE.read_bytes())
    res = host.run(f"runuser -u omero-server -- env HOME={work} {VENV}/bin/python {work}/harness.py "
                   f"{PLACED} {work}/figure.json {work}/out")
    assert res.rc == 0, res.stderr[-3000:]
    pdf = base64.b64decode(host.check_output(f"base64 -w0 '{work}/out/Mitosis in HeLa cells.pdf'"))
    check_figure_pdf(pdf)
