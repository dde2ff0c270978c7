"""What call control needs from the configuration (7960 SIP config keys).

Why a small dataclass of our own: provisioning (Cisco ``.cnf`` files,
``dialplan.xml``) is written in parallel; the app fills ``PhoneSettings`` from
the provisioning config, and call control never parses a config file. Names
follow the 7960 keys (``proxy1_address``, ``line1_name``, ``cfwd_url`` ...)
so the mapping stays obvious.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

HoldMethod = Literal["c0", "sendonly"]
TransferMethod = Literal["refer", "also"]

#: Bound on redirections (3xx) followed for one call: a loop of 302s must end.
MAX_REDIRECTS = 8
#: Bound on contacts tried from one 300 Multiple Choices.
MAX_CONTACTS = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class LineSettings:
    """One line key: the user it registers and calls as.

    ``domain`` is the host part of our address of record (``proxy1_address``);
    ``proxy`` the outbound proxy URI calls are sent through (None: direct).
    """

    number: str
    display_name: str = ""
    auth_name: str = ""
    password: str = field(default="", repr=False)
    domain: str = "127.0.0.1"
    proxy: str | None = None
    #: the 7960's ``line{n}_shortname``: the line key's label ("" = the display name or number)
    shortname: str = ""
    #: how the proxy is reached (``proxy{n}_transport``): a number we hand to someone
    #: else (a transfer target) says so in its URI, since they cannot know it
    transport: str = "udp"

    @property
    def aor(self) -> str:
        return f"sip:{self.number}@{self.domain}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneSettings:
    """Call-control behaviour, as the 7960 config keys set it.

    ``ring_timeout`` bounds how long we ring a callee before CANCEL (B-16,
    and per contact while trying the choices of a 300, B-10/B-11).
    ``cfwd_noanswer_timeout`` is how long we ring here before forwarding.
    ``reject_no_codec_as_400`` answers an offer without a common codec the
    way the seed says (400 + Warning 304) instead of RFC 3261's 488.
    """

    lines: tuple[LineSettings, ...] = (LineSettings(number="5550001"),)
    hold_method: HoldMethod = "c0"
    transfer_method: TransferMethod = "refer"
    call_waiting: bool = True
    dnd: bool = False
    #: ``dnd_control: 2``: DND always on, the user cannot turn it off
    dnd_always: bool = False
    dnd_response: Literal[480, 486] = 480
    cfwd_url: str | None = None
    cfwd_all: bool = False
    cfwd_busy_url: str | None = None
    cfwd_noanswer_url: str | None = None
    cfwd_noanswer_timeout: float = 20.0
    ring_timeout: float = 60.0
    interdigit_timeout: float = 10.0
    pound_sends: bool = True
    reject_no_codec_as_400: bool = False
    preferred_codecs: tuple[str, ...] = ("PCMU", "PCMA")
    #: the 7960's ``cnf_join_enable``: hanging up a conference transfers the two others
    #: to each other (REFER with Replaces) instead of ending both calls
    conference_join: bool = True
    media_address: str = "127.0.0.1"
    start_media_port: int = 16384
    end_media_port: int = 16482
    ended_linger: float = 3.0
    #: local time = UTC + this, for the status-bar clock (when ``local_time`` is None)
    utc_offset_minutes: int = 0
    #: the 7960's time_zone + DST rule + time/date format (``provisioning.localtime.LocalTime``:
    #: ``utc_offset(epoch)`` and ``status(epoch)``); None: ``utc_offset_minutes``, HH:MM
    local_time: Any = None
    history_size: int = 50
    #: the 7960's ``phone_label``: shown in the idle screen's status bar instead of the line
    phone_label: str = ""
    #: the 7960's ``timer_invite_expires``: our INVITE says ``Expires: N`` and is
    #: CANCELled after N s without an answer (with ``ring_timeout``, the sooner); None: no header
    invite_expires: int | None = None
    #: the 7960's ``remote_party_id``: a Remote-Party-ID header (our identity) in INVITEs
    remote_party_id: bool = False
    #: RFC 4733 telephone-event payload type we offer (``dtmf_avt_payload``); None:
    #: none offered (``dtmf_outofband: none``), digits go in-band
    dtmf_payload: int | None = 101
    #: shown instead of "Ready" on the idle screen ("No line configured"); "" = none
    idle_message: str = ""
    #: False when no line registers (peer-to-peer): the idle screen says "Ready", not "(unreg)"
    registers: bool = True
    #: voicemail: what the Messages key dials (7960 ``messages_uri``)
    messages_uri: str = ""
    #: stutter dial tone while voice messages wait (7960 ``stutter_msg_waiting``)
    stutter_msg_waiting: bool = False
    #: SUBSCRIBE to message-summary (``mwi_subscribe``) at ``mwi_uri`` (default: line 1's AOR)
    mwi_subscribe: bool = False
    mwi_uri: str = ""
    mwi_expires: int = 3600
    #: intercom: auto-answer an INVITE from the proxy that asks for it (``auto_answer``)
    auto_answer: bool = False
    #: answer RFC 4235 dialog-state SUBSCRIBEs, so callers can CallBack (``dialog_events``)
    dialog_events: bool = True
    #: the proxy/registrar addresses: unsolicited NOTIFYs and auto-answer are taken only
    #: from these
    proxy_hosts: frozenset[str] = frozenset()
    #: SRTP with SDES keys (``srtp_mode``: off, optional, mandatory); keys go only in SDP
    #: sent over TLS unless ``srtp_over_plain`` (``firmware.media.sdes``)
    srtp_mode: str = "optional"
    srtp_over_plain: bool = False

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError("at least one line is needed")
        if self.hold_method not in ("c0", "sendonly"):
            raise ValueError(f"hold_method must be c0 or sendonly, not {self.hold_method!r}")
        if self.transfer_method not in ("refer", "also"):
            raise ValueError(f"transfer_method must be refer or also, not {self.transfer_method!r}")
        if self.dnd_response not in (480, 486):
            raise ValueError("dnd_response must be 480 or 486")
        if self.start_media_port > self.end_media_port:
            raise ValueError("start_media_port is above end_media_port")
        for name in ("cfwd_noanswer_timeout", "ring_timeout", "ended_linger",
                     "interdigit_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
