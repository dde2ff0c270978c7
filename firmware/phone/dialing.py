"""Dialled numbers to SIP request URIs (RFC 3261 §19.1.1, seed B-4 "user=phone").

Why here: the dial plan (provisioning's ``DigitCollector`` over
``dialplan.xml``) decides *when* a number is complete and what it becomes;
call control turns the result into the URI it INVITEs, on the line's domain,
with ``;user=phone`` when the template says ``User="Phone"`` (the seed's
``INVITE sip:555-0002@companyb.com;user=phone``).
"""

from __future__ import annotations

#: Longest number or URI the phone accepts from the keypad or the API.
MAX_TARGET = 256


def target_uri(target: str, domain: str, user: str | None = None) -> str:
    """``5550002`` -> ``sip:5550002@domain`` (``;user=phone`` with ``user="phone"``);
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
    param = f";user={user.lower()}" if user and user.lower() in ("phone", "ip") else ""
    return f"sip:{text}@{domain}{param}"
