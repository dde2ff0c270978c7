"""The call-info screen and received DTMF: what the LCD shows about a call's media.

Why here: the 7960 shows a connected call's RTCP figures (RFC 3550 §6.4:
loss, interarrival jitter, round-trip time from LSR/DLSR) when "?" is pressed
twice. Call control is sans-IO, so the app hands these figures in as a plain
value (``CallStats``) instead of the phone reading the media stream; the
digits a peer sends as RFC 4733 telephone-events arrive the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

#: how long the info screen stays up unless the key is pressed again
INFO_SECONDS = 10.0
#: how long a received DTMF digit row stays on the call screen
DTMF_SECONDS = 3.0
#: at most this many received digits are shown (the row is 21 characters)
DTMF_SHOWN = 12

_MAX = 21


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStats:
    """One call's media figures as the phone shows them (None: not known yet)."""

    codec: str = ""
    packets_sent: int = 0
    packets_received: int = 0
    loss_pct: float = 0.0
    jitter_ms: float = 0.0
    rtt_ms: float | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "codec": self.codec, "packets_sent": self.packets_sent,
            "packets_received": self.packets_received, "loss_pct": self.loss_pct,
            "jitter_ms": self.jitter_ms, "rtt_ms": self.rtt_ms,
        }


def info_rows(stats: CallStats | None) -> tuple[str, ...]:
    """The rows of the call-info screen, under the caller's row.

    Four rows at most: with the caller that is the five main lines a 64-pixel
    panel shows (``hal.render.main_line_capacity``), each clipped to its width.
    """
    if stats is None:
        return ("Info", "No media yet")
    rtt = "--" if stats.rtt_ms is None else f"{stats.rtt_ms:.0f} ms"
    rows = (
        f"Info {stats.codec or '--'}",
        f"Tx {stats.packets_sent} Rx {stats.packets_received}",
        f"Loss {stats.loss_pct:.1f}% Jit {stats.jitter_ms:.1f}ms",
        f"RTT {rtt}",
    )
    return tuple(r[:_MAX] for r in rows)


@dataclass(slots=True)
class InfoState:
    """Which call's info screen is up and until when; the received digits per call."""

    call: str | None = None
    until: float | None = None
    dtmf_call: str | None = None
    dtmf: str = ""
    dtmf_until: float | None = None

    def deadlines(self) -> list[float]:
        return [t for t in (self.until, self.dtmf_until) if t is not None]

    def expire(self, now: float) -> None:
        if self.until is not None and self.until <= now:
            self.call, self.until = None, None
        if self.dtmf_until is not None and self.dtmf_until <= now:
            self.dtmf_call, self.dtmf, self.dtmf_until = None, "", None

    def toggle(self, call: str, now: float) -> bool:
        """Open the info screen of ``call`` or close it; True if it is now open."""
        if self.call == call:
            self.call, self.until = None, None
            return False
        self.call, self.until = call, now + INFO_SECONDS
        return True

    def digit(self, call: str, digit: str, now: float) -> None:
        shown = self.dtmf if self.dtmf_call == call else ""
        self.dtmf_call = call
        self.dtmf = (shown + digit)[-DTMF_SHOWN:]
        self.dtmf_until = now + DTMF_SECONDS
