"""RFC 4235 dialog-info bodies (``firmware.phone.dialoginfo``): built, read, refused."""

from __future__ import annotations

import pytest

from firmware.phone.dialoginfo import (
    MAX_BODY,
    DialogEntry,
    DialogInfo,
    build_dialog_info,
    parse_dialog_info,
)


def test_round_trip_full_state() -> None:
    info = DialogInfo(version=3, full=True, entity="sip:5550002@127.0.0.1:5062",
                      dialogs=(DialogEntry(id="c1", state="confirmed", direction="recipient"),
                               DialogEntry(id="c<2>&", state="terminated")))
    body = build_dialog_info(info)
    assert b'xmlns="urn:ietf:params:xml:ns:dialog-info"' in body and b'state="full"' in body
    back = parse_dialog_info(body)
    assert back == info
    assert back.busy
    assert not DialogInfo(version=0, full=True, entity="x",
                          dialogs=(DialogEntry(id="a", state="terminated"),)).busy


def test_reads_a_foreign_partial_document() -> None:
    body = (b'<?xml version="1.0"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" '
            b'version="7" state="partial" entity="sip:bob@example.com">'
            b'<dialog id="as7d900as8" call-id="a84b4c76e66710" local-tag="1928301774" '
            b'direction="initiator"><state event="replaced">early</state>'
            b'<remote><identity>sip:alice@example.com</identity></remote></dialog>'
            b'</dialog-info>')
    info = parse_dialog_info(body)
    assert (info.version, info.full, info.busy) == (7, False, True)
    assert info.dialogs == (DialogEntry(id="as7d900as8", state="early", direction="initiator"),)


@pytest.mark.parametrize("body, why", [
    (b"not xml", "not XML"),
    (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]>'
     b'<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" '
     b'entity="x">&a;</dialog-info>', "DTD"),
    (b'<presence xmlns="urn:ietf:params:xml:ns:pidf"/>', "not dialog-info"),
    (b'<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" state="full"/>', "version"),
    (b'<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="half"/>',
     "state"),
    (b'<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full">'
     b'<dialog id="x"><state>ringing</state></dialog></dialog-info>', "state"),
    (b"<" + b"x" * MAX_BODY, "too large"),
])
def test_bad_bodies_are_refused_with_a_reason(body: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_dialog_info(body)


def test_too_many_dialogs_are_refused() -> None:
    many = b"".join(b'<dialog id="d%d"><state>confirmed</state></dialog>' % i for i in range(40))
    body = (b'<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" '
            b'entity="x">' + many + b"</dialog-info>")
    with pytest.raises(ValueError, match="too many"):
        parse_dialog_info(body)
