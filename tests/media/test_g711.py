"""G.711 against ITU-T G.711 / G.191 reference values, and an independent reference written
from the standard's segment and quantisation rules (no audioop: gone in Python 3.13)."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.media import g711

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland

ALL = np.arange(-32768, 32768, dtype="<i2")


def test_silence_codes() -> None:
    assert g711.ulaw_encode(bytes(320)) == b"\xff" * 160
    assert g711.alaw_encode(bytes(320)) == b"\xd5" * 160
    assert g711.ulaw_decode(b"\xff\x7f") == bytes(4)  # +0 and -0
    assert np.frombuffer(g711.alaw_decode(b"\xd5\x55"), "<i2").tolist() == [8, -8]


@pytest.mark.parametrize(
    ("code", "value"),
    # ITU-T G.711 Table 2a (mu-law) decoder outputs, scaled to 16 bits (x4)
    [(0x00, -32124), (0x80, 32124), (0x0F, -16764), (0x8F, 16764), (0x70, -120), (0xF0, 120),
     (0x7E, -8), (0xFE, 8), (0xFF, 0), (0x7F, 0)],
)
def test_ulaw_decode_reference(code: int, value: int) -> None:
    assert int(g711.ULAW_DECODE[code]) == value


@pytest.mark.parametrize(
    ("code", "value"),
    # ITU-T G.711 Table 1a (A-law) decoder outputs, scaled to 16 bits (x8); even bits inverted
    [(0xAA, 32256), (0x2A, -32256), (0xD5, 8), (0x55, -8), (0xD4, 24), (0xC5, 264),
     (0xA5, 16896), (0xFA, 1008), (0xEA, 2016)],
)
def test_alaw_decode_reference(code: int, value: int) -> None:
    assert int(g711.ALAW_DECODE[code]) == value


@pytest.mark.parametrize(
    ("sample", "ulaw", "alaw"),
    [(0, 0xFF, 0xD5), (-1, 0x7F, 0x55), (32767, 0x80, 0xAA), (-32768, 0x00, 0x2A),
     (1000, 0xCE, 0xFA), (-1000, 0x4E, 0x7A), (8, 0xFE, 0xD5), (16, 0xFD, 0xD4)],
)
def test_encode_reference_pairs(sample: int, ulaw: int, alaw: int) -> None:
    pcm = np.array([sample], dtype="<i2").tobytes()
    assert g711.ulaw_encode(pcm)[0] == ulaw
    assert g711.alaw_encode(pcm)[0] == alaw


def test_round_trip_error_is_within_half_a_step() -> None:
    for enc, dec, table in ((g711.ulaw_encode, g711.ulaw_decode, g711.ULAW_DECODE),
                            (g711.alaw_encode, g711.alaw_decode, g711.ALAW_DECODE)):
        back = np.frombuffer(dec(enc(ALL.tobytes())), "<i2").astype(np.int32)
        err = np.abs(back - ALL.astype(np.int32))
        levels = np.unique(table.astype(np.int32))
        # the largest quantisation step of the law bounds the error (plus clipping at the ends)
        inner = np.abs(ALL.astype(np.int32)) <= levels.max()
        assert err[inner].max() <= np.diff(levels).max() // 2 + 1


def test_encode_decode_is_identity_on_codes() -> None:
    codes = bytes(range(256))
    assert g711.ulaw_encode(g711.ulaw_decode(codes)) == bytes(
        c if c != 0x7F else 0xFF for c in codes)  # -0 re-encodes as +0
    assert g711.alaw_encode(g711.alaw_decode(codes)) == codes


def test_one_complement_symmetry() -> None:
    pos = ALL[ALL >= 0]
    neg = (-pos.astype(np.int32) - 1).astype("<i2")  # ~x
    for table in (g711.ULAW_ENCODE, g711.ALAW_ENCODE):
        a = table[pos.astype(np.int32) + 32768]
        b = table[neg.astype(np.int32) + 32768]
        assert np.array_equal(a ^ 0x80, b)


# ---------------------------------------------------------------------------------------
# An independent reference, written from the standard's own description: G.711 Table 1
# (A-law) and Table 2 (mu-law) divide the input magnitude into 8 segments of 16 equal
# quantisation intervals, each segment's step twice the one before; the decoder puts out
# the middle of the interval. Segment end points and steps are listed as the tables give
# them (13-bit A-law and 14-bit mu-law magnitudes), and every sample is placed by a plain
# search, no bit tricks, so this shares nothing with firmware/media/g711.py but the
# standard. 16-bit samples map to those magnitudes as ITU-T G.191 does: the top 13 (A)
# or 14 (mu) bits, negatives in one's complement (-1 is -0).

#: (first magnitude, step) of each segment; A-law: 0..4095, segments 0 and 1 both step 2
A_SEGMENTS = [(0, 2), (32, 2), (64, 4), (128, 8), (256, 16), (512, 32), (1024, 64), (2048, 128)]
#: mu-law: 0..8158; segment 0's first interval is one unit wide (-1..0 on the table's grid)
MU_SEGMENTS = [(-1, 2), (31, 4), (95, 8), (223, 16), (479, 32), (991, 64), (2015, 128),
               (4063, 256)]


def _place(magnitude: int, segments: list[tuple[int, int]]) -> tuple[int, int]:
    """(segment, interval) holding ``magnitude``; beyond the last interval: the last."""
    for seg in range(7, -1, -1):
        first, step = segments[seg]
        if magnitude >= first:
            return seg, min((magnitude - first) // step, 15)
    return 0, 0


def _middle(seg: int, interval: int, segments: list[tuple[int, int]]) -> int:
    first, step = segments[seg]
    return max(first + interval * step + step // 2, 0)


def _ref_alaw(sample: int) -> int:
    positive = sample >= 0
    magnitude = (sample if positive else -sample - 1) >> 3
    seg, interval = _place(magnitude, A_SEGMENTS)
    return ((0x80 if positive else 0) | seg << 4 | interval) ^ 0x55  # even bits inverted


def _ref_ulaw(sample: int) -> int:
    positive = sample >= 0
    magnitude = (sample if positive else -sample - 1) >> 2
    seg, interval = _place(magnitude, MU_SEGMENTS)
    return (0x80 if positive else 0) | (0x7F - (seg << 4 | interval))  # magnitude inverted


def _ref_alaw_decode(code: int) -> int:
    c = code ^ 0x55
    value = _middle(c >> 4 & 7, c & 15, A_SEGMENTS) << 3
    return value if c & 0x80 else -value


def _ref_ulaw_decode(code: int) -> int:
    c = 0x7F - (code & 0x7F)
    value = _middle(c >> 4, c & 15, MU_SEGMENTS) << 2
    return value if code & 0x80 else -value


def test_every_code_decodes_as_the_standard_tables_say() -> None:
    codes = bytes(range(256))
    assert np.frombuffer(g711.alaw_decode(codes), "<i2").tolist() == [
        _ref_alaw_decode(c) for c in codes]
    assert np.frombuffer(g711.ulaw_decode(codes), "<i2").tolist() == [
        _ref_ulaw_decode(c) for c in codes]


def test_every_16_bit_sample_encodes_as_the_standard_tables_say() -> None:
    data = ALL.tobytes()
    samples = ALL.tolist()
    assert list(g711.alaw_encode(data)) == [_ref_alaw(x) for x in samples]
    assert list(g711.ulaw_encode(data)) == [_ref_ulaw(x) for x in samples]


def test_the_reference_itself_meets_the_published_values() -> None:
    """The reference must be able to fail: it reproduces Tables 1a/2a's end values."""
    assert (_ref_ulaw_decode(0x80), _ref_ulaw_decode(0x00), _ref_ulaw_decode(0xFF)) == (
        32124, -32124, 0)
    assert (_ref_alaw_decode(0xAA), _ref_alaw_decode(0xD5), _ref_alaw_decode(0x55)) == (
        32256, 8, -8)
    assert (_ref_ulaw(0), _ref_ulaw(-1), _ref_alaw(0), _ref_alaw(-1)) == (0xFF, 0x7F, 0xD5, 0x55)
    assert (_ref_ulaw(1000), _ref_alaw(1000)) == (0xCE, 0xFA)


def test_codec_object() -> None:
    c = g711.G711Codec("pcma")
    assert c.name == "PCMA" and c.silence == 0xD5
    with pytest.raises(ValueError):
        g711.G711Codec("G729")
