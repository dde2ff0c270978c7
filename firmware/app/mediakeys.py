"""The 7960 keys that act on each call's media stream, applied from outside the App.

Why an observer: ``dtmf_inband`` / ``dtmf_outofband: avt_always`` set how a
stream sends digits, and ``call_stats`` needs the stream's final counters when
the BYE leaves, after call control has already stopped it. Watching call
control's ``StartMedia``/``UpdateMedia`` actions (``CorePump.observers``) does
both without growing the assembly core: the stream gets its DTMF policy the
moment it exists, and the last few streams stay reachable by call id.
"""

from __future__ import annotations

from typing import Any

#: Streams remembered after their call ended (a BYE or its 200 may still go out).
KEEP = 8


class MediaKeys:
    """``attach(app)`` once the App exists; ``stream(call_id)`` for RTP-Stat headers."""

    def __init__(self, dtmf: tuple[bool, int | None] = (True, None)) -> None:
        self.dtmf_inband, self.dtmf_always_pt = dtmf
        self.app: Any = None
        self._streams: dict[str, Any] = {}

    def attach(self, app: Any) -> MediaKeys:
        self.app = app
        app.phone_pump.observers.append(self.observe)
        return self

    def observe(self, action: Any) -> None:
        if type(action).__name__ not in ("StartMedia", "UpdateMedia") or self.app is None:
            return
        media = self.app._media.get(action.call)  # noqa: SLF001 - the app's own call table
        if media is None:
            return
        stream = media.stream
        stream.dtmf_inband, stream.dtmf_always_pt = self.dtmf_inband, self.dtmf_always_pt
        self._streams.pop(action.call, None)
        self._streams[action.call] = stream
        while len(self._streams) > KEEP:
            self._streams.pop(next(iter(self._streams)))

    def stream(self, call: str) -> Any:
        """The call's media stream, live or recently stopped (None: never had one)."""
        return self._streams.get(call)
