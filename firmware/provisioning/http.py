"""Fetch the provisioning files over HTTP(S) instead of TFTP.

Why: later Cisco phones (and most desk phones since) take their files from
a web server named by ``--provision https://...`` or by DHCP option 66 as a
URL. The file order and the checks are the 7960's (``boot._steps``); only the
transport differs. HTTPS checks the server's certificate against the system
CAs or ``ca_file``, and its host name; there is no switch to turn that off.

A 404 is "not on the server" (as TFTP's file-not-found): the per-MAC file
may be missing. Any other failure raises ``HttpFetchError`` (server down).
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

#: The same bound as a TFTP transfer: provisioning files are small.
MAX_HTTP_BYTES = 1024 * 1024


class HttpFetchError(OSError):
    """The server did not give the file (down, refused, bad certificate, 5xx)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpSource:
    """``base`` ends with '/'; file names are appended to it."""

    base: str
    ca_file: str | None = None
    timeout: float = 5.0

    @classmethod
    def parse(cls, url: str, *, ca_file: str | None = None, timeout: float = 5.0) -> HttpSource:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http:// or https:// URL: {url!r}")
        base = url if url.endswith("/") else url + "/"
        return cls(base=base, ca_file=ca_file, timeout=timeout)


def _context(source: HttpSource) -> ssl.SSLContext | None:
    if not source.base.startswith("https:"):
        return None
    return ssl.create_default_context(cafile=source.ca_file)


def fetch_sync(source: HttpSource, name: str) -> bytes | None:
    """GET base+name; None for 404; ``HttpFetchError`` for anything else."""
    url = source.base + urllib.parse.quote(name)
    # No proxies from the environment: the phone talks to its own server only.
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPSHandler(context=_context(source)))
    try:
        with opener.open(url, timeout=source.timeout) as resp:
            data = resp.read(MAX_HTTP_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            return None
        raise HttpFetchError(f"HTTP {name}: {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "reason", exc)
        raise HttpFetchError(f"HTTP {source.base}: {reason}") from None
    if len(data) > MAX_HTTP_BYTES:
        raise HttpFetchError(f"HTTP {name}: larger than {MAX_HTTP_BYTES} bytes")
    return data


def http_fetcher(source: HttpSource) -> Callable[[str], Awaitable[bytes | None]]:
    """An async fetcher for ``boot.provision_result(fetcher=...)`` (blocking I/O in a thread)."""

    async def fetch(name: str) -> bytes | None:
        return await asyncio.to_thread(fetch_sync, source, name)

    return fetch
