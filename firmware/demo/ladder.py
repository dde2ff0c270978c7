"""Ladder (sequence) diagrams built from the SIP messages actually sent.

Why: the Cisco 7960 guide documents each call flow (Appendix B) as a ladder
between the parties. The demo and the flow tests record every datagram that
crossed loopback and draw the same kind of ladder from it, so a reader can
lay our diagram next to the seed's figure and compare, step by step. The
labels come from the wire (request method or status line, plus a hint when
the SDP puts the call on hold), never from what the code meant to send.

Text output is plain ASCII for terminals and READMEs; SVG output is a
self-contained file (no fonts or scripts fetched) for the docs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

Address = tuple[str, int]

MAX_LABEL = 48


@dataclass(frozen=True, slots=True, kw_only=True)
class LadderMessage:
    """One arrow: ``src`` sent ``label`` to ``dst`` at ``at`` (seconds)."""

    at: float
    src: str
    dst: str
    label: str
    call_id: str = ""
    cseq: str = ""


def _header(text: str, *names: str) -> str:
    for line in text.split("\n")[1:]:
        if not line.strip():
            break
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() in names:
            return value.strip()
    return ""


def sip_label(data: bytes) -> tuple[str, str, str] | None:
    """(label, Call-ID, CSeq) of a SIP datagram, or None when it is not SIP.

    The label is the method (``INVITE``) or the status (``180 Ringing``); an
    SDP body adds ``(SDP)``, or ``(SDP hold)`` when it holds the media
    (a=sendonly/inactive or c=0.0.0.0, RFC 3264 §8.4 and RFC 2543 style); a
    BYE carrying ``Also`` (the 7960's transfer) shows ``BYE (Also)``.
    """
    head, _, body = data.partition(b"\r\n\r\n")
    try:
        text = head[:4096].decode("utf-8", "replace").replace("\r\n", "\n")
    except Exception:  # pragma: no cover - decode with "replace" cannot fail
        return None
    first = text.split("\n", 1)[0].strip()
    if first.startswith("SIP/2.0 "):
        label = first[8:]
    else:
        parts = first.split(" ")
        if len(parts) != 3 or not parts[2].startswith("SIP/2.0") or not parts[0].isalpha():
            return None
        label = parts[0]
    if label == "BYE" and _header(text, "also"):
        label += " (Also)"
    ctype = _header(text, "content-type", "c").lower()
    if body.strip() and "sdp" in ctype:
        sdp = body.decode("utf-8", "replace")
        held = any(
            marker in sdp for marker in ("a=sendonly", "a=inactive", "c=IN IP4 0.0.0.0")
        )
        label += " (SDP hold)" if held else " (SDP)"
    return label[:MAX_LABEL], _header(text, "call-id", "i"), _header(text, "cseq")


@dataclass
class MessageLog:
    """Records datagrams between named parties; unnamed addresses show as host:port."""

    names: dict[Address, str] = field(default_factory=dict)
    messages: list[LadderMessage] = field(default_factory=list)
    max_messages: int = 10_000
    dropped: int = 0

    def name(self, addr: Address, name: str) -> None:
        self.names[(addr[0], int(addr[1]))] = name

    def _who(self, addr: Address) -> str:
        return self.names.get((addr[0], int(addr[1])), f"{addr[0]}:{addr[1]}")

    def record(self, at: float, src: Address, dst: Address, data: bytes) -> LadderMessage | None:
        """Log one SIP datagram; non-SIP data (RTP, keep-alives) is ignored."""
        parsed = sip_label(data)
        if parsed is None:
            return None
        if len(self.messages) >= self.max_messages:
            self.dropped += 1
            return None
        label, call_id, cseq = parsed
        msg = LadderMessage(
            at=at, src=self._who(src), dst=self._who(dst), label=label, call_id=call_id, cseq=cseq
        )
        self.messages.append(msg)
        return msg

    def sequence(self) -> list[tuple[str, str, str]]:
        """(src, dst, label without the SDP hint): what flow tests compare with the seed's steps."""
        return [(m.src, m.dst, m.label.split(" (")[0]) for m in self.messages]


def participants_of(messages: Iterable[LadderMessage], order: Sequence[str] = ()) -> list[str]:
    """``order`` first, then anyone else in order of first appearance."""
    out = list(order)
    for m in messages:
        for who in (m.src, m.dst):
            if who not in out:
                out.append(who)
    return out


def render_text(
    messages: Sequence[LadderMessage], order: Sequence[str] = (), title: str = "", col: int = 24
) -> str:
    """An ASCII ladder: one column per party, one numbered arrow per message."""
    parts = participants_of(messages, order)
    if not parts:
        return title + "\n(no messages)\n" if title else "(no messages)\n"
    t0 = messages[0].at if messages else 0.0
    margin = 10
    centers = [margin + col // 2 + i * col for i in range(len(parts))]
    width = centers[-1] + col // 2 + 1

    def blank() -> list[str]:
        row = [" "] * width
        for c in centers:
            row[c] = "|"
        return row

    out: list[str] = []
    if title:
        out.append(title)
        out.append("")
    head = [" "] * width
    for name, c in zip(parts, centers, strict=True):
        label = name[: col - 2]
        start = max(0, c - len(label) // 2)
        head[start : start + len(label)] = list(label)
    out.append("".join(head).rstrip())
    out.append("".join(blank()).rstrip())
    for n, m in enumerate(messages, 1):
        a, b = centers[parts.index(m.src)], centers[parts.index(m.dst)]
        text = f"{n}. {m.label}"
        row = blank()
        stamp = f"{m.at - t0:8.3f}s"
        if a == b:
            row[a + 1 : a + 1 + len(text) + 4] = list(f"<-> {text}")
        else:
            lo, hi = min(a, b), max(a, b)
            for x in range(lo + 1, hi):
                row[x] = "-"
            if b > a:
                row[hi - 1] = ">"
            else:
                row[lo + 1] = "<"
            span = hi - lo - 3
            if len(text) <= span:
                start = lo + 2 + (span - len(text)) // 2
                row[start : start + len(text)] = list(text)
            else:
                above = blank()
                above[lo + 2 : lo + 2 + len(text)] = list(text)
                out.append("".join(above).rstrip())
        line = "".join(row).rstrip()
        out.append(stamp[:margin - 1].ljust(margin) + line[margin:])
    out.append("".join(blank()).rstrip())
    return "\n".join(out) + "\n"


_ARROW_COLOURS = {"1": "#555555", "2": "#1a7f37", "3": "#8250df", "4": "#cf222e", "5": "#cf222e",
                  "6": "#cf222e"}


def _colour(label: str) -> str:
    code = label.split(" ", 1)[0]
    if code.isdigit():
        return _ARROW_COLOURS.get(code[0], "#000000")
    return "#0550ae"


def render_svg(
    messages: Sequence[LadderMessage], order: Sequence[str] = (), title: str = ""
) -> str:
    """A standalone SVG ladder (requests blue, 1xx grey, 2xx green, 3xx purple, errors red)."""
    parts = participants_of(messages, order)
    col, row_h, top, left = 190, 30, 70 if title else 45, 70
    width = left + col * max(1, len(parts)) + 20
    height = top + row_h * (len(messages) + 1) + 20
    centers = [left + col // 2 + i * col for i in range(len(parts))]
    t0 = messages[0].at if messages else 0.0
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans Mono, monospace" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="context-stroke"/></marker></defs>',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    if title:
        svg.append(f'<text x="10" y="22" font-size="14" font-weight="bold">{escape(title)}</text>')
    for name, c in zip(parts, centers, strict=True):
        svg.append(
            f'<rect x="{c - col // 2 + 10}" y="{top - 32}" width="{col - 20}" height="22" '
            'fill="#eef2f7" stroke="#444"/>'
        )
        svg.append(f'<text x="{c}" y="{top - 16}" text-anchor="middle">{escape(name[:24])}</text>')
        svg.append(
            f'<line x1="{c}" y1="{top - 10}" x2="{c}" y2="{height - 10}" stroke="#999" '
            'stroke-dasharray="4 3"/>'
        )
    for n, m in enumerate(messages, 1):
        y = top + row_h * n
        a, b = centers[parts.index(m.src)], centers[parts.index(m.dst)]
        colour = _colour(m.label)
        svg.append(f'<text x="6" y="{y + 4}" fill="#666" font-size="10">{m.at - t0:7.3f}s</text>')
        if a == b:
            b = a + 40
        svg.append(
            f'<line x1="{a}" y1="{y}" x2="{b}" y2="{y}" stroke="{colour}" stroke-width="1.5" '
            'marker-end="url(#arrow)"/>'
        )
        text = f"{n}. {m.label}"
        room = max(14, int(abs(b - a) / 7.3))  # ~7.2 px per glyph at 12 px monospace
        if len(text) > room:
            text = text[: room - 1] + "\u2026"
        svg.append(
            f'<text x="{(a + b) / 2}" y="{y - 5}" text-anchor="middle" fill="{colour}">'
            f"{escape(text)}</text>"
        )
    svg.append("</svg>")
    return "\n".join(svg) + "\n"
