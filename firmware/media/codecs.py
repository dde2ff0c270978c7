"""Audio codec descriptors and the RFC 3551 static payload-type table.

Why a separate module: SDP negotiation, the RTP stream and the codec
implementations all need to agree on what "PCMU" means (payload type, RTP
clock rate) without importing each other. RFC 3551 §6 Table 4 fixes the static
audio payload types; dynamic ones (96-127) are bound by ``a=rtpmap``
(RFC 4566 §6). G.722 keeps an RTP clock of 8000 Hz although it samples at
16 kHz (RFC 3551 §4.5.2), hence ``rtp_clock_rate`` vs ``sample_rate``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True, kw_only=True)
class Codec:
    """One RTP payload format as SDP describes it (``a=rtpmap:<pt> <name>/<rate>[/<ch>]``)."""

    payload_type: int
    name: str
    clock_rate: int
    channels: int = 1
    fmtp: str | None = None

    @property
    def key(self) -> tuple[str, int, int]:
        """What makes two descriptions the same format, whatever their payload numbers."""
        return (self.name.lower(), self.clock_rate, self.channels)

    @property
    def is_telephone_event(self) -> bool:
        return self.name.lower() == "telephone-event"

    @property
    def is_comfort_noise(self) -> bool:
        return self.name.lower() == "cn"

    def rtpmap(self) -> str:
        """The ``a=rtpmap`` value, e.g. ``0 PCMU/8000``."""
        tail = f"/{self.channels}" if self.channels != 1 else ""
        return f"{self.payload_type} {self.name}/{self.clock_rate}{tail}"

    def with_payload_type(self, pt: int) -> Codec:
        return replace(self, payload_type=pt)


# RFC 3551 §6, Table 4: static audio payload types.
STATIC_PAYLOAD_TYPES: dict[int, Codec] = {
    pt: Codec(payload_type=pt, name=name, clock_rate=rate, channels=ch)
    for pt, name, rate, ch in (
        (0, "PCMU", 8000, 1),
        (3, "GSM", 8000, 1),
        (4, "G723", 8000, 1),
        (5, "DVI4", 8000, 1),
        (6, "DVI4", 16000, 1),
        (7, "LPC", 8000, 1),
        (8, "PCMA", 8000, 1),
        (9, "G722", 8000, 1),
        (10, "L16", 44100, 2),
        (11, "L16", 44100, 1),
        (12, "QCELP", 8000, 1),
        (13, "CN", 8000, 1),
        (14, "MPA", 90000, 1),
        (15, "G728", 8000, 1),
        (16, "DVI4", 11025, 1),
        (17, "DVI4", 22050, 1),
        (18, "G729", 8000, 1),
    )
}

PCMU = STATIC_PAYLOAD_TYPES[0]
PCMA = STATIC_PAYLOAD_TYPES[8]
G722 = STATIC_PAYLOAD_TYPES[9]
DEFAULT_DTMF_PAYLOAD = 101


def telephone_event(pt: int = DEFAULT_DTMF_PAYLOAD) -> Codec:
    """RFC 4733 named telephone events 0-15 (the 16 DTMF digits)."""
    return Codec(payload_type=pt, name="telephone-event", clock_rate=8000, fmtp="0-15")


# Codecs this firmware can encode and decode, by the names a Cisco config uses
# for ``preferred_codec`` (g711ulaw / g711alaw) and by their SDP names.
_SUPPORTED = {"pcmu": PCMU, "g711ulaw": PCMU, "pcma": PCMA, "g711alaw": PCMA, "g722": G722}


def codec_by_name(name: str) -> Codec | None:
    """A supported codec by config name ('g711ulaw') or SDP name ('PCMU'), case-insensitive."""
    return _SUPPORTED.get(name.strip().lower())


def offer_order(preferred: str | None, available: tuple[Codec, ...] = (PCMU, PCMA)) -> tuple[Codec, ...]:
    """``available`` with the ``preferred_codec`` moved to the front (the offer order).

    Pass ``framecodec.supported_codecs()`` as ``available`` to include G.722
    when this build has it.
    """
    first = codec_by_name(preferred) if preferred else None
    if first is None or first.key not in {c.key for c in available}:
        return available
    return (first, *[c for c in available if c.key != first.key])


def codec_preference(order: tuple[str, ...], preferred: str | None,
                     available: tuple[Codec, ...] = (PCMU, PCMA)) -> tuple[Codec, ...]:
    """The codecs to offer and accept, best first: ``order`` (config names such as
    ``codec_order: g722,g711ulaw``) with ``preferred`` (``preferred_codec``) moved to the
    front when ``order`` has it, keeping only what this build can run (``available``).
    Never empty: with nothing usable left it falls back to ``available``.
    """
    keys = {c.key for c in available}
    listed = [c for name in order if (c := codec_by_name(name)) is not None and c.key in keys]
    first = codec_by_name(preferred) if preferred else None
    chosen: list[Codec] = [first] if first is not None and first in listed else []
    chosen += [c for c in listed if c not in chosen]
    return tuple(dict.fromkeys(chosen)) or available


def supported_codecs() -> tuple[Codec, ...]:
    """What this build can encode and decode, in the default preference order.

    Asked at boot (the offer's codec list), so it looks for the G.722 library
    without importing it: the library (and numpy) load with the first call.
    """
    from importlib.util import find_spec

    return (PCMU, PCMA, G722) if find_spec("G722") is not None else (PCMU, PCMA)
