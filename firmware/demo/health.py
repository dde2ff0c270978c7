"""The end-to-end harness's verdict on the phones under test: did any of them hit a bug of ours?

Why: the firmware survives its own bugs on purpose (pumps, endpoint and call
control catch, log and count them; see ``firmware.app.health``), so a flow can
play the seed's ladder perfectly while a handler raised on the way. The demo
and every test built on ``firmware.demo.network`` therefore fail when a phone
counted an internal error or logged one (a record at ERROR or above carrying a
traceback, which is how the firmware reports a caught bug). ``tests/conftest.py``
applies the log half of the same rule to every test, phones built by hand included.
"""

from __future__ import annotations

import logging
from typing import Any

from firmware.app import health


class InternalErrors(AssertionError):
    """A phone under test hit one of its own bugs; the message says which and where."""


def is_internal_error(record: logging.LogRecord) -> bool:
    """A caught bug as the firmware logs it: ERROR or worse, with the traceback attached."""
    return record.levelno >= logging.ERROR and bool(record.exc_info)


class ErrorWatch(logging.Handler):
    """Collects internal-error log records from every logger while installed on the root."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._root: logging.Logger | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if is_internal_error(record):
            self.records.append(record)

    def start(self) -> ErrorWatch:
        if self._root is None:
            self._root = logging.getLogger()
            self._root.addHandler(self)
        return self

    def stop(self) -> None:
        if self._root is not None:
            self._root.removeHandler(self)
            self._root = None

    def lines(self) -> list[str]:
        """One line per record: logger, message and the exception's last line."""
        out = []
        for r in self.records:
            exc = r.exc_info[1] if r.exc_info else None
            why = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
            out.append(f"logged by {r.name}: {r.getMessage()}{why}")
        return out


def host_errors(host: Any) -> dict[str, int]:
    """A ``PhoneHost``'s internal-error counters: its App's, plus control-API 500s."""
    counts: dict[str, int] = {}
    if getattr(host, "app", None) is not None:
        counts.update(health.internal_errors(host.app))
    control = getattr(host, "control", None)
    if control is not None and getattr(control, "internal_errors", 0):
        counts["control API 500s"] = control.internal_errors
    return counts


def verdict(counted: dict[str, dict[str, int]], watch: ErrorWatch | None) -> str | None:
    """None when no phone counted or logged an internal error; else a report naming each."""
    problems = [f"{name}: {where} caught {n} internal error(s)"
                for name, counts in counted.items() for where, n in counts.items()]
    if watch is not None:
        problems += watch.lines()
    if not problems:
        return None
    return "phone(s) under test hit internal errors:\n  " + "\n  ".join(problems)
