"""The omero_accounts role's interface and the modules' documentation."""
import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "omero_accounts"


def test_argument_specs_equal_defaults():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    options = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(options)
    for name, value in defaults.items():
        assert name.startswith("omero_accounts_"), name
        assert options[name].get("default") == value, name


def test_readme_documents_every_variable():
    readme = (ROLE / "README.md").read_text()
    for name in yaml.safe_load((ROLE / "defaults" / "main.yml").read_text()):
        assert f"`{name}`" in readme, name


def test_every_task_handling_a_secret_is_no_log():
    checked = 0
    for path in (ROLE / "tasks").glob("*.yml"):
        for task in yaml.safe_load(path.read_text()) or []:
            text = yaml.safe_dump(task)
            if "omero_accounts_admin_password" in text or "_omero_accounts_passwords:" in text \
                    or "_omero_accounts_passwords |" in text or "_omero_accounts_passwords }" in text:
                checked += 1
                assert task.get("no_log") is True, f"{path.name}: {task.get('name')}"
    assert checked >= 4  # resolve, policy check, admin password assert, apply


@pytest.mark.parametrize("module", ["omero_user", "omero_group", "omero_accounts"])
def test_ansible_doc_renders(module):
    ansible_doc = pathlib.Path(sys.executable).with_name("ansible-doc")
    if not ansible_doc.exists():
        pytest.skip(f"ansible-doc not found next to {sys.executable}")
    proc = subprocess.run([str(ansible_doc), "-M", str(ROOT / "library"), module], check=False,
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert module in proc.stdout and "EXAMPLES" in proc.stdout and "RETURN VALUES" in proc.stdout
    assert "[WARNING]" not in proc.stderr, proc.stderr
