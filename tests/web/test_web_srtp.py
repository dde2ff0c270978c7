"""The handset page marks an encrypted call: "(SRTP)" after the codec in its calls table.

Why: a user checking a call's security from the browser must see what the LCD's
padlock says. Two handsets agree SDES keys over this test's plain SIP only
because ``srtp_over_plain`` says so (no TLS here, as in firmware/demo/screens.py);
the control run (``srtp_mode: off``) must not show the mark.
"""

from __future__ import annotations

import pytest
from webharness import PhoneLoop, chromium, wait_for

from firmware.control import ControlConfig
from firmware.demo.network import Network, call_and_answer, handset_config


def _calls_text(d: object) -> str:
    return d.find_element("id", "calls").text  # type: ignore[attr-defined]


@pytest.mark.parametrize("encrypted", [True, False])
def test_the_calls_table_marks_an_srtp_call(encrypted: bool) -> None:
    keys = {"srtp_over_plain": True} if encrypted else {"srtp_mode": "off"}
    with PhoneLoop() as loop:
        net = Network()
        try:
            a = loop.run(net.add("A", handset_config("5550001", **keys)))
            b = loop.run(net.add("B", handset_config("5550002", **keys),
                                 control=ControlConfig(port=0)))
            with chromium() as d:
                d.get(f"http://127.0.0.1:{b.host.control_port}/")
                loop.run(call_and_answer(a, b))
                text = wait_for(d, lambda x: "PCM" in _calls_text(x) and _calls_text(x),
                                "the call's codec on B's page")
                status = loop.call(lambda: b.status().calls[0].encrypted)
        finally:
            loop.run(net.close())
    assert status is encrypted
    assert ("(SRTP)" in text) is encrypted, text
