"""Our SIP stack against SIPp's built-in scenarios, over UDP and TCP (RFC 3261 §13, §15, §18).

SIPp's ``uac`` calls our auto-answering test UA; our UA calls SIPp's ``uas``.
Both sides are judged: SIPp's own success counters and message log, and the
events and wire messages our stack produced.
"""

from __future__ import annotations

import socket

import pytest
from interop_ua import InteropUA, without_trying_labels
from peers import HOST, Sipp, free_port

from firmware.sip import events as ev
from firmware.sip.timers import TimerConfig

pytestmark = pytest.mark.interop

SIPP_TRANSPORT = {"udp": "u1", "tcp": "t1"}


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_sipp_uac_calls_our_stack(sipp: Sipp, transport: str) -> None:
    ua = await InteropUA.start(user="service", transport=transport)
    try:
        calls = 3
        result = await _run_in_thread(
            sipp.uac, f"{HOST}:{ua.port}", calls=calls, transport=SIPP_TRANSPORT[transport]
        )
        await ua.wait_count(ev.CallEnded, calls)
    finally:
        await ua.close()

    assert (result.returncode, result.successful, result.failed) == (0, calls, 0), result.output
    for call_id in result.call_ids():
        assert without_trying_labels(result.labels(call_id=call_id)) == [
            "INVITE", "180", "200", "ACK", "BYE", "200",
        ]  # fmt: skip
    assert {m.transport for m in result.messages} == {transport.upper()}

    assert len(ua.of(ev.IncomingCall)) == calls
    assert len(ua.of(ev.CallConfirmed)) == calls
    ended = ua.of(ev.CallEnded)
    assert [(e.by, e.reason) for e in ended] == [("remote", "bye")] * calls
    for call_id in ua.call_ids():
        assert without_trying_labels(ua.wire_labels(call_id)) == [
            "< INVITE", "> 180", "> 200", "< ACK", "< BYE", "> 200",
        ]  # fmt: skip
    assert {r.transport for r in ua.wire} == {transport}


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_our_stack_calls_sipp_uas(sipp: Sipp, transport: str) -> None:
    port = free_port()
    ua = await InteropUA.start(user="piphone", transport=transport, auto_answer=False)
    uas = sipp.uas(port=port, calls=1, transport=SIPP_TRANSPORT[transport])
    try:
        with uas:
            session = await ua.call(f"sip:service@{HOST}:{port};transport={transport}")
            await _run_in_thread(uas.wait, 15)
    finally:
        await ua.close()
    served = uas.result()

    assert served.labels() == ["INVITE", "180", "200", "ACK", "BYE", "200"], served.output
    if transport == "udp":  # over TCP sipp's uas counts our closing the connection as a failure
        assert (served.returncode, served.successful) == (0, 1), served.output
    progress = [e.status for e in ua.of(ev.CallProgress) if e.session == session]
    assert progress == [180]
    answered = ua.of(ev.CallAnswered)
    assert [a.status for a in answered] == [200] and answered[0].sdp
    assert [(e.by, e.reason) for e in ua.of(ev.CallEnded)] == [("local", "bye")]
    assert ua.wire_labels() == ["> INVITE", "< 180", "< 200", "> ACK", "> BYE", "< 200"]
    assert {r.transport for r in ua.wire} == {transport}


async def test_cancel_a_ringing_sipp(sipp: Sipp) -> None:
    """INVITE, 180, CANCEL (after the provisional, §9.1), 200 to CANCEL, 487, ACK."""
    port = free_port()
    ua = await InteropUA.start(user="piphone", auto_answer=False)
    try:
        with sipp.start("uas_ring_forever.xml", port=port, calls=1) as ringer:
            sipp.wait_bound(ringer)
            session = ua.driver.command(ua.endpoint.invite, f"sip:service@{HOST}:{port}", None)
            await ua.wait_for(lambda e: isinstance(e, ev.CallProgress) and e.session == session)
            ua.driver.command(ua.endpoint.cancel, session)
            failed = await ua.wait_for(lambda e: isinstance(e, ev.CallFailed))
            await _run_in_thread(ringer.wait, 15)
        served = ringer.result()
    finally:
        await ua.close()
    assert failed.status == 487
    assert served.labels() == ["INVITE", "180", "CANCEL", "200", "487", "ACK"], served.output
    assert (served.returncode, served.successful) == (0, 1)


async def test_invite_retransmitted_by_timer_a_until_timer_b() -> None:
    """Nobody answers: the loop's one timer drives Timer A retransmissions, then Timer B (408).

    With T1 = 50 ms, Timer B fires at 64*T1 = 3.2 s; Timer A doubles from T1,
    so the INVITE goes out at 0, .05, .15, .35, .75, 1.55 and 3.15 s.
    """
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind((HOST, 0))  # bound, never read: no ICMP, no answer
    ua = await InteropUA.start(user="piphone", auto_answer=False, timers=TimerConfig(t1=0.05))
    try:
        port = silent.getsockname()[1]
        session = ua.driver.command(ua.endpoint.invite, f"sip:nobody@{HOST}:{port}", None)
        failed = await ua.wait_for(
            lambda e: isinstance(e, ev.CallFailed) and e.session == session, timeout=15
        )
    finally:
        await ua.close()
        silent.close()
    assert failed.status == 408
    invites = [r for r in ua.wire if r.direction == "out" and r.data.startswith(b"INVITE ")]
    # 7 on time; a loaded loop may fire the last Timer A together with Timer B
    assert 5 <= len(invites) <= 7, [round(r.time - invites[0].time, 3) for r in invites]
    assert len({r.data for r in invites}) == 1  # retransmissions are byte-identical


async def _run_in_thread(fn, *args, **kwargs):
    """Run a blocking peer helper without stalling our event loop (our UA must answer)."""
    import asyncio
    import functools

    return await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(fn, *args, **kwargs)
    )
