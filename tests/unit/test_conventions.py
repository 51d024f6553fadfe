"""Repository conventions (house style) that reviews would otherwise have to catch by eye."""
import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLES = sorted(p for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir())
# A template whose name starts with "_" is a partial: included by the role's other templates, which carry the
# ansible_managed header.
TEMPLATES = sorted(p for p in (ROOT / "roles").glob("*/templates/**/*.j2") if not p.name.startswith("_"))
PARTIALS = sorted((ROOT / "roles").glob("*/templates/**/_*.j2"))


def _yaml(path):
    with open(path) as fh:
        return yaml.safe_load(fh) or {}


def test_there_are_roles_and_templates_to_check():
    # Guards the guards: an empty glob would make every parametrized test below vanish silently.
    assert ROLES, "no roles found under roles/"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_argument_specs_match_defaults(role):
    defaults_file = role / "defaults" / "main.yml"
    specs_file = role / "meta" / "argument_specs.yml"
    assert specs_file.is_file(), f"{specs_file.relative_to(ROOT)} is missing"
    defaults = set(_yaml(defaults_file)) if defaults_file.is_file() else set()
    options = _yaml(specs_file)["argument_specs"]["main"].get("options", {})
    assert sorted(defaults - set(options)) == [], "defaults/main.yml keys missing from argument_specs"
    # The only options allowed without a default are the site-specific ones, which must be required.
    extra = sorted(k for k in set(options) - defaults if not options[k].get("required"))
    assert extra == [], "argument_specs options that are neither in defaults/main.yml nor required"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_variables_are_prefixed(role):
    defaults_file = role / "defaults" / "main.yml"
    if not defaults_file.is_file():
        pytest.skip(f"{role.name} has no defaults/main.yml")
    prefix = role.name + "_"
    bad = [k for k in _yaml(defaults_file) if not k.startswith(prefix)]
    assert not bad, f"variables not prefixed with {prefix!r}: {bad}"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_has_readme(role):
    assert (role / "README.md").is_file(), f"roles/{role.name}/README.md is missing"


@pytest.mark.parametrize("partial", PARTIALS, ids=lambda p: str(p.relative_to(ROOT / "roles")))
def test_partial_template_is_included(partial):
    role_templates = partial.parents[len(partial.relative_to(ROOT / "roles").parts) - 3]
    users = [t for t in TEMPLATES if t.is_relative_to(role_templates) and f"include '{partial.name}'" in t.read_text()]
    assert users, f"{partial.relative_to(ROOT)} is included by no template of its role"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "roles")))
def test_template_starts_with_ansible_managed(template):
    lines = template.read_text().splitlines()
    first = lines[0] if lines else ""
    assert "ansible_managed" in first and "comment" in first, (
        f"{template.relative_to(ROOT)} must start with {{{{ ansible_managed | comment }}}}, found: {first!r}"
    )
