"""docs/screens: the LCD in every state the firmware has, by running the firmware.

Why not drawn by hand: a picture of a screen the phone never shows is a lie
in the docs. Here three handsets (the real ``Phone`` call control over the real
sans-IO SIP ``Endpoint``) are wired together on an in-memory network and a
virtual clock, and driven through the states the way a user drives them
(hook, keypad, softkeys, the fixed keys); each picture is what
``Phone.screen`` gives at that moment, drawn by ``hal.render`` exactly as the
Pi's OLED and the mock display draw it. Media is not run (no RTP here): the
call-info screen is fed one fixed set of figures, as the app would feed it
from the RTP stream. The wall clock is pinned, so the pictures are the same
on every run and tests/app/test_screens_doc.py can check they are current.

Usage: ``python -m firmware.demo.screens [OUTDIR]`` (default docs/screens);
``make demo`` writes them to out/demo/screens as well.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware.phone.actions import WantCallStats
from firmware.phone.callinfo import CallStats
from firmware.phone.phone import Phone
from firmware.phone.settings import LineSettings, PhoneSettings
from firmware.provisioning.directory import parse_directory
from firmware.sip import events as ev
from firmware.sip.endpoint import Endpoint, EndpointConfig
from hal.clock import VirtualClock
from hal.render import render_png

SCALE = 3
HOST = "127.0.0.1"
#: 2026-12-02 10:42 UTC: the status-bar clock of every picture
WALL = 1_796_208_120.0
DIRECTORY = b"""<CiscoIPPhoneDirectory><Title>Office</Title>
<DirectoryEntry><Name>Alice Arden</Name><Telephone>5550001</Telephone></DirectoryEntry>
<DirectoryEntry><Name>Carol Chen</Name><Telephone>5550003</Telephone></DirectoryEntry>
<DirectoryEntry><Name>Voicemail</Name><Telephone>*97</Telephone></DirectoryEntry>
</CiscoIPPhoneDirectory>"""


@dataclass
class Handset:
    """One phone on the bench: call control over a real endpoint."""

    name: str
    number: str
    port: int
    phone: Phone
    endpoint: Endpoint
    stats: CallStats = field(default_factory=lambda: CallStats(
        codec="PCMU", packets_sent=4210, packets_received=4198, loss_pct=0.3, jitter_ms=2.1,
        rtt_ms=18.0))

    @property
    def uri(self) -> str:
        return f"sip:{self.number}@{HOST}:{self.port}"


class Bench:
    """Handsets on an in-memory network (1 ms per datagram) and a virtual clock."""

    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.handsets: dict[str, Handset] = {}
        self._by_port: dict[int, Handset] = {}
        self._timers: dict[str, Any] = {}
        self.shots: list[Shot] = []

    def shot(self, phone: Phone, name: str, title: str) -> None:
        """Take the picture of ``phone``'s LCD now."""
        self.shots.append(_take(phone, name, title, self.clock.time()))

    def add(self, name: str, number: str, display: str, **settings: Any) -> Handset:
        port = 5061 + len(self.handsets)
        directory = settings.pop("directory", None)
        endpoint = Endpoint(EndpointConfig(local_address=(HOST, port), user=number,
                                           display_name=display, trying_delay=0.0))
        phone = Phone(PhoneSettings(lines=(LineSettings(number=number, display_name=display,
                                                        domain=f"{HOST}:{port}"),),
                                    media_address=HOST, **settings),
                      endpoint, wall_offset=WALL, id_seed=len(self.handsets) + 1,
                      directory=directory)
        h = Handset(name, number, port, phone, endpoint)
        self.handsets[name], self._by_port[port] = h, h
        phone.start(self.clock.time())
        phone.receive_sip_event(ev.Registered(registration="r", aor=f"sip:{number}@{HOST}",
                                              expires=3600), self.clock.time())
        self.pump()
        return h

    # ------------------------------------------------------------------ running
    def pump(self) -> None:
        """Move every queued datagram, event and action until all is quiet; re-arm timers."""
        now = self.clock.time()
        busy = True
        while busy:
            busy = False
            for h in self.handsets.values():
                for out in h.endpoint.datagrams_to_send():
                    busy = True
                    dest = self._by_port.get(out.dest[1])
                    if dest is not None:
                        src = (HOST, h.port)
                        self.clock.call_later(0.001, lambda d=dest, o=out, s=src: self._deliver(
                            d, o.data, s))
                if h.phone.pump_sip(now):
                    busy = True
                while (action := h.phone.next_action()) is not None:
                    busy = True
                    if isinstance(action, WantCallStats):
                        h.phone.set_call_stats(action.call, h.stats, now)
        for h in self.handsets.values():
            self._arm(h)

    def _deliver(self, dest: Handset, data: bytes, src: tuple[str, int]) -> None:
        dest.endpoint.receive_datagram(data, src, "udp", self.clock.time())
        self.pump()

    def _arm(self, h: Handset) -> None:
        times = [t for t in (h.endpoint.get_timer(), h.phone.get_timer()) if t is not None]
        when = min(times) if times else None
        old = self._timers.pop(h.name, None)
        if old is not None:
            old.cancel()
        if when is not None:
            self._timers[h.name] = self.clock.call_at(max(when, self.clock.time()),
                                                      lambda: self._fire(h))

    def _fire(self, h: Handset) -> None:
        self._timers.pop(h.name, None)
        now = self.clock.time()
        if (t := h.endpoint.get_timer()) is not None and t <= now:
            h.endpoint.handle_timer(now)
        if (t := h.phone.get_timer()) is not None and t <= now:
            h.phone.handle_timer(now)
        self.pump()

    def run(self, seconds: float = 0.2) -> None:
        self.clock.advance(seconds)

    def do(self, h: Handset, verb: str, *args: Any) -> None:
        """A user action on ``h`` (``do(b, "press_button", "mute")``), then let it play out."""
        getattr(h.phone, verb)(*args, self.clock.time())
        self.pump()
        self.run()

    def hook(self, h: Handset, off: bool) -> None:
        self.do(h, "hook", off)


@dataclass(frozen=True, slots=True)
class Shot:
    name: str
    title: str
    png: bytes
    rows: tuple[str, ...]


def _scenario(bench: Bench) -> None:
    """Every state, in the order a day at the desk meets them."""
    directory = parse_directory(DIRECTORY)
    a = bench.add("A", "5550001", "Alice Arden", directory=directory)
    b = bench.add("B", "5550002", "Bob Smith", directory=directory, messages_uri="*97",
                  stutter_msg_waiting=True, auto_answer=True,
                  proxy_hosts=frozenset({HOST}))
    c = bench.add("C", "5550003", "Carol Chen")
    unreg = Phone(PhoneSettings(lines=(LineSettings(number="5550009"),)), None, wall_offset=WALL)
    bench.shot(unreg, "idle_unregistered", "Idle, not registered yet")

    def shot(h: Handset, name: str, title: str) -> None:
        bench.shot(h.phone, name, title)

    shot(b, "idle_registered", "Idle, line registered")
    bench.hook(b, True)
    bench.do(b, "press_keys", "55500")
    shot(b, "dialing", "Off hook, collecting digits (dial plan)")
    bench.do(b, "press_softkey", "endcall")
    bench.hook(b, False)
    bench.do(b, "dial", a.uri)
    shot(b, "ringback", "Outgoing call, 180 Ringing received")
    shot(a, "incoming", "Incoming call: the caller's name from the local directory")
    bench.hook(a, True)
    bench.run(83.0)
    shot(b, "connected_speaker", "Connected on the speakerphone, call timer running")
    # (who presses, how, what, what undoes it): B's screen while the state lasts
    for who, action, on, off, name, title in (
        (b, "press_button", "mute", "mute", "connected_muted", "Microphone muted (mute key)"),
        (b, "press_button", "volup", "voldown", "volume", "Volume key: the level of the device in use"),
        (b, "press_button", "info", "info", "call_info", "Info key: the call's media figures"),
        (b, "press_softkey", "hold", "resume", "on_hold", "We put the call on hold"),
        (a, "press_softkey", "hold", "resume", "held_by_far_end", "The far end put us on hold"),
    ):
        bench.do(who, action, on)
        shot(b, name, title)
        bench.do(who, action, off)
    bench.do(c, "dial", b.uri)
    shot(b, "call_waiting", "A second call arrives during a call")
    bench.do(b, "press_softkey", "answer")
    shot(b, "two_calls", "Two calls, one held: Swap toggles them")
    bench.do(c, "press_softkey", "endcall")
    bench.run(5.0)
    bench.do(b, "press_softkey", "resume")
    bench.do(b, "press_softkey", "transfer")
    bench.do(b, "press_keys", "55500")
    shot(b, "transfer_prompt", "Transfer: enter the target")
    bench.do(b, "press_softkey", "endcall")
    bench.run(5.0)
    bench.do(b, "press_softkey", "confrn")
    bench.do(b, "dial", c.uri)
    bench.hook(c, True)
    bench.do(b, "press_softkey", "confrn")
    shot(b, "conference", "3-way conference: Confrn, call, Confrn again")
    bench.do(b, "press_button", "speaker")  # the speaker key ends a speakerphone call
    bench.hook(a, False)
    bench.hook(c, False)
    bench.run(5.0)
    bench.do(a, "press_softkey", "dnd")
    bench.do(b, "dial", a.uri)  # A does not take calls now: the call fails
    bench.run(0.5)
    shot(b, "call_ended", "Call ended, with the reason")
    bench.do(b, "press_button", "speaker")
    bench.do(a, "press_softkey", "dnd")
    bench.run(5.0)
    bench.do(b, "press_softkey", "cfwdall")
    bench.do(b, "press_keys", "5550003#")
    bench.run(1.0)
    shot(b, "forwarded", "All calls forwarded (CFwdAll)")
    bench.do(b, "press_softkey", "cfwdall")
    bench.do(b, "press_softkey", "dnd")
    shot(b, "dnd", "Do not disturb")
    bench.do(b, "press_softkey", "dnd")
    _mwi(bench, b)
    shot(b, "mwi", "Voice messages waiting: envelope, count (RFC 3842 NOTIFY)")
    bench.do(b, "press_button", "directories")
    shot(b, "directories", "Directories key")
    for key, name, title in (("3", "placed_calls", "Placed calls, newest first (Dial calls the entry)"),
                             ("2", "received_calls", "Received calls"),
                             ("4", "local_directory", "The local directory (directory_url)")):
        bench.do(b, "press_key", key)  # a list from the Directories menu, then back to it
        shot(b, name, title)
        bench.do(b, "press_softkey", "exit")
    bench.do(b, "press_softkey", "exit")
    bench.do(a, "press_softkey", "dnd")
    bench.do(c, "dial", a.uri)  # refused (DND): a missed call at A
    bench.run(5.0)
    bench.do(a, "press_softkey", "dnd")
    bench.do(a, "press_button", "directories")
    bench.do(a, "press_key", "1")
    shot(a, "missed_calls", "Missed calls")
    bench.do(a, "press_softkey", "exit")
    bench.do(a, "press_softkey", "exit")
    for button, name, title in (("settings", "settings", "Settings key: volumes and DND (Lower/Raise)"),
                                ("services", "services", "Services key (no XML services client in this firmware)")):
        bench.do(b, "press_button", button)
        shot(b, name, title)
        bench.do(b, "press_softkey", "exit")
    _intercom(bench, a, b)
    shot(b, "intercom", "Intercom: auto-answered on the speaker, microphone muted")
    e = _answered_call(bench, ("D", "5550004", "Dana Diaz"), ("E", "5550005", "Eve Evans"),
                       preferred_codecs=("G722", "PCMU", "PCMA"))
    shot(e, "hd_call", "HD voice: a G.722 (wideband) call")
    _callback(bench, shot)
    # SDES keys over this bench's plain SIP only because srtp_over_plain says so (no TLS)
    j = _answered_call(bench, ("I", "5550009", "Ivy Irwin"), ("J", "5550010", "Jon Jones"),
                       srtp_over_plain=True)
    shot(j, "secure_call", "SRTP: an encrypted call (padlock, Secure call)")


def _answered_call(bench: Bench, caller: tuple[str, str, str], callee: tuple[str, str, str],
                   **settings: Any) -> Handset:
    """Two new handsets with ``settings``: the caller dials, the callee answers, 12 s
    on; the callee, whose screen is shown."""
    x, y = bench.add(*caller, **settings), bench.add(*callee, **settings)
    bench.do(x, "dial", y.uri)
    bench.hook(y, True)
    bench.run(12.0)
    return y


def _callback(bench: Bench, shot: Any) -> None:
    """RFC 5359 automatic redial: Fay is busy with Gil when Hal calls her."""
    f = bench.add("F", "5550006", "Fay Fox", call_waiting=False)
    g = bench.add("G", "5550007", "Gil Gray")
    h = bench.add("H", "5550008", "Hal Hunt")
    bench.do(g, "dial", f.uri)
    bench.hook(f, True)
    bench.hook(h, True)
    bench.do(h, "dial", f.uri)
    bench.run(1.0)
    shot(h, "busy_callback", "Busy: the CallBack softkey (RFC 5359 automatic redial)")
    bench.do(h, "press_softkey", "callback")
    bench.hook(h, False)
    bench.run(1.0)
    shot(h, "callback_waiting", "CallBack set: waiting for the busy number")
    bench.hook(f, False)
    bench.run(1.0)
    shot(h, "callback_free", "CallBack: the number is free, the phone rings (Dial redials)")


def _mwi(bench: Bench, b: Handset) -> None:
    body = b"Messages-Waiting: yes\r\nVoice-Message: 2/5 (0/1)\r\n"
    notify = (
        f"NOTIFY sip:{b.number}@{HOST}:{b.port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {HOST}:5060;branch=z9hG4bKmwi1\r\nMax-Forwards: 70\r\n"
        f"From: <sip:voicemail@{HOST}>;tag=vm1\r\nTo: <sip:{b.number}@{HOST}>\r\n"
        f"Call-ID: mwi-1@{HOST}\r\nCSeq: 1 NOTIFY\r\nEvent: message-summary\r\n"
        f"Subscription-State: active\r\nContent-Type: application/simple-message-summary\r\n"
        f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    b.endpoint.receive_datagram(notify, (HOST, 5060), "udp", bench.clock.time())
    bench.pump()
    bench.run()


def _intercom(bench: Bench, a: Handset, b: Handset) -> None:
    bench.do(a, "dial", b.uri)  # A stands in for the paging server behind the proxy
    call = a.phone.calls()[-1]
    a.phone.hangup(a.phone.call_by_id(call.id), bench.clock.time())  # type: ignore[arg-type]
    bench.pump()
    bench.run(5.0)
    a.phone.speaker = True
    a.phone.place_call(b.uri, bench.clock.time(),
                       headers=(("Call-Info", f"<sip:{HOST}>;answer-after=0"),))
    bench.pump()
    bench.run(0.3)


def _take(phone: Phone, name: str, title: str, now: float) -> Shot:
    screen = phone.screen(now)
    return Shot(name=name, title=title, png=render_png(screen, scale=SCALE),
                rows=tuple(screen.text_rows()))


def take_all() -> list[Shot]:
    """Run the scenario; every picture in order."""
    bench = Bench()
    _scenario(bench)
    return list(bench.shots)


def index(shots: list[Shot]) -> str:
    lines = ["# Screens", "",
             "What the 128x64 panel shows in each state, 3x enlarged. These pictures are taken",
             "by running the firmware (`firmware/demo/screens.py`: three handsets' call control",
             "over real SIP endpoints on an in-memory network, driven by keys and softkeys) and",
             "drawn by `hal/render.py`, the code the Pi's display uses. Regenerate with",
             "`python -m firmware.demo.screens`; tests/app/test_screens_doc.py checks they are",
             "current.", ""]
    for s in shots:
        lines += [f"## {s.title}", "", f"![{s.title}]({s.name}.png)", ""]
    return "\n".join(lines)


def write(out: Path) -> list[Shot]:
    shots = take_all()
    out.mkdir(parents=True, exist_ok=True)
    for s in shots:
        (out / f"{s.name}.png").write_bytes(s.png)
    (out / "README.md").write_text(index(shots))
    return shots


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2] / "docs" / "screens"
    shots = write(out)
    sys.stdout.write(f"{len(shots)} screens written to {out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
