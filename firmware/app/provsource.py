"""Where the phone's files come from, and which MAC names them, from the command line.

Why here: ``--provision URL``, ``--tftp HOST``, the DHCP lease (option 150,
then 66, which may be a URL) and ``--mac`` (default: the MAC of the
interface that routes to the server, as a 7960 uses its own Ethernet MAC)
are policy a user reads in one place; ``firmware.provisioning`` only fetches
from what this hands it.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from firmware.provisioning.boot import TFTP_PORT, default_mac, normalize_mac
from firmware.provisioning.dhcp import find_tftp_server
from firmware.provisioning.http import HttpSource, http_fetcher

log = logging.getLogger(__name__)

Fetcher = Callable[[str], Awaitable[bytes | None]]
SIOCGIFADDR = 0x8915
#: Lease files to read instead of the DHCP clients' usual places (colon-separated;
#: for a test, or a DHCP client this firmware does not know).
LEASES_ENV = "PIPHONE_DHCP_LEASES"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvSource:
    """TFTP ``server`` ("HOST:PORT", None: ask DHCP at every fetch) or an HTTP(S) ``fetcher``."""

    server: str | None
    fetcher: Fetcher | None
    mac: str
    where: str


def lease_paths() -> list[Path] | None:
    raw = os.environ.get(LEASES_ENV, "")
    return [Path(p) for p in raw.split(":") if p] if raw else None


def _interface_ip(name: str) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            packed = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def mac_towards(host: str, sys_net: Path = Path("/sys/class/net")) -> str | None:
    """The MAC of the interface the kernel routes ``host`` through (None: loopback,
    no route, or no MAC). A UDP ``connect`` sends nothing; it asks the routing table."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((host, TFTP_PORT))
            local = s.getsockname()[0]
    except OSError:
        return None
    for _index, name in socket.if_nameindex():
        if _interface_ip(name) != local:
            continue
        try:
            mac = normalize_mac((sys_net / name / "address").read_text().strip())
        except (OSError, ValueError):
            return None
        return None if mac == "000000000000" else mac
    return None


def _from_url(url: str, ca_file: str | None) -> tuple[str | None, Fetcher | None, str]:
    parts = urlsplit(url)
    if parts.scheme == "tftp":
        if not parts.hostname:
            raise ValueError(f"no host in {url!r}")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return f"{host}:{parts.port or TFTP_PORT}", None, parts.hostname
    source = HttpSource.parse(url, ca_file=ca_file)
    return None, http_fetcher(source), urlsplit(source.base).hostname or ""


def resolve(args: argparse.Namespace) -> ProvSource:
    """The source and MAC for ``python -m firmware run`` without ``--config``."""
    ca_file = getattr(args, "ca_file", None)
    url = getattr(args, "provision", None)
    server: str | None = getattr(args, "tftp", None)
    fetcher: Fetcher | None = None
    host = ""
    if url:
        server, fetcher, host = _from_url(url, ca_file)
    elif server:
        host = server.rsplit(":", 1)[0].strip("[]") if server.count(":") == 1 or \
            server.startswith("[") else server
    else:
        hint = find_tftp_server(lease_paths())
        if hint is not None and "://" in hint.host:
            log.info("DHCP option %d names %s", hint.option, hint.host)
            server, fetcher, host = _from_url(hint.host, ca_file)
        elif hint is not None:
            host = hint.host  # the server itself is looked up again at every fetch
    mac = getattr(args, "mac", None)
    if mac:
        mac = normalize_mac(mac)
    else:
        mac = (mac_towards(host) if host else None) or default_mac()
        if mac is None:
            raise ValueError("cannot tell this phone's MAC address; give --mac")
        log.info("MAC %s names SIP%s.cnf", mac, mac)
    where = url or server or (f"DHCP ({host})" if host else "DHCP (no server yet)")
    return ProvSource(server=server, fetcher=fetcher, mac=mac, where=where)
