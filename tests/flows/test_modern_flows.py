"""The later-firmware forms of Appendix B figures, run for real on loopback between our handsets.

The seed's 7960 transfers with BYE/Also and holds with c=0.0.0.0; the firmware's
defaults are REFER (RFC 3515) with NOTIFY sipfrag, REFER with Replaces (RFC 3891)
for attended transfer, RFC 3264 direction attributes for hold, and local call
forwarding answering 302. test_phone_flows.py checks the seed's forms; this file
checks these on the wire bytes each handset sent, plus media by tone detection.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import pytest

from firmware.demo.figures import _consult
from firmware.demo.ladder import render_text
from firmware.demo.network import Network, call_and_answer, handset_config, heard, settle, until

pytestmark = pytest.mark.slow

TONE = {"A": 1000.0, "B": 600.0, "C": 1500.0}

Wire = list[tuple[str, str, bytes]]


class WireNet(Network):
    """A Network that also keeps every SIP datagram a handset sent, as bytes (src, dst, data)."""

    def __init__(self) -> None:
        super().__init__()
        self.wire: Wire = []

    def tap(self, name: str) -> Callable[..., None]:
        inner = super().tap(name)

        def on_wire(direction: str, data: bytes, peer: Any, transport: str, at: float) -> None:
            inner(direction, data, peer, transport, at)
            me = self.handsets.get(name)
            if me is not None and direction == "out" and data[:1].isalpha():
                self.wire.append((name, self.log._who(peer), bytes(data)))

        return on_wire


def _first(data: bytes) -> str:
    return data.split(b"\r\n", 1)[0].decode()


def _hdr(data: bytes, *names: str) -> str:
    head = data.partition(b"\r\n\r\n")[0].decode("utf-8", "replace")
    for line in head.split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() in names:
            return value.strip()
    return ""


def _body(data: bytes) -> str:
    return data.partition(b"\r\n\r\n")[2].decode("utf-8", "replace")


def _find(wire: Wire, src: str, dst: str, start: str) -> list[tuple[int, bytes]]:
    return [(i, d) for i, (s, t, d) in enumerate(wire)
            if s == src and t == dst and _first(d).startswith(start)]


def _tag(value: str) -> str:
    m = re.search(r";\s*tag=([^;>\s]+)", value)
    return m.group(1) if m else ""


async def _run(body: Callable[[WireNet], Awaitable[Any]]) -> tuple[WireNet, Any]:
    net = WireNet()
    try:
        got = await asyncio.wait_for(body(net), timeout=40)
    finally:
        await net.close()
    return net, got


def _ladder(net: WireNet) -> str:
    return render_text(net.log.messages, ["A", "B", "C"], "flow")


async def _connect(a: Any, b: Any) -> None:
    await call_and_answer(a, b)


def _tones(*hs: Any) -> None:
    for h in hs:
        h.api.set_mock_tone(TONE[h.name])


def _idle(h: Any) -> Callable[[], bool]:
    return lambda: all(s == "ended" for s in h.states())


def test_b7_blind_transfer_by_refer() -> None:
    async def body(net: WireNet) -> tuple[float | None, float | None]:
        a = await net.add("A", handset_config("5550001"))
        b = await net.add("B", handset_config("5550002"))  # transfer_method: refer (default)
        c = await net.add("C", handset_config("5550003"))
        await _connect(a, b)
        _tones(a, b, c)
        b.api.transfer(c.uri())
        await until(lambda: c.states() == ["incoming"], "C ringing (INVITE from A)")
        c.api.set_hook(True)
        await until(lambda: "connected" in a.states() and "connected" in c.states(), "A-C connected")
        await until(_idle(b), "B out of the call")
        hz = await heard(a, TONE["C"])
        hz_c = await heard(c, TONE["A"])
        a.api.press_softkey("endcall")
        await until(_idle(c), "C idle")
        return hz, hz_c

    net, (hz_a, hz_c) = asyncio.run(_run(body))
    w, ladder = net.wire, _ladder(net)
    invite_ab = _find(w, "A", "B", "INVITE ")[0][1]
    call_ab = _hdr(invite_ab, "call-id", "i")
    refers = _find(w, "B", "A", "REFER ")
    assert len(refers) == 1, ladder
    ri, refer = refers[0]
    assert _hdr(refer, "call-id", "i") == call_ab, ladder  # in the A-B dialog
    assert _hdr(refer, "refer-to", "r").strip("<>").startswith("sip:5550003@"), refer
    accepted = [i for i, d in _find(w, "A", "B", "SIP/2.0 202") if i > ri]
    assert accepted, ladder
    notifies = [(i, d) for i, d in _find(w, "A", "B", "NOTIFY ") if i > accepted[0]]
    assert notifies, ladder
    for _, n in notifies:
        assert _hdr(n, "event", "o").split(";")[0].strip().lower() == "refer", n
        assert _hdr(n, "content-type", "c").lower().startswith("message/sipfrag"), n
        assert _hdr(n, "call-id", "i") == call_ab
    frags = [_body(n).split("\r\n", 1)[0] for _, n in notifies]
    assert frags[0].startswith("SIP/2.0 100"), frags
    assert frags[-1].startswith("SIP/2.0 200"), frags
    assert "terminated" in _hdr(notifies[-1][1], "subscription-state").lower()
    for i, _ in notifies:  # B answers each NOTIFY
        assert any(j > i for j, _ in _find(w, "B", "A", "SIP/2.0 200")), ladder
    invite_ac = _find(w, "A", "C", "INVITE ")
    assert invite_ac and invite_ac[0][0] > ri, ladder
    assert _first(invite_ac[0][1]).startswith("INVITE sip:5550003@"), ladder
    ok_c = _find(w, "C", "A", "SIP/2.0 200")
    assert ok_c and ok_c[0][0] < notifies[-1][0], ladder  # the 200 sipfrag reports C's answer
    byes = [(i, d) for s, t in (("A", "B"), ("B", "A")) for i, d in _find(w, s, t, "BYE ")
            if _hdr(d, "call-id", "i") == call_ab]
    assert byes and byes[0][0] > ri, ladder  # the A-B call ends after the transfer
    assert hz_a == pytest.approx(TONE["C"], rel=0.04)
    assert hz_c == pytest.approx(TONE["A"], rel=0.04)


def test_b8_attended_transfer_refer_replaces() -> None:
    async def body(net: WireNet) -> tuple[float | None, float | None]:
        a = await net.add("A", handset_config("5550001"))
        b = await net.add("B", handset_config("5550002"))
        c = await net.add("C", handset_config("5550003"))
        await _connect(a, b)
        await _consult(b, a, c)  # B holds A (waiting for A's 200), calls C, who answers
        _tones(a, b, c)
        b.api.press_softkey("transfer")  # REFER to A, Refer-To C?Replaces=<B-C dialog>
        await until(lambda: "connected" in a.states() and "connected" in c.states()
                    and _idle(b)(), "A-C connected, B out")
        hz = await heard(c, TONE["A"])
        hz_a = await heard(a, TONE["C"])
        a.api.press_softkey("endcall")
        await until(_idle(c), "C idle")
        return hz, hz_a

    net, (hz_c, hz_a) = asyncio.run(_run(body))
    w, ladder = net.wire, _ladder(net)
    inv_bc = _find(w, "B", "C", "INVITE ")[0][1]
    bc_call = _hdr(inv_bc, "call-id", "i")
    b_tag = _tag(_hdr(inv_bc, "from", "f"))
    c_tag = _tag(_hdr(_find(w, "C", "B", "SIP/2.0 200")[0][1], "to", "t"))
    assert b_tag and c_tag
    refers = _find(w, "B", "A", "REFER ")
    assert len(refers) == 1, ladder
    ri, refer = refers[0]
    refer_to = _hdr(refer, "refer-to", "r")
    m = re.search(r"\?Replaces=([^>]+)", refer_to)
    assert m, refer_to
    replaces = unquote(m.group(1))
    rc, _, params = replaces.partition(";")
    assert rc == bc_call, (replaces, bc_call)
    p = dict(x.split("=", 1) for x in params.split(";") if "=" in x)
    # Replaces names the dialog as C sees it: to-tag = C's tag, from-tag = B's (RFC 3891 §3).
    assert {p.get("to-tag"), p.get("from-tag")} == {b_tag, c_tag}, replaces
    assert _find(w, "A", "B", "SIP/2.0 202"), ladder
    inv_ac = [(i, d) for i, d in _find(w, "A", "C", "INVITE ") if i > ri]
    assert inv_ac, ladder
    rep = _hdr(inv_ac[0][1], "replaces")
    assert rep.split(";")[0].strip() == bc_call, inv_ac[0][1]
    rp = dict(x.strip().split("=", 1) for x in rep.split(";")[1:] if "=" in x)
    assert rp.get("to-tag") == c_tag and rp.get("from-tag") == b_tag, rep
    # C answers A at once (no ringing) and ends the replaced dialog with B.
    assert not [d for i, d in _find(w, "C", "A", "SIP/2.0 180") if i > ri], ladder
    bye_cb = [i for i, d in _find(w, "C", "B", "BYE ") if _hdr(d, "call-id", "i") == bc_call]
    assert bye_cb and bye_cb[0] > inv_ac[0][0], ladder
    assert hz_c == pytest.approx(TONE["A"], rel=0.04)
    assert hz_a == pytest.approx(TONE["C"], rel=0.04)


async def _hold_cycle(net: WireNet, hold_method: str) -> dict[str, float | None]:
    a = await net.add("A", handset_config("5550001"))
    b = await net.add("B", handset_config("5550002", hold_method=hold_method))
    _tones(a, b)
    await _connect(a, b)
    got = {"connected": await heard(b, TONE["A"]), "connected A": await heard(a, TONE["B"])}
    b.api.press_softkey("hold")
    await until(lambda: b.states() == ["holding"] and a.states() == ["held"], "hold")
    await settle(0.6)
    got["held"] = await heard(b, None)
    got["held A"] = await heard(a, None)
    b.api.press_softkey("resume")
    await until(lambda: b.states() == ["connected"] and a.states() == ["connected"], "resume")
    got["resumed"] = await heard(b, TONE["A"])
    got["resumed A"] = await heard(a, TONE["B"])
    a.api.press_softkey("endcall")
    await until(_idle(b), "B idle")
    return got


def _reinvites(w: Wire) -> tuple[bytes, bytes, bytes, bytes]:
    """B's hold and resume re-INVITEs and A's 200 answers to them."""
    first = _find(w, "A", "B", "INVITE ")[0][1]
    call = _hdr(first, "call-id", "i")
    re_inv = [d for _, d in _find(w, "B", "A", "INVITE ") if _hdr(d, "call-id", "i") == call]
    assert len(re_inv) == 2
    answers = []
    for inv in re_inv:
        cseq = _hdr(inv, "cseq")
        answers.append(next(d for _, d in _find(w, "A", "B", "SIP/2.0 200")
                            if _hdr(d, "cseq") == cseq))
    return re_inv[0], answers[0], re_inv[1], answers[1]


def _media_checks(got: dict[str, float | None]) -> None:
    assert got["connected"] == pytest.approx(TONE["A"], rel=0.04)
    assert got["connected A"] == pytest.approx(TONE["B"], rel=0.04)
    assert got["held"] is None and got["held A"] is None
    assert got["resumed"] == pytest.approx(TONE["A"], rel=0.04)
    assert got["resumed A"] == pytest.approx(TONE["B"], rel=0.04)


def test_b4_hold_sendonly_on_the_wire() -> None:
    net, got = asyncio.run(_run(lambda n: _hold_cycle(n, "sendonly")))
    hold, hold_ok, resume, resume_ok = _reinvites(net.wire)
    sdp = _body(hold)
    assert "a=sendonly" in sdp.split("\r\n"), sdp
    assert "0.0.0.0" not in sdp, sdp
    answer = _body(hold_ok).split("\r\n")
    assert "a=recvonly" in answer or "a=inactive" in answer, answer
    for d in (resume, resume_ok):
        lines = _body(d).split("\r\n")
        assert not {"a=sendonly", "a=recvonly", "a=inactive"} & set(lines), lines
        assert "c=IN IP4 0.0.0.0" not in lines
    _media_checks(got)


def test_b4_hold_c0_on_the_wire() -> None:
    """The seed's form (B-2 and B-4, hold_method c0): the hold re-INVITE carries c=0.0.0.0."""
    net, got = asyncio.run(_run(lambda n: _hold_cycle(n, "c0")))
    hold, _, resume, _ = _reinvites(net.wire)
    assert "c=IN IP4 0.0.0.0" in _body(hold).split("\r\n"), _body(hold)
    assert "c=IN IP4 0.0.0.0" not in _body(resume).split("\r\n"), _body(resume)
    _media_checks(got)


def test_b9_local_forward_all_302_followed_by_caller() -> None:
    async def body(net: WireNet) -> tuple[float | None, float | None, str]:
        a = await net.add("A", handset_config("5550001"))
        c = await net.add("C", handset_config("5550003"))
        b = await net.add("B", handset_config("5550002", cfwd_url=c.uri()))
        b.api.press_softkey("cfwdall")  # CFwdAll on: B answers every call 302 -> C
        _tones(a, c)
        a.api.dial(b.uri())
        await until(lambda: c.states() == ["incoming"], "C ringing (A followed the 302)")
        assert not b.status().ringer
        c.api.set_hook(True)
        await until(lambda: "connected" in a.states() and "connected" in c.states(), "A-C")
        hz_a, hz_c = await heard(a, TONE["C"]), await heard(c, TONE["A"])
        a.api.press_softkey("endcall")
        await until(_idle(c), "C idle")
        return hz_a, hz_c, c.uri()

    net, (hz_a, hz_c, c_uri) = asyncio.run(_run(body))
    w, ladder = net.wire, _ladder(net)
    seq = [(s, t, _first(d).split(" sip:")[0]) for s, t, d in w
           if not _first(d).startswith(("REGISTER", "SIP/2.0 100"))]
    ab = [x for x in seq if {x[0], x[1]} == {"A", "B"}]
    assert [x[2] for x in ab] == ["INVITE", "SIP/2.0 302 Moved Temporarily", "ACK"], ladder
    moved = _find(w, "B", "A", "SIP/2.0 302")[0][1]
    assert _hdr(moved, "contact", "m").strip("<>").startswith(c_uri), moved
    i302 = _find(w, "B", "A", "SIP/2.0 302")[0][0]
    inv_ac = _find(w, "A", "C", "INVITE ")
    assert inv_ac and inv_ac[0][0] > i302, ladder
    assert _first(inv_ac[0][1]).startswith("INVITE sip:5550003@"), ladder
    assert not _find(w, "B", "C", ""), ladder  # B never calls C: the caller follows the 302
    assert _find(w, "C", "A", "SIP/2.0 200"), ladder
    assert hz_a == pytest.approx(TONE["C"], rel=0.04)
    assert hz_c == pytest.approx(TONE["A"], rel=0.04)


@pytest.mark.interop
def test_b2_gateway_receives_c0_hold_sdp(sipp: Any) -> None:
    """B-2 against SIPp as Gateway 1: the hold re-INVITE the gateway received holds the seed's
    way (c=IN IP4 0.0.0.0, hold_method c0), the resume re-INVITE restores the address."""
    from test_gateway_flows import Where, _gateway_call

    async def drive(phone: Any) -> None:
        await until(lambda: phone.states() == ["incoming"], "the phone to ring")
        phone.api.set_hook(True)
        await until(lambda: phone.states() == ["connected"], "connected")
        phone.api.press_softkey("hold")
        await until(lambda: phone.states() == ["holding"], "holding")
        phone.api.press_softkey("resume")
        await until(lambda: phone.states() == ["connected"], "resumed")
        phone.api.set_hook(False)

    net, result, _ = asyncio.run(_gateway_call(Where(sipp.host, None, sipp), "gw_b2_hold.xml",
                                               drive))
    got = [m.text for m in result.messages
           if m.direction == "received" and m.first_line.startswith("INVITE ")]
    assert len(got) == 2, result.output[-1500:]
    hold, resume = (t.split("\n\n", 1)[1].splitlines() for t in got)
    assert "c=IN IP4 0.0.0.0" in hold, hold
    assert not {"a=sendonly", "a=inactive"} & set(hold), hold  # the seed's form, not RFC 3264's
    assert "c=IN IP4 0.0.0.0" not in resume and "c=IN IP4 127.0.0.1" in resume, resume
