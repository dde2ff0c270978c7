"""The header section of a SIP message (RFC 3261 §7.3, §7.3.3 compact forms, §20).

Why values stay raw strings: most headers of most messages are never looked
at by a UA (a forwarded Record-Route, a User-Agent). ``Headers`` keeps each
header line as written (unfolded, trimmed) in order, and parses a value into
its typed form (``Via``, ``NameAddr``...) only when a typed accessor asks,
caching the result until the next change. Names are matched
case-insensitively and compact forms (``v``, ``f``, ``i``...) are stored
under their full canonical name, which is also how they are serialized.

``get_all`` splits comma-separated values (§7.3.1) for headers whose grammar
is a list; the authentication headers (WWW-Authenticate, Authorization,
Proxy-Authenticate, Proxy-Authorization) and single-valued headers such as
Date or From are never split, because their values contain commas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from firmware.sip.fields import is_token, split_commas

__all__ = ["Headers", "canonical_name", "COMPACT_FORMS", "LIST_HEADERS"]

#: RFC 3261 §7.3.3 and later RFCs' compact forms -> full names.
COMPACT_FORMS = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

_KNOWN = [
    "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
    "Allow-Events", "Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact",
    "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
    "Content-Type", "CSeq", "Date", "Error-Info", "Event", "Expires", "From", "Identity",
    "Identity-Info", "In-Reply-To", "Max-Forwards", "Min-Expires", "Min-SE", "MIME-Version",
    "Organization", "P-Asserted-Identity", "Path", "Priority", "Proxy-Authenticate",
    "Proxy-Authorization", "Proxy-Require", "RAck", "Reason", "Record-Route", "Refer-To",
    "Referred-By", "Reject-Contact", "Replaces", "Reply-To", "Request-Disposition", "Require",
    "Retry-After", "Route", "RSeq", "Server", "Service-Route", "Session-Expires", "Subject",
    "Subscription-State", "Supported", "Timestamp", "To", "Unsupported", "User-Agent", "Via",
    "Warning", "WWW-Authenticate",
]

#: Headers whose values may be combined into one line with commas (§7.3.1).
LIST_HEADERS = frozenset(
    name.lower()
    for name in [
        "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
        "Allow-Events", "Call-Info", "Contact", "Content-Encoding", "Content-Language",
        "Error-Info", "In-Reply-To", "P-Asserted-Identity", "Path", "Proxy-Require", "Reason",
        "Record-Route", "Reject-Contact", "Require", "Route", "Service-Route", "Supported",
        "Unsupported", "Via", "Warning",
    ]
)

# key (lower-case full name) and display name for every spelling we can map cheaply.
_NAMES: dict[str, tuple[str, str]] = {}
for _name in _KNOWN:
    for _spelling in (_name, _name.lower(), _name.upper()):
        _NAMES[_spelling] = (_name.lower(), _name)
for _short, _name in COMPACT_FORMS.items():
    _NAMES[_short] = _NAMES[_short.upper()] = (_name.lower(), _name)
for _spelling in ("Call-Id", "Cseq", "Www-Authenticate", "Mime-Version", "Rseq", "Rack"):
    _NAMES[_spelling] = _NAMES[_spelling.lower()]
del _name, _short, _spelling


_MISSING = object()


def lookup_name(name: str) -> tuple[str, str] | None:
    """``(key, canonical name)`` for a header name, or ``None`` if it is not a token."""
    found = _NAMES.get(name)
    if found is not None:
        return found
    found = _NAMES.get(name.lower())
    if found is not None:
        return found
    if not is_token(name):
        return None
    return name.lower(), name


def canonical_name(name: str) -> str:
    """The serialized spelling of a header name (compact forms expanded)."""
    found = lookup_name(name)
    if found is None:
        raise ValueError(f"not a header name: {name!r}")
    return found[1]


def _key(name: str) -> str:
    found = _NAMES.get(name)
    if found is not None:
        return found[0]
    found = _NAMES.get(name.lower())
    return found[0] if found is not None else name.lower()


def _check_value(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("header value contains CR or LF")
    return value


class Headers:
    """Ordered, case-insensitive header lines of one message.

    Each entry is one header line ``(name, value)``; ``get_all`` splits list
    headers into their comma-separated values. Mutators raise ``ValueError``
    for names that are not tokens or values with CR/LF (a caller bug: it
    would inject header lines).
    """

    __slots__ = ("_items", "_cache", "_index")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str, str]] = []
        self._cache: dict[str, Any] = {}
        self._index: dict[str, list[str]] | None = None
        for name, value in items:
            self.add(name, value)

    @classmethod
    def _from_parsed(
        cls, items: list[tuple[str, str, str]], index: dict[str, list[str]] | None = None
    ) -> Headers:
        """Build from validated ``(key, name, value)`` triples (and their index, if built)."""
        self = cls.__new__(cls)
        self._items = items
        self._cache = {}
        self._index = index
        return self

    def _changed(self) -> None:
        self._cache.clear()
        self._index = None

    def _lookup(self) -> dict[str, list[str]]:
        """key -> values, built on the first read after a change."""
        index = self._index
        if index is None:
            index = self._index = {}
            for key, _, value in self._items:
                values = index.get(key)
                if values is None:
                    index[key] = [value]
                else:
                    values.append(value)
        return index

    # -- reading -------------------------------------------------------------

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first line's value for ``name`` (unsplit), or ``default``."""
        values = self._lookup().get(_key(name))
        return values[0] if values else default

    def lines(self, name: str) -> list[str]:
        """Every line's value for ``name``, unsplit."""
        return list(self._lookup().get(_key(name), ()))

    def get_all(self, name: str) -> list[str]:
        """Every value for ``name``: list headers split at top-level commas."""
        key = _key(name)
        values = self._lookup().get(key, [])
        if key not in LIST_HEADERS:
            return list(values)
            return values
        out: list[str] = []
        for value in values:
            out.extend(split_commas(value) if "," in value else (value,))
        return out

    def count(self, name: str) -> int:
        """Number of header lines named ``name``."""
        return len(self._lookup().get(_key(name), ()))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return _key(name) in self._lookup()

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((name, value) for _, name, value in self._items)

    def items(self) -> list[tuple[str, str]]:
        return [(name, value) for _, name, value in self._items]

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return [(k, v) for k, _, v in self._items] == [(k, v) for k, _, v in other._items]

    def equal_except(self, other: Headers, *names: str) -> bool:
        """Equality ignoring some headers (e.g. Content-Length, derived from the body)."""
        skip = {_key(n) for n in names}
        mine = [(k, v) for k, _, v in self._items if k not in skip]
        return mine == [(k, v) for k, _, v in other._items if k not in skip]

    def __repr__(self) -> str:
        return f"Headers({self.items()!r})"

    def copy(self) -> Headers:
        return Headers._from_parsed(list(self._items))

    def typed(self, name: str, parse: Callable[[Headers], Any]) -> Any:
        """``parse(self)`` cached under ``name`` until the next mutation."""
        value = self._cache.get(name, _MISSING)
        if value is _MISSING:
            value = self._cache[name] = parse(self)
        return value

    # -- writing -------------------------------------------------------------

    def _entry(self, name: str, value: object) -> tuple[str, str, str]:
        found = lookup_name(name)
        if found is None:
            raise ValueError(f"not a header name: {name!r}")
        return found[0], found[1], _check_value(str(value))

    def add(self, name: str, value: object, *, first: bool = False) -> None:
        """Append a header line (or put it before the others with ``first``, as for Via)."""
        entry = self._entry(name, value)
        self._changed()
        if not first:
            self._items.append(entry)
            return
        for index, (k, _, _) in enumerate(self._items):
            if k == entry[0]:
                self._items.insert(index, entry)
                return
        self._items.append(entry)

    def set(self, name: str, value: object) -> None:
        """Replace every line of ``name`` by one, where the first one was (else append)."""
        entry = self._entry(name, value)
        self._changed()
        out: list[tuple[str, str, str]] = []
        placed = False
        for item in self._items:
            if item[0] == entry[0]:
                if not placed:
                    out.append(entry)
                    placed = True
            else:
                out.append(item)
        if not placed:
            out.append(entry)
        self._items = out

    def remove(self, name: str) -> int:
        """Remove every line of ``name``; return how many there were."""
        key = _key(name)
        before = len(self._items)
        self._items = [item for item in self._items if item[0] != key]
        self._changed()
        return before - len(self._items)

    def pop_first(self, name: str) -> str | None:
        """Remove and return the first value of a list header (e.g. the top Via / Route)."""
        key = _key(name)
        for index, (k, n, value) in enumerate(self._items):
            if k != key:
                continue
            self._changed()
            parts = split_commas(value) if key in LIST_HEADERS and "," in value else [value]
            if len(parts) == 1:
                del self._items[index]
            else:
                self._items[index] = (k, n, ", ".join(parts[1:]))
            return parts[0]
        return None

    def _lines_out(self, skip_key: str) -> list[str]:
        return [f"{name}: {value}" for k, name, value in self._items if k != skip_key]
