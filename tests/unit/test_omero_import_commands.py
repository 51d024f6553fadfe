"""Real-server mode of the accounts suite: the command lines it runs (``omero import`` of Bio-Formats fake
files, ``omero script launch``) and the fake files' names. The live part (tests/accounts with
OMERO_TEST_HOST on a host with OMERO's importer) cannot run here: no OMERO.server, no Bio-Formats."""
import pytest
from omero_import import fake_series, real_import_command, real_script_command

CONN = {"host": "omero.example.org", "port": 4064, "session_key": "0d5c-key"}


def test_import_command_imports_a_fake_file_into_a_dataset_on_the_session_key():
    command = real_import_command("omero", CONN, "/tmp/x/multi&series=3.fake", 53, dataset=7)
    assert command == ["omero", "import", "-s", "omero.example.org", "-p", "4064", "-k", "0d5c-key", "-g", "53",
                       "-T", "Dataset:id:7", "--", "/tmp/x/multi&series=3.fake"]


def test_plate_import_goes_into_a_screen():
    command = real_import_command("omero", CONN, "/t/plate&plates=1&plateRows=2&plateCols=2&fields=1.fake", 5, screen=9)
    assert command[-4:] == ["-T", "Screen:id:9", "--", "/t/plate&plates=1&plateRows=2&plateCols=2&fields=1.fake"]


@pytest.mark.parametrize("name", ["x.tif", "a b.fake", "-w secret.fake", "x;rm.fake"])
def test_only_fake_file_names_are_imported(name):
    with pytest.raises(ValueError, match="not a Bio-Formats fake file name"):
        real_import_command("omero", CONN, "/tmp/" + name, 1)


def test_no_password_on_any_command_line():
    commands = [real_import_command("omero", CONN, "/t/a.fake", 1),
                real_script_command("omero", CONN, "/omero/figure_scripts/Thumbnail_Figure.py", 1, [("IDs", 3)])]
    for command in commands:
        assert "-w" not in command and "--password" not in command and "-k" in command


def test_script_command_passes_arguments_as_key_value_pairs():
    command = real_script_command("omero", CONN, "/omero/figure_scripts/Thumbnail_Figure.py", 53,
                                  [("Data_Type", "Dataset"), ("IDs", 12), ("Figure_Name", "a b")])
    assert command[:10] == ["omero", "script", "launch", "-s", "omero.example.org", "-p", "4064", "-k", "0d5c-key", "-g"]
    assert command[10:] == ["53", "/omero/figure_scripts/Thumbnail_Figure.py", "Data_Type=Dataset", "IDs=12",
                            "Figure_Name=a b"]


def test_fake_file_keys():
    assert fake_series("multi&series=3.fake") == {"series": 3}
    assert fake_series("plate&plates=1&plateRows=2&plateCols=2&fields=1.fake") == {
        "plates": 1, "plateRows": 2, "plateCols": 2, "fields": 1}
    assert fake_series("single.fake") == {}
