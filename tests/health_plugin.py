"""Every test fails when code under test logged an internal error (tests/conftest.py loads this).

Why a fixture for all tests: the firmware survives its own bugs by catching,
counting and logging them (``firmware.app.health``), so a test that only checks
the outcome would pass over a handler that raised on the way. A test that
provokes a bug on purpose says so with ``@pytest.mark.internal_errors_expected``
and then asserts on the report itself. Counters are checked where the phones
are: ``firmware.demo.network.Network.close`` raises on them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


class _Tracebacks(logging.Handler):
    """Keeps every record at ERROR or above that carries a traceback (a caught bug).

    Its own few lines rather than ``firmware.demo.health.ErrorWatch``: the arm64 CI
    stage runs the tests against the handset wheel, which has no ``firmware.demo``.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.caught: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            exc = record.exc_info[1]
            self.caught.append(f"logged by {record.name}: {record.getMessage()} "
                               f"({type(exc).__name__}: {exc})")


@pytest.fixture(autouse=True)
def no_internal_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    handler = _Tracebacks()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
    if handler.caught and request.node.get_closest_marker("internal_errors_expected") is None:
        pytest.fail("phone(s) under test hit internal errors:\n  " + "\n  ".join(handler.caught),
                    pytrace=False)
