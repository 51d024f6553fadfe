"""The validator CLI: exit codes, one `<file>:<key path>: <message>` line per problem, never a traceback."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
VALIDATOR = ROOT / "scripts" / "validate-inventory"
CORPUS = ROOT / "tests" / "unit" / "fixtures" / "bad_inventories"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir())
INVENTORIES = sorted(p for p in (ROOT / "inventories").iterdir() if (p / "accounts").is_dir())


def run(*args, stdin=None):
    proc = subprocess.run([sys.executable, str(VALIDATOR), *map(str, args)], input=stdin,
                          check=False, capture_output=True, text=True, timeout=60, cwd=ROOT)
    return proc.returncode, proc.stdout, proc.stderr


def test_corpus_is_not_empty():
    assert len(CASES) >= 20, CASES
    assert len(INVENTORIES) == 3, INVENTORIES


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_bad_inventory_is_rejected_with_file_and_key(case):
    rc, out, err = run(case)
    assert rc == 1, (out, err)
    assert "Traceback" not in out + err
    assert "(internal)" not in out, out
    lines = [line for line in out.splitlines() if line]
    prefix = str(case) + os.sep
    # Every line names a file of the case, a key path and a message.
    for line in lines:
        assert line.startswith(prefix), line
        file_part, key, message = line[len(prefix):].split(":", 2)
        assert file_part.startswith("accounts"), line
        assert key and message.strip(), line
    expected = [e for e in (case / "expected.txt").read_text().splitlines() if e]
    relative = [line[len(prefix):] for line in lines]
    for exp in expected:
        assert any(r.startswith(exp) for r in relative), f"expected {exp!r} in {relative}"
    assert len(relative) == len(expected), relative


@pytest.mark.parametrize("inventory", INVENTORIES, ids=lambda p: p.name)
def test_repository_inventories_are_valid(inventory):
    rc, out, err = run(inventory)
    assert (rc, out) == (0, ""), err


def test_expand_prints_the_desired_state():
    rc, out, _err = run("--expand", "--today", "2026-11-20", ROOT / "inventories" / "local")
    assert rc == 0
    desired = json.loads(out)
    groups = {g["name"]: g for g in desired["groups"]}
    assert {"brau", "brau-collab", "referents", "User d\u00e9sactiv\u00e9s", "public", "ext-labx-2026-11"} <= set(groups)
    assert groups["brau-collab"]["members"] == ["agarcia", "fbekkouche", "fbrau", "tkowalski"]
    assert desired["departed"] == [{"omename": "pdubois", "transfer_to": None, "leaders": ["cmartin"],
                                    "delete_data": False}]
    assert groups["martin"]["leader"] == "cmartin"
    assert desired["reports"]["expired_external_groups"] == []


def test_expand_reports_an_expired_external_group():
    rc, out, _err = run("--expand", "--today", "2026-12-03", ROOT / "inventories" / "local")
    assert rc == 0
    assert [g["name"] for g in json.loads(out)["reports"]["expired_external_groups"]] == ["ext-labx-2026-11"]


def test_passwords_from_stdin_are_policy_checked_without_echo(tmp_path):
    secret = "pw7zq"
    rc, out, err = run("--passwords-from-stdin", ROOT / "inventories" / "local",
                       stdin=json.dumps({"vault_omero_accounts_password_fbrau": secret}))
    assert rc == 1
    assert "people.yml:people[1].password_var: password in vault_omero_accounts_password_fbrau fails the policy" in out
    assert secret not in out + err


def test_good_password_from_stdin_passes():
    rc, out, _err = run("--passwords-from-stdin", ROOT / "inventories" / "local",
                        stdin=json.dumps({"vault_omero_accounts_password_fbrau": "Correct-Horse-42"}))
    assert (rc, out) == (0, "")


@pytest.mark.parametrize("args,stdin", [
    ((), None),
    (("/nonexistent/inventory",), None),
    (("--no-such-option", "inventories/local"), None),
    (("--today", "tomorrow", "inventories/local"), None),
    (("--passwords-from-stdin", "inventories/local"), "not json"),
    (("--passwords-from-stdin", "inventories/local"), "[1, 2]"),
])
def test_usage_errors_exit_2_without_traceback(args, stdin):
    rc, out, err = run(*args, stdin=stdin)
    assert rc == 2, (out, err)
    assert "usage" in err
    assert "Traceback" not in out + err


def test_runs_without_omero(tmp_path):
    # The validator must not need omero-py: hide it and run again.
    blocker = tmp_path / "omero.py"
    blocker.write_text("raise ImportError('omero is hidden for this test')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    proc = subprocess.run([sys.executable, str(VALIDATOR), str(ROOT / "inventories" / "local")],
                          check=False, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def inventory_with(tmp_path, files):
    """A copy of inventories/local's accounts plus ``files`` ({relative path: YAML text})."""
    shutil.copytree(ROOT / "inventories" / "local" / "accounts", tmp_path / "accounts")
    for name, text in files.items():
        (tmp_path / "accounts" / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_settings_accept_the_dmp_deactivated_group_name(tmp_path):
    # DMP, "Temporalité des comptes": deactivated accounts go to the group "User désactivés".
    inventory = inventory_with(tmp_path, {"settings.yml": '---\nsettings:\n  deactivated_group: "User désactivés"\n'
                                                          '  referents_group: Référents de site\n'})
    rc, out, err = run("--expand", inventory)
    assert rc == 0, out + err
    desired = json.loads(out)
    assert desired["settings"]["deactivated_group"] == "User désactivés"
    assert {"User désactivés", "Référents de site"} <= {g["name"] for g in desired["groups"]}


@pytest.mark.parametrize("name", ["x" * 255, "Ünïcødé 名前", "users-deactivated", "A  B"])
def test_settings_group_names_within_the_rule_validate(tmp_path, name):
    inventory = inventory_with(tmp_path, {"settings.yml": f"---\nsettings:\n  deactivated_group: {json.dumps(name)}\n"})
    rc, out, err = run(inventory)
    assert (rc, out) == (0, ""), err


@pytest.mark.parametrize("name", ["", " User désactivés", "User désactivés ", "User\tdésactivés", "User\ndésactivés",
                                  "User désactivés\n", "User\u00a0désactivés", "User\u200bdésactivés", "x" * 256])
def test_settings_group_names_outside_the_rule_are_rejected(tmp_path, name):
    inventory = inventory_with(tmp_path, {"settings.yml": f"---\nsettings:\n  deactivated_group: {json.dumps(name)}\n"})
    rc, out, err = run(inventory)
    assert rc == 1, (out, err)
    assert "Traceback" not in out + err
    assert [line.split(os.sep + "accounts" + os.sep, 1)[1].split(":")[:2] for line in out.splitlines()] == [
        ["settings.yml", "settings.deactivated_group"]], out


def test_team_names_stay_plain(tmp_path):
    inventory = inventory_with(tmp_path, {"teams/embrc-leroy.yml": "---\nteam:\n  name: Équipe Leroy\n  site: EMBRC\n"
                                                                   "  leader: mleroy\n  members:\n    - jbernard\n"})
    rc, out, _err = run(inventory)
    assert rc == 1
    assert "teams/embrc-leroy.yml:team.name: 'Équipe Leroy' does not match" in out


def test_a_trailing_newline_does_not_slip_through_a_pattern(tmp_path):
    # Python's $ matches before a final newline: "jbernard\n" would otherwise be a valid omename.
    inventory = inventory_with(tmp_path, {"teams/embrc-leroy.yml": '---\nteam:\n  name: embrc-leroy\n  site: EMBRC\n'
                                                                   '  leader: mleroy\n  members:\n    - "jbernard\\n"\n'})
    rc, out, _err = run(inventory)
    assert rc == 1
    assert "teams/embrc-leroy.yml:team.members[0]: 'jbernard\\n' does not match" in out


def test_expand_keeps_expired_external_members_out_of_user():
    # DMP: a temporary external group lasts one month; at expiry its external members can no longer log in.
    rc, out, _err = run("--expand", "--today", "2026-12-20", ROOT / "inventories" / "local")
    assert rc == 0
    desired = json.loads(out)
    assert desired["reports"]["expired_external_logins"] == ["extlabx"]
    assert next(u for u in desired["users"] if u["omename"] == "extlabx")["active"] is False
    rc, out, _err = run("--expand", "--today", "2026-12-20", "--external-expiry-policy", "notify_only",
                        ROOT / "inventories" / "local")
    assert next(u for u in json.loads(out)["users"] if u["omename"] == "extlabx")["active"] is True


def test_an_external_group_used_past_its_month_must_say_it_is_billed(tmp_path):
    # DMP section 6: one month, then billed. billed: true lets the lifetime exceed the month; without it, refused.
    group = ("---\nexternal_groups:\n  - name: ext-lab\n    site: Lab X\n    created: 2026-01-10\n"
             "    expires: 2026-04-10\n    quota_gb: 100\n    owners: [fbrau]\n{billed}")
    refused = inventory_with(tmp_path / "a", {"external_groups_billed.yml": group.format(billed="")})
    rc, out, _err = run(refused)
    assert rc == 1 and "external_groups[0].expires: lifetime over one month" in out and "set billed: true" in out
    billed = inventory_with(tmp_path / "b", {"external_groups_billed.yml": group.format(billed="    billed: true\n")})
    rc, out, err = run("--expand", billed)
    assert rc == 0, out + err
