"""The local directory: Cisco ``CiscoIPPhoneDirectory`` XML or a plain phonebook.

Why here: the directory is provisioned like the dial plan (named by
``directory_url`` in the .cnf, fetched with the configuration) and checked the
same way, before anything uses it: a bounded size, no DTDs or entities, and a
clear error naming the file. Two formats are accepted:

* the Cisco XML object a 7960's Directories key shows::

      <CiscoIPPhoneDirectory>
        <Title>Office</Title>
        <DirectoryEntry><Name>Bob Smith</Name><Telephone>5550002</Telephone></DirectoryEntry>
      </CiscoIPPhoneDirectory>

* a plain phonebook, one ``name, number`` per line (a line starting ``#`` is a comment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 256 * 1024
MAX_ENTRIES = 500
MAX_NAME = 32
_NUMBER_RE = re.compile(r"^(?:[0-9*#+]{1,32}|sips?:[!-~]{1,200})$")


class DirectoryError(ValueError):
    """A directory file we refuse, with its name and the reason."""

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryEntry:
    name: str
    number: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Directory:
    """Entries sorted by name, as the 7960 lists them."""

    title: str = "Directory"
    entries: tuple[DirectoryEntry, ...] = ()

    def name_for(self, user: str) -> str | None:
        """The entry's name for a caller (``5550002``, or the user part of their URI)."""
        user = user.strip()
        if not user:
            return None
        for e in self.entries:
            number = e.number
            if number.lower().startswith(("sip:", "sips:")):
                number = number.split(":", 1)[1].split("@", 1)[0]
            if number == user:
                return e.name
        return None


def _entry(name: str, number: str, where: str, filename: str) -> DirectoryEntry:
    name = " ".join(name.split())[:MAX_NAME]
    number = number.strip().replace(" ", "").replace("-", "")
    if not name:
        raise DirectoryError(filename, f"{where}: the name is empty")
    if not _NUMBER_RE.match(number):
        raise DirectoryError(filename, f"{where}: {number[:40]!r} is not a number or sip: URI")
    return DirectoryEntry(name=name, number=number)


def parse_directory(data: bytes, *, filename: str = "directory.xml") -> Directory:
    """Parse either format; raises ``DirectoryError`` naming the file and the problem."""
    if len(data) > MAX_BYTES:
        raise DirectoryError(filename, f"larger than {MAX_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DirectoryError(filename, "not UTF-8 text") from None
    entries = _parse_xml(text, filename) if text.lstrip().startswith("<") else _parse_plain(
        text, filename)
    title = entries[0]
    items = entries[1]
    if len(items) > MAX_ENTRIES:
        raise DirectoryError(filename, f"more than {MAX_ENTRIES} entries")
    return Directory(title=title, entries=tuple(sorted(items, key=lambda e: e.name.lower())))


def _parse_xml(text: str, filename: str) -> tuple[str, list[DirectoryEntry]]:
    upper = text.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        raise DirectoryError(filename, "DTDs and entities are not allowed")
    import xml.etree.ElementTree as ET  # only with a directory file: not on every boot's path

    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise DirectoryError(filename, f"not well-formed XML ({exc})") from None
    if root.tag != "CiscoIPPhoneDirectory":
        raise DirectoryError(filename, f"root element is <{root.tag}>, expected "
                                       "<CiscoIPPhoneDirectory>")
    title = " ".join((root.findtext("Title") or "Directory").split())[:MAX_NAME] or "Directory"
    items = []
    for n, el in enumerate(root.findall("DirectoryEntry"), start=1):
        items.append(_entry(el.findtext("Name") or "", el.findtext("Telephone") or "",
                            f"entry {n}", filename))
    return title, items


def _parse_plain(text: str, filename: str) -> tuple[str, list[DirectoryEntry]]:
    items = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = "" if raw.strip().startswith("#") else raw.strip()  # a number may hold '#'
        if not line:
            continue
        name, sep, number = line.rpartition(",")
        if not sep:
            raise DirectoryError(filename, f"line {n}: expected 'name, number'")
        items.append(_entry(name, number, f"line {n}", filename))
    return "Directory", items
