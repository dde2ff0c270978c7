"""Test-only: SIGUSR2 stalls the main thread (the phone's event loop) for 60 s.

Loaded into the phone process by tests/faults/test_watchdog.py (through
the test unit's PYTHONPATH, under a real systemd), never by the product: it
is how a test makes the loop hang (a driver stuck in a blocking call, an
endless loop in a handler) while the rest
of the process, and the kernel, carry on.
"""

import signal
import time


def _stall(signum, frame):  # noqa: ANN001, ARG001 - signal handler signature
    time.sleep(60)


signal.signal(signal.SIGUSR2, _stall)
