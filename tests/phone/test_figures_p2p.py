"""Seed Appendix B phone-to-phone figures (B-4..B-8, B-15, B-16) with our phones on real endpoints.

Each test runs two or three ``Phone``s over real sans-IO SIP ``Endpoint``s on
the in-memory network and virtual clock, and asserts the seed's step table
(direction, method/status), key headers/SDP, call states and media commands.
"""

from __future__ import annotations

import pytest

from firmware.phone.actions import StartMedia, UpdateMedia
from firmware.sip.message import parse_message

from .handsets import Rig, assert_steps


def _call(rig: Rig, src: str, dst: str) -> None:
    rig[src].do("dial", rig[dst].uri)
    rig.run(0.5)
    assert rig[dst].states() == ["incoming"] and rig[dst].phone.ringing
    rig[dst].lift()
    rig.run(0.5)
    assert rig[src].states() == ["connected"] and rig[dst].states() == ["connected"]


def _sent(rig: Rig, label: str, src: str) -> list[bytes]:
    return [parse_message(d.data).body for d in rig.net.log
            if not d.dropped and rig.names.get(d.src) == src
            and parse_message(d.data).__class__.__name__ == "Request"
            and parse_message(d.data).method == label]


def test_b4_simple_hold_with_c0() -> None:
    rig = Rig(A={}, B={"hold_method": "c0"})
    _call(rig, "A", "B")
    a, b = rig["A"], rig["B"]
    assert a.of(StartMedia) and b.of(StartMedia)
    call_id = rig.messages("INVITE", "A")[0].call_id
    assert a.phone.calls()[0].call_id == call_id == b.phone.calls()[0].call_id
    b.do("press_softkey", "hold")
    rig.run(0.5)
    assert b.states() == ["holding"] and a.states() == ["held"]
    assert "hold" in b.phone.screen(b.now).icons
    assert a.phone.screen(a.now).lines[1].startswith("Held by far end")
    assert b.phone.softkeys(b.now) == ("Resume", "NewCall", "EndCall")
    assert not a.of(UpdateMedia)[-1].negotiated.send and not b.of(UpdateMedia)[-1].negotiated.send
    b.do("press_softkey", "resume")
    rig.run(0.5)
    assert b.states() == ["connected"] and a.states() == ["connected"]
    assert a.of(UpdateMedia)[-1].negotiated.send and b.of(UpdateMedia)[-1].negotiated.send
    assert_steps(rig.flow(), [
        ("A", "B", "INVITE"), ("B", "A", "180"), ("B", "A", "200"), ("A", "B", "ACK"),
        ("B", "A", "INVITE"), ("A", "B", "200"), ("B", "A", "ACK"),
        ("B", "A", "INVITE"), ("A", "B", "200"), ("B", "A", "ACK"),
    ])
    reinvites = _sent(rig, "INVITE", "B")
    assert b"c=IN IP4 0.0.0.0" in reinvites[0]                 # seed B-4 step 5
    assert b"c=IN IP4 127.0.0.1" in reinvites[1]               # step 8: back to a real address


def test_b4_hold_with_sendonly() -> None:
    rig = Rig(A={}, B={"hold_method": "sendonly"})
    _call(rig, "A", "B")
    rig["B"].do("press_softkey", "hold")
    rig.run(0.5)
    assert rig["A"].states() == ["held"]
    assert b"a=sendonly" in _sent(rig, "INVITE", "B")[0]


def test_b5_hold_with_consultation() -> None:
    rig = Rig(A={}, B={}, C={})
    _call(rig, "A", "B")
    b = rig["B"]
    b.do("press_softkey", "hold")
    rig.run(0.5)
    b.do("dial", rig["C"].uri)
    rig.run(0.5)
    rig["C"].lift()
    rig.run(0.5)
    assert b.states() == ["holding", "connected"]
    b.do("press_softkey", "endcall")
    rig.run(0.5)
    b.do("press_softkey", "resume")
    rig.run(0.5)
    assert rig["A"].states() == ["connected"]
    assert_steps(rig.flow(), [
        ("A", "B", "INVITE"), ("B", "A", "180"), ("B", "A", "200"), ("A", "B", "ACK"),
        ("B", "A", "INVITE"), ("A", "B", "200"), ("B", "A", "ACK"),
        ("B", "C", "INVITE"), ("C", "B", "180"), ("C", "B", "200"), ("B", "C", "ACK"),
        ("B", "C", "BYE"), ("C", "B", "200"),
        ("B", "A", "INVITE"), ("A", "B", "200"), ("B", "A", "ACK"),
    ])


def test_b6_call_waiting() -> None:
    rig = Rig(A={}, B={}, C={"display": "Carol"})
    _call(rig, "A", "B")
    b = rig["B"]
    rig["C"].do("dial", b.uri)
    rig.run(0.5)
    assert b.phone.tone == "waiting" and not b.phone.ringing
    assert "Waiting: Carol" in b.phone.screen(b.now).lines
    b.do("press_softkey", "answer")
    rig.run(0.5)
    assert b.states() == ["holding", "connected"]
    b.do("press_softkey", "swap")
    rig.run(0.5)
    assert b.states() == ["connected", "holding"]
    b.hang_up()                                               # step 6: ends the call with A
    rig.run(0.5)
    assert b.phone.ringing                                    # step 7: the notification
    b.lift()
    rig.run(0.5)
    assert rig["C"].states() == ["connected"]
    assert_steps(rig.flow(), [
        ("A", "B", "INVITE"), ("B", "A", "180"), ("B", "A", "200"), ("A", "B", "ACK"),
        ("C", "B", "INVITE"), ("B", "C", "180"),
        ("B", "A", "INVITE"), ("A", "B", "200"), ("B", "A", "ACK"),
        ("B", "C", "200"), ("C", "B", "ACK"),
        ("B", "C", "INVITE"), ("C", "B", "200"), ("B", "C", "ACK"),
        ("B", "A", "INVITE"), ("A", "B", "200"), ("B", "A", "ACK"),
        ("B", "A", "BYE"), ("A", "B", "200"),
        ("B", "C", "INVITE"), ("C", "B", "200"), ("B", "C", "ACK"),
    ])


def test_b7_blind_transfer_bye_also() -> None:
    rig = Rig(A={}, B={"transfer_method": "also"}, C={})
    _call(rig, "A", "B")
    b = rig["B"]
    b.do("press_softkey", "transfer")
    b.do("transfer_to", rig["C"].uri)                    # the target, as from the directory
    rig.run(0.5)
    rig["C"].lift()
    rig.run(0.5)
    assert rig["A"].states()[-1] == "connected" and rig["C"].states() == ["connected"]
    bye = rig.messages("BYE", "B")[0]
    assert bye.headers.get("Also") == f"<{rig['C'].uri}>"
    invite_c = [m for m in rig.messages("INVITE", "A") if "5550003" in str(m.uri)][0]
    assert invite_c.headers.get("Requested-By")
    assert_steps(rig.flow(), [
        ("A", "B", "INVITE"), ("B", "A", "180"), ("B", "A", "200"), ("A", "B", "ACK"),
        ("B", "A", "BYE"), ("A", "B", "200"),
        ("A", "C", "INVITE"), ("C", "A", "180"), ("C", "A", "200"), ("A", "C", "ACK"),
    ])


def test_b7_blind_transfer_by_refer() -> None:
    rig = Rig(A={}, B={"transfer_method": "refer"}, C={})
    _call(rig, "A", "B")
    mark = rig.mark
    b = rig["B"]
    b.do("transfer_to", rig["C"].uri)
    rig.run(0.5)
    rig["C"].lift()
    rig.run(1.0)
    assert rig["C"].states() == ["connected"]
    assert rig["B"].phone.calls()[0].reason == "transferred"
    a_calls = {c.remote: c for c in rig["A"].phone.calls()}
    assert a_calls[rig["B"].uri].reason == "transferred"
    assert a_calls[rig["C"].uri].state == "connected"
    refer = rig.messages("REFER", "B")[0]
    assert refer.headers.get("Refer-To") == f"<{rig['C'].uri}>"
    assert_steps(rig.flow(since=mark), [
        ("B", "A", "REFER"), ("A", "B", "202"), ("A", "B", "NOTIFY"),  # sipfrag 100
        ("A", "C", "INVITE"), ("B", "A", "200"), ("C", "A", "180"),
        ("A", "B", "NOTIFY"), ("B", "A", "200"),                        # sipfrag 180
        ("C", "A", "200"), ("A", "C", "ACK"),
        ("A", "B", "NOTIFY"), ("B", "A", "200"),                        # sipfrag 200
        ("B", "A", "BYE"), ("A", "B", "200"),
    ])


def _consult(rig: Rig) -> None:
    _call(rig, "A", "B")
    b = rig["B"]
    b.do("press_softkey", "transfer")
    b.do("dial", rig["C"].uri)
    rig.run(0.5)
    rig["C"].lift()
    rig.run(0.5)
    assert b.states() == ["holding", "connected"]


def test_b8_attended_transfer_the_seeds_also_sequence() -> None:
    rig = Rig(A={}, B={"transfer_method": "also"}, C={})
    _consult(rig)
    rig["B"].do("press_softkey", "transfer")
    rig.run(0.5)
    rig["C"].do("press_softkey", "answer")
    rig.run(0.5)
    assert rig["A"].states()[-1] == "connected" and rig["C"].states()[-1] == "connected"
    assert_steps(rig.flow(), [  # the seed's B-8, steps 1-19
        ("A", "B", "INVITE"), ("B", "A", "180"), ("B", "A", "200"), ("A", "B", "ACK"),
        ("B", "A", "INVITE"), ("A", "B", "200"), ("B", "A", "ACK"),
        ("B", "C", "INVITE"), ("C", "B", "180"), ("C", "B", "200"), ("B", "C", "ACK"),
        # steps 12-15 in the seed's order: the BYE/Also to A only once C answered the BYE
        ("B", "C", "BYE"), ("C", "B", "200"), ("B", "A", "BYE"), ("A", "B", "200"),
        ("A", "C", "INVITE"), ("C", "A", "180"), ("C", "A", "200"), ("A", "C", "ACK"),
    ])
    flow = rig.flow()
    assert flow.index(("C", "B", "200 OK")) < flow.index(("B", "A", "BYE"))
    assert rig.messages("BYE", "B")[1].headers.get("Also") == f"<{rig['C'].uri}>"


def test_b8_attended_transfer_by_refer_with_replaces() -> None:
    rig = Rig(A={}, B={"transfer_method": "refer"}, C={})
    _consult(rig)
    mark = rig.mark
    rig["B"].do("press_softkey", "transfer")
    rig.run(1.0)
    assert rig["A"].states()[-1] == "connected" and rig["C"].states()[-1] == "connected"
    assert all(c.state == "ended" for c in rig["B"].phone.calls())
    refer = rig.messages("REFER", "B")[0]
    assert "Replaces=" in refer.headers.get("Refer-To")
    invite = [m for m in rig.messages("INVITE", "A") if m.headers.get("Replaces")]
    assert invite, "A's INVITE to C carries Replaces"
    assert_steps(rig.flow(since=mark), [
        ("B", "A", "REFER"), ("A", "B", "202"), ("A", "B", "NOTIFY"),  # sipfrag 100
        ("A", "C", "INVITE"), ("B", "A", "200"), ("C", "A", "200"),
        ("C", "B", "BYE"), ("A", "C", "ACK"),                           # C drops the replaced call
        ("A", "B", "NOTIFY"), ("B", "C", "200"), ("B", "A", "200"),     # sipfrag 200
        ("B", "A", "BYE"), ("A", "B", "200"),
    ])


def test_b15_called_phone_busy() -> None:
    rig = Rig(A={}, B={"call_waiting": False}, C={})
    _call(rig, "C", "B")
    mark = rig.mark
    rig["A"].do("dial", rig["B"].uri)
    rig.run(0.5)
    assert rig["A"].phone.calls()[0].reason == "busy" and rig["A"].phone.tone == "busy"
    assert rig["A"].phone.screen(rig.clock.time()).lines[-2:] == ("Call ended", "Busy")
    assert_steps(rig.flow(since=mark), [
        ("A", "B", "INVITE"), ("B", "A", "486"), ("A", "B", "ACK")])


def test_b16_no_answer_caller_ring_timeout_cancels() -> None:
    rig = Rig(A={"ring_timeout": 20.0}, B={})
    rig["A"].do("dial", rig["B"].uri)
    rig.run(19.0)
    assert rig["A"].states() == ["ringback"]
    rig.run(2.0)
    assert rig["A"].phone.calls()[0].reason == "no-answer"
    assert rig["B"].phone.calls()[0].reason == "cancelled" and not rig["B"].phone.ringing
    assert rig["B"].phone.history.entries()[0].kind == "missed"
    assert_steps(rig.flow(), [
        ("A", "B", "INVITE"), ("B", "A", "180"), ("A", "B", "CANCEL"), ("B", "A", "200"),
        ("B", "A", "487"), ("A", "B", "ACK")])


def test_cancel_crossing_the_answer_leaves_nobody_connected() -> None:
    rig = Rig(A={}, B={})
    rig["A"].do("dial", rig["B"].uri)
    rig.run(0.5)
    rig["B"].lift()                       # the 200 and the CANCEL cross on the wire
    rig["A"].do("press_softkey", "endcall")
    rig.run(40.0)
    assert rig["A"].phone.calls() == [] and rig["B"].phone.calls() == []
    assert rig["A"].phone.errors == rig["B"].phone.errors == 0
    assert [e.kind for e in rig["B"].phone.history.entries()] == ["received"]
    assert_steps(rig.flow(), [
        ("A", "B", "INVITE"), ("B", "A", "180"), ("B", "A", "200"), ("A", "B", "CANCEL"),
        ("A", "B", "ACK"), ("A", "B", "BYE"),
        ("B", "A", "200"), ("B", "A", "200")])  # one answers the BYE, one the CANCEL


def test_the_step_check_rejects_one_extra_final_response_between_steps() -> None:
    """``assert_steps`` is the strict matcher: one stray final response anywhere fails."""
    steps = [("A", "B", "INVITE"), ("B", "A", "180"), ("B", "A", "200"), ("A", "B", "ACK")]
    wire = [("A", "B", "INVITE"), ("B", "A", "100 Trying"), ("B", "A", "180 Ringing"),
            ("B", "A", "200 OK"), ("A", "B", "ACK")]
    assert_steps(wire, steps)  # the 100 Trying to an INVITE is the one allowance
    for k in range(1, len(wire) + 1):
        for extra in (("B", "A", "486 Busy Here"), ("B", "A", "200 OK"), ("A", "B", "200 OK")):
            with pytest.raises(AssertionError):
                assert_steps([*wire[:k], extra, *wire[k:]], steps)
