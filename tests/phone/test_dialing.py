"""Dial plan seam: the default plan, the dialplan.xml adapter, target URIs."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import pytest

from firmware.phone.dialing import CiscoDialPlan, DialMatch, SimpleDialPlan, target_uri

from .fakes import Harness


class Kind(enum.Enum):  # the provisioning MatchKind's shape
    COMPLETE = "complete"
    PARTIAL = "partial"
    NONE = "none"


@dataclass
class Result:  # the provisioning MatchResult's shape
    kind: Kind
    timeout: float | None = 0.0
    template: Any = None
    number: str = ""


def _plan(keys: str) -> Result:
    """'9' then 7 digits, rewritten to drop the 9; '0' alone after 2 s; '#' nowhere."""
    if keys.startswith("9") and len(keys) == 8 and keys.isdigit():
        return Result(Kind.COMPLETE, 0.0, "t9", keys[1:])
    if keys.startswith("9") and len(keys) < 8 and keys.isdigit():
        return Result(Kind.PARTIAL, None)
    if keys == "0":
        return Result(Kind.COMPLETE, 2.0, "t0", "operator")
    if keys.startswith("5") and "#" not in keys:
        return Result(Kind.PARTIAL, None, "t5", keys)
    return Result(Kind.NONE)


def _terminate(keys: str) -> Result:
    return Result(Kind.COMPLETE, 0.0, "t5", keys) if keys.startswith("55") else Result(Kind.NONE)


def test_simple_plan() -> None:
    p = SimpleDialPlan(interdigit_timeout=4.0)
    assert p.match("123#") == DialMatch(kind="complete", target="123")
    assert p.match("12") == DialMatch(kind="partial", target="12", timeout=4.0)
    assert p.match("#").kind == "invalid"


def test_cisco_adapter() -> None:
    p = CiscoDialPlan(_plan, _terminate, interdigit_timeout=7.0)
    assert p.match("95551234") == DialMatch(kind="complete", target="5551234")
    assert p.match("955") == DialMatch(kind="partial", target=None, timeout=7.0)
    assert p.match("0") == DialMatch(kind="complete", target="operator", timeout=2.0)
    assert p.match("512") == DialMatch(kind="partial", target="512", timeout=7.0)
    assert p.match("5512#") == DialMatch(kind="complete", target="5512")
    assert p.match("77#") == DialMatch(kind="complete", target="77")   # '#' sends
    assert p.match("7").kind == "invalid"


def test_phone_follows_the_plan() -> None:
    h = Harness()
    h.phone.dial_plan = CiscoDialPlan(_plan, _terminate, interdigit_timeout=7.0)
    h.phone.press_keys("95551234", 0.0)
    assert h.sip.take()[0][2]["target"] == "sip:5551234@10.0.0.2"   # rewritten, sent at once
    h = Harness()
    h.phone.dial_plan = CiscoDialPlan(_plan, _terminate)
    h.phone.press_keys("0", 0.0)
    h.advance(1.9)
    assert h.sip.take() == []
    h.advance(0.2)
    assert h.sip.take()[0][2]["target"] == "sip:operator@10.0.0.2"
    h = Harness()
    h.phone.dial_plan = CiscoDialPlan(_plan, _terminate, interdigit_timeout=7.0)
    h.phone.hook(True, 0.0)
    h.phone.press_keys("955", 0.0)
    h.advance(7.0)
    assert h.sip.take() == []
    assert h.phone.calls()[0].reason == "rejected 484 Address Incomplete"
    assert h.phone.tone == "reorder"


@pytest.mark.parametrize(("target", "uri"), [
    ("5550002", "sip:5550002@example.com"),
    ("bob@10.0.0.1:5062", "sip:bob@10.0.0.1:5062"),
    ("sip:bob@h", "sip:bob@h"),
    ("<sips:bob@h>", "sips:bob@h"),
])
def test_target_uri(target: str, uri: str) -> None:
    assert target_uri(target, "example.com") == uri


@pytest.mark.parametrize("bad", ["", "a b", "x" * 300, "sip:a@h\r\nVia: x"])
def test_bad_targets(bad: str) -> None:
    with pytest.raises(ValueError):
        target_uri(bad, "example.com")
