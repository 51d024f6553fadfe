"""The secret-strength floor (plugins/filter/secret_floor.py) that every role's preflight applies."""
import importlib.util
import pathlib
import secrets
import string

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("secret_floor", ROOT / "plugins" / "filter" / "secret_floor.py")
floor = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(floor)

NAME = "postgresql_omero_password"


def judge(value, name=NAME, kind="password", **entry):
    return floor.secret_problems([dict(entry, name=name, value=value, kind=kind)], "/srv/inv/staging")


def scrubbed(message, name=NAME, vault=None):
    """The message without the parts that legitimately hold words a weak value may share (names, path)."""
    return (message.replace(name, "<name>").replace(vault or "vault_" + name, "<vault>").replace("/srv/inv/staging", "<inv>")
            .replace(floor.GENERATE, "<generate>"))


WEAK = [
    # (value, reason expected in the message)
    ("", "empty"),
    ("   ", "empty"),
    (None, "empty"),
    ("CHANGE_ME", "placeholder"),
    ("changeme", "placeholder"),
    ("change-me", "placeholder"),
    ("ChangeMe2026!!!!", "placeholder"),
    ("password", "placeholder"),
    ("Passw0rd", "placeholder"),
    ("omero", "placeholder"),
    ("secret", "placeholder"),
    ("admin", "placeholder"),
    ("postgres", "placeholder"),
    ("123456", "shorter than 12"),
    ("postgresql_omero_password", "placeholder"),  # the variable's own name
    ("vault_postgresql_omero_password", "placeholder"),
    ("Xk9#mQ2$vL", "shorter than 12"),  # random but short
    ("aaaaaaaaaaaaaaaaaaaa", "repeats"),
    ("abcabcabcabcabcabc", "repeats"),
    ("Hunter2Hunter2Hunter2", "repeats"),
    ("abcdefghijklmnopqrst", "consecutive"),
    ("987654321098", "too predictable"),
    ("9876543210987654", "too predictable"),
    ("zyxwvutsrqponmlk", "consecutive"),
    ("qwertyuiopasdfgh", "too predictable"),
    ("azertyuiop1234", "too predictable"),
    ("1234567890123456", "too predictable"),
    ("Password2024!", "too predictable"),
    ("P@ssw0rd-2026!", "too predictable"),
    ("omero-admin-2026", "too predictable"),
    ("OmeroOmero2026", "too predictable"),
    ("Spring2026!!", "too predictable"),
    ("Postgresql-Omero-1", "too predictable"),  # the name's own words
    ("ababababababab1", "distinct"),
]


@pytest.mark.parametrize("value, reason", WEAK, ids=lambda v: repr(v) if not isinstance(v, str) or len(v) < 30 else v[:30])
def test_weak_passwords_are_refused_by_name_never_by_value(value, reason):
    messages = judge(value)
    assert len(messages) == 1, messages
    message = messages[0]
    assert message.startswith(f"{NAME} is refused: "), message
    assert reason in message, message
    assert "vault_postgresql_omero_password in /srv/inv/staging/group_vars/all/vault.yml" in message
    if value and value.strip():
        assert value not in scrubbed(message), message
        assert value.lower() not in scrubbed(message).lower(), message


STRONG = [
    "Xk9#mQ2$vLp7@Rw4",
    "correct horse battery staple",  # a passphrase: long text
    "k3J9xQ2mV8pL4wZr",
    "Tr0ub4dor&3xyzqp",
    "S7d!fQ@2lZ9^bN4&",
]


@pytest.mark.parametrize("value", STRONG)
def test_strong_passwords_pass(value):
    assert judge(value) == []


def test_random_values_pass():
    """What scripts/local-secrets and the usual tools generate: passwords of 16+, keys of 32+ characters."""
    alnum = string.ascii_letters + string.digits
    for _ in range(200):
        assert judge("".join(secrets.choice(alnum) for _ in range(16))) == []
        assert judge(secrets.token_urlsafe(24)) == []
        assert judge(secrets.token_urlsafe(48), name="omero_web_secret_key", kind="key") == []
        assert judge(secrets.token_hex(24), name="omero_web_secret_key", kind="key") == []
        assert judge("AKIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16)),
                     name="backup_s3_access_key_id", kind="identifier") == []


@pytest.mark.parametrize("value, reason", [
    ("CHANGE_ME", "placeholder"),
    ("omero-web-secret-key-CHANGE_ME-2026", "placeholder"),
    ("django-insecure-key", "shorter than 32"),
    ("k3J9xQ2mV8pL4wZr", "shorter than 32"),  # a fine password, too short for a key
    ("0123456789abcdef0123456789abcdef", "repeats"),
    ("1234567890qwertyuiopasdfghjklzxcvbnm", "too predictable"),
    ("omero_web_secret_key_omero_web_secret", "too predictable"),
])
def test_weak_keys_are_refused(value, reason):
    messages = judge(value, name="omero_web_secret_key", kind="key")
    assert len(messages) == 1 and messages[0].startswith("omero_web_secret_key is refused: ")
    assert reason in messages[0], messages[0]
    assert value not in scrubbed(messages[0], "omero_web_secret_key")


@pytest.mark.parametrize("value, reason", [("CHANGE_ME", "placeholder"), ("minioadmin", "placeholder"), ("AKIA1234", "shorter than 16")])
def test_weak_access_key_ids_are_refused(value, reason):
    messages = judge(value, name="backup_s3_access_key_id", kind="identifier")
    assert len(messages) == 1 and reason in messages[0], messages


@pytest.mark.parametrize("value", [123456789012345, 12.5, True, ["a", "b"], {"a": 1}])
def test_values_that_are_not_text_are_refused(value):
    messages = judge(value)
    assert len(messages) == 1 and "not text" in messages[0]
    assert str(value) not in messages[0]


def test_a_list_judges_each_entry_and_skips_disabled_ones():
    messages = floor.secret_problems([
        {"name": "backup_restic_password", "value": "CHANGE_ME"},
        {"name": "backup_s3_secret_access_key", "value": "", "kind": "key", "enabled": False},  # no s3: repository
        {"name": "backup_alert_smtp_password", "value": "", "enabled": "false"},  # a string from a template
        {"name": "governance_omero_password", "value": "k3J9xQ2mV8pL4wZr", "vault": "vault_omero_server_root_password"},
        {"name": "omero_server_db_password", "value": "omero", "vault": "vault_postgresql_omero_password"},
    ], "")
    assert [m.split(" ", 1)[0] for m in messages] == ["backup_restic_password", "omero_server_db_password"]
    assert "Set vault_postgresql_omero_password in the inventory's group_vars/all/vault.yml" in messages[1]


def test_the_length_of_a_value_is_not_revealed():
    for value in ("abc", "Xk9#mQ2$vL", "1"):
        message = judge(value)[0]
        assert f" {len(value)} " not in message.replace("12 characters", "")


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown kind"):
        judge("x", kind="pin")


def test_the_filter_is_registered():
    assert floor.FilterModule().filters()["secret_problems"] is floor.secret_problems


def test_a_service_may_ask_for_a_longer_minimum_never_a_shorter_one():
    entry = {"name": "web_sessions_password", "value": "k3J9xQ2mV8pL4wZ", "min_length": 16}  # 15 random characters
    (message,) = floor.secret_problems([entry], "")
    assert "shorter than 16 characters" in message and "at least 16 characters" in message
    assert floor.secret_problems([dict(entry, value="k3J9xQ2mV8pL4wZr")], "") == []
    assert "shorter than 12" in floor.secret_problems([dict(entry, value="k3J9xQ2", min_length=4)], "")[0]
