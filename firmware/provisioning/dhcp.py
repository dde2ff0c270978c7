"""Find the TFTP server a DHCP server announced, from the Pi's lease files.

Options (RFC 2132 section 9.4 and Cisco's option 150): 150 "TFTP server
address" (a list of IPv4 addresses, Cisco phones prefer it), 66 "TFTP server
name" (one host name or address). The BOOTP ``siaddr`` ("next server") is the
last resort. Which lease file holds them depends on the DHCP client:

* dhcpcd (Raspberry Pi OS up to Bullseye): ``/var/lib/dhcpcd/*.lease`` is the
  raw DHCP message (BOOTP header, magic cookie, options);
* systemd-networkd: ``/run/systemd/netif/leases/<ifindex>``, ``KEY=VALUE``
  lines, options it does not model as ``OPTION_<n>=<hex>``;
* NetworkManager (Bookworm): its internal client writes ``KEY=VALUE`` lease
  files under ``/var/lib/NetworkManager``; the dhclient backend writes
  dhclient ``lease { option ...; }`` blocks (``unknown-150`` hex bytes,
  ``tftp-server-name "..."``).

Every file is bounded (``MAX_LEASE_BYTES``) and parsed defensively: a
malformed lease yields None, never an exception.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MAX_LEASE_BYTES = 64 * 1024
MAGIC_COOKIE = b"\x63\x82\x53\x63"
DEFAULT_LEASE_GLOBS = (
    "/var/lib/dhcpcd/*.lease",
    "/var/lib/dhcpcd5/*.lease",
    "/run/systemd/netif/leases/*",
    "/var/lib/NetworkManager/*.lease",
    "/var/lib/dhcp/dhclient*.leases",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class TftpServerHint:
    """Where to fetch the config from, and which option said so (150, 66 or 0 = siaddr)."""

    host: str
    option: int
    source: str


def _ipv4_list(raw: bytes) -> list[str]:
    if not raw or len(raw) % 4:
        return []
    return [str(ipaddress.IPv4Address(raw[i:i + 4])) for i in range(0, len(raw), 4)]


def _valid_name(text: str) -> str | None:
    t = text.strip().strip("\0").strip()
    if t and len(t) <= 253 and re.fullmatch(r"[A-Za-z0-9.:-]+", t):
        return t
    # Option 66 may carry a URL (modern phones fetch their files over HTTP(S)).
    if t and len(t) <= 253 and re.fullmatch(r"(?i)(https?|tftp)://[A-Za-z0-9.:\-\[\]/_~%]+", t):
        return t
    return None


def _choose(opt150: list[str], opt66: str | None, siaddr: str | None,
            source: str) -> TftpServerHint | None:
    if opt150:
        return TftpServerHint(host=opt150[0], option=150, source=source)
    if opt66:
        return TftpServerHint(host=opt66, option=66, source=source)
    if siaddr and siaddr != "0.0.0.0":
        return TftpServerHint(host=siaddr, option=0, source=source)
    return None


def parse_raw_lease(data: bytes, source: str = "lease") -> TftpServerHint | None:
    """A raw BOOTP/DHCP message as dhcpcd stores it (RFC 2131 section 2)."""
    if len(data) < 240 or data[236:240] != MAGIC_COOKIE:
        return None
    siaddr = str(ipaddress.IPv4Address(data[20:24]))
    opts: dict[int, bytes] = {}
    i = 240
    while i < len(data):
        code = data[i]
        if code == 0:
            i += 1
            continue
        if code == 255 or i + 1 >= len(data):
            break
        length = data[i + 1]
        value = data[i + 2:i + 2 + length]
        if len(value) != length:
            break
        opts[code] = opts.get(code, b"") + value  # RFC 3396 concatenation
        i += 2 + length
    name = None
    if 66 in opts:
        try:
            name = _valid_name(opts[66].decode("ascii"))
        except UnicodeDecodeError:
            name = None
    return _choose(_ipv4_list(opts.get(150, b"")), name, siaddr, source)


def _hex_bytes(text: str) -> bytes:
    """``0a000001`` or dhclient's ``a:0:0:1``."""
    t = text.strip().strip('"').strip(";").strip()
    try:
        if ":" in t:
            return bytes(int(p, 16) for p in t.split(":") if p)
        return bytes.fromhex(t)
    except ValueError:
        return b""


def _addresses(text: str) -> list[str]:
    """Dotted quads separated by spaces/commas, or hex bytes."""
    parts = [p for p in re.split(r"[\s,]+", text.strip().strip(";")) if p]
    out: list[str] = []
    for p in parts:
        try:
            out.append(str(ipaddress.IPv4Address(p)))
        except ValueError:
            return _ipv4_list(_hex_bytes(text))
    return out


def parse_text_lease(text: str, source: str = "lease") -> TftpServerHint | None:
    """``KEY=VALUE`` lease files (networkd, NetworkManager) and dhclient leases."""
    opt150: list[str] = []
    opt66: str | None = None
    siaddr: str | None = None
    for line in text.splitlines()[-400:]:
        line = line.strip()
        m = re.match(r"^option\s+([a-z0-9-]+)\s+(.*?);?$", line)
        if m:  # dhclient; the last lease block in the file wins
            name, value = m.group(1), m.group(2)
            if name in ("unknown-150", "tftp-server-address", "cisco-tftp-server", "tftp150"):
                opt150 = _addresses(value) or opt150
            elif name == "tftp-server-name":
                opt66 = _valid_name(value.strip('"')) or opt66
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key = key.strip().upper()
        value = value.strip().strip('"')
        if key in ("OPTION_150", "PRIVATE_150", "UNKNOWN_150", "TFTP_SERVER_ADDRESS"):
            opt150 = _addresses(value) or opt150
        elif key in ("OPTION_66", "TFTP_SERVER_NAME", "PRIVATE_66"):
            name = value
            if key != "TFTP_SERVER_NAME" and re.fullmatch(r"[0-9a-fA-F]+", value):
                name = _hex_bytes(value).decode("ascii", "replace")
            opt66 = _valid_name(name) or opt66
        elif key in ("NEXT_SERVER", "SIADDR"):
            try:
                siaddr = str(ipaddress.IPv4Address(value))
            except ValueError:
                pass
    return _choose(opt150, opt66, siaddr, source)


def parse_lease(data: bytes, source: str = "lease") -> TftpServerHint | None:
    """Any supported lease format; None if it names no TFTP server."""
    if len(data) > MAX_LEASE_BYTES:
        return None
    if len(data) >= 240 and data[236:240] == MAGIC_COOKIE:
        return parse_raw_lease(data, source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return parse_text_lease(text, source)


def find_tftp_server(paths: Iterable[Path] | None = None) -> TftpServerHint | None:
    """Look through lease files (newest first); option 150 > 66 > siaddr within a file."""
    if paths is None:
        found: list[Path] = []
        for pattern in DEFAULT_LEASE_GLOBS:
            base = Path(pattern).parent
            if base.is_dir():
                found.extend(p for p in base.glob(Path(pattern).name) if p.is_file())
        paths = found
    candidates: list[tuple[float, Path]] = []
    for p in paths:
        try:
            candidates.append((p.stat().st_mtime, p))
        except OSError:
            continue
    for _, path in sorted(candidates, reverse=True):
        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_LEASE_BYTES + 1)
        except OSError as exc:
            log.debug("cannot read lease %s: %s", path, exc)
            continue
        hint = parse_lease(data, str(path))
        if hint is not None:
            log.info("TFTP server %s from DHCP option %s in %s", hint.host,
                     hint.option or "siaddr", path)
            return hint
    return None
