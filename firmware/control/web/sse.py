"""Server-Sent Events: the handset state pushed to the page when it changes.

Why SSE and not WebSocket or polling: the page only listens (its presses are
ordinary POSTs), SSE is plain HTTP on the connection the server already
speaks, and the browser reconnects by itself. A push happens when the phone
says something it shows may have changed (``WebBackend.watch``: a new
screen, the ringer, a call's state); bursts are coalesced, and a comment
line every ``KEEPALIVE`` seconds tells a dead client from a quiet phone.
The pushed state is the status (without the fast-moving media counters) and
the LCD as a 128x64 PNG, about a kilobyte.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from firmware.control.pacing import media_gap
from firmware.surface import PhoneControl, WebBackend

KEEPALIVE = 15.0
#: Without a backend to say when something changed, look this often (a fake phone).
FALLBACK_CHECK = 0.5
#: At most one push per this many seconds (a burst of screens becomes the last one).
COALESCE = 0.04


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamResponse:
    """A response whose body the server hands over to ``stream(reader, writer)``;
    the connection closes when it returns."""

    stream: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
    status: int = 200
    content_type: str = "text/event-stream"
    headers: tuple[tuple[str, str], ...] = ()

    def head_bytes(self) -> bytes:
        head = [f"HTTP/1.1 {self.status} OK", f"Content-Type: {self.content_type}",
                "Cache-Control: no-store", "Connection: close", "X-Accel-Buffering: no"]
        head.extend(f"{k}: {v}" for k, v in self.headers)
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")


def snapshot(phone: PhoneControl) -> dict[str, Any]:
    """What the page shows: the status without media counters, plus the LCD image."""
    state = phone.status().to_json()
    for call in state.get("calls", []):
        media = call.get("media")
        call["media"] = {"codec": media.get("codec")} if isinstance(media, dict) else None
    state["png"] = base64.b64encode(phone.screen_png()).decode("ascii")
    return state


def events(phone: PhoneControl, backend: WebBackend | None) -> StreamResponse:
    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        changed = asyncio.Event()
        changed.set()
        stop = backend.watch(changed.set) if backend is not None else None
        # in a call, a push (status, LCD PNG: ~1 ms of the loop) waits for the gap after
        # an audio period, so that the RTP packet of the next one is not delayed
        next_period = getattr(backend, "next_audio_period", None)
        gone = asyncio.ensure_future(reader.read(1))  # the client sends nothing; EOF = gone
        last: dict[str, Any] | None = None
        version = 0
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        try:
            writer.write(b"retry: 1000\n\n")
            while not gone.done():
                wait = asyncio.ensure_future(changed.wait())
                timeout = KEEPALIVE if backend is not None else FALLBACK_CHECK
                await asyncio.wait({wait, gone}, timeout=timeout,
                                   return_when=asyncio.FIRST_COMPLETED)
                wait.cancel()
                if gone.done():
                    break
                changed.clear()
                await media_gap(next_period)
                state = snapshot(phone)
                if state != last:  # dicts of JSON values: equal exactly when the JSON is
                    last = dict(state)
                    version += 1
                    state["version"] = version
                    writer.write(b"data: " + json.dumps(state, separators=(",", ":")).encode()
                                 + b"\n\n")
                    quiet_since = loop.time()
                elif loop.time() - quiet_since >= KEEPALIVE:
                    writer.write(b": ping\n\n")
                    quiet_since = loop.time()
                await writer.drain()
                await asyncio.sleep(COALESCE)
        except (ConnectionError, OSError):
            pass
        finally:
            gone.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await gone
            if stop is not None:
                stop()

    return StreamResponse(stream=run)
