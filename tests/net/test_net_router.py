"""The router's pure parts: RFC 2782 SRV order and the backup's Request-URI."""

from __future__ import annotations

import random

from firmware.net.resolve import Srv, order_srv
from firmware.net.wire import retarget_request_uri

INVITE = (b"INVITE sip:5550002@192.0.2.10:5070;user=phone SIP/2.0\r\n"
          b"To: <sip:5550002@192.0.2.10:5070>\r\nContent-Length: 0\r\n\r\n")


def test_a_request_for_the_proxy_names_the_backup_only_in_its_request_line() -> None:
    out = retarget_request_uri(INVITE, ("192.0.2.10", 5070), ("127.0.0.9", 5060))
    assert out.startswith(b"INVITE sip:5550002@127.0.0.9;user=phone SIP/2.0\r\n")
    assert b"To: <sip:5550002@192.0.2.10:5070>" in out  # the rest is the core's


def test_other_request_uris_and_responses_are_left_alone() -> None:
    assert retarget_request_uri(INVITE, ("192.0.2.11", 5070), ("b", 5060)) == INVITE
    assert retarget_request_uri(INVITE, ("192.0.2.10", 5060), ("b", 5060)) == INVITE
    ok = b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"
    assert retarget_request_uri(ok, ("192.0.2.10", 5070), ("b", 5060)) == ok
    # a port of 5060 may be left out of the Request-URI
    reg = b"REGISTER sip:pbx.test SIP/2.0\r\n\r\n"
    assert retarget_request_uri(reg, ("pbx.test", 5060), ("10.9.9.9", 5062)).startswith(
        b"REGISTER sip:10.9.9.9:5062 SIP/2.0")


def test_srv_order_is_by_priority_then_weight() -> None:
    records = [Srv(20, 0, 1, "c"), Srv(10, 90, 1, "a"), Srv(10, 10, 1, "b"), Srv(30, 0, 1, ".")]
    firsts = [order_srv(records, random.Random(seed))[0].target for seed in range(400)]
    assert {o.target for o in order_srv(records, random.Random(1))[2:]} == {"c"}  # "." dropped
    assert firsts.count("a") > 3 * firsts.count("b") > 0  # weight 90 vs 10
