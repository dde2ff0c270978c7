"""SRTP with SDES keys (RFC 3711, RFC 4568), sans-IO: crypto lines and packet protection.

Why a module of its own: the keying (``a=crypto`` lines, RFC 4568 §9) and the
packet transform (libsrtp through ``pylibsrtp``) are one job that the SDP
offer/answer and the media stream both use, and a reviewer checks it against
the two RFCs in one place.

* ``CryptoAttribute``: one ``a=crypto:<tag> <suite> inline:<key||salt>``.
* ``offer_crypto`` makes our offer's lines (both suites, fresh keys from the
  OS CSPRNG, AES_CM_128_HMAC_SHA1_80 first); ``answer_crypto`` picks the first
  offered line we support and answers it with the same tag and suite and a
  key of our own (RFC 4568 §7.1.2); ``select_answer`` matches an answer to
  our offer (§7.1.3).
* ``SrtpContext`` protects what we send with our key and unprotects what we
  receive with the peer's, RTP and RTCP (SRTCP) alike; a packet that fails
  authentication or replays is dropped by the caller (``None``).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pylibsrtp

__all__ = [
    "SUITES", "CryptoAttribute", "SrtpContext", "answer_crypto", "offer_crypto",
    "parse_crypto", "select_answer",
]

#: Suites we speak, in our preference order -> libsrtp profile.
SUITES: dict[str, int] = {
    "AES_CM_128_HMAC_SHA1_80": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    "AES_CM_128_HMAC_SHA1_32": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
}
KEY_SALT_LEN = 30  # 128-bit master key + 112-bit master salt (RFC 4568 §6.2)



@dataclass(frozen=True, slots=True)
class CryptoAttribute:
    """One SDES crypto line: tag, suite, and the 30-byte master key || salt."""

    tag: int
    suite: str
    key: bytes

    def value(self) -> str:
        """The attribute value (after ``a=crypto:``)."""
        return f"{self.tag} {self.suite} inline:{base64.b64encode(self.key).decode()}"


def parse_crypto(value: str) -> CryptoAttribute | None:
    """A crypto attribute value, or None when malformed or asking for session
    parameters we do not implement (UNENCRYPTED_SRTP, KDR...; RFC 4568 §6.3).
    A lifetime or MKI after the key (``|2^31|1:1``) is accepted and ignored."""
    parts = value.split()
    if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 9:
        return None
    method, _, key_info = parts[2].partition(":")
    if method != "inline" or not key_info:
        return None
    try:
        key = base64.b64decode(key_info.split("|", 1)[0], validate=True)
    except ValueError:
        return None
    if len(key) != KEY_SALT_LEN:
        return None
    return CryptoAttribute(int(parts[0]), parts[1].upper(), key)


def offer_crypto(random: Callable[[int], bytes] = secrets.token_bytes) -> tuple[CryptoAttribute, ...]:
    """Our offer's crypto lines: every suite we speak, each with a fresh key."""
    return tuple(CryptoAttribute(i, suite, random(KEY_SALT_LEN))
                 for i, suite in enumerate(SUITES, start=1))


def answer_crypto(offered: Iterable[str], random: Callable[[int], bytes] = secrets.token_bytes
                  ) -> tuple[CryptoAttribute, CryptoAttribute] | None:
    """(their line, our answer line) for the first offered line we support, or None."""
    for value in offered:
        theirs = parse_crypto(value)
        if theirs is not None and theirs.suite in SUITES:
            return theirs, CryptoAttribute(theirs.tag, theirs.suite, random(KEY_SALT_LEN))
    return None


def select_answer(ours: Iterable[CryptoAttribute], answered: Iterable[str]
                  ) -> tuple[CryptoAttribute, CryptoAttribute] | None:
    """(our line, their line) for the answer's crypto line matching one of our offer's."""
    by_tag = {c.tag: c for c in ours}
    for value in answered:
        theirs = parse_crypto(value)
        if theirs is None:
            continue
        mine = by_tag.get(theirs.tag)
        if mine is not None and mine.suite == theirs.suite:
            return mine, theirs
    return None


def _policy(key: bytes, suite: str, inbound: bool) -> pylibsrtp.Policy:
    return pylibsrtp.Policy(
        key=key, srtp_profile=SUITES[suite],
        ssrc_type=(pylibsrtp.Policy.SSRC_ANY_INBOUND if inbound
                   else pylibsrtp.Policy.SSRC_ANY_OUTBOUND))


class SrtpContext:
    """Both directions of one SRTP session: ``local`` keys what we send, ``remote``
    what we receive (the same suite, RFC 4568 §6.1)."""

    def __init__(self, local: CryptoAttribute, remote: CryptoAttribute) -> None:
        if local.suite != remote.suite or local.suite not in SUITES:
            raise ValueError(f"unusable crypto suites {local.suite}/{remote.suite}")
        self.suite = local.suite
        self._tx = pylibsrtp.Session(_policy(local.key, local.suite, inbound=False))
        self._rx = pylibsrtp.Session(_policy(remote.key, remote.suite, inbound=True))
        self.auth_failures = 0

    def protect(self, packet: bytes) -> bytes:
        return self._tx.protect(packet)

    def protect_rtcp(self, packet: bytes) -> bytes:
        return self._tx.protect_rtcp(packet)

    def unprotect(self, packet: bytes) -> bytes | None:
        """The plain RTP packet, or None (failed authentication, replay, garbage)."""
        try:
            return self._rx.unprotect(packet)
        except pylibsrtp.Error:
            self.auth_failures += 1
            return None

    def unprotect_rtcp(self, packet: bytes) -> bytes | None:
        try:
            return self._rx.unprotect_rtcp(packet)
        except pylibsrtp.Error:
            self.auth_failures += 1
            return None
