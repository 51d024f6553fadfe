"""The example inventories' mail settings pass the mail rule that every sender's preflight applies.

For staging and production: ansible-playbook (connection local, read-only tasks) resolves, on every host of the
groups that send mail, the settings the roles receive (governance_smtp_*, backup_alert_smtp_*, monitoring_smtp_*,
mail_relay_*) and runs them through plugins/filter/mail_relay.py, and OMERO.server's rendered omero.mail.* must
point at the local MTA on loopback (mail_relay_listen_port). The same play with mail_relay_tls=none must fail,
naming the variables.
"""
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = pathlib.Path(sys.executable).with_name("ansible-playbook")
PLAY = """
- hosts: omero_server:backup:monitoring
  gather_facts: false
  tasks:
    - name: Resolve every sender's relay setting through the mail rule
      ansible.builtin.set_fact:
        _mail_problems: >-
          {{ ({'host': mail_relay_host, 'port': mail_relay_port, 'tls': mail_relay_tls, 'ca_file': mail_relay_ca_file,
               'user': mail_relay_user, 'allow_plaintext': mail_relay_allow_plaintext} | mail_relay_problems('mail_relay'))
           + ({'host': governance_smtp_host, 'port': governance_smtp_port, 'tls': governance_smtp_tls,
               'ca_file': governance_smtp_ca_file, 'user': governance_smtp_user,
               'allow_plaintext': governance_smtp_allow_plaintext} | mail_relay_problems('governance_smtp'))
           + ({'host': backup_alert_smtp_host, 'port': backup_alert_smtp_port, 'tls': backup_alert_smtp_tls,
               'ca_file': backup_alert_smtp_ca_file, 'user': backup_alert_smtp_user,
               'allow_plaintext': backup_alert_smtp_allow_plaintext} | mail_relay_problems('backup_alert_smtp'))
           + (({'host': monitoring_smtp_host, 'port': monitoring_smtp_port, 'tls': monitoring_smtp_tls,
               'ca_file': monitoring_smtp_ca_file, 'user': monitoring_smtp_user,
               'allow_plaintext': monitoring_smtp_allow_plaintext} | mail_relay_problems('monitoring_smtp', [465]))
               if inventory_hostname in groups['monitoring'] | default([]) else []) }}
        _mail_omero: >-
          {{ {'host': omero_server_config['omero.mail.host'], 'port': omero_server_config['omero.mail.port'] | int,
              'listen': mail_relay_listen_port | int, 'tls': mail_relay_tls}
             if inventory_hostname in groups['omero_server'] else {} }}
"""


def resolve(tmp_path, inventory, *extra):
    play = tmp_path / "mail.yml"
    play.write_text(PLAY)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.tree", ANSIBLE_CALLBACK_TREE_DIR=str(tmp_path / "tree"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0")
    env.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)  # the example vaults are not encrypted
    proc = subprocess.run([str(PLAYBOOK_BIN), "-i", str(ROOT / "inventories" / inventory / "hosts.yml"), "-c", "local",
                           str(play), *extra], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    tasks = json.loads(proc.stdout)["plays"][0]["tasks"]
    # The play's one task; Mitogen's strategy may report its hosts' results under separate task entries.
    assert {task["task"]["name"] for task in tasks} == {"Resolve every sender's relay setting through the mail rule"}
    return {host: res["ansible_facts"] for task in tasks for host, res in task["hosts"].items()}


@pytest.mark.parametrize("inventory", ["staging", "production"])
def test_every_sender_of_the_example_inventories_follows_the_rule(tmp_path, inventory):
    facts = resolve(tmp_path, inventory)
    assert facts, "no host resolved"
    for host, f in facts.items():
        assert f["_mail_problems"] == [], (host, f["_mail_problems"])
        if f["_mail_omero"]:
            assert f["_mail_omero"]["host"] == "127.0.0.1" and f["_mail_omero"]["port"] == f["_mail_omero"]["listen"], host
            assert f["_mail_omero"]["tls"] == "starttls"
    assert any(f["_mail_omero"] for f in facts.values()), "no OMERO.server host"


def test_plain_smtp_to_the_site_relay_is_refused_for_every_sender(tmp_path):
    facts = resolve(tmp_path, "production", "-e", "mail_relay_tls=none")
    monitoring = [f for h, f in facts.items() if "monitoring" in h]
    assert monitoring
    for host, f in facts.items():
        named = {p.split(" ", 1)[0] for p in f["_mail_problems"]}
        assert {"mail_relay_tls", "governance_smtp_tls", "backup_alert_smtp_tls"} <= named, (host, f["_mail_problems"])
    assert "monitoring_smtp_tls" in {p.split(" ", 1)[0] for p in monitoring[0]["_mail_problems"]}
