"""The 7960's ``call_stats``: RTP-RxStat / RTP-TxStat headers in BYE and in the
200 OK that answers one (Cisco SIP IP Phone admin guide, ``call_stats``).

Why a wrapper around the SIP send: the figures live in the app's media
streams, the BYE is built by the sans-IO SIP core which knows nothing of
media. By the time the BYE leaves, call control has already stopped the
call's stream (``mediakeys.MediaKeys`` keeps the last few), so the headers
carry the call's final counts. Only the header block changes; the
body and Content-Length stay as the core made them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Address = tuple[str, int]
SendSip = Callable[[bytes, Address, str], None]

_CALL_ID = re.compile(rb"^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)", re.I | re.M)
_CSEQ_BYE = re.compile(rb"^CSeq[ \t]*:[ \t]*\d+[ \t]+BYE\b", re.I | re.M)


def stat_headers(stream: Any, duration: float) -> list[str]:
    """``RTP-RxStat: Dur=..,Pkt=..,Oct=..,LatePkt=..,LostPkt=..,AvgJit=..`` and
    ``RTP-TxStat: Dur=..,Pkt=..,Oct=..`` from a media stream's counters."""
    st = stream.stats()
    dur = max(0, int(round(duration)))
    return [
        f"RTP-RxStat: Dur={dur},Pkt={st.packets_received},Oct={st.octets_received},"
        f"LatePkt={st.jitter_buffer.late},LostPkt={st.packets_lost},"
        f"AvgJit={int(round(st.jitter_ms * 8))}",  # jitter in timestamp units, as RTCP
        f"RTP-TxStat: Dur={dur},Pkt={st.packets_sent},Oct={st.octets_sent}",
    ]


def _stream_for(app: Any, keys: Any, call_id: str) -> tuple[Any, float] | None:
    now = app.clock.time()
    for view in app.phone.calls():
        if getattr(view, "call_id", "") != call_id:
            continue
        stream = keys.stream(view.id)
        if stream is None:
            return None
        started = view.connected_at if view.connected_at is not None else now
        return stream, now - started
    return None


def with_call_stats(send: SendSip, app: Callable[[], Any], keys: Any) -> SendSip:
    """``send`` that adds the RTP-Stat headers to BYE requests and their 2xx
    (``keys``: the ``mediakeys.MediaKeys`` that remembers each call's stream)."""

    def wrapped(data: bytes, dest: Address, transport: str) -> None:
        head, sep, body = data.partition(b"\r\n\r\n")
        bye = head.startswith(b"BYE ") or (head.startswith(b"SIP/2.0 2")
                                          and _CSEQ_BYE.search(head) is not None)
        m = _CALL_ID.search(head) if bye and sep else None
        found = _stream_for(app(), keys, m.group(1).decode("ascii", "replace")) if m else None
        if found is not None:
            extra = "".join(f"\r\n{h}" for h in stat_headers(*found)).encode("ascii")
            data = head + extra + sep + body
        send(data, dest, transport)

    return wrapped
