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
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # libsrtp (cffi) loads with the first SRTP call, not at boot
    import pylibsrtp

__all__ = [
    "SUITES", "CryptoAttribute", "SrtpContext", "answer_crypto", "context_for", "offer_crypto",
    "parse_crypto", "select_answer",
]

#: Suites we speak, in our preference order -> the libsrtp profile's name in
#: ``pylibsrtp.Policy`` (looked up when a session is made: importing libsrtp's
#: binding costs ~9 ms and ~2 MB, which a phone pays only once a call is encrypted).
SUITES: dict[str, str] = {
    "AES_CM_128_HMAC_SHA1_80": "SRTP_PROFILE_AES128_CM_SHA1_80",
    "AES_CM_128_HMAC_SHA1_32": "SRTP_PROFILE_AES128_CM_SHA1_32",
}


def _lib() -> ModuleType:
    import pylibsrtp

    return pylibsrtp
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
    A lifetime after the key (``|2^31``) is accepted and ignored (a call never
    comes near it); a line with an MKI (``|2^31|1:1``, ``|1:4``) is not usable:
    every packet would then carry the MKI, which our libsrtp binding cannot
    add or strip, so the answer takes another line or the offer gets 488."""
    parts = value.split()
    if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 9:
        return None
    method, _, key_info = parts[2].partition(":")
    if method != "inline" or not key_info:
        return None
    key_b64, *params = key_info.split("|")
    if len(params) > 2 or any(":" in p for p in params):  # an MKI
        return None
    try:
        key = base64.b64decode(key_b64, validate=True)
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
    policy = _lib().Policy
    return policy(
        key=key, srtp_profile=getattr(policy, SUITES[suite]),
        ssrc_type=(policy.SSRC_ANY_INBOUND if inbound else policy.SSRC_ANY_OUTBOUND))


class SrtpContext:
    """Both directions of one SRTP session: ``local`` keys what we send, ``remote``
    what we receive (the same suite, RFC 4568 §6.1)."""

    def __init__(self, local: CryptoAttribute, remote: CryptoAttribute) -> None:
        #: SRTP packets dropped as not authentic (or replayed)
        self.auth_failures = 0
        lib = _lib()
        self._session, self._error = lib.Session, lib.Error
        #: SRTCP packets dropped so: apart, because some peers send plain RTCP keep-alives
        #: (baresip's APP "PING") to a port that is already open for the call
        self.rtcp_auth_failures = 0
        self.local: CryptoAttribute | None = None
        self.remote: CryptoAttribute | None = None
        self._rx_old: pylibsrtp.Session | None = None
        self.rekey(local, remote)

    def rekey(self, local: CryptoAttribute, remote: CryptoAttribute) -> None:
        """Apply a new offer/answer's keys; a direction whose key and suite did not
        change keeps its libsrtp state (rollover counter, replay window), so a
        re-INVITE that repeats the keys (hold, resume) does not disturb the audio."""
        if local.suite != remote.suite or local.suite not in SUITES:
            raise ValueError(f"unusable crypto suites {local.suite}/{remote.suite}")
        self.suite = local.suite
        if self.local is None or (self.local.suite, self.local.key) != (local.suite, local.key):
            self._tx = self._session(_policy(local.key, local.suite, inbound=False))
        if self.remote is None or (self.remote.suite, self.remote.key) != (remote.suite, remote.key):
            # packets the peer sent with its old key are still on the way: the old
            # context reads them until the first packet under the new key arrives
            self._rx_old = getattr(self, "_rx", None)
            self._rx = self._session(_policy(remote.key, remote.suite, inbound=True))
        self.local, self.remote = local, remote

    def protect(self, packet: bytes) -> bytes:
        return self._tx.protect(packet)

    def protect_rtcp(self, packet: bytes) -> bytes:
        return self._tx.protect_rtcp(packet)

    def unprotect(self, packet: bytes) -> bytes | None:
        """The plain RTP packet, or None (failed authentication, replay, garbage)."""
        return self._unprotect(packet, rtcp=False)

    def unprotect_rtcp(self, packet: bytes) -> bytes | None:
        return self._unprotect(packet, rtcp=True)

    def _unprotect(self, packet: bytes, *, rtcp: bool) -> bytes | None:
        try:
            plain = self._rx.unprotect_rtcp(packet) if rtcp else self._rx.unprotect(packet)
        except self._error:
            plain = None
        if plain is not None:
            if not rtcp:
                self._rx_old = None  # the peer sends under its new key now
            return plain
        if self._rx_old is not None:
            try:
                return (self._rx_old.unprotect_rtcp(packet) if rtcp
                        else self._rx_old.unprotect(packet))
            except self._error:
                pass
        if rtcp:
            self.rtcp_auth_failures += 1
        else:
            self.auth_failures += 1
        return None


def context_for(current: SrtpContext | None,
                crypto: tuple[CryptoAttribute, CryptoAttribute] | None) -> SrtpContext | None:
    """The stream's SRTP context after a (re-)negotiation: None for plain RTP, the
    same context re-keyed where keys changed, or a new one."""
    if crypto is None:
        return None
    if current is None:
        return SrtpContext(*crypto)
    current.rekey(*crypto)
    return current
