"""Every test fails when code under test logged an internal error (tests/conftest.py loads this).

Why a fixture for all tests: the firmware survives its own bugs by catching,
counting and logging them (``firmware.app.health``), so a test that only checks
the outcome would pass over a handler that raised on the way. A test that
provokes a bug on purpose says so with ``@pytest.mark.internal_errors_expected``
and then asserts on the report itself. Counters are checked where the phones
are: ``firmware.demo.network.Network.close`` raises on them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from firmware.demo.health import ErrorWatch, verdict


@pytest.fixture(autouse=True)
def no_internal_errors(request: pytest.FixtureRequest) -> Iterator[ErrorWatch]:
    watch = ErrorWatch().start()
    try:
        yield watch
    finally:
        watch.stop()
    if request.node.get_closest_marker("internal_errors_expected") is not None:
        return
    report = verdict({}, watch)
    if report is not None:
        pytest.fail(report, pytrace=False)
