"""site.yml checks every role of every host before any host changes (playbooks/preflight.yml).

Static: the preflight plays cover every role (and the roles those include) of every playbook that site.yml
imports, one play per playbook with the same hosts and the same vars files (no copy of a playbook's vars). Dynamic: ansible-playbook against a temporary
five-host inventory on the controller (connection local). The preflight play passes with strong secrets, and a
weak secret of the LAST role of site.yml that has one (governance) stops site.yml in its first play: non-zero
exit, the variable named, its value printed nowhere, no task of a later play started.

Safe on the controller: the preflight play is read-only and uses no become; every host also has
ansible_become_user nobody and ansible_become_exe /bin/false, so a task of any service playbook (they all
become, fact gathering included) would fail instead of changing this machine, were the run not stopped.
"""
import json
import os
import pathlib
import re
import secrets
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"
PLAYBOOK_BIN = pathlib.Path(sys.executable).with_name("ansible-playbook")
PREFLIGHT_PLAY = "Check every role's variables and secrets before any host changes"  # each play's name starts so


def _yaml(path):
    return yaml.safe_load(path.read_text()) or []


def _site_playbooks():
    return [entry["ansible.builtin.import_playbook"] for entry in _yaml(PLAYBOOKS / "site.yml")]


def _groups(pattern):
    return {g for g in re.split(r"[:,]", pattern) if g and g != "all"}


def _tasks(tasks):
    """Every task of a task list, blocks opened."""
    for task in tasks or []:
        if "block" in task:
            yield from _tasks(task["block"])
            yield from _tasks(task.get("rescue"))
            yield from _tasks(task.get("always"))
        else:
            yield task


def _role_includes(task):
    for key in ("ansible.builtin.include_role", "ansible.builtin.import_role", "include_role", "import_role"):
        if key in task:
            return task[key]
    return None


def _included_roles(role, seen=None):
    """The roles a role's task files include or import (static names), recursively."""
    seen = set() if seen is None else seen
    for path in sorted((ROOT / "roles" / role / "tasks").glob("*.yml")):
        for task in _tasks(_yaml(path)):
            inc = _role_includes(task)
            if inc and "{{" not in inc["name"] and inc["name"] != role and inc["name"] not in seen:
                seen.add(inc["name"])
                _included_roles(inc["name"], seen)
    return seen


def _service_plays():
    """(playbook, play, [(role, role vars)]) of every play that site.yml imports, the preflight excluded."""
    out = []
    for name in _site_playbooks():
        if name == "preflight.yml":
            continue
        for play in _yaml(PLAYBOOKS / name):
            roles = []
            for entry in play.get("roles") or []:
                entry = {"role": entry} if isinstance(entry, str) else entry
                roles.append((entry["role"], entry.get("vars") or {}))
            for task in _tasks((play.get("pre_tasks") or []) + (play.get("tasks") or []) + (play.get("post_tasks") or [])):
                inc = _role_includes(task)
                if inc:
                    roles.append((inc["name"], task.get("vars") or {}))
            out.append((name, play, roles))
    return out


def _preflight_plays():
    return _yaml(PLAYBOOKS / "preflight.yml")


def _preflight_play_names():
    return [play["name"] for play in _preflight_plays()]


def test_site_runs_the_preflight_plays_first():
    assert _site_playbooks()[0] == "preflight.yml"
    plays = _preflight_plays()
    assert len(plays) > 5
    for play in plays:
        assert play["name"].startswith(PREFLIGHT_PLAY + ": "), play["name"]
        assert play.get("become", False) is False, play["name"]
        assert "always" in play.get("tags", []), play["name"]
        # Every host finishes its checks (a failed one is recorded by a rescue), so one run reports every problem.
        assert play.get("any_errors_fatal", False) is False, play["name"]
    # Facts are gathered once, by the first play (on every host); the others reuse them.
    assert plays[0]["hosts"] == "all" and plays[0].get("gather_facts", True) is not False
    assert all(play.get("gather_facts") is False for play in plays[1:])
    for play in plays[:-1]:
        for block in play["tasks"]:
            assert block.get("rescue"), f"{play['name']}: {block['name']}: no rescue recording the failure"
    # Then the last play stops every host.
    last = plays[-1]
    assert last["hosts"] == "all"
    stop, _record = last["tasks"]  # then records the pass (test_roles_skip_the_checks_site_yml_ran)
    assert "ansible.builtin.fail" in stop and stop.get("any_errors_fatal") is True
    assert "ansible_play_hosts" in stop["vars"]["_preflight_report"]  # unreachable hosts count as failed


def test_preflight_plays_cover_every_role_of_every_service_playbook():
    preflight = _preflight_plays()
    plays = _service_plays()
    assert plays, "site.yml imports no service playbook"
    missing = []
    for name, service, roles in plays:
        if not roles:
            continue  # endpoints.yml: no role, nothing to check
        play = [p for p in preflight if p["name"].endswith(f"({name})")]
        assert len(play) == 1, f"preflight.yml needs one play named '... ({name})'"
        play = play[0]
        # The same hosts, the same variables: read from the playbook's own vars files, never copied.
        assert play["hosts"] == service["hosts"], f"preflight.yml: the {name} play's hosts differ from the playbook's"
        assert play.get("vars_files") == service.get("vars_files"), f"preflight.yml: the {name} play's vars_files differ"
        assert not service.get("vars"), f"{name}: play vars belong in its vars_files (preflight.yml reads them there)"
        checked = {}
        for task in _tasks(play["tasks"]):
            inc = _role_includes(task)
            if inc and inc.get("tasks_from") == "preflight.yml":
                checked[inc["name"]] = task.get("vars") or {}
        wanted = [(role, rvars) for role, rvars in roles]
        for role, _rvars in roles:
            wanted += [(sub, None) for sub in sorted(_included_roles(role))]
        for role, rvars in wanted:
            if not (ROOT / "roles" / role / "tasks" / "preflight.yml").is_file():
                continue
            if role not in checked:
                missing.append(f"{role} ({name})")
            elif rvars:
                assert checked[role] == rvars, f"{name}: the vars given to {role} differ in preflight.yml"
    assert not missing, f"preflight.yml does not run the preflight of: {', '.join(missing)}"


def test_preflights_only_read():
    """Every task a preflight runs is a check, a fact, a variable load or a controller-side read."""
    allowed = {"ansible.builtin.assert", "ansible.builtin.fail", "ansible.builtin.set_fact", "ansible.builtin.debug",
               "ansible.builtin.include_vars", "ansible.builtin.stat", "ansible.builtin.include_role",
               "ansible.builtin.slurp",
               "community.crypto.x509_certificate_info", "community.crypto.openssl_privatekey_info",
               "ansible.builtin.command", "ansible.builtin.setup", "community.docker.docker_container_info"}
    files = sorted(ROOT.glob("roles/*/tasks/preflight.yml")) + [ROOT / "roles" / "omero_accounts" / "tasks" / "validate.yml"]
    assert len(files) > 5
    for path in files:
        for task in _tasks(_yaml(path)):
            module = next(k for k in task if k.startswith(("ansible.", "community.")))
            assert module in allowed, f"{path.relative_to(ROOT)}: {task.get('name')} uses {module}"
            if module == "ansible.builtin.command":  # validators and readers, never a change, no become
                assert task.get("changed_when") is False and task.get("check_mode") is False \
                    and task.get("become", False) is False, f"{path.relative_to(ROOT)}: {task.get('name')}"
            if module == "ansible.builtin.stat":
                assert task.get("delegate_to") == "localhost", f"{path.relative_to(ROOT)}: {task.get('name')}"


def test_secrets_are_judged_under_no_log_and_refused_by_a_visible_message():
    judged = 0
    for path in sorted(ROOT.glob("roles/*/tasks/preflight.yml")):
        for task in _tasks(_yaml(path)):
            text = yaml.safe_dump(task)
            if "secret_problems(" in text:
                judged += 1
                assert task.get("no_log") is True, f"{path.relative_to(ROOT)}: {task.get('name')}"
            elif "_secret_problems" in text:  # the assert showing the verdicts: never no_log, never a value
                assert "ansible.builtin.assert" in task and not task.get("no_log"), f"{path.relative_to(ROOT)}: {task.get('name')}"
                assert task["name"].startswith("Check "), task["name"]  # molecule side effects look for ^Check
    roles_with_secrets = {"postgresql", "omero_server", "omero_web", "backup", "backup_copy", "omero_accounts", "governance",
                          "web_sessions", "mail_relay", "monitoring"}
    assert judged == len(roles_with_secrets)


# --- ansible-playbook on the controller ------------------------------------------------------------------

needs_ansible = pytest.mark.skipif(not PLAYBOOK_BIN.exists(), reason=f"ansible-playbook not found next to {sys.executable}")

HOSTS = {  # one host per role group, as a split deployment places them
    "db1": ["database"],
    "srv1": ["omero_server", "backup"],
    "web1": ["omero_web"],
    "copy1": ["backup_copy"],
    "mon1": ["monitoring"],
}
# The weak secret of the last role of site.yml that has one: governance (governance.yml comes after
# accounts.yml, which has omero_accounts_admin_password; endpoints.yml has no role).
WEAK = "omero-admin-2026"


def _strong():
    return secrets.token_urlsafe(24)


def make_inventory(tmp_path):
    inv = tmp_path / "inv"
    shutil.copytree(ROOT / "inventories" / "local" / "accounts", inv / "accounts")
    children = {}
    hostvars = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                # Tripwire: any become task (every service playbook's) fails instead of touching this machine.
                "ansible_become_user": "nobody", "ansible_become_exe": "/bin/false"}
    for host, groups in HOSTS.items():
        for group in groups:
            children.setdefault(group, {"hosts": {}})["hosts"][host] = dict(hostvars)
    (inv / "hosts.yml").write_text(json.dumps({"all": {"children": children}}))
    people = (ROOT / "inventories" / "local" / "accounts" / "people.yml").read_text()
    group_vars = {var: "Init-" + _strong() + "!" for var in set(re.findall(r"password_var: (\w+)", people))}
    group_vars.update({
        "postgresql_omero_password": _strong(),
        "omero_server_root_password": _strong(),
        "omero_web_secret_key": secrets.token_urlsafe(48),
        "omero_web_public_password": group_vars.get("vault_omero_web_public_password", _strong()),
        "backup_restic_password": _strong(),
        "backup_repository": str(tmp_path / "never-created" / "backup"),
        "backup_alert_recipients": ["root@localhost"],
        "backup_copy_source_repository": str(tmp_path / "never-created" / "backup"),
        "backup_copy_source_password": "{{ backup_restic_password }}",
        "backup_copy_repository": str(tmp_path / "never-created" / "copy"),
        "backup_copy_restic_password": _strong(),
        "monitoring_alert_recipients": ["root@localhost"],
        "governance_support_email": "omero-support@example.org",
        "mail_relay_host": "smtp.example.org",  # STARTTLS on 587, verified (the role's defaults)
        "nginx_server_name": "omero.example.org",
        "nginx_tls_mode": "selfsigned",
        "omero_python_ice_wheelhouse": str(tmp_path / "never-created" / "wheelhouse"),
        # These "hosts" are the controller itself: the firewall role refuses them (as it must), so it is off,
        # as on the local inventory's host-network container.
        "firewall_manage": False,
    })
    (inv / "group_vars").mkdir()
    (inv / "group_vars" / "all.yml").write_text(json.dumps(group_vars))
    return inv


def play(inv, playbook, *extra):
    cmd = [str(PLAYBOOK_BIN), "-i", str(inv / "hosts.yml"), str(PLAYBOOKS / playbook), *extra]
    # The json stdout callback; ansible.cfg's profile_tasks (which prints to stdout) is replaced by the file-only
    # tree callback so that stdout stays one JSON document.
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.tree",
               ANSIBLE_CALLBACK_TREE_DIR=str(inv / "tree"), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0")
    env.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)  # the temporary inventory has no vault
    env.pop("PYTEST_CURRENT_TEST", None)  # the facts in the report hold the environment: no test id there
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"no JSON report (rc {proc.returncode}): {proc.stdout[-3000:]} {proc.stderr[-3000:]}")
    return proc, report


def ran(report, host):
    """Names ('role : task') of the tasks that ran (not skipped) on a host."""
    names = []
    for p in report["plays"]:
        for t in p["tasks"]:
            res = t["hosts"].get(host)
            if res is not None and not res.get("skipped"):
                names.append(t["task"]["name"])
    return names


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    return make_inventory(tmp_path_factory.mktemp("site-preflight"))


@needs_ansible
def test_preflight_passes_with_strong_secrets_and_checks_each_hosts_roles(inventory):
    proc, report = play(inventory, "preflight.yml")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert [p["play"]["name"] for p in report["plays"]] == _preflight_play_names()
    assert all(s["changed"] == 0 and s["failures"] == 0 for s in report["stats"].values()), report["stats"]
    expect = {  # host -> roles whose secret/variable checks ran there
        "db1": {"postgresql", "monitoring"},
        "srv1": {"mail_relay", "omero_server", "omero_ice_runtime", "omero_python", "backup", "monitoring", "omero_accounts",
                 "governance"},
        "web1": {"omero_web", "omero_python", "nginx", "monitoring"},
        "copy1": {"backup_copy", "monitoring"},
        "mon1": {"monitoring"},
    }
    roles_with_checks = {"postgresql", "omero_server", "omero_ice_runtime", "omero_python", "omero_web", "nginx", "backup",
                         "backup_copy", "monitoring", "omero_accounts", "governance", "mail_relay"}
    for host, roles in expect.items():
        seen = {name.split(" : ", 1)[0] for name in ran(report, host) if " : " in name}
        assert seen & roles_with_checks == roles, f"{host}: {sorted(seen)}"
        # The roles then skip their own preflight on this host (test_roles_skip_the_checks_site_yml_ran).
        assert "Record that every check passed on this host" in ran(report, host), host


def test_roles_skip_the_checks_site_yml_ran():
    """site.yml runs each preflight once: a role's own include of tasks/preflight.yml is skipped on a host where
    preflight.yml's last play recorded that every check passed; a playbook run alone still checks."""
    last_play = _yaml(ROOT / "playbooks" / "preflight.yml")[-1]
    names = [t["name"] for t in last_play["tasks"]]
    assert names[-1] == "Record that every check passed on this host", names  # after the stop, never before
    assert last_play["tasks"][-1]["ansible.builtin.set_fact"] == {"_site_preflight_passed": True}
    roles = sorted(p.parent.parent.name for p in ROOT.glob("roles/*/tasks/preflight.yml"))
    assert len(roles) > 10
    for role in roles:
        tasks = _yaml(ROOT / "roles" / role / "tasks" / "main.yml")
        include = [t for t in tasks if (t.get("ansible.builtin.include_tasks") or {}).get("file") == "preflight.yml"]
        assert len(include) == 1, f"{role}: tasks/main.yml must include preflight.yml once (include_tasks)"
        when = include[0].get("when")
        conditions = when if isinstance(when, list) else [when]
        assert "not (_site_preflight_passed | default(false))" in conditions, f"{role}: {when}"


@needs_ansible
@pytest.mark.parametrize("weak, named", [
    # The proof: a weak secret of the last role of site.yml that has one.
    ({"governance_omero_password": WEAK}, ["governance_omero_password"]),
    # The examples, "changeme" as the PostgreSQL password and a weak OMERO root password: one run names
    # every variable they reach, on every host (database host: postgresql; server host: omero_server twice,
    # omero_accounts, governance).
    ({"postgresql_omero_password": "changeme", "omero_server_root_password": "Omero-Root-1"},
     ["postgresql_omero_password", "omero_server_db_password", "omero_server_root_password",
      "omero_accounts_admin_password", "governance_omero_password"]),
], ids=["governance-last-role", "several-weak-secrets"])
def test_weak_secret_stops_site_before_any_host_changes(inventory, weak, named):
    proc, report = play(inventory, "site.yml", "-e", json.dumps(weak))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-4000:]
    # Only the preflight plays started: no task of PostgreSQL's (or any later) play ran on any host.
    assert [p["play"]["name"] for p in report["plays"]] == _preflight_play_names(), [p["play"]["name"] for p in report["plays"]]
    assert all(s["changed"] == 0 for s in report["stats"].values()), report["stats"]
    failed = [(host, res["msg"]) for p in report["plays"] for t in p["tasks"] for host, res in t["hosts"].items()
              if res.get("failed")]
    assert failed, "no task failed"
    for name in named:
        assert any(f"{name} is refused" in str(msg) for _host, msg in failed), (name, failed)
    assert "/group_vars/all/vault.yml" in str(failed)
    # The last task sums up every failed check of every host, then stops them all.
    summary = [msg for _host, msg in failed if "Stopped before any host changed" in str(msg)]
    assert len(summary) == 1, failed
    for name in named:
        assert f"{name} is refused" in str(summary[0]), (name, summary)
    for value in weak.values():
        assert value not in out  # never the value, anywhere in the output


def _stopped_site_summary(inventory, extra_vars):
    """Run site.yml with these extra vars: it must stop in the preflight plays, nothing changed; the summary."""
    proc, report = play(inventory, "site.yml", "-e", json.dumps(extra_vars))
    assert proc.returncode != 0, proc.stdout[-4000:]
    assert [p["play"]["name"] for p in report["plays"]] == _preflight_play_names()
    assert all(s["changed"] == 0 for s in report["stats"].values()), report["stats"]
    (summary,) = [res["msg"] for p in report["plays"] for t in p["tasks"] for res in t["hosts"].values()
                  if res.get("failed") and "Stopped before any host changed" in str(res.get("msg"))]
    return " ".join(summary)


@needs_ansible
def test_mail_without_verified_tls_stops_site_before_any_host_changes(inventory):
    """Plain SMTP to a relay that is not loopback (the local MTA's and the runner's) and OMERO.server pointed at a
    remote relay (it cannot verify one) stop site.yml in its first play, each named."""
    bad = {"mail_relay_tls": "none", "governance_smtp_host": "smtp.example.org",
           "omero_server_config": {"omero.mail.config": "true", "omero.mail.host": "smtp.example.org"}}
    summary = _stopped_site_summary(inventory, bad)
    assert "mail_relay_tls is none but mail_relay_host 'smtp.example.org' is not this host" in summary
    assert "governance_smtp_tls is none but governance_smtp_host 'smtp.example.org' is not this host" in summary
    assert "omero_server_config sets omero.mail.host to smtp.example.org, which is not this host" in summary


@needs_ansible
def test_backup_host_without_read_capabilities_stops_site_before_any_host_changes(inventory, tmp_path):
    """A host whose services may hold neither CAP_DAC_READ_SEARCH nor CAP_DAC_OVERRIDE could never back up the
    0600 files: PID 1's bounding set (here a status file with every bit but those two) stops the run."""
    status = tmp_path / "status"
    status.write_text("Name:\tsystemd\nCapBnd:\t000001fffffffff9\n")  # bits 1 and 2 cleared
    summary = _stopped_site_summary(inventory, {"__backup_init_status_file": str(status)})
    assert "srv1: Check that a backup run may read sources owned by other users" in summary, summary
    assert "neither CAP_DAC_READ_SEARCH nor CAP_DAC_OVERRIDE" in summary and "000001fffffffff9" in summary


# --- The database's connection budget (playbooks/vars/database.yml, roles/postgresql/tasks/preflight.yml) ------
# db1 serves srv1 (three pools: Blitz, Indexer, PixelData), srv1's backup (1) and its own postgres_exporter (1),
# plus postgresql_spare_connections (5) and superuser_reserved_connections (3): 3 x pool + 10 <= max_connections
# (the role's default, 100). A pool of 30 fills it exactly; 31 does not fit.
BUDGET_CHECK = "postgresql : Check that max_connections holds every client's connections"


@needs_ansible
def test_a_pool_that_fits_max_connections_passes_the_preflight(inventory):
    proc, report = play(inventory, "preflight.yml", "-e", json.dumps({"omero_server_db_poolsize": 30}))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert BUDGET_CHECK in ran(report, "db1")


@needs_ansible
def test_a_pool_that_does_not_fit_stops_site_before_any_host_changes(inventory):
    summary = _stopped_site_summary(inventory, {"omero_server_db_poolsize": 31})
    assert "db1: Check that max_connections holds every client's connections" in summary
    assert "postgresql_config.max_connections is 100 but this database needs 103" in summary
    assert "OMERO.server srv1 (3 pools of omero_server_db_poolsize 31): 93" in summary
    assert "backup srv1 (pg_dump): 1" in summary and "monitoring (postgres_exporter): 1" in summary
    assert "lower omero_server_db_poolsize" in summary
