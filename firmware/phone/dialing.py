"""Dialled numbers to SIP request URIs (RFC 3261 §19.1.1, seed B-4 "user=phone").

Why here: the dial plan (provisioning's ``DigitCollector`` over
``dialplan.xml``) decides *when* a number is complete and what it becomes;
call control turns the result into the URI it INVITEs, on the line's domain,
with ``;user=phone`` when the template says ``User="Phone"`` (the seed's
``INVITE sip:555-0002@companyb.com;user=phone``).
"""

from __future__ import annotations

import ipaddress
import re

#: Longest number or URI the phone accepts from the keypad or the API.
MAX_TARGET = 256


def target_uri(target: str, domain: str, user: str | None = None, transport: str = "udp") -> str:
    """``5550002`` -> ``sip:5550002@domain`` (``;user=phone`` with ``user="phone"``,
    ``;transport=tls`` with ``transport`` other than udp: for a URI handed to
    another party, e.g. a transfer target on a proxy reached over TLS only);
    a SIP URI (or user@host) is kept as given.

    Raises ValueError for an empty or oversized target.
    """
    text = target.strip().strip("<>")
    if not text or len(text) > MAX_TARGET or any(c in text for c in " \r\n\t<>\""):
        raise ValueError("not a number or SIP URI")
    low = text.lower()
    if low.startswith(("sip:", "sips:", "tel:")):
        return text
    if "@" in text:
        return f"sip:{text}"
    ip = ip_target(text)
    if ip is not None:
        return f"sip:{ip}"
    param = f";user={user.lower()}" if user and user.lower() in ("phone", "ip") else ""
    if transport.lower() in ("tcp", "tls"):
        param += f";transport={transport.lower()}"
    return f"sip:{text}@{domain}{param}"


_KEYPAD_IP = re.compile(r"\d{1,3}(\*\d{1,3}){3}")


def ip_target(text: str) -> str | None:
    """An IP address to call directly (no proxy needed): ``192.0.2.10``,
    ``192.0.2.10:5062``, ``[2001:db8::1]:5060``, or from the keypad with ``*``
    for the dots (``192*0*2*10``), as peer-to-peer desk phones take it."""
    t = text.replace("*", ".") if _KEYPAD_IP.fullmatch(text) else text
    host, port = t, ""
    if t.startswith("["):
        host, _, rest = t[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif t.count(":") == 1:
        host, port = t.split(":")
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return None
    if port and (not port.isdigit() or not 0 < int(port) < 65536):
        return None
    shown = f"[{addr}]" if addr.version == 6 else str(addr)
    return f"{shown}:{port}" if port else shown
