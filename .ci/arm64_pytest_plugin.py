"""pytest plugin for the emulated arm64 run (loaded by .ci/arm64-stage.sh with -p).

Why: qemu-user runs Python 6-9x slower than the host, so Hypothesis' default
200 ms per-example deadline would fail healthy tests at random, and CI that
flakes blocks every merge. Here examples have no deadline and are derived
from the test's name (derandomize), so the arm64 run is repeatable; the host
run keeps exploring random examples with the deadline.
"""

from __future__ import annotations

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the subset can run without Hypothesis installed
    pass
else:
    settings.register_profile(
        "arm64-emulated",
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.load_profile("arm64-emulated")
