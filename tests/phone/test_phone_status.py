"""Phone state that outlives one call: registration on the screen, call history.

One SIP event at a time, on a recording endpoint (see fakes.py).
"""

from __future__ import annotations

from typing import Any

from firmware.sip import events as ev

from .fakes import Harness


def test_registration_state_reaches_the_screen() -> None:
    h = Harness()
    assert h.phone.screen(0.0).lines[0] == "Registering..."
    h.feed(ev.Registered(registration="r1", aor="sip:5550002@10.0.0.2", expires=3600))
    screen = h.phone.screen(0.0)
    assert screen.lines[0] == "Ready" and "registered" in screen.icons
    h.feed(ev.RegistrationFailed(registration="r1", aor="sip:5550002@10.0.0.2", status=403,
                                 reason="Forbidden", retry_in=30.0))
    assert not h.phone.lines[0].registered
    assert h.phone.lines[0].registration_reason == "403 Forbidden"


def test_history_survives_a_restart(tmp_path: Any) -> None:
    from firmware.app.history_file import JsonHistoryFile
    from firmware.phone.phone import Phone

    store = JsonHistoryFile(tmp_path)
    h = Harness()
    h.phone.wall_offset = 1_700_000_000.0
    h.phone.dial("5550009", 1.0)
    h.incoming("in5")
    h.feed(ev.CallEnded(session="in5", by="remote", reason="cancelled"))
    from firmware.phone.actions import HistoryChanged

    assert h.of(HistoryChanged)
    store.save(h.phone.history)
    again = Phone(h.settings, h.sip, history=store.load())
    kinds = {e.kind: e for e in again.history.entries()}
    assert set(kinds) == {"placed", "missed"}
    assert kinds["placed"].remote == "sip:5550009@10.0.0.2" and kinds["placed"].at > 1.7e9
    assert kinds["missed"].display == "Alice"
