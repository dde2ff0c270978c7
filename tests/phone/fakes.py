"""A recording stand-in for the SIP ``Endpoint`` command API, for unit tests of ``Phone``.

Why: the per-figure tests run phones over real endpoints (``test_flows_*``);
these unit tests pin the phone's own decisions (which command, which status,
which headers) one event at a time, without a network.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from firmware.media.sdp import LocalMedia, build_offer
from firmware.phone.actions import Action
from firmware.phone.phone import Phone
from firmware.phone.settings import LineSettings, PhoneSettings
from firmware.sip import events as ev


def offer_sdp(address: str = "10.0.0.1", port: int = 4000, codecs: tuple[Any, ...] | None = None,
              **kw: Any) -> bytes:
    local = LocalMedia(address=address, rtp_port=port, **({"codecs": codecs} if codecs else {}))
    return build_offer(local, session_id=7, version=7, **kw).to_bytes()


@dataclass
class FakeRequest:
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.headers = _Caseless(self.headers)


class _Caseless(dict):  # type: ignore[type-arg]
    def __init__(self, items: dict[str, str]) -> None:
        super().__init__({k.lower(): v for k, v in items.items()})

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


class FakeEndpoint:
    """Records every command as (verb, session-or-target, details)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self._n = 0
        self.events: deque[Any] = deque()
        self.dialogs: dict[str, tuple[str, str, str | None]] = {}

    def _id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def next_event(self) -> Any:
        return self.events.popleft() if self.events else None

    def dialog_info(self, session: str) -> tuple[str, str, str | None] | None:
        return self.dialogs.get(session)

    def invite(self, target: str, sdp: bytes | None, *, now: float, from_: str | None = None,
               headers: tuple[tuple[str, str], ...] = ()) -> str:
        sid = self._id("s")
        self.dialogs[sid] = (f"cid-{sid}", f"ltag-{sid}", None)
        self.sent.append(("invite", sid, {"target": target, "sdp": sdp, "headers": dict(headers)}))
        return sid

    def cancel(self, session: str, *, now: float) -> None:
        self.sent.append(("cancel", session, {}))

    def ringing(self, session: str, *, now: float, sdp: bytes | None = None) -> None:
        self.sent.append(("ringing", session, {}))

    def answer(self, session: str, sdp: bytes | None, *, now: float) -> None:
        self.sent.append(("answer", session, {"sdp": sdp}))

    def reject(self, session: str, status: int = 486, *, now: float, reason: str | None = None,
               headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.sent.append(("reject", session, {"status": status, "reason": reason,
                                              "headers": dict(headers)}))

    def bye(self, session: str, *, now: float, headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.sent.append(("bye", session, {"headers": dict(headers)}))

    def reinvite(self, session: str, sdp: bytes | None, *, now: float) -> None:
        self.sent.append(("reinvite", session, {"sdp": sdp}))

    def send_in_dialog(self, session: str, method: str, *, now: float, body: bytes = b"",
                       content_type: str | None = None,
                       headers: tuple[tuple[str, str], ...] = ()) -> str:
        rid = self._id("r")
        self.sent.append((method.lower(), session, {"rid": rid, "body": body,
                                                    "content_type": content_type,
                                                    "headers": dict(headers)}))
        return rid

    def respond(self, request_id: str, status: int, *, now: float, reason: str | None = None,
                body: bytes = b"", content_type: str | None = None,
                headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.sent.append(("respond", request_id, {"status": status, "reason": reason,
                                                  "body": body, "content_type": content_type}))

    def send_request(self, method: str, target: str, *, now: float, body: bytes = b"",
                     content_type: str | None = None, headers: tuple[tuple[str, str], ...] = (),
                     dialog: tuple[str, str, str | None] | None = None) -> str:
        rid = self._id("r")
        self.sent.append((method.lower(), target, {"rid": rid, "headers": dict(headers),
                                                   "dialog": dialog}))
        return rid

    def take(self) -> list[tuple[str, str, dict[str, Any]]]:
        out, self.sent = self.sent, []
        return out


class Harness:
    """One Phone on a FakeEndpoint, with its actions recorded."""

    def __init__(self, **settings: Any) -> None:
        settings.setdefault("lines", (LineSettings(number="5550002", display_name="Bob",
                                                   domain="10.0.0.2"),))
        self.settings = PhoneSettings(**settings)
        self.sip = FakeEndpoint()
        self.phone = Phone(self.settings, self.sip)
        self.now = 0.0
        self.actions: list[Action] = []

    def feed(self, event: Any) -> None:
        self.phone.receive_sip_event(event, self.now)
        self.drain()

    def drain(self) -> list[Action]:
        new = []
        while (a := self.phone.next_action()) is not None:
            new.append(a)
        self.actions.extend(new)
        return new

    def advance(self, dt: float) -> None:
        target = self.now + dt
        while (t := self.phone.get_timer()) is not None and t <= target:
            self.now = max(self.now, t)
            self.phone.handle_timer(self.now)
        self.now = target
        self.drain()

    def of(self, kind: type) -> list[Any]:
        return [a for a in self.actions if isinstance(a, kind)]

    def incoming(self, session: str = "in1", *, sdp: bytes | None = None, display: str = "Alice",
                 headers: dict[str, str] | None = None) -> None:
        self.feed(ev.IncomingCall(session=session, call_id=f"cid-{session}",
                                  from_uri="sip:5550001@10.0.0.1", from_display=display,
                                  to_uri="sip:5550002@10.0.0.2",
                                  request_uri="sip:5550002@10.0.0.2",
                                  sdp=offer_sdp() if sdp is None else sdp,
                                  request=FakeRequest(headers or {})))
        self.sip.dialogs[session] = (f"cid-{session}", f"ltag-{session}", f"rtag-{session}")

    def sent(self, verb: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [s for s in self.sip.sent if s[0] == verb]


def dial_out(h: Harness, number: str = "5550001") -> str:
    """Dial ``number`` from the keypad and return the INVITE's session (sent list cleared)."""
    h.phone.press_keys(number + "#", h.now)
    h.drain()
    (inv,) = h.sent("invite")
    h.sip.take()
    return inv[1]


def answered_call(h: Harness) -> str:
    """An incoming call from Alice answered and confirmed by ACK; returns its session."""
    h.incoming()
    h.phone.press_softkey("answer", h.now)
    h.feed(ev.CallConfirmed(session="in1"))
    h.sip.take()
    return "in1"
