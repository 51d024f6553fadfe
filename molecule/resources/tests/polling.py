"""Waiting for a condition on a test host, shared by the scenarios' testinfra tests."""
import shlex
import time


def wait_for(predicate, timeout=60, interval=0.5):
    """Call predicate until it returns something true or timeout seconds pass; returns its last value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def wait_on_host(host, command, timeout=120, interval=0.5):
    """Run the shell `command` on the host until it exits 0, for at most `timeout` seconds of the host's
    clock, in ONE round trip: a controller-side loop pays the connection's cost (seconds each on a loaded
    machine) at every try and so tries only a few times within its bound; this one tries every `interval`.
    Returns testinfra's result of the loop: rc 0 and the last try's output once it succeeded, rc 124 when
    the bound passed (then the output is the last try's)."""
    script = (f"end=$(( $(date +%s) + {int(timeout)} )); "
              f"while :; do out=$({command}) && {{ printf '%s\\n' \"$out\"; exit 0; }}; "
              f"[ \"$(date +%s)\" -ge \"$end\" ] && {{ printf '%s\\n' \"$out\"; exit 124; }}; sleep {interval}; done")
    return host.run("sh -c " + shlex.quote(script))
