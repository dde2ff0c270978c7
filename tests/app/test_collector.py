"""The garbage collector leaves the pre-call heap alone while any call runs (``collector``)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from firmware.app import collector


def test_frozen_from_the_first_call_to_the_end_of_the_last(monkeypatch: pytest.MonkeyPatch) -> None:
    done: list[str] = []
    monkeypatch.setattr(collector, "gc", SimpleNamespace(freeze=lambda: done.append("freeze"),
                                                         unfreeze=lambda: done.append("unfreeze")))
    monkeypatch.setattr(collector, "_in_call", set())
    a, b = object(), object()
    collector.hold(a, False)  # a phone with no call: nothing to undo
    assert done == []
    collector.hold(a, True)
    collector.hold(b, True)  # a second call: nothing more is frozen
    collector.hold(a, True)  # again for the same phone (a re-INVITE): no change
    assert done == ["freeze"]
    collector.hold(a, False)
    assert done == ["freeze"]  # b's call still runs
    collector.hold(b, False)
    assert done == ["freeze", "unfreeze"]
    collector.hold(b, False)
    assert done == ["freeze", "unfreeze"]
