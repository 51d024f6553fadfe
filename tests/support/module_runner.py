"""Run a module of library/ in-process, the way Ansible would: JSON args in, JSON result out.

The repository's module_utils/ is added to the ``ansible.module_utils`` package path, so the modules'
``from ansible.module_utils.omero_client import ...`` resolve to this checkout, as AnsiballZ does.
"""

import contextlib
import importlib.util
import io
import json
import pathlib

import ansible.module_utils
from ansible.module_utils.testing import patch_module_args

ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(ROOT / "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(ROOT / "module_utils"))


def load_module(name):
    spec = importlib.util.spec_from_file_location(f"omero_deploy_library_{name}", ROOT / "library" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_module(name, args, check_mode=False, diff=True):
    """Return ``(result dict, raw stdout)`` of one module run."""
    module = load_module(name)
    full = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    out = io.StringIO()
    with patch_module_args(full), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    raw = out.getvalue()
    return json.loads(raw), raw
