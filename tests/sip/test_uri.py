"""SIP/SIPS/tel URI parsing, serialization and RFC 3261 §19.1.4 comparison."""

from __future__ import annotations

import pytest

from firmware.sip.errors import SipParseError
from firmware.sip.uri import SipUri, parse_uri, unescape

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland


def test_full_sip_uri() -> None:
    uri = parse_uri("sips:alice:secret@Atlanta.Example.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent")
    assert uri.scheme == "sips"
    assert (uri.user, uri.password) == ("alice", "secret")
    assert (uri.host, uri.port) == ("Atlanta.Example.com", 5061)
    assert uri.params == (("transport", "tcp"), ("lr", None))
    assert uri.transport == "tcp" and uri.has_param("lr") and uri.param("LR") == ""
    assert uri.headers == (("subject", "project%20x"), ("priority", "urgent"))
    assert str(uri) == (
        "sips:alice:secret@Atlanta.Example.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent"
    )


@pytest.mark.parametrize(
    "text, host, port",
    [
        ("sip:[2001:db8::10]", "2001:db8::10", None),
        ("sip:bob@[2001:db8::10]:5070", "2001:db8::10", 5070),
        ("sip:[::ffff:192.0.2.1]:5060;maddr=[2001:db8::1]", "::ffff:192.0.2.1", 5060),
        ("sip:192.0.2.4", "192.0.2.4", None),
    ],
)
def test_hosts_and_ipv6_references(text: str, host: str, port: int | None) -> None:
    uri = parse_uri(text)
    assert (uri.host, uri.port) == (host, port)
    assert str(uri) == text
    assert parse_uri(str(uri)) == uri


def test_tel_and_opaque_schemes() -> None:
    tel = parse_uri("tel:+1-201-555-0123;phone-context=example.com")
    assert tel.scheme == "tel" and tel.user == "+1-201-555-0123"
    assert tel.param("phone-context") == "example.com"
    assert str(tel) == "tel:+1-201-555-0123;phone-context=example.com"
    assert tel.equivalent(parse_uri("tel:+12015550123;PHONE-CONTEXT=example.com"))
    other = parse_uri("soap.beep://192.0.2.103:3002")
    assert other.scheme == "soap.beep" and other.opaque == "//192.0.2.103:3002"
    assert not other.is_sip and str(other) == "soap.beep://192.0.2.103:3002"


def test_user_part_may_hold_semicolons_and_question_marks() -> None:
    uri = parse_uri("sip:user;par=u%40example.net@example.com")
    assert uri.user == "user;par=u%40example.net" and uri.host == "example.com"
    assert uri.params == ()


@pytest.mark.parametrize(
    "text",
    [
        "sip:",
        "<sip:a@b>",
        "sip:user@example.com; lr",
        "sip:user@exa mple.com",
        "sip:a@b:99999",
        "sip:a@b:",
        "sip:a@[2001:db8::zz]",
        "sip:a@[2001:db8::1",
        "sip:a@b;=x",
        "sip:a@b?nohvalue",
        "sip:a%2@b",
        "sip:a@-bad-.com",
        "tel:",
        "1sip:a@b",
        "sip:a\"b@c",
    ],
)
def test_malformed_uris(text: str) -> None:
    with pytest.raises(SipParseError):
        parse_uri(text)


def test_comparison_rules_of_19_1_4() -> None:
    def eq(a: str, b: str) -> bool:
        return parse_uri(a).equivalent(parse_uri(b))

    # Equivalent pairs from RFC 3261 §19.1.4.
    assert eq("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp")
    assert eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5")
    assert eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5")
    assert eq("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
              "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com")
    assert eq("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
              "sip:alice@atlanta.com?priority=urgent&subject=project%20x")
    # Non-equivalent pairs from RFC 3261 §19.1.4.
    assert not eq("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP")
    assert not eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060")
    assert not eq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp")
    assert not eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp")
    assert not eq("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting")
    assert not eq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4")
    assert not eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off")
    assert not eq("sip:alice@atlanta.com", "sips:alice@atlanta.com")
    assert eq("sip:[2001:db8:0::1]", "sip:[2001:DB8::1]")


def test_escapes_decoded_exactly_once() -> None:
    assert unescape("v%61lue%25%34%31") == b"value%41"
    assert unescape("null-%00-null") == b"null-\x00-null"
    a = parse_uri("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31")
    b = parse_uri("sip:caller@host5.example.net;lr;name=value%2541")
    c = parse_uri("sip:caller@host5.example.net;lr;name=valueA")
    assert a.equivalent(b) and not a.equivalent(c)


def test_with_params_returns_new_uri() -> None:
    uri = parse_uri("sip:bob@example.com;transport=udp")
    changed = uri.with_params(transport="tcp", lr=None)
    assert str(changed) == "sip:bob@example.com;transport=tcp;lr"
    assert str(uri) == "sip:bob@example.com;transport=udp"
    assert str(changed.without_params("lr", "transport")) == "sip:bob@example.com"
    assert str(SipUri(host="2001:db8::1", port=5060)) == "sip:[2001:db8::1]:5060"
