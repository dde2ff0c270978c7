"""Frame codecs behind one interface: S16_LE 8 kHz in, RTP payload out, and back.

Why: the stream should not care which codec the SDP chose. G.711 (PCMU/PCMA)
is ours (``g711.py``). G.722 comes from the maintained ``G722`` package
(libg722, ITU bit-exact, public domain, wheels for x86_64 and aarch64), used
in its 8 kHz linear mode: the phone's audio path runs at 8 kHz, so a G.722
call interworks with wideband peers (RTP clock 8000 Hz per RFC 3551 §4.5.2,
160 octets per 20 ms) but carries narrowband audio. Without the package the
codec is simply not offered.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import numpy as np

from firmware.media.codecs import G722, PCMA, PCMU, Codec
from firmware.media.g711 import G711Codec

log = logging.getLogger(__name__)


class FrameCodec(Protocol):
    name: str

    def encode(self, pcm: bytes) -> bytes: ...

    def decode(self, payload: bytes) -> bytes: ...


def _g722_class() -> Any:
    try:
        from G722 import G722 as Lib
    except ImportError:
        return None
    return Lib


class G722Codec:
    """One direction's G.722 state (encoder and decoder are stateful: one object per stream)."""

    name = "G722"

    def __init__(self) -> None:
        lib = _g722_class()
        if lib is None:
            raise ValueError("G.722 needs the G722 package")
        self._enc = lib(8000, 64000)
        self._dec = lib(8000, 64000)

    def encode(self, pcm: bytes) -> bytes:
        return bytes(self._enc.encode(np.frombuffer(pcm, dtype="<i2")))

    def decode(self, payload: bytes) -> bytes:
        out = self._dec.decode(payload)
        return out.tobytes() if hasattr(out, "tobytes") else bytes(out)


def make_codec(name: str) -> FrameCodec:
    """A fresh codec for ``name`` (SDP encoding name); ValueError when unsupported."""
    key = name.upper()
    if key in ("PCMU", "PCMA"):
        return G711Codec(key)
    if key == "G722":
        return G722Codec()
    raise ValueError(f"unsupported codec {name}")


def supported_codecs() -> tuple[Codec, ...]:
    """What this build can encode and decode, in the default preference order."""
    return (PCMU, PCMA, G722) if _g722_class() is not None else (PCMU, PCMA)
