"""The asyncio media shell on real UDP sockets (127.0.0.1, ports from a range):
two phones' media talk for a second of real time; and a device with its own
clock paces the engine through its poll descriptor (no thread, no timer)."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from firmware.media.codecs import PCMU
from firmware.media.engine import MediaEngine
from firmware.media.ports import PortAllocator
from firmware.media.sdp import Answer, LocalMedia, Negotiated, SdpSession, parse_sdp
from firmware.media.stream import MediaStream
from firmware.net.rtp import AudioPump, RtpEndpoint
from hal.clock import LoopClock
from hal.mock.audio import MockAudio


async def _phone(loop, allocator, ssrc, tone):
    audio = MockAudio(LoopClock(loop))
    audio.set_tone(tone)
    engine = MediaEngine(audio)
    stream = MediaStream(ssrc=ssrc, cname=f"{ssrc}@127.0.0.1")
    engine.attach(stream)
    ep = RtpEndpoint(stream, loop=loop, audio_next=engine.get_timer)
    port = await ep.open("127.0.0.1", allocator)
    pump = AudioPump(engine, loop=loop, after_period=ep.kick)
    return audio, stream, ep, pump, port


def test_two_endpoints_on_loopback() -> None:
    async def main():
        loop = asyncio.get_running_loop()
        # take a port the allocator will offer first, to prove busy ports are skipped
        blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        blocker.bind(("127.0.0.1", 0))
        base = blocker.getsockname()[1] & ~1
        blocker.close()
        hog = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            hog.bind(("127.0.0.1", base))
        except OSError:
            pytest.skip("port raced away")
        alloc = PortAllocator(base, base + 40)
        a = await _phone(loop, alloc, 0xA, 1000)
        b = await _phone(loop, alloc, 0xB, 440)
        hog.close()
        assert a[4] != base and b[4] != base and a[4] % 2 == 0
        sa = SdpSession(LocalMedia(address="127.0.0.1", rtp_port=a[4]), session_id=1)
        sb = SdpSession(LocalMedia(address="127.0.0.1", rtp_port=b[4]), session_id=2)
        ans = sb.receive_offer(parse_sdp(sa.offer().to_bytes()))
        assert isinstance(ans, Answer)
        neg = sa.receive_answer(parse_sdp(ans.sdp.to_bytes()))
        assert isinstance(neg, Negotiated)
        for (_audio, stream, ep, pump, _), n in ((a, neg), (b, ans.negotiated)):
            pump.start()
            stream.update(n, loop.time())
            ep.kick()
        await asyncio.sleep(1.2)
        out = (a[0].dominant_hz(0.5), b[0].dominant_hz(0.5), a[1].stats(), b[1].stats())
        for _, _, ep, pump, _ in (a, b):
            pump.stop()
            ep.close()
        assert alloc.in_use == frozenset()
        return out

    heard_a, heard_b, st_a, st_b = asyncio.run(main())
    assert heard_a == pytest.approx(440, abs=20) and heard_b == pytest.approx(1000, abs=20)
    assert st_a.packets_received > 40 and st_b.packets_received > 40
    assert st_a.wrong_source == 0 and st_a.malformed == 0


class PipeClockedAudio(MockAudio):
    """A device with its own clock: a period is ready when a byte arrives on a pipe."""

    def __init__(self) -> None:
        super().__init__()
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)

    @property
    def has_clock(self) -> bool:
        return True

    def poll_descriptors(self) -> list[tuple[int, int]]:
        return [(self.r, 1)]

    def read_period(self) -> bytes | None:
        try:
            os.read(self.r, 1)
        except BlockingIOError:
            return None
        return super().read_period()


def test_device_clock_paces_engine_through_poll_descriptor() -> None:
    async def main():
        loop = asyncio.get_running_loop()
        audio = PipeClockedAudio()
        engine = MediaEngine(audio)
        pump = AudioPump(engine, loop=loop)
        assert pump.start()
        assert engine.get_timer() is None  # no loop-clock pacing for a clocked device
        for _ in range(7):
            os.write(audio.w, b"x")
            await asyncio.sleep(0.01)
        pump.stop()
        os.close(audio.r)
        os.close(audio.w)
        return engine.periods, audio.tx_frames

    periods, frames = asyncio.run(main())
    assert periods == 7 and frames == 7


def test_poll_rx_reads_rtp_in_the_period_with_its_arrival_time() -> None:
    """With ``poll_rx`` nothing wakes the loop for RTP: ``drain()`` (the pump's
    before_period) reads it, and the stream sees the kernel's arrival time, not
    the time it was read (the RFC 3550 jitter estimate depends on it)."""
    async def main():
        loop = asyncio.get_running_loop()
        stream = MediaStream(ssrc=0xC, cname="c@127.0.0.1")
        seen: list[tuple[int, float]] = []
        real = stream.receive_rtp

        def spy(data, addr, now):
            seen.append((len(data), now))
            real(data, addr, now)

        stream.receive_rtp = spy  # type: ignore[method-assign]
        ep = RtpEndpoint(stream, loop=loop, poll_rx=True)
        port = await ep.open("127.0.0.1", PortAllocator(44000, 44998))
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", 0))
        neg = Negotiated(remote_address="127.0.0.1", remote_rtp_port=peer.getsockname()[1],
                         remote_rtcp_port=peer.getsockname()[1] + 1, send_codec=PCMU,
                         recv_codecs={0: PCMU}, send=False)
        stream.update(neg, loop.time())
        # Linux turns receive timestamps on for the whole stack from a deferred work item
        # after the first socket asks; until it has run, a datagram is stamped when it is
        # read. Wait (up to 5 s) for a probe to come back stamped before its read.
        for _ in range(100):
            peer.sendto(bytes([0x80, 0, 0, 99]) + bytes(8), ("127.0.0.1", port))
            await asyncio.sleep(0.05)
            seen.clear()
            read_probe = loop.time()
            ep.drain()
            if seen and seen[0][1] < read_probe - 0.02:
                break
        seen.clear()
        before = loop.time()
        for seq in range(3):
            peer.sendto(bytes([0x80, 0, 0, seq]) + bytes(8) + b"\xff" * 160, ("127.0.0.1", port))
        after = loop.time()
        await asyncio.sleep(0.05)  # nothing reads the socket meanwhile
        assert seen == []
        read_at = loop.time()
        ep.drain()
        ep.close()
        peer.close()
        return seen, before, after, read_at, stream.stats()

    seen, before, after, read_at, st = asyncio.run(main())
    assert [n for n, _ in seen] == [172, 172, 172]
    for _, at in seen:
        # stamped when sent (between before and after, give or take the few ms of
        # converting the kernel's wall-clock stamp), not when read 50 ms later
        assert before - 0.01 <= at <= after + 0.01 and at < read_at - 0.02
    assert st.malformed == 0
