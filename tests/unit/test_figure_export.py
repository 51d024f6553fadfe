"""OMERO.figure's export: one pin for the web app and the server's script, and the script's own PDF code run
on a saved figure with OMERO stubbed at its boundary (tests/support/figure_export_harness.py), the PDF read back.

The omero_server scenario runs the same harness with the server venv on the script the role placed
(molecule/omero_server/tests/test_figure_export.py)."""
import importlib.metadata
import importlib.util
import json
import pathlib
import re
import subprocess
import sys

import pytest
import yaml
from figure_pdf_check import FIGURE, HARNESS, check_figure_pdf

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _yaml(path):
    return yaml.safe_load((ROOT / path).read_text())


def _pin():
    return _yaml("playbooks/vars/omero_figure.yml")["_omero_figure_pin"]


def test_one_pin_for_the_web_app_and_the_server_script():
    pin = _pin()
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", pin)
    figure_vars = _yaml("playbooks/vars/omero_figure.yml")
    assert figure_vars["omero_web_figure_version"] == figure_vars["omero_server_figure_version"]
    # Both playbooks load the pin; the roles' own defaults (a role run outside them) are the same release.
    for playbook in ("omero_server.yml", "omero_web.yml"):
        (play,) = _yaml(f"playbooks/{playbook}")
        assert "vars/omero_figure.yml" in play["vars_files"], playbook
    assert _yaml("roles/omero_web/defaults/main.yml")["omero_web_figure_version"] == pin
    assert _yaml("roles/omero_server/defaults/main.yml")["omero_server_figure_version"] == pin
    (app,) = [a for a in _yaml("roles/omero_web/defaults/main.yml")["omero_web_apps"] if a["name"] == "omero_figure"]
    assert app["package"] == "omero-figure=={{ omero_web_figure_version }}"
    # The test harness reads the script from the same release.
    assert f"omero-figure=={pin}\n" in (ROOT / "requirements.txt").read_text()


def _installed_script():
    spec = importlib.util.find_spec("omero_figure")
    if spec is None:
        pytest.skip("omero-figure is not installed in this venv (requirements.txt pins it)")
    return pathlib.Path(spec.submodule_search_locations[0])


def test_the_role_places_the_script_where_the_web_app_calls_it():
    package = _installed_script()
    assert importlib.metadata.version("omero-figure") == _pin()
    # SCRIPT_PATH in omero_figure/views.py (read as text: importing the views needs Django and omero-web).
    (script_path,) = re.findall(r'^SCRIPT_PATH = "([^"]+)"$', (package / "views.py").read_text(), re.MULTILINE)
    role_path = _yaml("roles/omero_server/vars/main.yml")["__omero_server_figure_script"]
    assert script_path == "/" + role_path
    assert (package / "scripts" / role_path).is_file()  # where the role's tasks take it from in the wheel


def _export(tmp_path, figure_text):
    figure = tmp_path / "figure.json"
    figure.write_text(figure_text)
    script = _installed_script() / "scripts" / "omero" / "figure_scripts" / "Figure_To_Pdf.py"
    return subprocess.run([sys.executable, str(HARNESS), str(script), str(figure), str(tmp_path / "work")],
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_script_renders_a_saved_figure_to_pdf(tmp_path):
    proc = _export(tmp_path, FIGURE.read_text())
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    check_figure_pdf(pathlib.Path(result["pdf"]).read_bytes())
    calls = result["calls"]
    # Each panel's plane and channel settings went to the renderer as the figure saved them.
    assert ["renderImage", 1, 0] in calls and ["renderImage", 2, 1] in calls
    assert ["setActiveChannels", [1], [[10, 200]], ["FF0000"]] in calls
    assert ["setActiveChannels", [1, 2], [[10, 200], [0, 255]], ["FF0000", "00FF00"]] in calls
    # The PDF is uploaded as the figure's file annotation and linked to its image, in the image's group.
    assert ["createFileAnnfromLocalFile", "Mitosis in HeLa cells.pdf", "application/pdf", "omero.web.figure.pdf"] in calls
    assert ["setOmeroGroup", 53] in calls and calls[-1] == ["saveAndReturnArray", [1]]


def test_a_plane_outside_the_image_fails_the_export(tmp_path):
    figure = json.loads(FIGURE.read_text())
    figure["panels"][1]["theZ"] = 7  # the image has 3 planes: the stub's renderer refuses, as the server would
    proc = _export(tmp_path, json.dumps(figure))
    assert proc.returncode != 0
    assert "plane z=7 t=1 outside the image" in proc.stderr
