"""Frame codecs behind one interface: S16_LE 8 kHz in, RTP payload out, and back.

Why: the stream should not care which codec the SDP chose. G.711 (PCMU/PCMA)
is ours (``g711.py``). G.722 comes from the maintained ``G722`` package
(libg722, ITU bit-exact, public domain, wheels for x86_64 and aarch64), used
natively at 16 kHz when the audio device runs at 16 kHz (true wideband), or
in its 8 kHz linear mode on an 8 kHz device (interworks, narrowband audio);
either way the RTP clock is 8000 Hz (RFC 3551 §4.5.2), 160 octets per 20 ms.
On a 16 kHz device G.711 is resampled 2:1 (``hal.resample``, the phone's one
resampler). Without the
package G.722 is simply not offered.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import numpy as np

from firmware.media.g711 import G711Codec
from hal.resample import Downsampler, Upsampler

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
    """One direction's G.722 state (encoder and decoder are stateful: one object per stream).

    ``pcm_rate`` 16000 is true wideband; 8000 is libg722's narrowband mode
    (same wire format) for an 8 kHz audio path.
    """

    name = "G722"

    def __init__(self, pcm_rate: int = 8000) -> None:
        lib = _g722_class()
        if lib is None:
            raise ValueError("G.722 needs the G722 package")
        self._enc = lib(pcm_rate, 64000)
        self._dec = lib(pcm_rate, 64000)

    def encode(self, pcm: bytes) -> bytes:
        return bytes(self._enc.encode(np.frombuffer(pcm, dtype="<i2")))

    def decode(self, payload: bytes) -> bytes:
        out = self._dec.decode(payload)
        return out.tobytes() if hasattr(out, "tobytes") else bytes(out)


class Resampled:
    """An 8 kHz codec behind a 16 kHz audio path (G.711 on a wideband handset)."""

    def __init__(self, inner: FrameCodec) -> None:
        self.inner = inner
        self.name = inner.name
        self._down = Downsampler()
        self._up = Upsampler()

    def encode(self, pcm: bytes) -> bytes:
        return self.inner.encode(self._down.process(pcm))

    def decode(self, payload: bytes) -> bytes:
        return self._up.process(self.inner.decode(payload))


def make_codec(name: str, pcm_rate: int = 8000) -> FrameCodec:
    """A fresh codec for ``name`` (SDP encoding name) taking/giving PCM at ``pcm_rate``
    (8000 or 16000 Hz); ValueError when unsupported."""
    if pcm_rate not in (8000, 16000):
        raise ValueError(f"unsupported audio rate {pcm_rate}")
    key = name.upper()
    if key in ("PCMU", "PCMA"):
        g711 = G711Codec(key)
        return g711 if pcm_rate == 8000 else Resampled(g711)
    if key == "G722":
        return G722Codec(pcm_rate)
    raise ValueError(f"unsupported codec {name}")




def audio_rate(codec: str) -> int:
    """The rate a call's audio runs at from microphone to earpiece: 16 kHz for a wideband
    codec (G.722, whose RTP clock still says 8000), else 8 kHz."""
    return 16000 if codec.upper() == "G722" else 8000
