"""A scripted stand-in for the phone behind the control API (tests only).

It keeps just enough state (hook, dialled keys, one call) to show that the
server hands each request to the right method with the right value, and that a
``ControlError`` raised by the phone reaches the client as the same 4xx.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from firmware.control import (
    CallInfo,
    ControlConfig,
    ControlError,
    ControlServer,
    HistoryEntry,
    LineInfo,
    MockAudioReport,
    PhoneStatus,
)

SOFTKEYS_IDLE = ("redial", "newcall", "cfwdall", "dnd")


@dataclass
class FakePhone:
    off_hook: bool = False
    keys: str = ""
    softkeys: list[str] = field(default_factory=list)
    dialled: list[str] = field(default_factory=list)
    tone_hz: float = 0.0
    calls: list[CallInfo] = field(default_factory=list)
    explode: bool = False
    buttons: list[str] = field(default_factory=list)

    def status(self) -> PhoneStatus:
        if self.explode:
            raise RuntimeError("simulated bug")
        return PhoneStatus(
            hook="off" if self.off_hook else "on",
            ringer=False,
            lines=(LineInfo(line=1, name="5550001", registered=True),),
            calls=tuple(self.calls),
            display=("5550001", self.keys),
            softkeys=SOFTKEYS_IDLE,
        )

    def set_hook(self, off_hook: bool) -> None:
        self.off_hook = off_hook

    def press_keys(self, keys: str) -> None:
        self.keys += keys

    def press_softkey(self, name: str) -> None:
        if name not in SOFTKEYS_IDLE and name != "hold":
            raise ControlError(400, f"unknown softkey {name}")
        if name == "hold" and not self.calls:
            raise ControlError(409, "there is no call to hold")
        self.softkeys.append(name)

    def dial(self, target: str) -> None:
        self.dialled.append(target)
        self.off_hook = True
        self.calls.append(
            CallInfo(id="c1", line=1, direction="out", state="calling", remote=target, call_id="x@y")
        )

    def press_button(self, name: str) -> None:
        if name == "mute" and not self.calls:
            raise ControlError(409, "no call to mute")
        self.buttons.append(name)

    def screen_png(self) -> bytes:
        return b"\x89PNG\r\n\x1a\nfake"

    def set_mock_tone(self, tone_hz: float) -> None:
        self.tone_hz = tone_hz

    def mock_audio(self) -> MockAudioReport:
        return MockAudioReport(tx_frames=10, rx_frames=12, rx_dominant_hz=self.tone_hz or None,
                               rx_level_dbfs=-12.5)

    def history(self) -> list[HistoryEntry]:
        return [
            HistoryEntry(kind="missed", remote="sip:b@h", line=1, at=2.0),
            HistoryEntry(kind="placed", remote="sip:c@h", line=1, at=1.0, duration=3.0),
        ]


def serve(phone: object, scenario: Callable[[int], Awaitable[None]],
          config: ControlConfig | None = None) -> ControlServer:
    """Run ``scenario(port)`` against a control server in front of ``phone``; the server
    afterwards, for its counters."""
    server = ControlServer(phone, config or ControlConfig())  # type: ignore[arg-type]

    async def main() -> None:
        await server.start()
        try:
            await scenario(server.port)
        finally:
            await server.close()

    asyncio.run(main())
    return server
