"""Our SIP stack and baresip (a real softphone) calling each other, inside a private netns.

baresip runs in its own network namespace (so its SDP says 127.0.0.x, see
tests/peers.py ``Netns``); our UA's sockets are created inside the same
namespace.  Both directions are tested: we call baresip (it auto-answers),
and baresip calls us (dialled through its ctrl_tcp interface).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from interop_ua import InteropUA, without_trying_labels
from peers import HOST, Baresip, Netns

from firmware.sip import events as ev

pytestmark = [pytest.mark.interop, pytest.mark.slow]


async def test_we_call_baresip_and_it_calls_us(tmp_path: Path, netns: Netns) -> None:
    with Baresip(tmp_path, netns, user="alice", auto_answer=True) as alice:
        with netns.entered():
            ua = await InteropUA.start(user="piphone")
        try:
            # we call baresip
            session = await ua.call(f"sip:alice@{HOST}:{alice.port}", talk=0.3)
            answered = next(e for e in ua.of(ev.CallAnswered) if e.session == session)
            assert re.search(rb"c=IN IP4 127\.0\.0\.\d+", answered.sdp or b""), answered.sdp
            assert b"PCMU/8000" in (answered.sdp or b"")

            # baresip calls us; our UA auto-answers
            with netns.entered():
                await alice.ctrl("dial", f"sip:piphone@{HOST}:{ua.port}")
            incoming = await ua.wait_for(lambda e: isinstance(e, ev.IncomingCall), timeout=10)
            await ua.wait_for(
                lambda e: isinstance(e, ev.CallConfirmed) and e.session == incoming.session
            )
            ua.driver.command(ua.endpoint.bye, incoming.session)
            await ua.wait_for(
                lambda e: isinstance(e, ev.CallEnded) and e.session == incoming.session
            )
            await ua.wait_wire(lambda labels: labels[-1:] == ["< 200"])
        finally:
            await ua.close()
        log = alice.log_text()

    first, second = ua.call_ids()[:2]
    assert without_trying_labels(ua.wire_labels(first)) == [
        "> INVITE", "< 180", "< 200", "> ACK", "> BYE", "< 200",
    ]  # fmt: skip
    assert without_trying_labels(ua.wire_labels(second)) == [
        "< INVITE", "> 180", "> 200", "< ACK", "> BYE", "< 200",
    ]  # fmt: skip
    assert log.count("Call established") >= 2, log[-2000:]
