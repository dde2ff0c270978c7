"""A sound card with its own clock that reopens at a G.722 call's rate: the shell then
waits on the card's new poll descriptors (``App.on_audio_reopened``), not the closed ones."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from firmware.demo.network import Network, handset_config, until
from hal.clock import LoopClock
from hal.mock import MockHal
from hal.mock.audio import MockAudio


class ClockedCard(MockAudio):
    """MockAudio posing as a paced card: each (re)open hands out a fresh pipe's fd.

    Nothing is written to the pipes, so the loop never fires a period: this test is
    about which descriptors the shell watches, not about audio."""

    def __init__(self, clock: Any) -> None:
        super().__init__(clock)
        self._pipe: tuple[int, int] | None = None
        self.pipes: list[tuple[int, int]] = []

    @property
    def has_clock(self) -> bool:
        return True

    def open(self) -> None:
        super().open()
        self._pipe = os.pipe()
        self.pipes.append(self._pipe)

    def close(self) -> None:
        super().close()
        if self._pipe is not None:
            for fd in self._pipe:
                os.close(fd)
            self._pipe = None

    def poll_descriptors(self) -> list[tuple[int, int]]:
        return [(self._pipe[0], 1)] if self._pipe is not None else []

    def set_rate(self, rate: int) -> bool:
        if rate != self.format.rate and self._pipe is not None:
            old, self._pipe = self._pipe, os.pipe()  # new fds first: their numbers differ
            self.pipes.append(self._pipe)
            for fd in old:
                os.close(fd)
        return super().set_rate(rate)


def test_the_shell_follows_the_cards_new_descriptors() -> None:
    got: dict[str, Any] = {}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        async with Network() as net:
            card = ClockedCard(LoopClock(loop))
            hal = MockHal(LoopClock(loop), audio=card)  # type: ignore[arg-type]
            a = await net.add("A", handset_config("5550001", preferred_codec="g722"), hal=hal)
            b = await net.add("B", handset_config("5550002", preferred_codec="g722"))
            got["before"] = list(a.host._audio_fds)
            b.api.dial(a.uri())
            await until(lambda: a.states() == ["incoming"], "A rings")
            a.api.set_hook(True)
            await until(lambda: a.states() == ["connected"], "connected")
            await until(lambda: card.format.rate == 16000, "A's card at 16 kHz")
            got["after"] = list(a.host._audio_fds)
            got["pipes"] = list(card.pipes)

    asyncio.run(main())
    first, second = got["pipes"][0][0], got["pipes"][-1][0]
    assert len(got["pipes"]) == 2 and first != second
    assert got["before"] == [first]
    assert got["after"] == [second]
