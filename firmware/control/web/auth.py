"""Logins, sessions and CSRF tokens of the web page.

Why these rules: the page can dial, answer and restart the phone, so off
loopback it sits behind a login with two roles as on Cisco's multiplatform
phones (``user``: handset, lists, settings; ``admin``: everything, status,
configuration, logs, trace, resync, restart). Passwords come from the
configuration, either as given or already hashed (``pbkdf2_sha256$...``, what
``hash_password`` writes); in memory only the PBKDF2 hash is kept, and a login
is compared in constant time. A session is a random token in an HttpOnly,
SameSite=Strict cookie, with its own CSRF token that every POST carries;
sessions expire when idle and their number is bounded, so a flood of
logins costs a fixed amount of memory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["user", "admin"]
ROLES: tuple[Role, ...] = ("user", "admin")
COOKIE = "piphone_session"
PBKDF2_ITERATIONS = 100_000
MAX_SESSIONS = 32
IDLE_SECONDS = 30 * 60
#: After this many failed logins in a row, each next attempt waits ``LOCKOUT_SECONDS``.
MAX_FAILURES = 5
LOCKOUT_SECONDS = 30.0


def hash_password(password: str, *, salt: bytes | None = None,
                  iterations: int = PBKDF2_ITERATIONS) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<hash>`` (base64), the form a config may store."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    b64 = base64.b64encode
    return f"pbkdf2_sha256${iterations}${b64(salt).decode()}${b64(digest).decode()}"


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """A parsed ``pbkdf2_sha256`` hash; ``check`` compares in constant time."""

    iterations: int
    salt: bytes
    digest: bytes

    @classmethod
    def parse(cls, text: str) -> PasswordHash:
        """A stored hash, or a plain password (hashed here, never kept as given)."""
        parts = text.split("$")
        if len(parts) == 4 and parts[0] == "pbkdf2_sha256" and parts[1].isdecimal():
            try:
                return cls(int(parts[1]), base64.b64decode(parts[2], validate=True),
                           base64.b64decode(parts[3], validate=True))
            except ValueError:
                pass
        return cls.parse(hash_password(text))

    def check(self, password: str) -> bool:
        got = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), self.salt, self.iterations)
        return hmac.compare_digest(got, self.digest)


@dataclass(slots=True, kw_only=True)
class Session:
    token: str
    role: Role
    csrf: str
    last_used: float
    user: str = ""
    data: dict[str, str] = field(default_factory=dict)


class Sessions:
    """Passwords per role and the live sessions (bounded, idle-expired)."""

    def __init__(self, passwords: dict[Role, str] | None = None, *,
                 clock: object = time.monotonic) -> None:
        self._hashes = {role: PasswordHash.parse(pw) for role, pw in (passwords or {}).items() if pw}
        self._live: OrderedDict[str, Session] = OrderedDict()
        self._clock = clock
        self._dummy = PasswordHash.parse(hash_password("-")) if self._hashes else None
        self.failures = 0
        self._locked_until = 0.0

    def _now(self) -> float:
        return float(self._clock())  # type: ignore[operator]

    @property
    def roles_configured(self) -> tuple[Role, ...]:
        return tuple(r for r in ROLES if r in self._hashes)

    def check(self, user: str, password: str) -> bool:
        """The slow part of a login (PBKDF2; releases the GIL, so run it in a thread)."""
        pw = self._hashes.get(user) if user in ROLES else None
        # Hash even for an unknown user, so timing says nothing about which names exist.
        ref = pw or self._dummy
        return ref is not None and ref.check(password) and pw is not None

    def login(self, user: str, password: str, checked: bool | None = None) -> Session | None:
        """A new session when ``user`` (a role name) and ``password`` match; else None.
        ``checked``: the result of ``check`` already computed off the loop."""
        now = self._now()
        if now < self._locked_until:
            return None
        ok = self.check(user, password) if checked is None else checked
        if not ok:
            self.failures += 1
            if self.failures >= MAX_FAILURES:
                self._locked_until = now + LOCKOUT_SECONDS
            return None
        self.failures = 0
        return self.open(user)  # type: ignore[arg-type]

    @property
    def locked(self) -> bool:
        return self._now() < self._locked_until

    def open(self, role: Role) -> Session:
        """A session for ``role`` (a login, or the trusted loopback visitor)."""
        now = self._now()
        self._expire(now)
        while len(self._live) >= MAX_SESSIONS:
            self._live.popitem(last=False)
        s = Session(token=secrets.token_urlsafe(32), role=role, csrf=secrets.token_urlsafe(24),
                    last_used=now, user=role)
        self._live[s.token] = s
        return s

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        now = self._now()
        self._expire(now)
        s = self._live.get(token)
        if s is not None:
            s.last_used = now
            self._live.move_to_end(token)
        return s

    def close(self, token: str | None) -> None:
        if token:
            self._live.pop(token, None)

    def _expire(self, now: float) -> None:
        for token in [t for t, s in self._live.items() if now - s.last_used > IDLE_SECONDS]:
            del self._live[token]

    def __len__(self) -> int:
        return len(self._live)


def csrf_ok(session: Session | None, given: str | None) -> bool:
    return bool(session is not None and given and hmac.compare_digest(given, session.csrf))


def cookie_token(header: str) -> str | None:
    """Our session token from a ``Cookie`` header (other cookies ignored)."""
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return value
    return None


def set_cookie(token: str, *, secure: bool, max_age: int | None = None) -> str:
    attrs = [f"{COOKIE}={token}", "Path=/", "HttpOnly", "SameSite=Strict"]
    if secure:
        attrs.append("Secure")
    if max_age is not None:
        attrs.append(f"Max-Age={max_age}")
    return "; ".join(attrs)
