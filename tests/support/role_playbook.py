"""Run a small playbook on the controller (connection local, in a temporary folder) with the project's
ansible.cfg and roles: for tests that render a role's templates or run one of its task files."""
import json
import os
import pathlib
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = pathlib.Path(sys.executable).with_name("ansible-playbook")
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}


def run_playbook(tmp_path, playbook, extra, inventory=None):
    """``ansible-playbook`` on ``playbook`` (a list of plays) with ``extra`` as extra vars; returns the process."""
    book = tmp_path / "play.yml"
    book.write_text(yaml.safe_dump(playbook, sort_keys=False))
    inv = tmp_path / "hosts.yml"
    inv.write_text(yaml.safe_dump(inventory or {"all": {"hosts": {"web1": {}}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_ROLES_PATH=str(ROOT / "roles"),
               ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_HOST_KEY_CHECKING="false")
    return subprocess.run([str(PLAYBOOK_BIN), "-i", str(inv), str(book), "-e", json.dumps(dict(LOCAL, **extra))],
                          capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path, check=False)


def render_role_template(tmp_path, role, template, extra, tasks=()):
    """The role's ``template`` rendered with its defaults and vars (after ``tasks``, e.g. a check), or None."""
    out = tmp_path / pathlib.Path(template).stem
    role_dir = ROOT / "roles" / role
    vars_files = [str(role_dir / "defaults" / "main.yml")]
    if (role_dir / "vars" / "main.yml").exists():
        vars_files.append(str(role_dir / "vars" / "main.yml"))
    play = {"hosts": "web1", "gather_facts": False, "vars_files": vars_files,
            "tasks": [*tasks, {"ansible.builtin.template": {"src": str(role_dir / "templates" / template),
                                                             "dest": str(out), "mode": "0600"}}]}
    proc = run_playbook(tmp_path, [play], extra)
    return proc, (out.read_text() if out.exists() else None)


def config_sets(rendered):
    """{key: value} of the ``config set [--] KEY VALUE`` lines of a rendered ``.omero`` file."""
    import shlex

    out = {}
    for line in rendered.splitlines():
        if line.startswith("config set"):
            words = [w for w in shlex.split(line)[2:] if w != "--"]
            out[words[0]] = words[1]
    return out
