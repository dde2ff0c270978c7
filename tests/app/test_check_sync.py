"""NOTIFY ``Event: check-sync`` on a whole App (virtual clock): 200 + resync from the proxy,
403 from anyone else, 489 Bad Event when the phone has no provisioning server to resync from."""

from __future__ import annotations

from typing import Any

import pytest

from firmware.app.checksync import check_sync_answer, is_check_sync
from firmware.app.config_map import endpoint_config, phone_settings
from firmware.app.core import App
from firmware.demo.network import handset_config
from firmware.phone.phone import Phone
from firmware.sip.endpoint import Endpoint
from firmware.sip.events import OutOfDialogRequest
from hal.clock import VirtualClock
from hal.mock import MockHal

PHONE = ("127.0.0.1", 5062)
PROXY = ("127.0.0.7", 5060)
STRANGER = ("127.0.0.9", 5060)


def notify(event: str = "check-sync", *, branch: str = "z9hG4bKcs1", src: tuple[str, int] = PROXY) -> bytes:
    return (
        f"NOTIFY sip:5550002@{PHONE[0]}:{PHONE[1]} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {src[0]}:{src[1]};branch={branch}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:proxy@{src[0]}>;tag=cs1\r\n"
        f"To: <sip:5550002@{PHONE[0]}>\r\n"
        f"Call-ID: {branch}@{src[0]}\r\n"
        "CSeq: 1 NOTIFY\r\n"
        f"Event: {event}\r\n"
        "Subscription-State: terminated\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


class Rig:
    """One App on a VirtualClock; what it sends is kept as (first line, dest)."""

    def __init__(self, clock: VirtualClock, *, can_resync: bool) -> None:
        cfg = handset_config("5550002", media_base=31000, proxy=PROXY)
        endpoint = Endpoint(endpoint_config(cfg, local_address=PHONE))
        self.sent: list[tuple[str, tuple[str, int]]] = []
        self.resyncs = 0
        self.app = App(clock=clock, hal=MockHal(clock, audio=None), endpoint=endpoint,
                       phone=Phone(phone_settings(cfg, media_address=PHONE[0]), endpoint),
                       send_sip=self._send, registrations=[], name="phone")
        if can_resync:
            self.app.on_check_sync = self._resync
        self.app.start()

    def _send(self, data: bytes, dest: Any, transport: str) -> None:
        self.sent.append((data.split(b"\r\n", 1)[0].decode(), dest))

    def _resync(self) -> None:
        self.resyncs += 1


@pytest.mark.parametrize("event", ["check-sync", "Check-Sync;reboot=false"])
def test_check_sync_from_the_proxy_answers_200_and_resyncs(clock: VirtualClock, event: str) -> None:
    rig = Rig(clock, can_resync=True)
    rig.app.receive_sip(notify(event), PROXY)
    assert rig.sent == [("SIP/2.0 200 OK", PROXY)]
    assert rig.resyncs == 1


def test_check_sync_from_elsewhere_is_forbidden(clock: VirtualClock) -> None:
    rig = Rig(clock, can_resync=True)
    # The Via claims the proxy; the datagram's source decides.
    rig.app.receive_sip(notify(src=PROXY), STRANGER)
    assert [line for line, _ in rig.sent] == ["SIP/2.0 403 Forbidden"]
    assert rig.resyncs == 0


def test_check_sync_without_a_resyncer_is_a_bad_event(clock: VirtualClock) -> None:
    rig = Rig(clock, can_resync=False)
    rig.app.receive_sip(notify(), PROXY)
    assert rig.sent == [("SIP/2.0 489 Bad Event", PROXY)]


def test_other_out_of_dialog_notify_still_reaches_call_control(clock: VirtualClock) -> None:
    rig = Rig(clock, can_resync=True)
    rig.app.receive_sip(notify("presence"), PROXY)  # a package the phone does not take
    assert rig.sent == [("SIP/2.0 489 Bad Event", PROXY)]  # the phone's answer, unchanged
    assert rig.resyncs == 0


@pytest.mark.internal_errors_expected  # the trigger raises on purpose
def test_a_failing_trigger_does_not_escape(clock: VirtualClock) -> None:
    rig = Rig(clock, can_resync=True)

    def boom() -> None:
        raise RuntimeError("no loop")

    rig.app.on_check_sync = boom
    rig.app.receive_sip(notify(), PROXY)
    assert rig.sent == [("SIP/2.0 200 OK", PROXY)]


def test_the_endpoint_reports_the_datagram_source() -> None:
    # trust_proxy_only off: the stranger's NOTIFY reaches the app (with it on, the
    # endpoint itself answers 403: tests/sip/test_trust.py)
    e = Endpoint(endpoint_config(handset_config("5550002", media_base=31000, proxy=PROXY,
                                                trust_proxy_only="off"),
                                 local_address=PHONE))
    e.receive_datagram(notify(), STRANGER, "udp", 0.0)
    ev = e.next_event()
    assert isinstance(ev, OutOfDialogRequest) and ev.source == STRANGER and is_check_sync(ev)
    assert check_sync_answer(ev, frozenset({"127.0.0.9"}), True).resync
    assert check_sync_answer(ev, frozenset(), True).status == 403
