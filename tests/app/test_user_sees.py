"""What the user sees when something fails: a registration failure in words on
the idle screen and in ``GET /api/status`` (``lines[].error``); a failed call's
reason in words on the LCD and in the call lists, which keep reason, duration and
Call-ID for every call, placed, received or missed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from peers import Kamailio, free_port
from runphone import RunPhone
from test_keys_act import A_ADDR, B_ADDR, Net

from firmware.app.control_adapter import AppControl
from hal.clock import VirtualClock

PROXY = ("127.0.0.9", 5099)


def _answer_with(net: Net, status: str) -> None:
    """A registrar/proxy at PROXY that answers every request with ``status``."""
    clock = net.clock

    class Stub:
        def receive_sip(self, data: bytes, src: tuple[str, int], transport: str) -> None:
            head = data.split(b"\r\n\r\n", 1)[0].decode()
            if head.startswith("SIP/2.0"):
                return
            keep = [ln for ln in head.split("\r\n")[1:]
                    if ln.split(":", 1)[0].lower() in ("via", "from", "to", "call-id", "cseq")]
            keep = [ln + (";tag=stub" if ln.lower().startswith("to:") else "") for ln in keep]
            resp = f"SIP/2.0 {status}\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n"
            app = net.sip[A_ADDR]
            clock.call_later(0.001, lambda: app.receive_sip(resp.encode(), PROXY, "udp"))
            if head.startswith("INVITE"):
                net.sent.append((clock.time(), PROXY, A_ADDR, resp.encode()))

    net.sip[PROXY] = Stub()  # type: ignore[assignment]


def _registering(net: Net) -> AppControl:
    return net.phone(A_ADDR, f"proxy1_address: {PROXY[0]}\nproxy1_port: {PROXY[1]}\n"
                     "proxy_register: 1\n", "5550001")


def test_a_refused_registration_is_shown_in_words(clock: VirtualClock) -> None:
    net = Net(clock)
    _answer_with(net, "403 Forbidden")
    a = _registering(net)
    clock.advance(0.5)
    st = a.status()
    assert st.lines[0].error == "Registration failed: 403 Forbidden"
    assert st.to_json()["lines"][0]["error"] == "Registration failed: 403 Forbidden"
    assert "Registration failed:" in st.display and "Forbidden" in st.display
    assert st.display[0].endswith("(unreg)") or "(unreg)" in st.display[0]


def test_a_registrar_that_never_answers_says_so(clock: VirtualClock) -> None:
    net = Net(clock)
    a = _registering(net)  # nothing at PROXY
    clock.advance(10.0)
    assert a.status().lines[0].error is None and "Registering..." in a.status().display
    clock.advance(23.0)  # Timer F: 64*T1 = 32 s
    st = a.status()
    assert st.lines[0].error == "No answer from proxy"
    assert "No answer from proxy" in st.display


def test_a_call_through_a_silent_proxy_ends_with_proxy_not_responding(
        clock: VirtualClock) -> None:
    net = Net(clock)
    a = net.phone(A_ADDR, f"proxy1_address: {PROXY[0]}\nproxy1_port: {PROXY[1]}\n",
                  "5550001")
    a.dial("5550002")
    clock.advance(33.0)
    (call,) = a.status().calls
    assert call.state == "ended" and call.reason == "no-answer"  # the API token stays
    assert "Proxy not responding" in a.status().display
    (entry,) = a.history()
    assert (entry.kind, entry.reason, entry.duration) == ("placed", "Proxy not responding", 0.0)
    assert entry.call_id and entry.call_id == call.call_id


@pytest.mark.parametrize(("status", "words"), [
    ("404 Not Found", "Not found"), ("486 Busy Here", "Busy"), ("480 Temporarily Unavailable",
                                                                "Not available"),
    ("603 Decline", "Declined"), ("503 Service Unavailable", "Service unavailable")])
def test_a_refused_call_ends_with_its_reason_in_words(
        clock: VirtualClock, status: str, words: str) -> None:
    net = Net(clock)
    _answer_with(net, status)
    a = net.phone(A_ADDR, f"proxy1_address: {PROXY[0]}\nproxy1_port: {PROXY[1]}\n",
                  "5550001")
    a.dial("5550002")
    clock.advance(0.5)
    assert words in a.status().display
    (entry,) = a.history()
    assert entry.reason == words and entry.call_id


def test_history_keeps_reason_duration_and_call_id_of_every_call(clock: VirtualClock) -> None:
    net = Net(clock)
    a = net.phone(A_ADDR, "", "5550001")
    b = net.phone(B_ADDR, "", "5550002")
    a.dial("sip:5550002@127.0.0.2:5062")  # answered, talked 7 s, A hangs up
    clock.advance(0.1)
    b.set_hook(True)
    clock.advance(7.1)
    call_id = a.status().calls[0].call_id
    a.press_softkey("endcall")
    clock.advance(0.1)
    b.set_hook(False)
    clock.advance(4.0)
    a.dial("sip:5550002@127.0.0.2:5062")  # rings, A gives up: B missed it
    clock.advance(2.0)
    a.press_softkey("endcall")
    clock.advance(4.0)
    placed = [e for e in a.history() if e.kind == "placed"]
    received = [e for e in b.history() if e.kind == "received"]
    missed = [e for e in b.history() if e.kind == "missed"]
    assert [e.reason for e in placed] == ["Cancelled", "Call ended"]
    assert placed[1].call_id == call_id and placed[1].duration == pytest.approx(7.0, abs=0.2)
    assert placed[0].duration == 0.0 and placed[0].call_id and placed[0].call_id != call_id
    (rx,) = received
    assert rx.call_id == call_id and rx.duration == pytest.approx(7.0, abs=0.2)
    assert rx.reason == "Call ended"
    (miss,) = missed
    assert miss.reason == "Caller hung up" and miss.call_id == placed[0].call_id
    # and they survive the trip through JSON (the history file)
    back = json.loads(json.dumps([e.to_json() for e in a.history()]))
    assert {"reason", "duration", "call_id"} <= set(back[0])


@pytest.mark.interop
def test_wrong_password_at_kamailio_shows_on_the_screen_and_in_status(
        tmp_path: Path) -> None:
    with Kamailio(tmp_path, users={"1001": "secret1001"}) as kam:
        cnf = tmp_path / "SIP00112233AABB.cnf"
        cnf.write_text(f"proxy1_address: {kam.host}\nproxy1_port: {kam.port}\n"
                       "proxy_register: 1\nline1_name: 1001\nline1_password: wrong ; oops\n"
                       f"voip_control_port: {free_port()}\n")
        control = free_port()
        phone = RunPhone(tmp_path, ["--config", str(cnf)], control, "wrongpw")
        try:
            st = phone.wait_for(lambda s: s["lines"] and s["lines"][0]["error"],
                                "the registration error")
            error = st["lines"][0]["error"]
            assert error.startswith("Registration failed: 401") or \
                error.startswith("Registration failed: 403"), error
            assert any(row.startswith("Registration failed:") for row in st["display"])
        finally:
            assert phone.stop() == 0, phone.text()
