"""How many of its own bugs a running phone caught and survived.

Why one place: the phone never lets a bug of ours end the process (the pumps,
the endpoint and call control each catch, log and count), so a bug does not
show as a crash. Surviving is right for a handset on a desk; for a test it
would hide the bug. Every counter that means "our code raised" is read here,
so the test harness (``firmware.demo.network``), the demo and the control
API (a request that hit one is a 500, not a polite 4xx) ask one question.
"""

from __future__ import annotations

from typing import Any


def internal_errors(app: Any) -> dict[str, int]:
    """Non-zero internal-error counters of an ``App``, by where they were caught. The RTP
    pumps are those of the calls still up (an ended call's pump is gone with its count;
    the traceback it logged is what ``firmware.demo.health.ErrorWatch`` catches)."""
    counts = {
        "SIP pump": app.sip.errors,
        "call-control pump": app.phone_pump.errors,
        "audio pump": app.engine_pump.errors if app.engine_pump is not None else 0,
        "RTP pumps": sum(m.pump.errors for m in app._media.values()),
        "SIP endpoint internal_errors": int(app.endpoint.stats.extra.get("internal_errors", 0)),
        "call control": int(getattr(app.phone, "errors", 0)),
    }
    return {where: n for where, n in counts.items() if n}


def total(app: Any) -> int:
    """All of ``internal_errors(app)`` in one number (compared before and after an input)."""
    return sum(internal_errors(app).values())
