"""The last good configuration, kept on the handset for booting without a server.

Why one file: the set (SIPDefault.cnf, SIP<MAC>.cnf, the dial plan) must be
replaced as a whole or not at all, so it is written as a single JSON document
to a temporary file, fsync'ed and renamed over the old one (``firmware.durable``). Mode 0600 in a
0700 directory, since it holds SIP passwords; nothing here logs file contents.
Only sets that parsed completely are ever saved (see ``boot.py``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from firmware.durable import write_atomic

log = logging.getLogger(__name__)

CACHE_NAME = "last-good-config.json"
MAX_CACHE_BYTES = 512 * 1024


class ConfigCache:
    """Save/load the raw files of the last configuration that was accepted."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.path = self.directory / CACHE_NAME

    def save(self, files: dict[str, bytes], *, server: str = "") -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        doc = {
            "version": 1,
            "server": server,
            "files": {name: data.decode("utf-8") for name, data in files.items()},
        }
        payload = json.dumps(doc, indent=1, sort_keys=True).encode("utf-8")
        write_atomic(self.path, payload, mode=0o600)
        log.info("cached configuration (%s) in %s", ", ".join(sorted(files)), self.path)

    def load(self) -> dict[str, bytes] | None:
        """The cached files, or None when there is no usable cache."""
        try:
            with self.path.open("rb") as fh:
                raw = fh.read(MAX_CACHE_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cannot read config cache %s: %s", self.path, exc)
            return None
        if len(raw) > MAX_CACHE_BYTES:
            log.warning("config cache %s is too large; ignored", self.path)
            return None
        try:
            doc = json.loads(raw)
            files = doc["files"]
            if doc.get("version") != 1 or not isinstance(files, dict):
                raise ValueError("unexpected layout")
            return {str(k): str(v).encode("utf-8") for k, v in files.items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("config cache %s is damaged (%s); ignored", self.path, exc)
            return None
