"""Seed Appendix B figures with a gateway, redirect server or challenging proxy (B-1..B-3, B-9..B-14, B-17).

The gateway and the redirect server are plain sans-IO ``Endpoint``s driven by
the test (``Server``); the phones are ours. The 407 proxy of B-17 is a few
lines that answer every INVITE with a fixed digest challenge.
"""

from __future__ import annotations

from typing import Any

from firmware.media.codecs import Codec
from firmware.media.sdp import LocalMedia, build_offer
from firmware.phone.actions import StartMedia, StopMedia
from firmware.sip.auth import Credentials
from firmware.sip.events import Outgoing
from firmware.sip.message import parse_message
from firmware.sip.validate import build_response

from .handsets import Rig, Server, assert_steps

GW = ("127.0.0.1", 5070)
REDIRECT = ("127.0.0.1", 5071)
PROXY = ("127.0.0.1", 5072)


def _offer(codecs: tuple[Codec, ...] | None = None) -> bytes:
    local = LocalMedia(address="127.0.0.1", rtp_port=30000, **({"codecs": codecs} if codecs else {}))
    return build_offer(local, session_id=5, version=5).to_bytes()


def _gateway_calls(rig: Rig, phone: str, sdp: bytes | None = None) -> Server:
    gw = Server("GW", rig, GW, user="4085550100", display="PBX A")
    gw.do("invite", rig[phone].uri, sdp or _offer())
    rig.run(0.5)
    return gw


def test_b1_gateway_call_setup_and_disconnect() -> None:
    rig = Rig(B={"number": "5550002"})
    gw = _gateway_calls(rig, "B")
    b = rig["B"]
    assert b.phone.ringing and b.states() == ["incoming"]
    screen = b.phone.screen(b.now)
    assert screen.lines[:3] == ("PBX A", "Incoming call", "4085550100")   # caller ID
    assert screen.softkeys == ("Answer", "Decline")
    b.lift()
    rig.run(0.5)
    assert b.of(StartMedia) and b.states() == ["connected"]
    rig.run(65.0)
    assert b.phone.screen(b.now).lines[:2] == ("PBX A", "Connected 01:05")
    b.hang_up()
    rig.run(0.5)
    assert b.of(StopMedia)
    assert type(gw.events[-1]).__name__ == "CallEnded"
    assert_steps(rig.flow(), [
        ("GW", "B", "INVITE"), ("B", "GW", "100"), ("B", "GW", "180"), ("B", "GW", "200"),
        ("GW", "B", "ACK"), ("B", "GW", "BYE"), ("GW", "B", "200")])


def test_b2_gateway_call_hold_and_resume() -> None:
    rig = Rig(B={"number": "5550002"})
    _gateway_calls(rig, "B")
    b = rig["B"]
    b.lift()
    rig.run(0.5)
    b.do("press_softkey", "hold")
    rig.run(0.5)
    assert b.states() == ["holding"]
    b.do("press_softkey", "resume")
    rig.run(0.5)
    assert b.states() == ["connected"]
    assert_steps(rig.flow(), [
        ("GW", "B", "INVITE"), ("B", "GW", "180"), ("B", "GW", "200"), ("GW", "B", "ACK"),
        ("B", "GW", "INVITE"), ("GW", "B", "200"), ("B", "GW", "ACK"),
        ("B", "GW", "INVITE"), ("GW", "B", "200"), ("B", "GW", "ACK")])


def test_b3_gateway_call_transfer_bye_also() -> None:
    # Gateway 1 is played by one of our phones (it honours BYE/Also); Gateway 2 by a plain endpoint.
    rig = Rig(G1={"number": "5550001"}, B={"number": "5550002", "transfer_method": "also"})
    g2 = Server("G2", rig, GW, user="5550003",
                on_invite=lambda srv, ev, now: srv.endpoint.answer(ev.session, _offer(), now=now))
    rig["G1"].do("dial", rig["B"].uri)
    rig.run(0.5)
    rig["B"].lift()
    rig.run(0.5)
    rig["B"].do("press_softkey", "transfer")
    rig["B"].do("transfer_to", g2.uri)
    rig.run(1.0)
    bye = rig.messages("BYE", "B")[0]
    assert bye.headers.get("Also") == f"<{g2.uri}>"
    invite = [m for m in rig.messages("INVITE", "G1") if "5550003" in str(m.uri)][0]
    assert invite.headers.get("Requested-By") == "<sip:5550002@127.0.0.1:5062>"
    assert rig["G1"].states()[-1] == "connected"
    assert_steps(rig.flow(), [
        ("G1", "B", "INVITE"), ("B", "G1", "180"), ("B", "G1", "200"), ("G1", "B", "ACK"),
        ("B", "G1", "BYE"), ("G1", "B", "200"),
        ("G1", "G2", "INVITE"), ("G2", "G1", "200"), ("G1", "G2", "ACK")])


def _redirect(status: int, contacts: list[str]) -> Any:
    def on_invite(srv: Server, ev: Any, now: float) -> None:
        srv.endpoint.reject(ev.session, status, now=now, headers=(("Contact", ", ".join(contacts)),))
    return on_invite


def test_b9_302_is_followed_to_the_contact() -> None:
    rig = Rig(A={}, B={}, C={})
    rs = Server("RS", rig, REDIRECT, user="5550002",
                on_invite=_redirect(302, [f"<{rig['C'].uri}>"]))
    rig["A"].do("dial", rs.uri)
    rig.run(0.5)
    rig["C"].lift()
    rig.run(0.5)
    assert rig["A"].states() == ["connected"]
    assert_steps(rig.flow(), [
        ("A", "RS", "INVITE"), ("RS", "A", "302"), ("A", "RS", "ACK"),
        ("A", "C", "INVITE"), ("C", "A", "180"), ("C", "A", "200"), ("A", "C", "ACK")])


def test_b10_300_tries_the_next_contact_after_busy() -> None:
    rig = Rig(A={}, B={"dnd": True, "dnd_response": 486}, C={})
    rs = Server("RS", rig, REDIRECT, user="5550002", on_invite=_redirect(300, [
        f"<{rig['C'].uri}>;q=0.5", f"<{rig['B'].uri}>;q=1.0"]))
    rig["A"].do("dial", rs.uri)
    rig.run(0.5)
    rig["C"].lift()
    rig.run(0.5)
    assert rig["A"].states() == ["connected"]
    assert_steps(rig.flow(), [
        ("A", "RS", "INVITE"), ("RS", "A", "300"), ("A", "RS", "ACK"),
        ("A", "B", "INVITE"), ("B", "A", "486"), ("A", "B", "ACK"),
        ("A", "C", "INVITE"), ("C", "A", "180"), ("C", "A", "200"), ("A", "C", "ACK")])


def test_b11_300_moves_on_after_a_ring_timeout() -> None:
    rig = Rig(A={"ring_timeout": 15.0}, B={}, C={})
    rs = Server("RS", rig, REDIRECT, user="5550002", on_invite=_redirect(300, [
        f"<{rig['B'].uri}>", f"<{rig['C'].uri}>"]))
    rig["A"].do("dial", rs.uri)
    rig.run(16.0)
    rig["C"].lift()
    rig.run(0.5)
    assert rig["A"].states() == ["connected"]
    assert rig["B"].phone.calls()[0].reason == "cancelled"
    assert_steps(rig.flow(), [
        ("A", "RS", "INVITE"), ("RS", "A", "300"), ("A", "RS", "ACK"),
        ("A", "B", "INVITE"), ("B", "A", "180"), ("A", "B", "CANCEL"), ("B", "A", "200"),
        ("B", "A", "487"), ("A", "B", "ACK"),
        ("A", "C", "INVITE"), ("C", "A", "180"), ("C", "A", "200"), ("A", "C", "ACK")])


def test_callee_forwarding_on_no_answer_is_followed_by_the_caller() -> None:
    rig = Rig(A={}, B={"cfwd_noanswer_url": "sip:5550003@127.0.0.1:5063",
                       "cfwd_noanswer_timeout": 10.0}, C={})
    rig["A"].do("dial", rig["B"].uri)
    rig.run(11.0)
    rig["C"].lift()
    rig.run(0.5)
    assert rig["A"].states() == ["connected"]
    assert_steps(rig.flow(), [
        ("A", "B", "INVITE"), ("B", "A", "180"), ("B", "A", "302"), ("A", "B", "ACK"),
        ("A", "C", "INVITE"), ("C", "A", "180"), ("C", "A", "200"), ("A", "C", "ACK")])


def test_b12_gateway_call_to_a_busy_phone() -> None:
    rig = Rig(A={}, B={"number": "5550002", "call_waiting": False})
    rig["A"].do("dial", rig["B"].uri)
    rig.run(0.5)
    rig["B"].lift()
    rig.run(0.5)
    mark = rig.mark
    _gateway_calls(rig, "B")
    assert_steps(rig.flow(since=mark), [
        ("GW", "B", "INVITE"), ("B", "GW", "100"), ("B", "GW", "486"), ("GW", "B", "ACK")])


def test_b13_gateway_cancels_an_unanswered_call() -> None:
    rig = Rig(B={"number": "5550002"})
    gw = _gateway_calls(rig, "B")
    session = gw.last("CallProgress").session if any(
        type(e).__name__ == "CallProgress" for e in gw.events) else None
    assert session is not None
    gw.do("cancel", session)
    rig.run(0.5)
    assert not rig["B"].phone.ringing
    assert rig["B"].phone.history.entries("missed")
    assert_steps(rig.flow(), [
        ("GW", "B", "INVITE"), ("B", "GW", "100"), ("B", "GW", "180"),
        ("GW", "B", "CANCEL"), ("B", "GW", "200"), ("B", "GW", "487"), ("GW", "B", "ACK")])


def test_b14_phone_refuses_media_it_cannot_speak() -> None:
    rig = Rig(B={"number": "5550002"})
    g729 = Codec(payload_type=18, name="G729", clock_rate=8000)
    _gateway_calls(rig, "B", _offer((g729,)))
    refusal = rig.messages("488", "B")[0]
    assert refusal.headers.get("Warning").startswith("304 ")
    assert_steps(rig.flow(), [("GW", "B", "INVITE"), ("B", "GW", "488"), ("GW", "B", "ACK")])


def test_b14_decline_is_a_6xx() -> None:
    rig = Rig(B={"number": "5550002"})
    gw = _gateway_calls(rig, "B")
    rig["B"].do("press_softkey", "decline")
    rig.run(0.5)
    assert gw.last("CallFailed").status == 603
    assert_steps(rig.flow(), [("GW", "B", "INVITE"), ("B", "GW", "180"), ("B", "GW", "603"),
                              ("GW", "B", "ACK")])  # B rang, then its user declined


class Challenger:
    """A proxy that answers every INVITE with 407 and the same nonce (B-17)."""

    def __init__(self, rig: Rig) -> None:
        self.rig, self._out = rig, []  # type: ignore[var-annotated]
        rig.net.attach(PROXY, self)
        rig.name_node(PROXY, "PROXY")

    def receive_datagram(self, data: bytes, source: Any, transport: str, now: float) -> None:
        msg = parse_message(data)
        if getattr(msg, "method", None) == "INVITE":
            resp = build_response(msg, 407, extra_headers=[(
                "Proxy-Authenticate", 'Digest realm="piphone", nonce="n0nce", algorithm=MD5')])
            self._out.append(Outgoing(data=bytes(resp), dest=source))

    def datagrams_to_send(self) -> list[Outgoing]:
        out, self._out = self._out, []
        return out

    def next_event(self) -> None:
        return None

    def get_timer(self) -> None:
        return None

    def handle_timer(self, now: float) -> None:
        pass


def test_b17_repeated_challenge_fails_with_a_clear_reason() -> None:
    rig = Rig(A={"credentials": (Credentials(username="5550001", password="pw"),),
                 "outbound_proxy": PROXY}, B={})
    Challenger(rig)
    rig["A"].do("dial", rig["B"].uri)
    rig.run(2.0)
    call = rig["A"].phone.calls()[0]
    assert call.state == "ended" and call.reason.startswith("rejected 407")
    assert call.reason == "rejected 407 authentication failed"
    assert rig["A"].phone.screen(rig.clock.time()).lines[-2:] == (
        "Call ended", "Authentication failed")  # in words, on the LCD
    invites = rig.messages("INVITE", "A")
    assert invites[1].headers.get("Proxy-Authorization", "").startswith("Digest ")
    assert_steps(rig.flow(), [
        ("A", "PROXY", "INVITE"), ("PROXY", "A", "407"), ("A", "PROXY", "ACK"),
        ("A", "PROXY", "INVITE"), ("PROXY", "A", "407"), ("A", "PROXY", "ACK")])


def test_callee_forward_all_and_forward_busy_are_followed_by_the_caller() -> None:
    rig = Rig(A={}, B={"cfwd_url": "sip:5550003@127.0.0.1:5063"}, C={})
    rig["B"].do("press_softkey", "CFwdAll")
    assert "cfwd" in rig["B"].phone.screen(0.0).icons
    rig["A"].do("dial", rig["B"].uri)
    rig.run(0.5)
    assert not rig["B"].phone.ringing and rig["C"].states() == ["incoming"]
    assert_steps(rig.flow(), [
        ("A", "B", "INVITE"), ("B", "A", "302"), ("A", "B", "ACK"),
        ("A", "C", "INVITE"), ("C", "A", "180")])

    rig = Rig(A={}, B={"call_waiting": False, "cfwd_busy_url": "sip:5550003@127.0.0.1:5063"},
              C={}, D={})
    rig["D"].do("dial", rig["B"].uri)
    rig.run(0.5)
    rig["B"].lift()
    rig.run(0.5)
    mark = rig.mark
    rig["A"].do("dial", rig["B"].uri)
    rig.run(0.5)
    assert rig["C"].states() == ["incoming"]
    assert_steps(rig.flow(since=mark), [
        ("A", "B", "INVITE"), ("B", "A", "302"), ("A", "B", "ACK"), ("A", "C", "INVITE"),
        ("C", "A", "180")])


def test_refer_refused_with_501_falls_back_to_bye_also() -> None:
    rig = Rig(B={"number": "5550002", "transfer_method": "refer"})
    gw = _gateway_calls(rig, "B")
    gw.refuse["REFER"] = 501                       # a gateway of the seed's era
    rig["B"].lift()
    rig.run(0.5)
    rig["B"].do("transfer_to", "sip:5550003@127.0.0.1:5090")
    rig.run(0.5)
    assert rig["B"].phone.calls()[0].reason == "transferred"
    bye = rig.messages("BYE", "B")[0]
    assert bye.headers.get("Also") == "<sip:5550003@127.0.0.1:5090>"
    assert_steps(rig.flow(), [
        ("GW", "B", "INVITE"), ("B", "GW", "180"), ("B", "GW", "200"), ("GW", "B", "ACK"),
        ("B", "GW", "REFER"), ("GW", "B", "501"), ("B", "GW", "BYE"), ("GW", "B", "200")])
