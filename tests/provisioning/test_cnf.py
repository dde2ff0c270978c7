"""The .cnf lexer: syntax, quoting, comments and every refusal."""

from __future__ import annotations

import logging

import pytest

from firmware.provisioning.cnf import MAX_ENTRIES, MAX_FILE_BYTES, ConfigError, parse_cnf

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland


def entries(text: str) -> list[tuple[str, str, int]]:
    return [(e.key, e.value, e.line) for e in parse_cnf(text, filename="t.cnf").entries]


def test_key_value_lines_comments_and_blank_lines() -> None:
    text = "# header\n\nproxy1_address: 192.0.2.1\n  proxy1_port:5060  \n"
    assert entries(text) == [("proxy1_address", "192.0.2.1", 3), ("proxy1_port", "5060", 4)]


def test_quotes_are_optional_and_empty_quotes_mean_empty() -> None:
    text = 'line1_displayname: "Front Desk"\nnat_address: ""\nphone_label: plain text\n'
    assert entries(text) == [("line1_displayname", "Front Desk", 1), ("nat_address", "", 2),
                             ("phone_label", "plain text", 3)]


def test_inline_comment_needs_whitespace_and_is_ignored_inside_quotes() -> None:
    text = ('messages_uri: *97#\ncfwd_url: 5551234 # forward\n'
            'phone_label: "Desk # 2"  # the label\n')
    assert entries(text) == [("messages_uri", "*97#", 1), ("cfwd_url", "5551234", 2),
                             ("phone_label", "Desk # 2", 3)]


def test_keys_are_case_insensitive_and_bom_and_crlf_are_accepted() -> None:
    text = "\ufeffProxy1_Address: a.example\r\nSYNC: 2\r\n"
    assert entries(text) == [("proxy1_address", "a.example", 1), ("sync", "2", 2)]


def test_value_may_contain_colons() -> None:
    assert entries("cfwd_url: sip:bob@192.0.2.1:5062\n") == [
        ("cfwd_url", "sip:bob@192.0.2.1:5062", 1)]


def test_repeated_key_warns_once_and_keeps_both(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        got = entries("sync: 1\nsync: 2\nsync: 3\n")
    assert got == [("sync", "1", 1), ("sync", "2", 2), ("sync", "3", 3)]
    assert caplog.text.count("set again") == 1
    assert "t.cnf:2: sync: set again; the last value wins" in caplog.text


def test_semicolon_comments_after_values_quoted_or_not() -> None:
    text = ('timer_t1: 500 ; Default 500 msec\nphone_label: "" ; shown on the top line\n'
            'line1_displayname: "Front Desk"\t; "quoted" in a comment\n'
            'cfwd_url: sip:9@192.0.2.1;user=phone\n;whole-line comment\n')
    assert entries(text) == [("timer_t1", "500", 1), ("phone_label", "", 2),
                             ("line1_displayname", "Front Desk", 3),
                             ("cfwd_url", "sip:9@192.0.2.1;user=phone", 4)]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("proxy1_address 192.0.2.1\n", 1, "expected 'key: value'"),
        ("ok: 1\n1bad: 2\n", 2, "bad key name"),
        ("bad-key: 2\n", 1, "bad key name"),
        (": value\n", 1, "bad key name"),
        ('phone_label: "open\n', 1, "no closing double quote"),
        ('phone_label: a"b\n', 1, "stray double quote removed"),
        ('phone_label: "a"b"\n', 1, "text after the closing quote"),
        ("phone_label: a\x01b\n", 1, "control character"),
        ("x" * 1100 + ": 1\n", 1, "longer than"),
    ],
)
def test_unreadable_lines_are_skipped_naming_file_and_line(
        text: str, line: int, fragment: str) -> None:
    cnf = parse_cnf(text + "sync: 7\n", filename="SIPDefault.cnf")
    (msg,) = cnf.warnings
    assert msg.startswith(f"SIPDefault.cnf:{line}:") and fragment in msg
    assert cnf.entries[-1].key == "sync" and cnf.entries[-1].value == "7"


def test_oversize_file_is_refused_before_decoding() -> None:
    with pytest.raises(ConfigError, match="limit is"):
        parse_cnf(b"a: 1\n" * (MAX_FILE_BYTES // 5 + 1), filename="big.cnf")


def test_latin1_is_read_and_nul_is_refused() -> None:
    cnf = parse_cnf(b"line1_displayname: M\xfcller\n", filename="x.cnf")
    assert cnf.entries[0].value == "M\u00fcller" and "read as Latin-1" in cnf.warnings[0]
    with pytest.raises(ConfigError, match="NUL"):
        parse_cnf(b"a: 1\x00\n", filename="x.cnf")


def test_too_many_entries_are_refused() -> None:
    text = "".join(f"k{i}: 1\n" for i in range(MAX_ENTRIES + 1))
    with pytest.raises(ConfigError, match="more than"):
        parse_cnf(text, filename="x.cnf")
