"""pytest plugin for the emulated arm64 run (loaded by .ci/arm64-stage.sh with -p).

Why: qemu-user runs Python 6-9x slower than the host, and CI that flakes
blocks every merge. So per-test timeouts are scaled up, and Hypothesis'
default 200 ms per-example deadline is dropped (it would fail healthy tests
at random); examples are derived from the test's name (derandomize), so the
arm64 run is repeatable, while the host run keeps exploring random examples.
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


# Per-test timeouts (pytest-timeout markers) were chosen for the host; scale them
# like everything else here. The ini default is raised on the command line.
EMULATION_SLOWDOWN = 5


def pytest_collection_modifyitems(config, items):  # noqa: ANN001, ARG001 - pytest hook
    import pytest

    for item in items:
        marker = item.get_closest_marker("timeout")
        if marker is not None and marker.args and isinstance(marker.args[0], (int, float)):
            item.add_marker(pytest.mark.timeout(marker.args[0] * EMULATION_SLOWDOWN), append=False)
