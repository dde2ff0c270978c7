"""Dialling: provisioning's dialplan.xml collector drives the phone; numbers become URIs."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.phone.dialing import target_uri
from firmware.provisioning.dialplan import parse_dialplan

from .fakes import Harness

PLAN = parse_dialplan((Path(__file__).parents[2] / "config" / "dialplan.xml").read_bytes())


def _dialled(h: Harness) -> list[str]:
    return [s[2]["target"] for s in h.sip.take() if s[0] == "invite"]


def test_without_a_plan_pound_or_the_interdigit_timeout_sends() -> None:
    h = Harness(interdigit_timeout=4.0)
    h.phone.press_keys("5550001", 0.0)
    h.advance(3.9)
    assert _dialled(h) == []
    h.advance(0.2)
    assert _dialled(h) == ["sip:5550001@10.0.0.2"]
    h = Harness()
    h.phone.press_keys("77#", 0.0)
    assert _dialled(h) == ["sip:77@10.0.0.2"]


def test_plan_rewrites_and_adds_user_phone() -> None:
    h = Harness()
    h.phone.dial_plan = PLAN
    h.phone.hook(True, 0.0)
    h.phone.press_keys("9", 0.0)
    assert h.phone.tone == "dial"                      # secondary dial tone at "9,"
    h.phone.press_keys("12125551234", 0.5)
    assert _dialled(h) == ["sip:12125551234@10.0.0.2;user=phone"]   # seed B-4's user=phone


def test_plan_timeout_and_terminator() -> None:
    h = Harness()
    h.phone.dial_plan = PLAN
    h.phone.press_keys("9011331", 0.0)
    h.advance(4.9)
    assert _dialled(h) == []
    h.advance(0.2)                                       # Timeout="5"
    assert _dialled(h) == ["sip:011331@10.0.0.2;user=phone"]
    h = Harness()
    h.phone.dial_plan = PLAN
    h.phone.press_keys("9011331#", 0.0)                  # '>#' ends it at once
    assert _dialled(h) == ["sip:011331@10.0.0.2;user=phone"]


def test_extension_dials_when_complete_and_backspace_edits() -> None:
    h = Harness()
    h.phone.dial_plan = PLAN
    h.phone.hook(True, 0.0)
    h.phone.press_keys("55", 0.0)
    h.phone.press_softkey("<<", 0.1)
    assert h.phone.calls()[0].remote == "5"
    h.phone.press_keys("550003", 0.2)
    assert _dialled(h) == ["sip:5550003@10.0.0.2;user=phone"]


def test_dial_softkey_sends_what_is_entered() -> None:
    h = Harness()
    h.phone.dial_plan = PLAN
    h.phone.press_keys("21", 0.0)
    h.phone.press_softkey("Dial", 0.5)
    assert _dialled(h) == ["sip:21@10.0.0.2"]


@pytest.mark.parametrize(("target", "uri"), [
    ("5550002", "sip:5550002@example.com"),
    ("bob@10.0.0.1:5062", "sip:bob@10.0.0.1:5062"),
    ("sip:bob@h", "sip:bob@h"),
    ("<sips:bob@h>", "sips:bob@h"),
])
def test_target_uri(target: str, uri: str) -> None:
    assert target_uri(target, "example.com") == uri
    assert target_uri("5550002", "h", "Phone") == "sip:5550002@h;user=phone"


def test_a_number_handed_to_another_party_names_the_proxys_transport() -> None:
    """A transfer target on a proxy reached over TLS (or TCP) only: the transferee
    cannot guess it (tests/flows/test_interop_matrix.py, baresip over TLS)."""
    assert target_uri("5550002", "pbx:5061", transport="tls") == "sip:5550002@pbx:5061;transport=tls"
    assert target_uri("5550002", "pbx", transport="udp") == "sip:5550002@pbx"
    assert target_uri("sip:bob@h", "pbx", transport="tls") == "sip:bob@h"  # as given


@pytest.mark.parametrize("bad", ["", "a b", "x" * 300, "sip:a@h\r\nVia: x"])
def test_bad_targets(bad: str) -> None:
    with pytest.raises(ValueError):
        target_uri(bad, "example.com")


@pytest.mark.parametrize(("typed", "uri"), [
    ("192*0*2*10", "sip:192.0.2.10"),            # keypad: '*' for the dots
    ("192.0.2.10:5062", "sip:192.0.2.10:5062"),
    ("[2001:db8::1]:5060", "sip:[2001:db8::1]:5060"),
    ("1*2*3", "sip:1*2*3@pbx.example"),          # not an address: a number with stars
    ("*97", "sip:*97@pbx.example"),
])
def test_an_ip_address_is_called_directly_without_a_proxy(typed: str, uri: str) -> None:
    assert target_uri(typed, "pbx.example") == uri
