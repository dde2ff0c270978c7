"""A sound card with its own clock paces the audio: the shell waits on its poll descriptors."""

from __future__ import annotations

import asyncio
import os
import select

from firmware.app.host import PhoneHost
from firmware.demo.network import handset_config, until
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
