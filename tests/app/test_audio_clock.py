"""A sound card with its own clock paces the audio: the shell waits on its poll descriptors."""

from __future__ import annotations

import asyncio
import os
import select

from firmware.app.host import PhoneHost
from firmware.demo.network import Network, call_and_answer, handset_config, until
from hal.base import Audio, AudioFormat
from hal.clock import LoopClock
from hal.mock import MockHal


class PipeClockedAudio(Audio):
    """Stands in for ALSA: each byte written to ``tick_w`` is one period ready."""

    def __init__(self) -> None:
        self.format = AudioFormat()
        self.tick_r, self.tick_w = os.pipe()
        self._open = False
        self.written = 0

    def open(self) -> None:
        self._open = True

    def read_period(self) -> bytes | None:
        os.read(self.tick_r, 1)  # consume the tick, like reading a period drains the fd
        return bytes(self.format.period_bytes)

    def write_period(self, pcm: bytes) -> None:
        self.written += 1

    def close(self) -> None:
        self._open = False

    @property
    def is_open(self) -> bool:
        return self._open

    @property
    def has_clock(self) -> bool:
        return True

    def poll_descriptors(self) -> list[tuple[int, int]]:
        return [(self.tick_r, select.POLLIN)]


def test_periods_follow_the_device_not_a_timer() -> None:
    audio = PipeClockedAudio()

    async def main() -> tuple[int, int]:
        hal = MockHal(LoopClock(asyncio.get_running_loop()), audio=audio)  # type: ignore[arg-type]
        host = await PhoneHost.start(handset_config("5550001"), hal, sip_port=0)
        try:
            assert host.app is not None and host.app.engine is not None
            await asyncio.sleep(0.1)
            idle = audio.written  # no tick yet: no period, whatever the time
            os.write(audio.tick_w, b"xxx")
            await until(lambda: audio.written >= idle + 3, "three periods")
            return idle, audio.written
        finally:
            await host.stop(grace=0.1)
            os.close(audio.tick_r)
            os.close(audio.tick_w)

    idle, written = asyncio.run(main())
    assert idle == 0 and written == 3


def test_a_call_sends_in_the_devices_periods_and_goes_on_if_the_device_stalls() -> None:
    """With a sound card that paces itself (ALSA on the Pi), a call's packets leave in
    the wake-up of the device's period, not from a timer of the stream's own (two loop
    wake-ups per period); if the device stops delivering periods, the fallback timer
    keeps the RTP going."""
    audio = PipeClockedAudio()
    got: dict[str, int] = {}

    async def ticker(stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        t = loop.time()
        while not stop.is_set():
            os.write(audio.tick_w, b"x")
            t += 0.02
            await asyncio.sleep(max(0.0, t - loop.time()))

    async def main() -> None:
        stop = asyncio.Event()
        tick = asyncio.create_task(ticker(stop))
        try:
            async with Network() as net:
                hal = MockHal(LoopClock(asyncio.get_running_loop()), audio=audio)  # type: ignore[arg-type]
                a = await net.add("A", handset_config("5550001"), hal=hal)
                b = await net.add("B", handset_config("5550002"))
                await call_and_answer(a, b)
                assert a.host.app is not None
                [media] = list(a.host.app._media.values())  # noqa: SLF001
                await asyncio.sleep(0.3)
                fired, sent = media.pump.timer_fired, media.stream.stats().packets_sent
                await asyncio.sleep(1.0)
                got["own_timer"] = media.pump.timer_fired - fired
                got["sent"] = media.stream.stats().packets_sent - sent
                stop.set()
                await tick
                sent = media.stream.stats().packets_sent
                await asyncio.sleep(0.5)
                got["sent_stalled"] = media.stream.stats().packets_sent - sent
                a.api.press_softkey("endcall")
        finally:
            stop.set()
            await tick
            os.close(audio.tick_r)
            os.close(audio.tick_w)

    asyncio.run(main())
    assert got["sent"] >= 40, got  # ~50 periods in the second
    assert got["own_timer"] <= 2, got  # RTCP's, at most: not one per packet
    assert got["sent_stalled"] >= 10, got  # ~25 in half a second, by the fallback timer
