"""Wait for an event, never for a fixed time."""

import time


def wait_until(predicate, timeout, interval=0.1):
    """Poll ``predicate`` until it returns a true value (which is returned) or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
