"""Personal data (issue 20, item 7; DMP section 5): what the clients list of the other members of a user's groups,
as the omero_server role renders it (30-people-lists.omero). The keys are OMERO.server's ``omero.client.*``
settings that every session reads (ome/omero-server ConfigImpl.getClientConfigValues) and OMERO.web turns into
its group/user switcher (ome/omero-web webclient/decorators.py ``dropdown_menu``)."""
import sys

import pytest
from role_playbook import PLAYBOOK_BIN, config_sets, render_role_template

if not PLAYBOOK_BIN.exists():
    pytest.skip(f"ansible-playbook not found next to {sys.executable}", allow_module_level=True)
PREFIX = "omero.client.ui.menu.dropdown."


def _lists(tmp_path, **extra):
    proc, rendered = render_role_template(tmp_path, "omero_server", "people-lists.omero.j2", extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {k.removeprefix(PREFIX): v for k, v in config_sets(rendered).items()}


def test_by_default_no_list_of_people_by_name_but_the_group_stays_browsable(tmp_path):
    assert _lists(tmp_path) == {"leaders.enabled": "false", "colleagues.enabled": "false", "everyone.enabled": "true"}


def test_a_site_may_list_owners_again(tmp_path):
    got = _lists(tmp_path, omero_server_list_group_owners=True)
    assert got["leaders.enabled"] == "true" and got["colleagues.enabled"] == "false"
