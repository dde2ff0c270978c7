"""The running app reads RTP once per audio period (``UdpMediaIO`` poll mode):
the RTP socket is not watched by the loop, audio still flows both ways, and
junk sent to the port is drained and dropped by the stream; each phone sends
its packets in its audio periods' wake-ups, on their grid."""

from __future__ import annotations

import asyncio
import gc
import socket
from typing import Any

from firmware.demo.network import (
    Network,
    call_and_answer,
    free_media_base,
    handset_config,
    heard,
    until,
)


async def _call_and_check() -> None:
    async with Network() as net:
        a = await net.add("A", handset_config("5550001", media_base=free_media_base()))
        b = await net.add("B", handset_config("5550002", media_base=free_media_base()))
        a.audio.set_tone(440)
        b.audio.set_tone(1000)
        await call_and_answer(a, b)
        media = a.host.media
        assert media is not None
        [port] = list(media._polled)  # opened in poll mode
        rtp_sock, rtcp_sock = media._socks[port]
        selector = asyncio.get_running_loop()._selector  # type: ignore[attr-defined]
        watched = {key.fd for key in selector.get_map().values()}
        assert rtp_sock.fileno() not in watched and rtcp_sock.fileno() in watched
        stream = next(iter(a.host.app.media_streams.values()))  # type: ignore[union-attr]
        # junk before B's first packet would be latched onto (RFC 4961: same address,
        # another port, expected source not yet heard); B's first packet waits for its
        # next audio period, up to 20 ms after the answer
        await until(lambda: stream.stats().packets_received > 0, "A hears B's RTP")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as junk:
            for n in range(20):
                junk.sendto(b"\x80\x00junk" * n, rtp_sock.getsockname())
        hz_a, hz_b = await heard(a, 1000.0), await heard(b, 440.0)
        assert hz_a is not None and abs(hz_a - 1000.0) < 50
        assert hz_b is not None and abs(hz_b - 440.0) < 25
        await until(lambda: stream.stats().malformed + stream.stats().wrong_source >= 20, "junk dropped")
        for h in (a, b):  # the caller (ringback playing) and the callee (engine idle)
            _assert_sends_on_the_audio_grid(h)
        assert gc.get_freeze_count() > 0  # no full collection of the heap in a call
    assert gc.get_freeze_count() == 0  # the calls ended


def _assert_sends_on_the_audio_grid(h: Any) -> None:
    """The stream's send grid is the engine's period grid: its packets go out in the
    period's wake-up (``App._after_period``), with no timer of their own."""
    app = h.host.app
    [media] = list(app._media.values())
    engine, stream = app.engine, media.stream
    k = (stream._t0 - engine._t0) / engine.period_s
    assert abs(k - round(k)) < 1e-6, f"{h.name}: stream grid {k:.3f} periods off the engine's"
    assert media.pump.deadline in (None, stream._next_rtcp), f"{h.name}: a send timer of its own"


def test_app_drains_rtp_per_period_and_drops_junk() -> None:
    asyncio.run(_call_and_check())


async def _latch_flags() -> list[bool]:
    async with Network() as net:
        flags = []
        for n, keys in enumerate(({}, {"nat_enable": True}, {"rtp_latch": True})):
            cfg = handset_config(f"555000{n}", media_base=free_media_base(), **keys)
            h = await net.add(f"P{n}", cfg)
            assert h.host.app is not None
            flags.append(h.host.app.rtp_latch)
        return flags


def test_nat_enable_or_rtp_latch_turn_the_latch_on() -> None:
    assert asyncio.run(_latch_flags()) == [False, True, True]
