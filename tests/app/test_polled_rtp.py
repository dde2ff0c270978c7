"""The running app reads RTP once per audio period (``UdpMediaIO`` poll mode):
the RTP socket is not watched by the loop, audio still flows both ways, and
junk sent to the port is drained and dropped by the stream; each phone's stream
sends from the audio period's wake-up (one loop wake-up per period)."""

from __future__ import annotations

import asyncio
import socket

from firmware.demo.network import Handset, Network, free_media_base, handset_config, heard, until


async def _call_and_check() -> None:
    net = Network()
    try:
        a = await net.add("A", handset_config("5550001", media_base=free_media_base()))
        b = await net.add("B", handset_config("5550002", media_base=free_media_base()))
        a.audio.set_tone(440)
        b.audio.set_tone(1000)
        a.api.dial(b.uri())
        await until(lambda: b.states() == ["incoming"], "B rings")
        b.api.set_hook(True)
        await until(lambda: a.states() == ["connected"], "A connected")
        media = a.host.media
        assert media is not None
        [port] = list(media._polled)  # opened in poll mode
        rtp_sock, rtcp_sock = media._socks[port]
        selector = asyncio.get_running_loop()._selector  # type: ignore[attr-defined]
        watched = {key.fd for key in selector.get_map().values()}
        assert rtp_sock.fileno() not in watched and rtcp_sock.fileno() in watched
        stream = next(iter(a.host.app.media_streams.values()))  # type: ignore[union-attr]
        # junk from B's address before B's first packet would be latched onto (symmetric
        # RTP, RFC 4961): what is checked here is junk once the call's source is known
        await until(lambda: stream.stats().packets_received >= 5, "B's RTP at A")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as junk:
            for n in range(20):
                junk.sendto(b"\x80\x00junk" * n, rtp_sock.getsockname())
        hz_a, hz_b = await heard(a, 1000.0), await heard(b, 440.0)
        assert hz_a is not None and abs(hz_a - 1000.0) < 50
        assert hz_b is not None and abs(hz_b - 440.0) < 25
        await until(lambda: stream.stats().malformed + stream.stats().wrong_source >= 20, "junk dropped")
        await _one_wakeup_per_period(a, b)
    finally:
        await net.close()


async def _one_wakeup_per_period(*phones: Handset) -> None:
    """Each phone's stream sends from its audio period's wake-up, never on a timer of its
    own (which would wake the loop a second time every period): the callee's engine
    was idle when its call's media started (no ringback there), and its stream still
    took the engine's period grid. Counted over 25 periods; an RTCP report (every few
    seconds, off the grid) may take the stream's own timer once."""
    apps = [p.host.app for p in phones]
    pumps = [next(iter(app._media.values())).pump for app in apps]  # type: ignore[union-attr]
    fired = [p.timer_fired for p in pumps]
    periods = [app.engine.periods for app in apps]  # type: ignore[union-attr]
    await until(lambda: all(app.engine.periods >= n + 25  # type: ignore[union-attr]
                            for app, n in zip(apps, periods, strict=True)), "25 audio periods")
    own = [p.timer_fired - n for p, n in zip(pumps, fired, strict=True)]
    assert all(n <= 1 for n in own), f"stream timers fired in 25 periods: {own}"


def test_app_drains_rtp_per_period_and_drops_junk() -> None:
    asyncio.run(_call_and_check())


async def _latch_flags() -> list[bool]:
    net = Network()
    try:
        flags = []
        for n, keys in enumerate(({}, {"nat_enable": True}, {"rtp_latch": True})):
            cfg = handset_config(f"555000{n}", media_base=free_media_base(), **keys)
            h = await net.add(f"P{n}", cfg)
            assert h.host.app is not None
            flags.append(h.host.app.rtp_latch)
        return flags
    finally:
        await net.close()


def test_nat_enable_or_rtp_latch_turn_the_latch_on() -> None:
    assert asyncio.run(_latch_flags()) == [False, True, True]
