"""An RTP port of the media range held by another program: the phone offers the next pair.

Why: on a real handset other software (a second SIP client, a stream player) may
sit on a port of ``start_media_port``..``end_media_port``. The SDP must never name
a port the phone cannot receive on, or the call connects without audio. Call
control reserves the pair through the shell (``UdpMediaIO.reserve``) before it
goes into the offer or answer, and passes a taken pair over.
"""

from __future__ import annotations

import asyncio
import socket

from talk import assert_hear_each_other, play_own_tones

from firmware.demo.network import Network, call_and_answer, free_media_base, handset_config, until
from firmware.phone.ports import PortPool


def test_pool_passes_over_a_pair_the_shell_cannot_reserve() -> None:
    taken = {20000, 20004}
    released: list[int] = []
    pool = PortPool(20000, 20010, reserve=lambda p: p not in taken, unreserve=released.append)
    assert pool.allocate() == 20002 and pool.allocate() == 20006
    assert pool.busy_skipped == 2
    pool.release(20002)
    assert released == [20002]
    pool.release(20002)  # twice: the shell hears it once
    assert released == [20002]


async def _call_with_a_taken_port() -> tuple[int, bool]:
    """The call has audio both ways; what it tells of the ports: pairs passed over, and
    whether the next pair was still free during the call."""
    base = free_media_base()
    squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    squatter.bind(("127.0.0.1", base + 1))  # only the RTCP port of the first pair: enough
    net = Network()
    try:
        a = await net.add("A", handset_config("5550001", media_base=base))
        b = await net.add("B", handset_config("5550002"))
        play_own_tones(a, b)
        await call_and_answer(a, b)
        await assert_hear_each_other(a, b)
        assert a.host.app is not None
        skipped = a.host.app.phone.ports.busy_skipped
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.bind(("127.0.0.1", base + 2))  # the pair the call took instead
            second_free = True
        except OSError:
            second_free = False
        finally:
            probe.close()
        a.api.press_softkey("endcall")
        await until(lambda: all(s == "ended" for s in b.states()), "B idle")
        return skipped, second_free
    finally:
        squatter.close()
        await net.close()


def test_call_offers_the_next_pair_when_one_is_taken_and_has_audio() -> None:
    skipped, second_free = asyncio.run(_call_with_a_taken_port())
    assert skipped == 1  # the first pair was passed over
    assert not second_free  # the call holds the next pair
