"""RFC 3261 §22 digest authentication client, with RFC 7616 / RFC 8760 algorithms.

Why this shape: the UA answers 401/407 challenges for several usages (a
registration, an INVITE session, an out-of-dialog OPTIONS), each of which
keeps its own ``DigestClient``: the challenge it last saw per realm, the nonce
count for that nonce, and how many times in a row it was rejected. The module
works on header *values* (strings), so it does not depend on the message
model and can be tested with the RFC vectors directly.

Supported: algorithms MD5, MD5-sess, SHA-256, SHA-256-sess (and SHA-512-256
when hashlib has it); qop ``auth`` and ``auth-int``; no-qop RFC 2069 style;
``opaque``; ``stale=true`` (retry with the new nonce, same credentials);
``userhash`` (RFC 7616 §3.4.4); credentials keyed by realm with an optional
any-realm default. A second challenge for a realm with the nonce we already
answered and without ``stale=true`` means the password was refused: the
client reports a failure with that reason instead of looping.

The password never appears in ``repr`` or in log lines.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = [
    "AuthError",
    "Challenge",
    "Credentials",
    "DigestClient",
    "AuthDecision",
    "parse_challenge",
    "compute_response",
    "build_authorization",
    "SUPPORTED_ALGORITHMS",
]

log = logging.getLogger(__name__)

#: Caps on attacker-controlled challenge text.
MAX_CHALLENGE_LENGTH = 4096
MAX_AUTH_PARAMS = 32
#: Non-stale re-challenges with a fresh nonce tolerated before giving up.
MAX_REJECTIONS = 2


def _hasher(name: str) -> Callable[[bytes], str]:
    def digest(data: bytes) -> str:
        return hashlib.new(name, data).hexdigest()

    return digest


_HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": _hasher("md5"),
    "SHA-256": _hasher("sha256"),
}
try:  # OpenSSL builds differ; RFC 7616 lists it, RFC 8760 does too.
    hashlib.new("sha512_256", b"")
    _HASHES["SHA-512-256"] = _hasher("sha512_256")
except ValueError:  # pragma: no cover - depends on the OpenSSL build
    pass

#: Upper-cased algorithm names this client can answer, strongest first.
SUPPORTED_ALGORITHMS: tuple[str, ...] = tuple(
    a
    for base in ("SHA-512-256", "SHA-256", "MD5")
    if base in _HASHES
    for a in (base, base + "-SESS")
)


class AuthError(ValueError):
    """A challenge that cannot be parsed or answered."""


@dataclass(frozen=True, kw_only=True)
class Challenge:
    """One parsed ``WWW-Authenticate`` / ``Proxy-Authenticate`` digest challenge."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False
    userhash: bool = False
    domain: str | None = None
    proxy: bool = False

    @property
    def supported(self) -> bool:
        return self.algorithm in SUPPORTED_ALGORITHMS


@dataclass(frozen=True, kw_only=True)
class Credentials:
    """A username/password, for one realm or (``realm=None``) for any realm.

    ``user`` is the address-of-record user part (a line's number) these answer
    for, when one endpoint carries several lines in one realm; None: any user.
    """

    username: str
    password: str = field(repr=False)
    realm: str | None = None
    user: str | None = None


@dataclass(frozen=True, kw_only=True)
class AuthDecision:
    """Result of ``DigestClient.handle_challenges``: retry, or give up and why."""

    retry: bool
    reason: str = ""


def _parse_params(text: str) -> tuple[str, dict[str, str]]:
    """Split ``Scheme k=v, k="quoted", ...`` into the scheme and a lower-cased param dict."""
    if len(text) > MAX_CHALLENGE_LENGTH:
        raise AuthError("challenge too long")
    text = text.strip()
    sp = 0
    while sp < len(text) and not text[sp].isspace():
        sp += 1
    scheme = text[:sp]
    if not scheme:
        raise AuthError("empty challenge")
    params: dict[str, str] = {}
    i, n = sp, len(text)
    while i < n:
        while i < n and (text[i].isspace() or text[i] == ","):
            i += 1
        if i >= n:
            break
        start = i
        while i < n and text[i] not in "= \t,":
            i += 1
        name = text[start:i].lower()
        while i < n and text[i] in " \t":
            i += 1
        if not name or i >= n or text[i] != "=":
            raise AuthError(f"malformed auth-param near {text[start:start + 20]!r}")
        i += 1
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            buf: list[str] = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(text[i])
                i += 1
            if i >= n:
                raise AuthError(f"unterminated quoted string in {name}")
            i += 1
            value = "".join(buf)
        else:
            start = i
            while i < n and text[i] not in ", \t":
                i += 1
            value = text[start:i]
        if len(params) >= MAX_AUTH_PARAMS:
            raise AuthError("too many auth-params")
        params[name] = value
    return scheme, params


def parse_challenge(value: str, *, proxy: bool = False) -> Challenge:
    """Parse one challenge header value.

    Raises:
        AuthError: not a Digest challenge, or realm/nonce missing, or malformed.
    """
    scheme, params = _parse_params(value)
    if scheme.lower() != "digest":
        raise AuthError(f"unsupported scheme {scheme!r}")
    if "realm" not in params or "nonce" not in params:
        raise AuthError("digest challenge lacks realm or nonce")
    qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
    return Challenge(
        realm=params["realm"],
        nonce=params["nonce"],
        algorithm=params.get("algorithm", "MD5").upper() or "MD5",
        qop=qop,
        opaque=params.get("opaque"),
        stale=params.get("stale", "").lower() == "true",
        userhash=params.get("userhash", "").lower() == "true",
        domain=params.get("domain"),
        proxy=proxy,
    )


def _base_algorithm(algorithm: str) -> str:
    algorithm = algorithm.upper()
    return algorithm[:-5] if algorithm.endswith("-SESS") else algorithm


def compute_response(
    *,
    algorithm: str,
    username: str,
    password: str,
    realm: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None = None,
    nc: int = 1,
    cnonce: str = "",
    body: bytes = b"",
) -> str:
    """The ``response`` value (RFC 7616 §3.4.1, RFC 2617 §3.2.2.1)."""
    algorithm = algorithm.upper()
    base = _base_algorithm(algorithm)
    if base not in _HASHES:
        raise AuthError(f"unsupported algorithm {algorithm}")
    h = _HASHES[base]
    ha1 = h(f"{username}:{realm}:{password}".encode())
    if algorithm.endswith("-SESS"):
        ha1 = h(f"{ha1}:{nonce}:{cnonce}".encode())
    if qop == "auth-int":
        ha2 = h(f"{method}:{uri}:{h(body)}".encode())
    else:
        ha2 = h(f"{method}:{uri}".encode())
    if qop:
        return h(f"{ha1}:{nonce}:{nc:08x}:{cnonce}:{qop}:{ha2}".encode())
    return h(f"{ha1}:{nonce}:{ha2}".encode())


def _algorithm_token(algorithm: str) -> str:
    """RFC spelling: ``MD5``, ``MD5-sess``, ``SHA-256-sess``."""
    return algorithm[:-5] + "-sess" if algorithm.endswith("-SESS") else algorithm


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_authorization(
    challenge: Challenge,
    credentials: Credentials,
    *,
    method: str,
    uri: str,
    nc: int = 1,
    cnonce: str = "",
    body: bytes = b"",
    qop: str | None = None,
) -> str:
    """The ``Authorization`` / ``Proxy-Authorization`` header value answering ``challenge``.

    ``qop`` defaults to ``auth`` when offered, else ``auth-int``, else none.
    """
    if not challenge.supported:
        raise AuthError(f"unsupported algorithm {challenge.algorithm}")
    if qop is None:
        qop = next((q for q in ("auth", "auth-int") if q in challenge.qop), None)
    if challenge.algorithm.endswith("-SESS") and not cnonce:
        raise AuthError("-sess algorithms need a cnonce")
    response = compute_response(
        algorithm=challenge.algorithm,
        username=credentials.username,
        password=credentials.password,
        realm=challenge.realm,
        nonce=challenge.nonce,
        method=method,
        uri=uri,
        qop=qop,
        nc=nc,
        cnonce=cnonce,
        body=body,
    )
    username = credentials.username
    if challenge.userhash:
        username = _HASHES[_base_algorithm(challenge.algorithm)](
            f"{username}:{challenge.realm}".encode()
        )
    parts = [
        f"username={_quote(username)}",
        f"realm={_quote(challenge.realm)}",
        f"nonce={_quote(challenge.nonce)}",
        f"uri={_quote(uri)}",
        f"response={_quote(response)}",
        f"algorithm={_algorithm_token(challenge.algorithm)}",
    ]
    if qop or challenge.algorithm.endswith("-SESS"):
        parts.append(f"cnonce={_quote(cnonce)}")
    if challenge.opaque is not None:
        parts.append(f"opaque={_quote(challenge.opaque)}")
    if qop:
        parts.append(f"qop={qop}")
        parts.append(f"nc={nc:08x}")
    if challenge.userhash:
        parts.append("userhash=true")
    return "Digest " + ", ".join(parts)


def _default_cnonce() -> str:
    return secrets.token_hex(8)


@dataclass
class _RealmState:
    challenge: Challenge
    nc: int = 0
    cnonce: str = ""
    rejections: int = 0
    answered: bool = False


class DigestClient:
    """Digest state for one usage (a registration, a session, ...).

    Feed every challenge of a 401/407 to ``handle_challenges``; if it says
    retry, resend the request (CSeq+1) with ``authorization_headers``. Call
    ``authorization_headers`` on later requests too (refreshes, in-dialog
    requests): the cached challenge is answered pre-emptively with nc+1.
    """

    def __init__(
        self,
        credentials: Iterable[Credentials] = (),
        *,
        cnonce_factory: Callable[[], str] | None = None,
        user: str | None = None,
    ) -> None:
        """``user``: the From/AOR user part the request is sent as; in a realm
        shared by several lines, that line's credentials answer the challenge."""
        self._by_realm: dict[str | None, Credentials] = {}

        def own(cred: Credentials) -> bool:
            return user is not None and (cred.user or cred.username) == user

        for cred in sorted(credentials, key=own):  # stable: the line's own come last and win
            self._by_realm[cred.realm] = cred
        self._cnonce = cnonce_factory or _default_cnonce
        self._realms: dict[tuple[bool, str], _RealmState] = {}

    def credentials_for(self, realm: str) -> Credentials | None:
        return self._by_realm.get(realm) or self._by_realm.get(None)

    @property
    def has_credentials(self) -> bool:
        return bool(self._by_realm)

    def handle_challenges(self, values: Iterable[str], *, proxy: bool) -> AuthDecision:
        """Take the challenge header values of one 401 (``proxy=False``) or 407 response."""
        best: dict[str, Challenge] = {}
        errors: list[str] = []
        for value in values:
            try:
                ch = parse_challenge(value, proxy=proxy)
            except AuthError as exc:
                errors.append(str(exc))
                continue
            if not ch.supported:
                errors.append(f"unsupported algorithm {ch.algorithm}")
                continue
            prev = best.get(ch.realm)
            if prev is None or SUPPORTED_ALGORITHMS.index(ch.algorithm) < SUPPORTED_ALGORITHMS.index(
                prev.algorithm
            ):
                best[ch.realm] = ch
        if not best:
            reason = "no usable digest challenge" + (f" ({'; '.join(errors)})" if errors else "")
            return AuthDecision(retry=False, reason=reason)
        for realm, ch in best.items():
            cred = self.credentials_for(realm)
            if cred is None:
                return AuthDecision(retry=False, reason=f"no credentials for realm {realm!r}")
            key = (proxy, realm)
            old = self._realms.get(key)
            if old is not None and old.answered and not ch.stale:
                if ch.nonce == old.challenge.nonce:
                    return AuthDecision(
                        retry=False,
                        reason=f"credentials for {cred.username!r} rejected by realm {realm!r}",
                    )
                if old.rejections + 1 > MAX_REJECTIONS:
                    return AuthDecision(
                        retry=False,
                        reason=f"realm {realm!r} keeps challenging {cred.username!r}",
                    )
                self._realms[key] = _RealmState(challenge=ch, rejections=old.rejections + 1)
            else:
                rejections = old.rejections if old is not None else 0
                self._realms[key] = _RealmState(challenge=ch, rejections=rejections)
            log.debug("digest challenge realm=%s alg=%s stale=%s", realm, ch.algorithm, ch.stale)
        return AuthDecision(retry=True)

    def succeeded(self) -> None:
        """The authenticated request got a non-401/407 answer: clear rejection counts."""
        for state in self._realms.values():
            state.rejections = 0

    def forget(self) -> None:
        self._realms.clear()

    def authorization_headers(
        self, method: str, uri: str, body: bytes = b""
    ) -> list[tuple[str, str]]:
        """(header name, value) pairs answering every cached challenge."""
        out: list[tuple[str, str]] = []
        for (proxy, realm), state in self._realms.items():
            cred = self.credentials_for(realm)
            if cred is None:
                continue
            ch = state.challenge
            state.nc += 1
            if not state.cnonce or not ch.algorithm.endswith("-SESS"):
                state.cnonce = self._cnonce()
            value = build_authorization(
                ch, cred, method=method, uri=uri, nc=state.nc, cnonce=state.cnonce, body=body
            )
            state.answered = True
            out.append(("Proxy-Authorization" if proxy else "Authorization", value))
        return out
