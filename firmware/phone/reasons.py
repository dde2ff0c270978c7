"""Why a call ended, in the words a person reads on the LCD and in the call lists.

Why apart from ``call.reason``: the control API's ``reason`` is a stable token
(``busy``, ``no-answer``, ``rejected 404 Not Found``) that scripts match on;
the handset shows the same fact as a desk phone would ("Busy", "Not found",
"Proxy not responding"). One table keeps the two in step.
"""

from __future__ import annotations

#: Final failure status -> what the screen says.
_STATUS_TEXT = {
    400: "Bad request", 401: "Authentication failed", 403: "Forbidden", 404: "Not found",
    407: "Authentication failed", 408: "No answer", 410: "Number gone",
    480: "Not available", 484: "Incomplete number", 485: "Ambiguous number",
    486: "Busy", 487: "Cancelled", 488: "No common codec", 500: "Server error",
    502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout",
    600: "Busy", 603: "Declined", 604: "Number does not exist",
    606: "Not acceptable",
}

_TOKEN_TEXT = {
    "busy": "Busy", "no-answer": "No answer", "cancelled": "Cancelled",
    "transferred": "Transferred", "hangup": "Call ended", "forwarded": "Forwarded",
    "invalid number": "Invalid number", "missed": "Missed",
}

#: A call that never heard anything back (RFC 3261 Timer B with no provisional answer).
NO_RESPONSE_PROXY = "Proxy not responding"
NO_RESPONSE_DIRECT = "No response"


def reason_text(reason: str | None) -> str:
    """``busy`` -> ``Busy``; ``rejected 404 Not Found`` -> ``Not found``;
    ``rejected 488 incompatible media`` -> ``No common codec``."""
    if not reason:
        return "Call ended"
    if reason in _TOKEN_TEXT:
        return _TOKEN_TEXT[reason]
    if reason.startswith("rejected "):
        code, _, phrase = reason[len("rejected "):].partition(" ")
        if code.isascii() and code.isdigit():
            text = _STATUS_TEXT.get(int(code))
            if text:
                return text
            return f"{phrase[:1].upper()}{phrase[1:]}" if phrase else f"Failed ({code})"
    return reason[:1].upper() + reason[1:]
