"""Lexer for the Cisco SIP IP Phone 7940/7960 ``.cnf`` format.

The format (Cisco SIP IP Phone Administrator Guide, "Configuration files"):
one ``key: value`` per line, values may be wrapped in double quotes (``""``
is the empty value). Real deployments' files (Cisco's own sample
SIPDefault.cnf among them) put ``;`` or ``#`` comments after values, quoted
or not, use tabs and CRLF, leave values blank and repeat keys; the 7960 read
all of that, so this lexer does too. This module only splits text into
``(key, value, line)`` entries; types and ranges live in ``schema.py``.

Why tolerant, line by line: the file comes off the network, and a desk phone
that refuses a whole file for one odd line is a phone that does not boot. A
line that cannot be read is skipped with a warning naming file, line and key
(``CnfFile.warnings``); only what would make the file meaningless (binary
data, over the size bounds) refuses the file.
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
#: Characters that start a comment when they begin the line or follow whitespace,
#: outside double quotes (so ``messages_uri: *97#`` and ``sip:a@b;user=phone`` keep theirs).
COMMENT_CHARS = "#;"


class ConfigError(ValueError):
    """A config file was refused. Carries where and why, never the value of a secret."""

    def __init__(self, *, file: str, line: int | None, key: str | None, reason: str) -> None:
        self.file = file
        self.line = line
        self.key = key
        self.reason = reason
        super().__init__(where(file, line, key, reason))


def where(file: str, line: int | None, key: str | None, reason: str) -> str:
    """``file:line: key: reason``: the one shape of every refusal and warning."""
    place = file if line is None else f"{file}:{line}"
    what = f" {key}:" if key else ""
    return f"{place}:{what} {reason}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CnfEntry:
    """One ``key: value`` line, the value already unquoted."""

    key: str
    value: str
    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CnfFile:
    """A lexed file: its name (for messages), its entries in file order, and
    what was skipped or repaired on the way (file:line: key: why)."""

    name: str
    entries: tuple[CnfEntry, ...]
    warnings: tuple[str, ...] = ()


def _strip_comment(text: str) -> str:
    """Drop a ``#``/``;`` comment outside double quotes that starts the line or
    follows whitespace."""
    in_quotes = False
    for i, ch in enumerate(text):
        if ch == '"':
            in_quotes = not in_quotes
        elif ch in COMMENT_CHARS and not in_quotes and (i == 0 or text[i - 1] in " \t"):
            return text[:i]
    return text


def _unquote(raw: str) -> tuple[str, str | None]:
    """(value, note): a quoted value loses its quotes; text after the closing
    quote, a missing closing quote or a stray quote is repaired and noted."""
    value = raw.strip()
    if value.startswith('"'):
        end = value.find('"', 1)
        if end < 0:
            return value[1:].strip(), "no closing double quote; read to the end of the line"
        rest = value[end + 1:].strip()
        note = f"text after the closing quote ignored ({rest[:20]!r})" if rest else None
        return value[1:end], note
    if '"' in value:
        return value.replace('"', ""), "stray double quote removed"
    return value, None


def _decode(data: bytes, filename: str, warnings: list[str]) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Files edited on old Windows boxes are Latin-1/CP1252; every byte decodes.
        warnings.append(where(filename, None, None,
                              f"not UTF-8 (byte {exc.start}); read as Latin-1"))
        return data.decode("latin-1")


def parse_cnf(data: bytes | str, *, filename: str) -> CnfFile:
    """Lex a whole ``.cnf`` file. Unreadable lines are skipped with a warning;
    ``ConfigError`` only for a file that is not a config file at all (binary,
    oversize, too many entries).

    Keys are case-insensitive (stored lower-case). A repeated key is allowed
    (the last one wins, as on the 7960) and warned about once.
    """
    warnings: list[str] = []
    if isinstance(data, bytes):
        if len(data) > MAX_FILE_BYTES:
            raise ConfigError(
                file=filename, line=None, key=None,
                reason=f"file is {len(data)} bytes, the limit is {MAX_FILE_BYTES}",
            )
        text = _decode(data, filename, warnings)
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
        raise ConfigError(file=filename, line=None, key=None,
                          reason="contains NUL bytes (not a text file)")
    entries: list[CnfEntry] = []
    seen: set[str] = set()
    repeated: set[str] = set()

    def skip(lineno: int, key: str | None, reason: str) -> None:
        warnings.append(where(filename, lineno, key, reason))

    for lineno, raw_line in enumerate(text.splitlines(), start=1):
        if len(raw_line) > MAX_LINE_CHARS:
            skip(lineno, None, f"line longer than {MAX_LINE_CHARS} characters; skipped")
            continue
        body = _strip_comment(raw_line).strip()
        if not body:
            continue
        key_part, sep, value_part = body.partition(":")
        key = key_part.strip().lower()
        if not sep:
            skip(lineno, None, f"expected 'key: value', got {body[:30]!r}; skipped")
            continue
        if not _KEY_RE.match(key):
            skip(lineno, None, f"bad key name {key[:30]!r} (letters, digits and '_', "
                               "starting with a letter); skipped")
            continue
        value, note = _unquote(value_part.replace("\t", " "))
        if note:
            skip(lineno, key, note)
        if any(ord(c) < 0x20 or c == "\x7f" for c in value):
            skip(lineno, key, "control character in the value; skipped")
            continue
        if key in seen and key not in repeated:
            repeated.add(key)
            skip(lineno, key, "set again; the last value wins")
        seen.add(key)
        entries.append(CnfEntry(key=key, value=value, line=lineno))
        if len(entries) > MAX_ENTRIES:
            raise ConfigError(
                file=filename, line=lineno, key=None,
                reason=f"more than {MAX_ENTRIES} entries",
            )
    for w in warnings:
        log.warning("%s", w)
    return CnfFile(name=filename, entries=tuple(entries), warnings=tuple(warnings))
