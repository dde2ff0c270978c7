"""Hypothesis over commands x network: any sequence of call commands on both sides, with loss
and replayed datagrams, never raises anything but EndpointError, never logs an internal
error, and drains.

After the sequence both sides hang up everything; once the timers have run out
no transaction, no live session and no pending request may be left.
"""

from __future__ import annotations

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from firmware.sip.endpoint import EndpointError
from firmware.sip.events import IncomingCall

from .helpers import EndpointPair

pytestmark = [pytest.mark.timeout(120), pytest.mark.arm64]  # arm64: the emulated subset

SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

ACTIONS = st.sampled_from([
    "invite", "ringing", "answer", "reject", "cancel", "bye", "hangup", "reinvite",
    "info", "answer_reinvite", "wait_short", "wait_long", "replay", "replay", "mutate",
    "reinvite_empty", "invite_empty",
])


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from("ab"), ACTIONS), max_size=25),
       lost=st.sets(st.integers(0, 40), max_size=6))
def test_random_commands_never_break_the_endpoints(steps: list[tuple[str, str]],
                                                   lost: set[int]) -> None:
    pair = EndpointPair(drop=lambda i, s, o: i in lost)
    sessions: dict[str, list[str]] = {"a": [], "b": []}
    for who, action in [("a", "invite"), *steps]:
        ep = pair.a if who == "a" else pair.b
        other_uri = pair.b_uri if who == "a" else pair.a_uri
        for ev in list(pair.events(who)):
            if isinstance(ev, IncomingCall):
                sessions[who].append(ev.session)
        pair.events(who).clear()
        sid = sessions[who][-1] if sessions[who] else "none"
        try:
            if action == "invite":
                sessions[who].append(ep.invite(other_uri, SDP, now=pair.now))
            elif action == "ringing":
                ep.ringing(sid, now=pair.now)
            elif action in ("answer", "answer_reinvite"):
                ep.answer(sid, SDP, now=pair.now)
            elif action == "reject":
                ep.reject(sid, 486, now=pair.now)
            elif action == "cancel":
                ep.cancel(sid, now=pair.now)
            elif action == "bye":
                ep.bye(sid, now=pair.now)
            elif action == "hangup":
                ep.hangup(sid, now=pair.now)
            elif action == "reinvite":
                ep.reinvite(sid, SDP, now=pair.now)
            elif action == "reinvite_empty":  # late offer: the 2xx offers, our ACK answers
                ep.reinvite(sid, None, now=pair.now)
            elif action == "invite_empty":
                sessions[who].append(ep.invite(other_uri, None, now=pair.now))
            elif action == "info":
                ep.send_in_dialog(sid, "INFO", now=pair.now)
            elif action == "replay" and pair.net.log:
                # a duplicate of an earlier datagram (late retransmission, replay)
                d = pair.net.log[(len(pair.net.log) * 7919 + len(steps)) % len(pair.net.log)]
                if d.dest in pair.net.nodes:
                    pair.net.inject(d.src, d.dest, d.data)
            elif action == "mutate" and pair.net.log:
                # a corrupted copy of an earlier datagram: one byte flipped, one line cut
                d = pair.net.log[(len(pair.net.log) * 104729 + len(steps)) % len(pair.net.log)]
                data = bytearray(d.data)
                pos = (len(steps) * 31 + len(data) // 3) % max(len(data), 1)
                data[pos] ^= 0x20
                lines = bytes(data).split(b"\r\n")
                del lines[1 + len(steps) % max(len(lines) - 1, 1)]
                if d.dest in pair.net.nodes:
                    pair.net.inject(d.src, d.dest, b"\r\n".join(lines))
            elif action == "wait_short":
                pair.run(0.3)
            else:
                pair.run(5)
        except EndpointError:
            pass
        pair.run(0.05)
    pair.run(1)
    event("answered" if any(d.first_line.startswith("ACK") for d in pair.net.log) else "no ACK")
    for who, ep in (("a", pair.a), ("b", pair.b)):
        for ev in list(pair.events(who)):
            if isinstance(ev, IncomingCall):
                sessions[who].append(ev.session)
        for sid in sessions[who]:
            try:
                ep.hangup(sid, now=pair.now)
            except EndpointError:
                pass
        pair.net.pump()
    pair.run(400)
    for ep in (pair.a, pair.b):
        assert ep.stats.extra.get("internal_errors", 0) == 0
        assert len(ep.layer) == 0
        assert not ep._live, {s: v.state for s, v in ep._live.items()}
        assert ep.get_timer() is None
