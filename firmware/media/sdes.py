"""SDES in offer/answer (RFC 4568 §5-§7): when a call's audio is SRTP, and with which keys.

Why a module of its own: ``firmware.media.srtp`` knows the crypto lines and
the packet transform; ``firmware.media.sdp`` knows codecs and hold. Which
stream of an offer is acceptable under ``srtp_mode``, which crypto line we
offer or answer, and what the two descriptions agreed on is the policy
between them, read by a security review in one place.

The policy, as desk phones do it (Cisco, Yealink "optional"):

* ``off``: offer plain RTP/AVP without keys; an offer that is RTP/SAVP only
  is refused (488); a best-effort offer (RTP/AVP carrying ``a=crypto``) is
  answered in the clear.
* ``optional``: offer RTP/AVP *with* ``a=crypto`` lines (best-effort SRTP: a
  peer that knows SDES answers with a key and the audio is encrypted, one
  that does not answers plain and the call still works); accept RTP/SAVP,
  best-effort or plain offers. A peer that takes SRTP only (RTP/SAVP) refuses
  the best-effort offer with 488; the call is then tried once more with an
  RTP/SAVP offer (``SrtpPolicy.savp``).
* ``mandatory``: offer RTP/SAVP; a plain offer (no usable ``a=crypto``) is
  refused with 488, and so is an answer without keys.

Keys travel in the SDP in the clear, so they are put in (and accepted from) a
description only when the signalling path is TLS (``sips:`` or
``transport=tls``), unless ``srtp_over_plain`` says otherwise
(``SrtpPolicy.keys_allowed``). Without that, ``optional`` behaves like ``off``
and ``mandatory`` refuses every call.

Our master keys (one per suite, from the OS CSPRNG) stay the same for the
whole call, in every re-offer and re-answer, so a hold or resume never resets
the peer's SRTP state; a peer that re-keys in a new offer is followed (the
receive context is rebuilt when its key changes, ``srtp.SrtpContext.rekey``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from firmware.media.sdp_wire import MediaDescription
from firmware.media.srtp import KEY_SALT_LEN, SUITES, CryptoAttribute, parse_crypto

__all__ = [
    "MODES", "PLAIN", "SAVP_PROTOS", "CryptoPair", "LocalKeys", "SrtpPolicy", "agreed_crypto",
    "answer_line", "crypto_of", "offer_lines",
]

MODES = ("off", "optional", "mandatory")
SAVP_PROTOS = frozenset({"RTP/SAVP", "RTP/SAVPF"})
#: (our line, the peer's line): what we send with, what we receive with
CryptoPair = tuple[CryptoAttribute, CryptoAttribute]


@dataclass(frozen=True, slots=True)
class SrtpPolicy:
    """``srtp_mode`` plus whether keys may go over this call's signalling path.

    ``savp``: offer RTP/SAVP although the mode is ``optional``: the retry after a
    peer refused our best-effort offer with 488 (an SRTP-only peer).
    """

    mode: str = "off"
    keys_allowed: bool = False
    savp: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"srtp_mode must be one of {', '.join(MODES)}, not {self.mode!r}")

    @property
    def offers_keys(self) -> bool:
        return self.mode != "off" and self.keys_allowed

    @property
    def offer_proto(self) -> str:
        """RTP/SAVP only when mandatory: a best-effort offer must stay readable by any phone."""
        savp = self.mode == "mandatory" or (self.mode == "optional" and self.savp)
        return "RTP/SAVP" if savp and self.keys_allowed else "RTP/AVP"

    @property
    def refusal(self) -> str | None:
        """Why no call can be made at all under this policy (mandatory over plain signalling)."""
        if self.mode == "mandatory" and not self.keys_allowed:
            return "SRTP needs TLS signalling"
        return None


#: no SRTP: the default of the SDP functions (and of ``srtp_mode: off``)
PLAIN = SrtpPolicy()


@dataclass(slots=True)
class LocalKeys:
    """Our master key + salt per suite for one call, made on first use and then kept."""

    random: Callable[[int], bytes] = secrets.token_bytes
    keys: dict[str, bytes] = field(default_factory=dict)

    def key(self, suite: str) -> bytes:
        if suite not in self.keys:
            self.keys[suite] = self.random(KEY_SALT_LEN)
        return self.keys[suite]


def crypto_of(m: MediaDescription) -> list[CryptoAttribute]:
    """The stream's well-formed ``a=crypto`` lines, in their order."""
    out = []
    for name, value in m.attributes:
        if name == "crypto" and value and (c := parse_crypto(value)) is not None:
            out.append(c)
    return out


def offer_lines(policy: SrtpPolicy, keys: LocalKeys) -> tuple[CryptoAttribute, ...]:
    """Our offer's crypto lines: every suite we speak, tags 1.., our kept keys (or none)."""
    if not policy.offers_keys:
        return ()
    return tuple(CryptoAttribute(tag, suite, keys.key(suite))
                 for tag, suite in enumerate(SUITES, start=1))


def answer_line(m: MediaDescription, policy: SrtpPolicy, keys: LocalKeys
                ) -> CryptoAttribute | str | None:
    """Our answer's crypto line for offered stream ``m``.

    A ``CryptoAttribute``: answer with SRTP (the first offered line whose suite
    we speak, its tag, our key). ``None``: answer plain RTP. A ``str``: this
    stream cannot be accepted, and why.
    """
    savp = m.proto in SAVP_PROTOS
    if not policy.offers_keys:
        if savp:
            return ("SRTP offered, srtp_mode is off" if policy.mode == "off"
                    else "SRTP offered over plain signalling")
        return policy.refusal  # mandatory without TLS refuses; otherwise plain
    theirs = next((c for c in crypto_of(m) if c.suite in SUITES), None)
    if theirs is None:
        if savp:
            return "no supported SRTP crypto suite offered"
        return "plain RTP offered, srtp_mode is mandatory" if policy.mode == "mandatory" else None
    return CryptoAttribute(theirs.tag, theirs.suite, keys.key(theirs.suite))


def agreed_crypto(local: MediaDescription, remote: MediaDescription, *, local_is_offer: bool
                  ) -> CryptoPair | str | None:
    """The keys both descriptions agreed on: (ours, theirs), None (plain RTP) or why not usable.

    Works from the two descriptions alone (our lines carry our keys), so the
    early-media answer of a 183 reads like the final one. The answer carries
    one line; it is matched to the offer's by tag and suite (RFC 4568 §7.1.3).
    An RTP/SAVP stream without matching keys cannot carry audio at all.
    """
    offer_m = local if local_is_offer else remote
    ours, theirs = crypto_of(local), crypto_of(remote)
    by_tag = {c.tag: c for c in ours}
    for t in theirs:
        mine = by_tag.get(t.tag)
        if mine is not None and mine.suite == t.suite and t.suite in SUITES:
            return mine, t
    if offer_m.proto in SAVP_PROTOS or (ours and theirs):
        return "no agreed SRTP keys"
    return None
