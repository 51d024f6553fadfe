"""The validator on accounts trees of about 1 MB built to be slow or dangerous to read
(tests/support/hostile_accounts.py): each is refused with `<file>:<key path>: <message>`, the valid
one accepted. How long each takes is printed by benchmarks/validate_inventory.py (target: 5 s)."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml
from hostile_accounts import TREES, billion_laughs, tree_bytes
from omero_accounts_base import MAX_PROBLEMS
from omero_accounts_inventory import MAX_TREE_BYTES
from omero_accounts_yaml import load_yaml_strict

ROOT = pathlib.Path(__file__).resolve().parents[2]
VALIDATOR = ROOT / "scripts" / "validate-inventory"


def run(inventory):
    # The timeout only bounds a hung run; the time itself is measured by the benchmark.
    proc = subprocess.run([sys.executable, str(VALIDATOR), str(inventory)], check=False, capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    return proc.returncode, proc.stdout, proc.stderr


def assert_problem_lines(inventory, out):
    lines = out.splitlines()
    assert lines, out
    for line in lines:
        assert line.startswith(f"{inventory}{os.sep}accounts"), line[:300]
        _file, key, message = line[len(str(inventory)) + 1:].split(":", 2)
        assert key and message.strip(), line[:300]
        assert len(line) < 1000, line[:300]
    return lines


@pytest.mark.parametrize("name", sorted(TREES))
def test_a_1mb_tree_is_answered_with_file_key_and_message(tmp_path, name):
    expected = TREES[name](tmp_path)
    assert tree_bytes(tmp_path) < MAX_TREE_BYTES
    rc, out, err = run(tmp_path)
    assert "Traceback" not in err and "(internal)" not in out, (out[:500], err[-2000:])
    if expected is None:
        assert (rc, out) == (0, ""), (out[:500], err[-500:])
        return
    assert rc == 1, (out[:500], err[-500:])
    lines = assert_problem_lines(tmp_path, out)
    file, key, message = expected
    assert lines[0].startswith(f"{tmp_path}{os.sep}{file}:{key}: {message}"), lines[0][:300]
    # At most MAX_PROBLEMS per file, and a line saying there are more.
    assert len(lines) <= MAX_PROBLEMS + 1, len(lines)


def test_a_tree_over_1mib_is_refused_before_anything_is_parsed(tmp_path):
    billion_laughs(tmp_path)  # would be refused at its first anchor if it were read
    (tmp_path / "accounts" / "more.yml").write_text("# " + "x" * (MAX_TREE_BYTES // 2) + "\n")
    rc, out, _err = run(tmp_path)
    assert rc == 1
    assert out.splitlines() == [(f"{tmp_path}{os.sep}accounts:(directory): the .yml files hold more than {MAX_TREE_BYTES}"
                                " bytes: an accounts tree is read only up to 1 MiB (a platform of thousands of people"
                                " needs a few hundred KB)")]


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_a_yml_that_is_not_a_regular_file_is_refused_without_reading_it(tmp_path, kind):
    accounts = tmp_path / "accounts"
    accounts.mkdir()
    target = accounts / "people.yml"
    if kind == "fifo":
        os.mkfifo(target)  # opening it would wait for a writer forever
    elif kind == "device":
        target.symlink_to("/dev/zero")  # reading it would never end
    else:
        (accounts / "elsewhere").mkdir()
        target.symlink_to(accounts / "elsewhere")
    rc, out, _err = run(tmp_path)
    assert rc == 1
    assert out.splitlines() == [f"{target}:(file): not a regular file (a directory, device, pipe or broken link)"]


def test_a_hostile_vault_template_is_not_expanded(tmp_path):
    shutil.copytree(ROOT / "inventories" / "local" / "accounts", tmp_path / "accounts")
    vault = tmp_path / "group_vars" / "all" / "vault.yml"
    vault.parent.mkdir(parents=True)
    billion_laughs(tmp_path)  # writes accounts/people.yml: put it where the vault template is
    (tmp_path / "accounts" / "people.yml").replace(vault)
    shutil.copy(ROOT / "inventories" / "local" / "accounts" / "people.yml", tmp_path / "accounts" / "people.yml")
    rc, out, err = run(tmp_path)
    assert (rc, out) == (0, ""), (out[:500], err[-500:])


def test_the_repository_accounts_files_read_as_safe_load_reads_them():
    """On what referents really write, the strict reader gives PyYAML's safe_load data, and no problem."""
    files = sorted(ROOT.glob("inventories/*/accounts/**/*.yml"))
    files += sorted(p for p in ROOT.glob("tests/unit/fixtures/bad_inventories/*/accounts/**/*.yml")
                    if "duplicate_keys" not in p.parts)  # refused by design: safe_load keeps the last key
    compared = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
            expected = yaml.safe_load(text)
        except (UnicodeDecodeError, yaml.YAMLError):
            continue  # the malformed and not-UTF-8 fixtures
        assert load_yaml_strict(text, yaml) == (expected, []), path
        compared += 1
    assert compared >= 40, compared
