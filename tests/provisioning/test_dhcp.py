"""TFTP server discovery from dhcpcd, systemd-networkd, NetworkManager and dhclient leases."""

from __future__ import annotations

import ipaddress
import os
import struct
from pathlib import Path

import pytest

from firmware.provisioning.dhcp import (
    MAGIC_COOKIE,
    MAX_LEASE_BYTES,
    TftpServerHint,
    find_tftp_server,
    parse_lease,
)


def raw_lease(options: list[tuple[int, bytes]], siaddr: str = "0.0.0.0") -> bytes:
    """A BOOTP reply as dhcpcd stores it: 236-byte header, cookie, options."""
    header = bytearray(236)
    header[0] = 2  # BOOTREPLY
    header[16:20] = ipaddress.IPv4Address("192.0.2.50").packed  # yiaddr
    header[20:24] = ipaddress.IPv4Address(siaddr).packed
    body = b"".join(struct.pack("BB", code, len(v)) + v for code, v in options)
    return bytes(header) + MAGIC_COOKIE + struct.pack("BBB", 53, 1, 5) + body + b"\xff"


def ip(*addrs: str) -> bytes:
    return b"".join(ipaddress.IPv4Address(a).packed for a in addrs)


def test_dhcpcd_raw_lease_option_150_beats_66_and_siaddr() -> None:
    lease = raw_lease([(66, b"tftp.example.net"), (150, ip("192.0.2.5", "192.0.2.6"))],
                      siaddr="192.0.2.9")
    assert parse_lease(lease, "eth0.lease") == TftpServerHint(host="192.0.2.5", option=150,
                                                              source="eth0.lease")


def test_dhcpcd_raw_lease_option_66_then_siaddr() -> None:
    assert parse_lease(raw_lease([(66, b"tftp.example.net\0")])).host == "tftp.example.net"
    hint = parse_lease(raw_lease([(3, ip("192.0.2.1"))], siaddr="192.0.2.9"))
    assert hint is not None and (hint.host, hint.option) == ("192.0.2.9", 0)
    assert parse_lease(raw_lease([(3, ip("192.0.2.1"))])) is None


def test_split_option_150_is_concatenated_rfc_3396() -> None:
    lease = raw_lease([(150, ip("192.0.2.7")[:2]), (150, ip("192.0.2.7")[2:])])
    hint = parse_lease(lease)
    assert hint is not None and hint.host == "192.0.2.7"


@pytest.mark.parametrize("damage", [
    lambda b: b[:-3],                                     # truncated option
    lambda b: b[:240] + b"\x96\x07\x01\x02",             # length past the end
    lambda b: b[:240] + b"\x96\x03\x01\x02\x03\xff",     # 150 not a multiple of 4
    lambda b: b[:240] + b"\x42\x04\xff\xfe\xfd\xfc\xff",  # 66 not ASCII
    lambda b: b[:240] + b"\x42\x05a b;c\xff",            # 66 not a host name
])
def test_damaged_raw_leases_yield_nothing_rather_than_raise(damage) -> None:  # noqa: ANN001
    assert parse_lease(damage(raw_lease([(150, ip("192.0.2.5"))]))) is None


def test_systemd_networkd_lease_file() -> None:
    text = ("# This is private data. Do not parse.\nADDRESS=192.0.2.50\nNETMASK=255.255.255.0\n"
            "NEXT_SERVER=192.0.2.9\nOPTION_150=c0000205\n")
    hint = parse_lease(text.encode(), "/run/systemd/netif/leases/2")
    assert hint is not None and (hint.host, hint.option) == ("192.0.2.5", 150)
    only_next = parse_lease(b"ADDRESS=192.0.2.50\nNEXT_SERVER=192.0.2.9\n")
    assert only_next is not None and (only_next.host, only_next.option) == ("192.0.2.9", 0)


def test_networkmanager_key_value_lease_with_option_66() -> None:
    text = "ADDRESS=192.0.2.50\nSERVER_ADDRESS=192.0.2.1\nOPTION_66=746674702e6c616e\n"
    hint = parse_lease(text.encode())
    assert hint is not None and (hint.host, hint.option) == ("tftp.lan", 66)
    named = parse_lease(b"TFTP_SERVER_NAME=boot.example.org\n")
    assert named is not None and named.host == "boot.example.org"


def test_dhclient_lease_last_block_wins() -> None:
    text = """lease {
  interface "eth0";
  fixed-address 192.0.2.50;
  option tftp-server-name "old.example.net";
}
lease {
  interface "eth0";
  fixed-address 192.0.2.50;
  option unknown-150 c0:0:2:5;
  option tftp-server-name "new.example.net";
}
"""
    hint = parse_lease(text.encode())
    assert hint is not None and (hint.host, hint.option) == ("192.0.2.5", 150)
    dotted = parse_lease(b'lease {\n  option tftp-server-address 192.0.2.8, 192.0.2.9;\n}\n')
    assert dotted is not None and dotted.host == "192.0.2.8"


def test_oversize_or_binary_junk_is_ignored() -> None:
    assert parse_lease(b"OPTION_150=c0000205\n" * (MAX_LEASE_BYTES // 10)) is None
    assert parse_lease(b"\xff\xfe\x00junk") is None


def test_find_prefers_the_newest_lease_with_a_server(tmp_path: Path) -> None:
    old = tmp_path / "eth0.lease"
    old.write_bytes(raw_lease([(150, ip("192.0.2.5"))]))
    os.utime(old, (1_000_000, 1_000_000))
    new = tmp_path / "wlan0.lease"
    new.write_bytes(raw_lease([(66, b"wifi-tftp.example.net")]))
    empty = tmp_path / "usb0.lease"
    empty.write_bytes(raw_lease([]))
    os.utime(empty, (3_000_000, 3_000_000))
    hint = find_tftp_server([old, new, empty, tmp_path / "missing.lease"])
    assert hint is not None and hint.host == "wifi-tftp.example.net" and hint.source == str(new)
    assert find_tftp_server([empty]) is None
