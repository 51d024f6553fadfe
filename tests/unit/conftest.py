"""Shared test set-up: the pure accounts model is imported from module_utils/ like the validator does."""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
for path in (ROOT / "module_utils", ROOT / "tests" / "support"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
