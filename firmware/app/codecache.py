"""Dataclass methods compiled once at install time, not again at every start.

Why: CPython 3.11 writes each dataclass's ``__init__``, ``__repr__``, ``__eq__``,
``__hash__`` (and, when frozen, ``__setattr__``/``__delattr__``) as source text and
compiles that text when the class is created. A phone creates ~150 value classes on
its way to the first REGISTER; compiling their ~800 methods was about half of process
start -> first REGISTER (bench/bench_boot.py), paid again on every boot for the same
text. ``python -m firmware.app.codecache`` (scripts/install-pi.sh runs it after
``pip install``, which writes the .pyc files the same way) compiles them once into
the package's ``__pycache__``; ``python -m firmware run`` then hands ``dataclasses``
the stored code for a text it has seen instead of compiling that text again.

Same text, same code: the table is keyed by the exact source ``dataclasses``
generated, so a class changed since the install is compiled as before, and either
way the class gets the code ``compile`` makes of that text (tests/app/test_codecache.py).
A missing, unreadable or foreign table (another Python) is ignored. The running
phone never writes it: the service user cannot write the install, and a code cache
the phone could write would be a place to persist code.
"""

from __future__ import annotations

import dataclasses
import marshal
import os
import sys
import zlib
from collections.abc import Iterable
from types import CodeType
from typing import Any

#: The interpreter a table belongs to: bytecode and marshal formats differ between
#: versions (and a patch release may change what ``dataclasses`` generates).
TAG = f"{sys.version}|{marshal.version}"
FILE_NAME = f"dataclasses.{sys.implementation.cache_tag}.marshal"
#: What is compiled into the table: every module of the product (the demo and test
#: tooling is not installed on a handset).
PACKAGES = ("firmware", "hal")
SKIP = ("firmware.demo", "firmware.__main__")


def table_path() -> str:
    """``firmware/__pycache__/dataclasses.<cache tag>.marshal``, beside the .pyc files."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "__pycache__", FILE_NAME)


class CodeTable:
    """``exec`` as the ``dataclasses`` module sees it while installed (``install``).

    ``dataclasses`` calls ``exec(text, globals, ns)`` by its global name, so a module
    attribute of that name takes the call; anything but a text passes through. The
    table stays one block of bytes (a file read), indexed by each text's length and
    CRC; an entry is unmarshalled when its text comes and kept only if its stored text
    is that text. So the table costs the phone's memory no more than the file, and all
    of it goes back when the run loop lets it go (``uninstall``) once the phone started.
    Recording (``record=True``) keeps every text compiled in ``codes`` instead.
    """

    def __init__(self, data: bytes | memoryview = b"", index: dict[Any, Any] | None = None, *,
                 record: bool = False) -> None:
        self._data = memoryview(data)
        self._index: dict[tuple[int, int], tuple[int, int]] = dict(index or {})
        self.record = record
        self.codes: dict[str, CodeType] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._index)

    def lookup(self, source: str) -> CodeType | None:
        """The stored code for exactly ``source``, if the table has it."""
        at = self._index.get(_key(source))
        if at is None:
            return None
        text, code = marshal.loads(self._data[at[0]:at[0] + at[1]])
        return code if text == source and isinstance(code, CodeType) else None

    def exec(self, source: Any, globals: Any = None, locals: Any = None, /) -> None:  # noqa: A002
        if type(source) is str:
            code = self.codes.get(source) if self.record else self.lookup(source)
            if code is None:
                self.misses += 1
                # dont_inherit: the text must not pick up this module's __future__ flags
                # (postponed annotations), exactly as the builtin ``exec`` compiles it
                code = compile(source, "<string>", "exec", dont_inherit=True)
                if self.record:
                    self.codes[source] = code
            else:
                self.hits += 1
            source = code
        exec(source, globals, locals)  # noqa: S102 - the code dataclasses asked for


def _key(source: str) -> tuple[int, int]:
    return len(source), zlib.crc32(source.encode("utf-8", "surrogatepass"))


def dumps(codes: dict[str, CodeType]) -> bytes:
    """The table file for ``codes``: an 8-byte header length, the header (tag and index:
    key -> offset, length) and the entries (text, code), each marshalled."""
    entries, index, offset = [], {}, 0
    for text, code in codes.items():
        entry = marshal.dumps((text, code))
        index[_key(text)] = (offset, len(entry))
        entries.append(entry)
        offset += len(entry)
    header = marshal.dumps((TAG, index))
    return len(header).to_bytes(8, "little") + header + b"".join(entries)


def parse(data: bytes) -> CodeTable | None:
    """The table in ``data``; None when damaged or another interpreter's."""
    try:
        size = int.from_bytes(data[:8], "little")
        tag, index = marshal.loads(data[8:8 + size])
    except (EOFError, ValueError, TypeError):
        return None
    if tag != TAG or not isinstance(index, dict) or not index:
        return None
    return CodeTable(memoryview(data)[8 + size:], index)


_installed: CodeTable | None = None


def install(table: CodeTable) -> CodeTable:
    """Route ``dataclasses``' compiles through ``table`` (until ``uninstall``)."""
    global _installed
    dataclasses.exec = table.exec  # type: ignore[attr-defined]
    _installed = table
    return table


def uninstall() -> None:
    """Back to the builtin ``exec``; the table (and its memory) is let go."""
    global _installed
    if _installed is not None and getattr(dataclasses, "exec", None) == _installed.exec:
        del dataclasses.exec  # type: ignore[attr-defined]
    _installed = None


def load(path: str) -> CodeTable | None:
    """The table at ``path``; None when missing, unreadable, damaged or another interpreter's."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    return parse(data)


def use_installed(path: str | None = None) -> CodeTable | None:
    """At start: take the install's table if there is one (None: none, nothing changes)."""
    table = load(path or table_path())
    return install(table) if table is not None else None


def _modules(packages: Iterable[str]) -> list[str]:
    import importlib
    import pkgutil

    names = []
    for pkg in packages:
        mod = importlib.import_module(pkg)
        names.append(pkg)
        for info in pkgutil.walk_packages(mod.__path__, prefix=pkg + ".",
                                          onerror=lambda _name: None):
            if not info.name.startswith(SKIP):
                names.append(info.name)
    return names


def record(path: str | None = None, packages: Iterable[str] = PACKAGES) -> tuple[int, list[str]]:
    """Import every module of ``packages`` and write the table of the dataclass code
    they made to ``path``. Returns (texts kept, modules that would not import here,
    e.g. the Pi drivers off a Pi)."""
    import importlib

    from firmware.durable import write_atomic

    table = install(CodeTable(record=True))
    failed = []
    try:
        for name in _modules(packages):
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - a driver library missing here: its classes compile at start
                failed.append(name)
    finally:
        uninstall()
    target = path or table_path()
    os.makedirs(os.path.dirname(target), exist_ok=True)
    from pathlib import Path

    write_atomic(Path(target), dumps(table.codes), mode=0o644)
    return len(table.codes), failed


def main(argv: list[str] | None = None) -> int:
    """``python -m firmware.app.codecache [PATH]`` (default: beside the .pyc files)."""
    args = sys.argv[1:] if argv is None else argv
    target = args[0] if args else table_path()
    import logging

    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    kept, failed = record(target)
    logging.getLogger("codecache").info(
        "%d dataclass methods compiled into %s%s", kept, target,
        f" ({len(failed)} modules not importable here: {', '.join(failed)})" if failed else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
