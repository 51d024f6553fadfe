"""roles/monitoring/files/omero-jvm-metrics.py against a real OpenJDK process on this machine: the counters jcmd
reads, the metric lines, the process name as icegridnode passes it, the repository's file system.
(The molecule scenario `monitoring` runs it as deployed, under systemd, through Prometheus.)"""
import importlib.util
import pathlib
import shutil
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE = ROOT / "molecule" / "monitoring" / "files" / "Standin.java"
JAVA, JAVAC, JCMD = (shutil.which(n) for n in ("java", "javac", "jcmd"))
if not (JAVA and JAVAC and JCMD):
    pytest.skip("needs a JDK on this machine (java, javac, jcmd: Debian's openjdk-17-jdk-headless)",
                allow_module_level=True)

spec = importlib.util.spec_from_file_location("omero_jvm_metrics", ROOT / "roles/monitoring/files/omero-jvm-metrics.py")
metrics = importlib.util.module_from_spec(spec)
spec.loader.exec_module(metrics)


def heap_counted(values):
    return "java.threads.live" in values and int(values.get("sun.gc.collector.0.invocations", 0)) > 0


@pytest.fixture(scope="module")
def jvm(tmp_path_factory):
    folder = tmp_path_factory.mktemp("jvm")
    subprocess.run([JAVAC, "-d", str(folder), str(SOURCE)], check=True, timeout=120)
    # The arguments icegridnode gives OMERO's servers name the server id (.../servers/<id>/config/config).
    proc = subprocess.Popen([JAVA, "-Xmx48m", "-cp", str(folder), "Standin",
                             f"--Ice.Config={folder}/servers/Blitz-0/config/config"])
    try:
        deadline = time.monotonic() + 60
        values = {}
        # G1 updates its space counters at a collection: wait for the stand-in's garbage to bring the first one
        # (a loaded machine may answer jcmd before it), then every figure the tests read is there.
        while time.monotonic() < deadline and not heap_counted(values):
            time.sleep(0.5)
            try:
                values = metrics.counters(JCMD, proc.pid, 10)
            except subprocess.CalledProcessError:
                values = {}  # the attach listener is not up yet
        assert heap_counted(values), f"no collection counted within 60 s: {sorted(values)[:5]}"
        yield proc.pid, values
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_process_is_named_by_its_icegrid_server_id(jvm):
    assert metrics.process_name(jvm[0]) == "Blitz-0"


def test_metric_lines_from_the_counters(jvm):
    lines = metrics.jvm_lines('unit="u",process="Blitz-0"', jvm[1])
    values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in lines}
    used = values['omero_jvm_heap_used_bytes{unit="u",process="Blitz-0"}']
    heap_max = values['omero_jvm_heap_max_bytes{unit="u",process="Blitz-0"}']
    assert 0 < used <= heap_max
    assert 44 * 2**20 < heap_max <= 48 * 2**20 + 4096  # -Xmx48m, counted once under G1
    assert values['omero_jvm_threads{unit="u",process="Blitz-0",kind="live"}'] >= 2
    collectors = [k for k in values if k.startswith("omero_jvm_gc_seconds_total")]
    assert any('collector="G1 young collection pauses"' in k for k in collectors), collectors


def test_repository_lines(tmp_path):
    lines = metrics.repository_lines([str(tmp_path), str(tmp_path / "missing")])
    assert f'omero_repository_present{{path="{tmp_path}"}} 1' in lines
    assert f'omero_repository_present{{path="{tmp_path / "missing"}"}} 0' in lines
    size = next(line for line in lines if line.startswith("omero_repository_size_bytes"))
    assert int(size.rsplit(" ", 1)[1]) > 0
