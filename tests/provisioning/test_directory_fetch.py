"""The local directory is fetched with the configuration (``directory_url``)."""

from __future__ import annotations

from pathlib import Path

from firmware.provisioning.boot import _from_cache, load_local
from firmware.provisioning.cache import ConfigCache
from firmware.sip.endpoint_config import EndpointConfig
from firmware.sip.validate import DEFAULT_POLICY

MAC = "00112233AABB"
DEFAULT = b"proxy1_address: 192.0.2.10\nline1_name: 5550001\ndirectory_url: phonebook.xml\n"
BOOK = (b"<CiscoIPPhoneDirectory><Title>Office</Title><DirectoryEntry><Name>Bob</Name>"
        b"<Telephone>5550002</Telephone></DirectoryEntry></CiscoIPPhoneDirectory>")


def _root(tmp_path: Path, book: bytes | None) -> Path:
    (tmp_path / "SIPDefault.cnf").write_bytes(DEFAULT)
    (tmp_path / f"SIP{MAC}.cnf").write_bytes(b"line1_displayname: Front\n")
    if book is not None:
        (tmp_path / "phonebook.xml").write_bytes(book)
    return tmp_path


def test_directory_url_loads_with_the_config(tmp_path: Path) -> None:
    cfg = load_local(_root(tmp_path, BOOK), mac=MAC)
    assert cfg.directory_url == "phonebook.xml"
    assert cfg.directory.title == "Office"
    assert [(e.name, e.number) for e in cfg.directory.entries] == [("Bob", "5550002")]
    # the cached set (last good config) brings it back too, next to the dial plan
    cache = ConfigCache(tmp_path / "state")
    cache.save({"SIPDefault.cnf": DEFAULT, "dialplan.xml": b"<DIALTEMPLATE><TEMPLATE "
                b'MATCH="*" Timeout="5"/></DIALTEMPLATE>', "phonebook.xml": BOOK})
    cached = _from_cache(cache, MAC)
    assert cached is not None and cached.directory.entries[0].name == "Bob"
    assert cached.dialplan is not None


def test_a_bad_or_missing_directory_leaves_the_phone_working(tmp_path: Path) -> None:
    cfg = load_local(_root(tmp_path, b"<CiscoIPPhoneDirectory><DirectoryEntry><Name>Bob</Name>"
                                      b"<Telephone>http://x</Telephone></DirectoryEntry>"
                                      b"</CiscoIPPhoneDirectory>"), mac=MAC)
    assert cfg.directory is None and cfg.lines[0].name == "5550001"
    assert any("phonebook.xml" in w and "entry 1" in w for w in cfg.warnings)
    (tmp_path / "m").mkdir()
    missing = load_local(_root(tmp_path / "m", None), mac=MAC)  # not on the server
    assert missing.directory is None and missing.lines[0].name == "5550001"


def test_the_allow_header_and_the_validator_agree() -> None:
    assert EndpointConfig(local_address=("127.0.0.1", 5060)).allow == DEFAULT_POLICY.allow
    assert {"UPDATE", "INFO", "NOTIFY"} <= set(DEFAULT_POLICY.allow)
    assert "application/simple-message-summary" in DEFAULT_POLICY.accept
