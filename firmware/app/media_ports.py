"""What the App needs from the shell's media sockets, and what it keeps per call.

Why apart from ``core``: the App depends on this small protocol, not on the
UDP implementation (``media_io.UdpMediaIO``) nor the test shells that stand in
for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from firmware.app.pump import CorePump

Address = tuple[str, int]


class MediaIO(Protocol):
    """RTP/RTCP sockets, owned by the shell. ``open`` binds port and port+1 on the media address.

    ``deliver(data, source, rtcp, arrived=None)``. A shell that also has
    ``drain(port) -> int`` is opened with ``poll=True`` when the app has an audio
    engine: it then does not watch the RTP socket, and the app drains it at the
    start of every audio period (one loop wake-up per period, not two).
    """

    def open(self, port: int, deliver: Callable[..., None]) -> bool: ...

    def send(self, port: int, data: bytes, dest: Address, rtcp: bool) -> None: ...

    def close(self, port: int) -> None: ...


@dataclass
class CallMedia:
    """One call's RTP: its port pair, its stream and the pump that drives the stream."""

    port: int
    stream: Any
    pump: CorePump
