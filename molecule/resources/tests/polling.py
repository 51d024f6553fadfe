"""Waiting for a condition on a test host, shared by the scenarios' testinfra tests."""
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
