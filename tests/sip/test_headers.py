"""Header container and typed header values (RFC 3261 §7.3, §20, §25.1; RFC 3581)."""

from __future__ import annotations

import pytest

from firmware.sip.errors import SipParseError
from firmware.sip.fields import (
    CSeq,
    NameAddr,
    Via,
    parse_cseq,
    parse_name_addr,
    parse_via,
    quote,
    split_commas,
    unquote,
)
from firmware.sip.headers import COMPACT_FORMS, Headers, canonical_name
from firmware.sip.uri import SipUri, parse_uri

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland


@pytest.mark.parametrize("short, full", sorted(COMPACT_FORMS.items()))
def test_compact_forms_map_to_full_names(short: str, full: str) -> None:
    headers = Headers([(short, "x"), (short.upper(), "y")])
    assert headers.lines(full) == ["x", "y"]
    assert headers.items() == [(full, "x"), (full, "y")]
    assert canonical_name(short) == full


def test_names_are_case_insensitive_and_unknown_names_kept() -> None:
    headers = Headers([("cALL-iD", "abc"), ("X-Custom-Thing", "1")])
    assert headers.items() == [("Call-ID", "abc"), ("X-Custom-Thing", "1")]
    assert headers.get("x-custom-thing") == "1" and headers.get("CALL-ID") == "abc"
    assert headers.get("missing", "dflt") == "dflt"


def test_split_commas_respects_quotes_and_brackets() -> None:
    value = '"Doe, John" <sip:j@x;a=1,2>;q=0.5, <sip:k@y>, sip:z@w'
    assert split_commas(value) == ['"Doe, John" <sip:j@x;a=1,2>;q=0.5', "<sip:k@y>", "sip:z@w"]
    assert split_commas('"a\\",b", c') == ['"a\\",b"', "c"]


def test_single_valued_headers_are_not_split() -> None:
    headers = Headers([("Date", "Sat, 13 Nov 2010 23:29:00 GMT"), ("Subject", "a, b")])
    assert headers.get_all("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]
    assert headers.get_all("Subject") == ["a, b"]


def test_via_with_received_and_rport() -> None:
    via = parse_via("SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK74bf9;rport;received=203.0.113.9")
    assert (via.protocol, via.transport, via.host, via.port) == ("SIP/2.0", "UDP", "10.0.0.5", 5062)
    assert via.branch == "z9hG4bK74bf9" and via.received == "203.0.113.9"
    assert via.rport_requested and via.rport is None
    filled = via.with_param("rport", "41000")
    assert filled.rport == 41000
    assert str(filled) == "SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK74bf9;rport=41000;received=203.0.113.9"


def test_via_with_ipv6_sent_by_and_lws() -> None:
    via = parse_via("SIP / 2.0 / tcp  [2001:db8::5] : 5070 ; branch = z9hG4bKx ; received=2001:db8::6")
    assert via.transport == "TCP" and via.sent_by == ("2001:db8::5", 5070)
    assert via.received == "2001:db8::6"
    assert str(via) == "SIP/2.0/TCP [2001:db8::5]:5070;branch=z9hG4bKx;received=2001:db8::6"
    assert parse_via(str(via)) == via


@pytest.mark.parametrize(
    "value",
    ["SIP/2.0/UDP", "SIP/2.0 host", "SIP/2.0/UDP host;;", "SIP/2.0/UDP host:99999",
     "SIP/2.0/UDP host junk", "SIP/2.0/UDP [::1", "SIP/2.0/UDP host;branch=a b"],
)
def test_bad_via(value: str) -> None:
    with pytest.raises(SipParseError):
        parse_via(value)


def test_cseq() -> None:
    assert parse_cseq("0009 INVITE") == CSeq(seq=9, method="INVITE")
    assert parse_cseq("4294967295 BYE").seq == 0xFFFFFFFF
    for bad in ("4294967296 BYE", "36893488147419103232 REGISTER", "INVITE", "1", "-1 BYE", "1 IN VITE"):
        with pytest.raises(SipParseError):
            parse_cseq(bad)


def test_name_addr_forms() -> None:
    quoted = parse_name_addr('"Alice \\"Al\\" Smith" <sip:alice@example.com>;tag=88sja8x;x="y z"')
    assert quoted.display_name == 'Alice "Al" Smith'
    assert quoted.tag == "88sja8x" and quoted.param("x") == "y z"
    assert str(quoted) == '"Alice \\"Al\\" Smith" <sip:alice@example.com>;tag=88sja8x;x="y z"'
    tokens = parse_name_addr("Bob  Builder<sip:bob@example.com>")
    assert tokens.display_name == "Bob Builder"
    bare = parse_name_addr("sip:carol@example.com;tag=1;user=phone")
    assert bare.uri.params == () and bare.params == (("tag", "1"), ("user", "phone"))
    assert str(bare) == "<sip:carol@example.com>;tag=1;user=phone"
    assert str(bare.with_tag("2")) == "<sip:carol@example.com>;tag=2;user=phone"
    assert parse_name_addr("<sip:a@b;lr>").uri.has_param("lr")


@pytest.mark.parametrize(
    "value",
    ['"unterminated <sip:a@b>', "Bell, Alexander <sip:a@b>", "< sip:a@b >", "sip:a@b?x=y",
     '"x" sip:a@b', "<sip:a@b", "<sip:a@b>;;", "<sip:a@b> junk", "<>"],
)
def test_bad_name_addr(value: str) -> None:
    with pytest.raises(SipParseError):
        parse_name_addr(value)


def test_quote_round_trip_and_no_header_injection() -> None:
    for text in ['plain', 'with "quotes" and \\', "ctl\x07\x00\x7f", ""]:
        assert unquote(quote(text)) == text
    assert quote("evil\r\nVia: x") == '"evil  Via: x"'


def test_header_typed_cache_and_copy() -> None:
    headers = Headers([("Via", "SIP/2.0/UDP a;branch=z9hG4bK1")])
    calls = []

    def parse(h: Headers) -> int:
        calls.append(1)
        return len(h)

    assert headers.typed("n", parse) == 1 and headers.typed("n", parse) == 1
    assert len(calls) == 1
    clone = headers.copy()
    clone.add("To", "<sip:b@c>")
    assert len(headers) == 1 and len(clone) == 2
    assert headers != clone and headers == Headers([("v", "SIP/2.0/UDP a;branch=z9hG4bK1")])


def test_name_addr_uri_is_built_lazily_and_checked_then() -> None:
    lazy = parse_name_addr("<sip:a@b:99999>;tag=1")
    assert lazy.tag == "1" and lazy.uri_text == "sip:a@b:99999"
    with pytest.raises(SipParseError):
        lazy.uri  # noqa: B018
    good = parse_name_addr('"A" <sip:a@example.com>;tag=9')
    assert good == parse_name_addr('A <sip:a@example.com>;tag=9')
    assert hash(good) == hash(parse_name_addr('"A" <sip:a@example.com>;tag=9'))
    assert good.with_tag("x").tag == "x" and good.tag == "9"
    with pytest.raises(AttributeError):
        good.display_name = "B"  # type: ignore[misc]
    built = NameAddr(uri=parse_uri("sip:a@example.com"), display_name="A", params=(("tag", "9"),))
    assert built == good and str(built) == str(good)


def test_fast_constructed_values_equal_constructed_ones() -> None:
    # The parser builds these without __init__; they must be indistinguishable.
    assert parse_uri("sip:u:p@h:1;a=b?c=d") == SipUri(
        user="u", password="p", host="h", port=1, params=(("a", "b"),), headers=(("c", "d"),)
    )
    assert parse_via("SIP/2.0/UDP h:5;branch=z9hG4bK1") == Via(
        transport="UDP", host="h", port=5, params=(("branch", "z9hG4bK1"),)
    )
    assert parse_cseq("3 BYE") == CSeq(seq=3, method="BYE")
