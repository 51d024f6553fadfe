"""The modules fail cleanly (missing_required_lib) when omero-py cannot be imported."""
import pytest
from module_runner import run_module


@pytest.mark.parametrize("name,args", [
    ("omero_group", {"groups": [{"name": "g"}]}),
    ("omero_user", {"users": [{"omename": "u"}]}),
    ("omero_accounts", {"desired": {"groups": [], "users": [], "departed": []}}),
])
def test_missing_omero_is_a_clean_failure(monkeypatch, name, args):
    import ansible.module_utils.omero_common as common

    monkeypatch.setattr(common, "HAS_OMERO", False)
    result, _raw = run_module(name, dict(args, admin_password="Secret-Admin-1!"))
    assert result["failed"] is True
    assert "omero-py" in result["msg"]
    assert "Secret-Admin-1!" not in _raw
