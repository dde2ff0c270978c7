"""Byte-level looks at outgoing SIP messages that the transport needs (RFC 3261 §18).

Why not the full parser: the transport only needs three facts about a
message it is about to send or has just read (is it a request, what is its
size, what is its top Via's branch) and one edit (the top Via's transport
token when §18.1.1 moves a request from UDP to TCP).  Doing that on the
bytes keeps the shell cheap and independent of the parser's object model;
the core, which built the message, already validated it.
"""

from __future__ import annotations

import re

__all__ = [
    "MTU_SWITCH_THRESHOLD",
    "is_request",
    "top_via_branch",
    "set_top_via_transport",
    "retarget_request_uri",
]

#: §18.1.1: a request larger than 1300 bytes (path MTU unknown: 1500 - 200) goes over TCP.
MTU_SWITCH_THRESHOLD = 1300

# A header line starting with "Via" or compact "v", up to the end of the line.
_VIA_LINE = re.compile(rb"^(?:via|v)[ \t]*:[^\r\n]*", re.IGNORECASE | re.MULTILINE)
_VIA_PROTO = re.compile(rb"SIP[ \t]*/[ \t]*2\.0[ \t]*/[ \t]*([A-Za-z]+)", re.IGNORECASE)
_BRANCH = re.compile(rb";[ \t]*branch[ \t]*=[ \t]*([^;, \t\r\n]+)", re.IGNORECASE)


def _head(data: bytes) -> bytes:
    end = data.find(b"\r\n\r\n")
    return data if end < 0 else data[: end + 2]


def is_request(data: bytes) -> bool:
    """True for a request, False for a response (status line starts with ``SIP/``)."""
    return not data.lstrip(b"\r\n").startswith(b"SIP/")


def top_via_branch(data: bytes) -> str | None:
    """The branch parameter of the first Via value, or None when absent or unreadable."""
    via = _VIA_LINE.search(_head(data))
    if via is None:
        return None
    first_value = via.group(0).split(b",", 1)[0]
    found = _BRANCH.search(first_value)
    if found is None:
        return None
    try:
        return found.group(1).decode("ascii")
    except UnicodeDecodeError:
        return None


def set_top_via_transport(data: bytes, transport: str) -> bytes:
    """``data`` with the top Via's transport token replaced (``SIP/2.0/UDP`` -> ``/TCP``).

    §18.1.1: when a request's transport changes from the one in its top Via,
    the Via must be changed to match.  Returns ``data`` unchanged when no Via
    is found (the core never builds such a request).
    """
    head = _head(data)
    via = _VIA_LINE.search(head)
    if via is None:
        return data
    proto = _VIA_PROTO.search(data, via.start(), via.end())
    if proto is None:
        return data
    token = transport.upper().encode("ascii")
    return data[: proto.start(1)] + token + data[proto.end(1) :]


_REQUEST_LINE = re.compile(rb"^([A-Za-z]+ sips?:(?:[^@ \r\n]*@)?)([^;?> \r\n]+)([^ \r\n]* SIP/2\.0)")


def retarget_request_uri(data: bytes, old: tuple[str, int], new: tuple[str, int]) -> bytes:
    """``data`` with its Request-URI's host:port moved from ``old`` to ``new`` when it
    names ``old`` (a port of 5060 may be left out); else ``data`` unchanged.

    Why: a request for the proxy that goes to the backup proxy must name the
    backup, or the backup relays it to the proxy that is down (the 7960 does the
    same with ``proxy_backup``).  Responses, and requests naming anything else
    (in-dialog requests name the peer's Contact), are left alone.
    """
    m = _REQUEST_LINE.match(data)
    if m is None:
        return data
    hostport = m.group(2).decode("ascii", "replace").lower()
    host, port = old[0].lower(), int(old[1])
    if hostport not in ({f"{host}:{port}", host} if port == 5060 else {f"{host}:{port}"}):
        return data
    target = new[0] if new[1] == 5060 else f"{new[0]}:{new[1]}"
    return data[: m.start(2)] + target.encode("ascii") + data[m.end(2):]
