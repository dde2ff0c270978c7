"""Just enough HTTP/1.1 (RFC 9112) for a JSON control API, with hard limits.

Why not http.server: it is threaded and blocking, and the firmware runs one
asyncio loop. Why not a framework: the firmware ships on a small board with
few dependencies. This module is pure: it parses a request head that the
server has already read (bounded) and serialises responses. Anything it does
not understand becomes an ``HttpError`` with a 4xx status, never a crash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MAX_HEAD_BYTES = 8 * 1024
MAX_HEADERS = 50
MAX_BODY_BYTES = 64 * 1024
MAX_TARGET_CHARS = 1024

REASONS = {
    200: "OK",
    400: "Bad Request",
    303: "See Other",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    411: "Length Required",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    421: "Misdirected Request",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}

_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class HttpError(Exception):
    """A request we answer with ``status`` and a JSON error body, then usually close."""

    def __init__(self, status: int, message: str, *, close: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestHead:
    method: str
    path: str
    query: str
    version: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def keep_alive(self) -> bool:
        conn = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in conn
        return "close" not in conn

    def content_length(self) -> int:
        """The body size announced by the client, checked against ``MAX_BODY_BYTES``."""
        if "transfer-encoding" in self.headers:
            raise HttpError(501, "chunked request bodies are not supported; send Content-Length")
        raw = self.headers.get("content-length")
        if raw is None:
            return 0
        if not raw.isdecimal() or len(raw) > 9:
            raise HttpError(400, "Content-Length must be a decimal number")
        n = int(raw)
        if n > MAX_BODY_BYTES:
            raise HttpError(413, f"request body larger than {MAX_BODY_BYTES} bytes")
        return n


def parse_head(raw: bytes) -> RequestHead:
    """Parse the request line and headers (``raw`` ends with CRLF CRLF or LF LF)."""
    if len(raw) > MAX_HEAD_BYTES:
        raise HttpError(431, "request head too large")
    try:
        text = raw.decode("latin-1")
    except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes any byte
        raise HttpError(400, "undecodable request head") from exc
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise HttpError(400, "empty request")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    if not method or any(c not in _TOKEN_CHARS for c in method):
        raise HttpError(400, "malformed method")
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpError(505, "only HTTP/1.0 and HTTP/1.1 are spoken here")
    if len(target) > MAX_TARGET_CHARS or not target.startswith("/"):
        raise HttpError(400, "request target must be an absolute path")
    path, _, query = target.partition("?")
    headers: dict[str, str] = {}
    if len(lines) - 1 > MAX_HEADERS:
        raise HttpError(431, "too many header fields")
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or any(c not in _TOKEN_CHARS for c in name):
            raise HttpError(400, "malformed header field")
        key = name.lower()
        value = value.strip(" \t")
        if key in headers:
            if key in ("content-length", "host", "authorization"):
                raise HttpError(400, f"duplicate {name} header")
            headers[key] = f"{headers[key]}, {value}"
        else:
            headers[key] = value
    return RequestHead(method=method, path=path, query=query, version=version, headers=headers)


def parse_json_body(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object; anything else is a 400."""
    if not body:
        raise HttpError(400, "a JSON object body is required", close=False)
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise HttpError(400, "body is not valid JSON", close=False) from exc
    if not isinstance(value, dict):
        raise HttpError(400, "body must be a JSON object", close=False)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, value: Any, **kw: Any) -> Response:
        data = json.dumps(value, separators=(",", ":")).encode("utf-8")
        return cls(status=status, body=data, **kw)

    @classmethod
    def error(cls, status: int, message: str, **kw: Any) -> Response:
        return cls.json(status, {"error": message}, **kw)

    def serialize(self, *, keep_alive: bool) -> bytes:
        reason = REASONS.get(self.status, "Unknown")
        head = [f"HTTP/1.1 {self.status} {reason}"]
        head.append(f"Content-Type: {self.content_type}")
        head.append(f"Content-Length: {len(self.body)}")
        head.append("Cache-Control: no-store")
        head.append(f"Connection: {'keep-alive' if keep_alive else 'close'}")
        head.extend(f"{k}: {v}" for k, v in self.headers)
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + self.body
