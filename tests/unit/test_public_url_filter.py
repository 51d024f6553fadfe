"""The public group's downloads (issue 20, item 4): OMERO.web's public URL filter as the role renders it, for
each setting, answered the way OMERO.web answers it (``re.search`` on the path: ome/omero-web
omeroweb/decorators.py), and the preflight checks that keep it in agreement with the public group's own
``omero.policy.binary_access`` (the accounts engine's side: tests/accounts/test_public_downloads.py).

ansible-playbook on the controller, connection local into a temporary folder: the role's own defaults, vars,
template and preflight tasks; nothing else runs.
"""
import re
import sys

import pytest
import yaml
from omero_accounts_expand import PUBLIC_BINARY_ACCESS
from role_playbook import (
    PLAYBOOK_BIN,
    ROOT,
    config_sets,
    render_role_template,
    run_playbook,
)

if not PLAYBOOK_BIN.exists():
    pytest.skip(f"ansible-playbook not found next to {sys.executable}", allow_module_level=True)
WEB = ROOT / "roles" / "omero_web"
# The role's own preflight tasks that judge the filter (the others need the whole role's secrets).
FILTER_CHECKS = [t for t in yaml.safe_load((WEB / "tasks" / "preflight.yml").read_text())
                 if "public" in t["name"] and "filter" in t["name"]]
assert len(FILTER_CHECKS) == 2, FILTER_CHECKS
DOWNLOADS = ["/webgateway/archived_files/download/51/", "/webclient/download_placeholder/?ids=image-51",
             "/webclient/get_original_file/7/", "/webgateway/download_as/51/", "/webgateway/original_file_paths/51/"]
VIEWING = ["/webclient/", "/webclient/?show=image-51", "/webgateway/render_image/51/0/0/",
           "/webgateway/render_thumbnail/51/", "/webclient/render_image_download/51/", "/iviewer/?images=51",
           "/figure/"]
SCRIPTS = ["/webclient/script_ui/12/", "/webclient/figure_script/SplitView/", "/webclient/ome_tiff_script/51/"]
NEVER = ["/webadmin/", "/api/v0/"]  # (changes are POSTs: omero.web.public.get_only refuses them)


def _render(tmp_path, **extra):
    """The role's public-user configuration file for these variables, after the role's preflight check."""
    return render_role_template(
        tmp_path, "omero_web", "public-user.omero.j2",
        dict({"omero_web_public_enabled": True, "omero_web_public_password": "not-a-real-secret-0"}, **extra),
        tasks=FILTER_CHECKS)


def _filter(rendered):
    return re.compile(config_sets(rendered)["omero.web.public.url_filter"])


@pytest.mark.parametrize("downloads", [False, True])
def test_rendered_filter_answers_as_the_setting_says(tmp_path, downloads):
    proc, rendered = _render(tmp_path, omero_public_downloads=downloads)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    url_filter = _filter(rendered)
    for url in DOWNLOADS:
        assert bool(url_filter.search(url.split("?")[0])) is downloads, url
    for url in VIEWING:
        assert url_filter.search(url.split("?")[0]), url
    for url in SCRIPTS + NEVER:
        assert not url_filter.search(url.split("?")[0]), url


def test_the_public_group_policy_matches_the_same_setting():
    # The other half of the setting (applied by the accounts engine): deny = "-read" (only those who may edit an
    # image download its originals), allow = the server default spelled out (BinaryAccessPolicy, omero-server.properties).
    assert PUBLIC_BINARY_ACCESS == {False: "-read", True: "+read,+write,+image"}


@pytest.mark.parametrize("downloads, url_filter", [
    (False, "^/(webgateway/|webclient/(?!(script_ui|ome_tiff|figure_script))|iviewer/)"),  # lets originals out
    (True, "^/(webgateway/(?!(archived_files))|webclient/(?!(script_ui|ome_tiff|figure_script))|iviewer/)"),
    (False, "^/(webgateway/|webclient/|iviewer/)"),  # lets the scripts in
])
def test_preflight_refuses_a_filter_that_disagrees(tmp_path, downloads, url_filter):
    proc, rendered = _render(tmp_path, omero_public_downloads=downloads, omero_web_public_url_filter=url_filter)
    assert proc.returncode != 0 and rendered is None
    assert "omero_web_public_url_filter answers wrongly for" in proc.stdout, proc.stdout


def _accounts_preflight(tmp_path, web_vars, accounts_downloads):
    inventory = {"all": {"children": {
        "omero_server": {"hosts": {"srv1": {}}},
        "omero_web": {"hosts": {"web1": dict({"omero_web_public_enabled": True}, **web_vars), "web2": {}}}}}}
    playbook = [{"hosts": "srv1", "gather_facts": False, "tasks": [{"ansible.builtin.include_role": {
        "name": "omero_accounts", "tasks_from": "preflight"}}]}]
    extra = {"omero_accounts_inventory_dir": str(ROOT / "inventories" / "local"),
             "omero_accounts_controller_python": sys.executable,
             "omero_accounts_admin_password": "Strong-Admin-Passw0rd-For-Tests!",
             "omero_accounts_public_downloads": accounts_downloads}
    return run_playbook(tmp_path, playbook, extra, inventory)


@pytest.mark.parametrize("web_vars, agree", [
    ({}, True),  # both default to omero_public_downloads (false)
    ({"omero_public_downloads": True}, False),  # the web host's inventory says allow, the accounts deny
    ({"omero_web_public_downloads": True}, False),
    ({"omero_web_public_enabled": False, "omero_web_public_downloads": True}, True),  # no public user: no filter
])
def test_accounts_preflight_refuses_a_web_host_that_disagrees(tmp_path, web_vars, agree):
    proc = _accounts_preflight(tmp_path, web_vars, False)
    if agree:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    else:
        assert proc.returncode != 0
        assert "OMERO.web's public URL filter on web1" in proc.stdout, proc.stdout
