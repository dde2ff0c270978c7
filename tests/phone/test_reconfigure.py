"""``Phone.reconfigure``: a resync's new settings applied to an idle phone in place."""

from __future__ import annotations

import dataclasses

import pytest

from firmware.phone.actions import ShowScreen
from firmware.phone.phone import PhoneError
from firmware.phone.settings import LineSettings

from .fakes import Harness


def test_new_label_dial_settings_and_ports_apply_and_redraw() -> None:
    h = Harness()
    h.phone.start(0.0)
    h.drain()
    new = dataclasses.replace(h.settings, phone_label="Reception", interdigit_timeout=3.0,
                              start_media_port=30000, end_media_port=30010, dnd=True)
    h.phone.reconfigure(new, "plan", 1.0)
    shown = [a.screen for a in h.drain() if isinstance(a, ShowScreen)]
    assert shown and shown[-1].status.startswith("Reception")
    assert h.phone.settings.interdigit_timeout == 3.0 and h.phone.dial_plan == "plan"
    assert h.phone.ports.allocate() == 30000 and h.phone.dnd


def test_a_changed_line_set_or_a_live_call_is_refused() -> None:
    h = Harness()
    two = dataclasses.replace(h.settings, lines=(*h.settings.lines, LineSettings(number="7")))
    with pytest.raises(PhoneError) as exc:
        h.phone.reconfigure(two, None, 0.0)
    assert exc.value.status == 409 and h.phone.settings is h.settings
    h.phone.dial("5550003", 0.0)
    with pytest.raises(PhoneError):
        h.phone.reconfigure(dataclasses.replace(h.settings, phone_label="x"), None, 0.0)
    assert h.phone.settings.phone_label == ""
