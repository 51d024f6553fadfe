"""scripts/run-tests: how results are counted and in which order the molecule scenarios run."""
import importlib.machinery
import importlib.util
import pathlib
import time

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "run-tests"


@pytest.fixture
def run_tests(monkeypatch):
    def load(matrix):
        monkeypatch.setenv("OMERO_DEPLOY_MATRIX", matrix)
        loader = importlib.machinery.SourceFileLoader("run_tests", str(SCRIPT))
        spec = importlib.util.spec_from_loader("run_tests", loader)
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        return module
    return load


def test_junit_report_counts_each_test_and_keeps_skip_reasons(run_tests, tmp_path):
    rt = run_tests("full")
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite>'
        '<testcase classname="tmp.fresh.molecule.omero_server.tests.test_omero_server" name="test_a[ansible://h]" time="0.5">'
        '<skipped message="collection skipped">t.py:3: no OMERO.server artifacts</skipped></testcase>'
        '<testcase classname="tmp.fresh.molecule.omero_server.tests.test_omero_server" name="test_b" time="1">'
        '<failure message="assert 1 == 2"/></testcase>'
        '<testcase classname="tmp.fresh.molecule.omero_server.tests.test_omero_server" name="test_c" time="2"/>'
        '</testsuite></testsuites>')
    rt.junit_results("testinfra", report, prefix="omero_server::")
    assert rt.RESULTS == [
        ("testinfra", "omero_server::test_omero_server::test_a[ansible://h]", "skipped", 0.5, "t.py:3: no OMERO.server artifacts"),
        ("testinfra", "omero_server::test_omero_server::test_b", "failed", 1.0, ""),
        ("testinfra", "omero_server::test_omero_server::test_c", "passed", 2.0, ""),
    ]


def test_full_matrix_runs_every_platform_and_the_debian13_wheel_users_last(run_tests):
    rt = run_tests("full")
    plan = rt.molecule_plan([])
    assert all(platform is None for _, platform in plan)
    assert sorted(name for name, _ in plan) == rt.scenarios()
    needs = [rt.needs_wheel(*p) for p in plan]
    assert needs == sorted(needs)  # False (no wheel needed) first
    assert any(needs) and not all(needs)


def test_quick_matrix_pins_the_python_tier_to_debian12(run_tests):
    rt = run_tests("quick")
    plan = dict(rt.molecule_plan([]))
    for name, platform in rt.QUICK_PLATFORM.items():
        assert plan[name] == platform and platform.endswith("debian12")
        molecule_yml = (SCRIPT.parents[1] / "molecule" / name / "molecule.yml").read_text()
        assert f"name: {platform}" in molecule_yml


def test_a_command_past_its_timeout_is_killed_and_fails(run_tests, tmp_path):
    rt = run_tests("full")
    marker = tmp_path / "child-survived"
    # The child of the shell must die too (the whole process group is killed).
    rc = rt.run("molecule", "hangs", ["sh", "-c", f"(sleep 3; touch {marker}) & wait"], timeout=0.5)
    assert rc == -1
    assert rt.RESULTS[-1][2:5:2] == ("failed", "killed after 0.5 s (timeout)")
    time.sleep(3.5)
    assert not marker.exists()


def test_a_command_within_its_timeout_reports_its_exit_status(run_tests):
    rt = run_tests("full")
    assert rt.run("lint", "ok", ["true"], timeout=30) == 0
    assert rt.run("lint", "bad", ["false"]) == 1
    assert [r[2] for r in rt.RESULTS] == ["passed", "failed"]


def test_scenarios_run_two_at_a_time_and_a_hung_one_is_killed(run_tests, monkeypatch, tmp_path):
    rt = run_tests("full")
    monkeypatch.setattr(rt, "SCENARIO_TIMEOUT", 3)
    monkeypatch.setattr(rt, "JOBS", 2)
    monkeypatch.setattr(rt.subprocess, "call", lambda *a, **k: 0)  # no "molecule destroy" here
    scripts = {"ok": "sleep 1; echo fine", "bad": "echo broken; exit 3", "hangs": "sleep 30", "late": "true"}
    started = []

    def fake_start(name, platform, tmp):
        started.append((name, sum(1 for r in rt.RESULTS if r[0] == "molecule")))
        log = tmp / f"{name}.log"
        with open(log, "w") as out:
            proc = rt.subprocess.Popen(["sh", "-c", scripts[name]], stdout=out, stderr=rt.subprocess.STDOUT,
                                       start_new_session=True)
        return {"name": name, "label": name, "proc": proc, "log": log, "start": time.monotonic(),
                "xml": tmp / f"{name}.xml"}

    monkeypatch.setattr(rt, "start_scenario", fake_start)
    rt.stage_molecule([("ok", None), ("bad", None), ("hangs", None), ("late", None)])
    results = {r[1]: (r[2], r[4]) for r in rt.RESULTS}
    assert results == {"ok": ("passed", "exit 0"), "bad": ("failed", "exit 3"),
                       "hangs": ("failed", "killed after 3 s (timeout)"), "late": ("passed", "exit 0")}
    # Two at a time: the third starts only once one of the first two has ended.
    assert started[:2] == [("ok", 0), ("bad", 0)] and started[2][1] >= 1


def test_the_unit_stage_beside_takes_one_slot_until_it_ends(run_tests, monkeypatch):
    rt = run_tests("full")
    monkeypatch.setattr(rt, "JOBS", 2)
    beside = rt.threading.Thread(target=time.sleep, args=(2,), daemon=True)
    started = []

    def fake_start(name, platform, tmp):
        started.append((name, beside.is_alive(), sum(1 for r in rt.RESULTS if r[0] == "molecule")))
        log = tmp / f"{name}.log"
        log.write_text("")
        proc = rt.subprocess.Popen(["sh", "-c", "sleep 0.5"], start_new_session=True)
        return {"name": name, "label": name, "proc": proc, "log": log, "start": time.monotonic(),
                "xml": tmp / f"{name}.xml"}

    monkeypatch.setattr(rt, "start_scenario", fake_start)
    beside.start()
    rt.stage_molecule([("a", None), ("b", None), ("c", None)], beside=beside)
    # While the unit stage runs, one scenario at a time: b starts only after a ended.
    assert started[0] == ("a", True, 0)
    assert started[1][0] == "b" and started[1][2] >= 1
    assert [r[2] for r in rt.RESULTS] == ["passed"] * 3
