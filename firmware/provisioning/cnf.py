"""Lexer for the Cisco SIP IP Phone 7940/7960 ``.cnf`` format.

The format (Cisco SIP IP Phone Administrator Guide, "Configuration files"):
one ``key: value`` per line, ``#`` starts a comment, values may be wrapped in
double quotes (``""`` is the empty value). This module only splits text into
``(key, value, line)`` entries; types and ranges live in ``schema.py``.

Why a separate lexer: the file comes off the network (TFTP), so every bound is
checked here before anything is interpreted, and a syntax error anywhere
refuses the whole file (a bad file must never replace a good one).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 64 * 1024
MAX_LINE_CHARS = 1024
MAX_ENTRIES = 2000
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class ConfigError(ValueError):
    """A config file was refused. Carries where and why, never the value of a secret."""

    def __init__(self, *, file: str, line: int | None, key: str | None, reason: str) -> None:
        self.file = file
        self.line = line
        self.key = key
        self.reason = reason
        where = file if line is None else f"{file}:{line}"
        what = f" {key}:" if key else ""
        super().__init__(f"{where}:{what} {reason}")


@dataclass(frozen=True, slots=True, kw_only=True)
class CnfEntry:
    """One ``key: value`` line, the value already unquoted."""

    key: str
    value: str
    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CnfFile:
    """A lexed file: its name (for messages) and its entries in file order."""

    name: str
    entries: tuple[CnfEntry, ...]


def _strip_comment(text: str) -> str:
    """Drop a ``#`` comment that is outside double quotes and starts the line or
    follows whitespace (so ``messages_uri: *97#`` keeps its ``#``)."""
    in_quotes = False
    for i, ch in enumerate(text):
        if ch == '"':
            in_quotes = not in_quotes
        elif ch == "#" and not in_quotes and (i == 0 or text[i - 1] in " \t"):
            return text[:i]
    return text


def _unquote(raw: str, *, file: str, line: int, key: str) -> str:
    value = raw.strip()
    if value.startswith('"'):
        if len(value) < 2 or not value.endswith('"') or '"' in value[1:-1]:
            raise ConfigError(file=file, line=line, key=key, reason="unbalanced double quote")
        return value[1:-1]
    if '"' in value:
        raise ConfigError(file=file, line=line, key=key, reason="stray double quote")
    return value


def parse_cnf(data: bytes | str, *, filename: str) -> CnfFile:
    """Lex a whole ``.cnf`` file or raise ``ConfigError`` naming file and line.

    Keys are case-insensitive (stored lower-case). A repeated key is allowed
    (the last one wins, as on the 7960) but logged.
    """
    if isinstance(data, bytes):
        if len(data) > MAX_FILE_BYTES:
            raise ConfigError(
                file=filename, line=None, key=None,
                reason=f"file is {len(data)} bytes, the limit is {MAX_FILE_BYTES}",
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                file=filename, line=None, key=None,
                reason=f"not UTF-8 text (byte {exc.start})",
            ) from None
    else:
        text = data
        if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
            raise ConfigError(
                file=filename, line=None, key=None,
                reason=f"file is larger than {MAX_FILE_BYTES} bytes",
            )
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        raise ConfigError(file=filename, line=None, key=None, reason="contains NUL bytes")
    entries: list[CnfEntry] = []
    seen: set[str] = set()
    for lineno, raw_line in enumerate(text.splitlines(), start=1):
        if len(raw_line) > MAX_LINE_CHARS:
            raise ConfigError(
                file=filename, line=lineno, key=None,
                reason=f"line longer than {MAX_LINE_CHARS} characters",
            )
        body = _strip_comment(raw_line).strip()
        if not body:
            continue
        key_part, sep, value_part = body.partition(":")
        key = key_part.strip().lower()
        if not sep:
            raise ConfigError(
                file=filename, line=lineno, key=None,
                reason="expected 'key: value'",
            )
        if not _KEY_RE.match(key):
            raise ConfigError(
                file=filename, line=lineno, key=None,
                reason="bad key name (letters, digits and '_', starting with a letter)",
            )
        value = _unquote(value_part, file=filename, line=lineno, key=key)
        if any(ord(c) < 0x20 or c == "\x7f" for c in value):
            raise ConfigError(file=filename, line=lineno, key=key, reason="control character")
        if key in seen:
            log.warning("%s:%d: %s set again; the last value wins", filename, lineno, key)
        seen.add(key)
        entries.append(CnfEntry(key=key, value=value, line=lineno))
        if len(entries) > MAX_ENTRIES:
            raise ConfigError(
                file=filename, line=lineno, key=None,
                reason=f"more than {MAX_ENTRIES} entries",
            )
    return CnfFile(name=filename, entries=tuple(entries))
