"""The phone at one instant, as a value: what screens and softkeys are drawn from.

Why a separate value: ``softkeys.py`` and ``screens.py`` are pure functions of
what the user can see; building them from this snapshot keeps them testable
without a SIP stack and keeps the orchestrator out of presentation.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware.phone.call import CallView


@dataclass(frozen=True, slots=True, kw_only=True)
class MenuView:
    """A list screen (Directories, a call list, Settings, Services): ``title`` in the status
    bar, ``rows`` in the main area, ``selected`` the inverted row (None: nothing to pick)."""

    title: str
    rows: tuple[str, ...]
    selected: int | None
    softkeys: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneView:
    """Everything the display shows.

    ``focused`` is the call the handset acts on; ``other`` the second call of
    the line (waiting, held or consultation). ``transferring`` is set while a
    transfer waits for its target (the consultation call is ``focused``).
    ``now`` drives the call timer.
    """

    now: float
    line_name: str
    registered: bool
    off_hook: bool
    #: why the line is not registered ("503 TLS: certificate not trusted"), if known
    reg_problem: str | None = None
    focused: CallView | None = None
    other: CallView | None = None
    transferring: bool = False
    #: the focused call is a Confrn consultation: Confrn again joins it with the held call
    conferencing: bool = False
    dnd: bool = False
    cfwd_to: str | None = None
    last_dialed: str | None = None
    missed: int = 0
    notice: str | None = None
    clock: str = ""
    #: ``phone_label`` ("Front desk"); empty: the status bar names the line
    label: str = ""
    #: the call-info screen's rows (``callinfo.info_rows``) while it is up
    info: tuple[str, ...] = ()
    #: digits the focused call's peer just sent (RFC 4733), shown for a moment
    dtmf: str = ""
    #: the idle screen's first row instead of "Ready" ("No line configured",
    #: "Registration failed: 403 Forbidden"); "" = Ready / Registering...
    idle: str = ""
    #: False when no line registers (peer-to-peer): nothing to wait for
    registers: bool = True
    #: microphone off (the mute key)
    muted: bool = False
    #: the audio path in use: handset, speaker, headset or idle
    route: str = "idle"
    #: voice messages waiting (RFC 3842) and how many are new (None: the server did not say)
    mwi: bool = False
    mwi_new: int | None = None
    #: the Directories / Settings / Services screen while it is up
    menu: MenuView | None = None
    #: a CallBack (RFC 5359 automatic redial, ``callback.py``): "CallBack: 5550002" while
    #: the callee is busy, "5550002 is free" while ringing the user (``callback_alert``)
    callback: str = ""
    callback_alert: bool = False
