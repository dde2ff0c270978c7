"""G.711 against ITU-T G.711 / G.191 reference values, and an independent implementation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from firmware.media import g711

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


def test_matches_python_audioop_where_defined() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    data = ALL.tobytes()
    codes = bytes(range(256))
    assert g711.ulaw_decode(codes) == audioop.ulaw2lin(codes, 2)
    assert g711.alaw_decode(codes) == audioop.alaw2lin(codes, 2)
    assert g711.alaw_encode(data) == audioop.lin2alaw(data, 2)
    ours = np.frombuffer(g711.ulaw_encode(data), np.uint8)
    theirs = np.frombuffer(audioop.lin2ulaw(data, 2), np.uint8)
    diff = np.nonzero(ours != theirs)[0]
    # audioop truncates negatives in two's complement, G.191 in one's: they may only
    # disagree on negative inputs, where G.191 is never the farther from the input.
    assert (ALL[diff] < 0).all() and diff.size < 1024
    x = ALL[diff].astype(np.int32)
    d_ours = np.abs(g711.ULAW_DECODE[ours[diff]].astype(np.int32) - x)
    d_theirs = np.abs(g711.ULAW_DECODE[theirs[diff]].astype(np.int32) - x)
    assert (d_ours <= d_theirs).all()


def test_codec_object() -> None:
    c = g711.G711Codec("pcma")
    assert c.name == "PCMA" and c.silence == 0xD5
    with pytest.raises(ValueError):
        g711.G711Codec("G729")
