"""From the provisioned ``PhoneConfig`` to what each core is built with.

Why a module of its own: the 7960 keys (``line1_name``, ``proxy1_address``,
``timer_t1`` ...) are named for the config file, and each core wants its own
small settings value (``EndpointConfig``, ``PhoneSettings``). Mapping them in
one place keeps the cores ignorant of the file format and makes the mapping
reviewable against the Cisco admin guide's key table.

The config is read by attribute (duck typing) so this module does not import
the provisioning package: a config built by hand in a test works the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from firmware.app.netplan import failover_wanted
from firmware.media.codecs import codec_preference, supported_codecs
from firmware.phone.settings import LineSettings, PhoneSettings
from firmware.provisioning.localtime import LocalTime, local_time
from firmware.sip.auth import Credentials
from firmware.sip.endpoint import EndpointConfig
from firmware.sip.timers import TimerConfig

Address = tuple[str, int]

#: The SIP user of a phone with no line configured: it still runs (control API,
#: LCD saying so, provisioning retrying) and takes direct calls, as a 7960 does.
NO_LINE_USER = "phone"
NO_LINE_MESSAGE = "No line configured"


@dataclass(frozen=True, slots=True, kw_only=True)
class LineRegistration:
    """What the app registers for one line: ``aor`` at ``registrar``."""

    line: int
    aor: str
    registrar: str
    expires: int


def _proxy_of(cfg: Any, line: Any) -> tuple[str, int] | None:
    proxy = getattr(line, "proxy", None)
    if proxy is None:
        proxies = getattr(cfg, "proxies", {}) or {}
        proxy = proxies.get(getattr(line, "index", 1))
    if proxy is None or not getattr(proxy, "address", ""):
        return None
    if str(proxy.address).upper() == "UNPROVISIONED":
        return None
    return (str(proxy.address), int(getattr(proxy, "port", 5060)))


def clock_of(cfg: Any) -> LocalTime:
    """The status bar's clock from ``time_zone`` and the DST/format keys; an IANA
    name (``Europe/Berlin``) brings its own rules from the system's zoneinfo."""
    name = str(getattr(cfg, "time_zone", "UTC") or "UTC")
    tz = None
    if "/" in name:
        try:
            from zoneinfo import ZoneInfo

            tz = ZoneInfo(name)
        except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            tz = None
    return local_time(cfg, tz)


def proxy_transport(cfg: Any, line: Any) -> str:
    """``proxy{n}_transport`` of the line's proxy: "udp", "tcp" or "tls"."""
    proxy = getattr(line, "proxy", None)
    if proxy is None:
        proxy = (getattr(cfg, "proxies", {}) or {}).get(getattr(line, "index", 1))
    return str(getattr(proxy, "transport", "udp") or "udp").lower()


def _hostport(addr: tuple[str, int]) -> str:
    host, port = addr
    return f"{host}:{port}" if port != 5060 else host


def phone_settings(cfg: Any, *, media_address: str) -> PhoneSettings:
    """``PhoneSettings`` for call control from the 7960 keys."""
    lines = []
    for line in cfg.lines:
        proxy = _proxy_of(cfg, line)
        domain = _hostport(proxy) if proxy else media_address
        lines.append(
            LineSettings(
                number=line.name,
                display_name=getattr(line, "displayname", "") or "",
                auth_name=getattr(line, "auth_user", "") or line.name,
                password=getattr(line, "password", "") or "",
                domain=domain,
                proxy=f"sip:{domain}" if proxy else None,
                shortname=getattr(line, "shortname", "") or "",
                transport=proxy_transport(cfg, line) if proxy else "udp",
            )
        )
    idle_message = ""
    if not lines:
        lines.append(LineSettings(number=NO_LINE_USER, domain=media_address))
        idle_message = NO_LINE_MESSAGE
    hold = "c0" if getattr(cfg, "hold_method", "c0") == "c0" else "sendonly"
    dnd_response = 486 if getattr(cfg, "dnd_response", 480) == 486 else 480
    # cfwd_noanswer_timeout 0 = off: no forward on no answer, whatever the URL says
    noanswer_after = int(getattr(cfg, "cfwd_noanswer_timeout", 20) or 0)
    noanswer_url = (getattr(cfg, "cfwd_noanswer_url", "") or None) if noanswer_after else None
    invite_expires = int(getattr(cfg, "timer_invite_expires", 180) or 0)
    dtmf_payload = (None if getattr(cfg, "dtmf_outofband", "avt") == "none"
                    else int(getattr(cfg, "dtmf_avt_payload", 101)))
    return PhoneSettings(
        lines=tuple(lines),
        hold_method=hold,  # type: ignore[arg-type]
        transfer_method="also" if getattr(cfg, "transfer_method", "refer") == "also" else "refer",
        call_waiting=bool(getattr(cfg, "call_waiting", True)),
        dnd=int(getattr(cfg, "dnd_control", 0) or 0) in (1, 2),
        dnd_always=int(getattr(cfg, "dnd_control", 0) or 0) == 2,
        dnd_response=dnd_response,  # type: ignore[arg-type]
        cfwd_url=getattr(cfg, "cfwd_url", "") or None,
        cfwd_busy_url=getattr(cfg, "cfwd_busy_url", "") or None,
        cfwd_noanswer_url=noanswer_url,
        cfwd_noanswer_timeout=float(noanswer_after or 20),
        invite_expires=invite_expires or None,
        remote_party_id=bool(getattr(cfg, "remote_party_id", False)),
        dtmf_payload=dtmf_payload,
        ring_timeout=float(getattr(cfg, "ring_timeout", 180) or 180),
        reject_no_codec_as_400=bool(getattr(cfg, "reject_488_as_400", False)),
        preferred_codecs=_codecs(cfg),
        conference_join=bool(getattr(cfg, "cnf_join_enable", True)),
        media_address=media_address,
        start_media_port=int(getattr(cfg, "start_media_port", 16384)),
        end_media_port=int(getattr(cfg, "end_media_port", 32766)),
        interdigit_timeout=float(getattr(cfg, "interdigit_timeout", 10) or 10),
        pound_sends=bool(getattr(cfg, "dial_pound_sends", True)),
        phone_label=str(getattr(cfg, "phone_label", "") or ""),
        idle_message=idle_message,
        registers=bool(registrations(cfg)),
        local_time=clock_of(cfg),
        messages_uri=str(getattr(cfg, "messages_uri", "") or ""),
        stutter_msg_waiting=bool(int(getattr(cfg, "stutter_msg_waiting", 0) or 0)),
        mwi_subscribe=bool(int(getattr(cfg, "mwi_subscribe", 0) or 0)),
        mwi_uri=str(getattr(cfg, "mwi_uri", "") or ""),
        mwi_expires=int(getattr(cfg, "mwi_expires", 3600) or 3600),
        auto_answer=bool(int(getattr(cfg, "auto_answer", 0) or 0)),
        dialog_events=bool(int(getattr(cfg, "dialog_events", 1))),
        proxy_hosts=_proxy_hosts(cfg),
        srtp_mode=str(getattr(cfg, "srtp_mode", "optional") or "optional"),
        srtp_over_plain=bool(getattr(cfg, "srtp_over_plain", False)),
    )


def _proxy_hosts(cfg: Any) -> frozenset[str]:
    """Every proxy's and the outbound proxy's host: where MWI NOTIFYs and intercom may come from."""
    hosts = {proxy[0].lower() for line in cfg.lines if (proxy := _proxy_of(cfg, line))}
    if getattr(cfg, "outbound_proxy", ""):
        hosts.add(str(cfg.outbound_proxy).lower())
    return frozenset(hosts)


def _codecs(cfg: Any) -> tuple[str, ...]:
    """SDP names in preference order: ``codec_order`` with ``preferred_codec`` first,
    limited to what this build can encode (G.722 needs its library)."""
    order = tuple(getattr(cfg, "codec_order", ("g711ulaw", "g711alaw", "g722")) or ())
    preferred = getattr(cfg, "preferred_codec", "g711ulaw")
    return tuple(c.name for c in codec_preference(order, preferred, supported_codecs()))


def endpoint_config(cfg: Any, *, local_address: Address, transport: str | None = None
                    ) -> EndpointConfig:
    """The SIP endpoint: identity of line 1, every line's credentials, T1/T2 from the config.

    ``transport`` (default: line 1's ``proxy1_transport``) carries calls and the rest.
    """
    lines = list(cfg.lines)
    first: Any = lines[0] if lines else None
    user = first.name if first is not None else NO_LINE_USER
    if transport is None:
        transport = proxy_transport(cfg, first) if first is not None else "udp"
    creds = tuple(
        Credentials(username=ln.auth_user, password=ln.password, user=ln.name)
        for ln in lines
        if getattr(ln, "password", "")
    )
    outbound = None
    if getattr(cfg, "outbound_proxy", ""):
        outbound = (str(cfg.outbound_proxy), int(getattr(cfg, "outbound_proxy_port", 5060)))
    proxy = _proxy_of(cfg, first) if first is not None else None
    t1 = float(getattr(cfg, "timer_t1", 500)) / 1000.0
    t2 = float(getattr(cfg, "timer_t2", 4000)) / 1000.0
    return EndpointConfig(
        local_address=local_address,
        transport=transport,
        user=user,
        display_name=getattr(first, "displayname", "") or None,
        # The endpoint puts ``domain`` in the From host (no port): the proxy's address.
        domain=proxy[0] if proxy else None,
        outbound_proxy=outbound,
        credentials=creds,
        timers=TimerConfig(t1=t1, t2=max(t2, t1),
                           invite_retx=int(getattr(cfg, "sip_invite_retx", 6)),
                           retx=int(getattr(cfg, "sip_retx", 10))),
        # The 7960 answers an INVITE with 100 Trying at once (seed Figure B-1
        # step 2); no SIPDefault key sets this, so it is the phone's default.
        trying_delay=0.0,
        # a proxy name may stand for several servers, and proxy_backup is one more:
        # a REGISTER that times out or gets 503 goes to the next one at once
        failover_retries=2 if failover_wanted(cfg) else 0,
        learn_public_address=bool(getattr(cfg, "nat_enable", False)
                                  and not getattr(cfg, "nat_address", "")),
        # only the proxy may ring the phone (docs/security.md); no proxy: direct calls ring
        trust_proxy_only=(str(getattr(cfg, "trust_proxy_only", "403"))
                          if any(_proxy_of(cfg, ln) for ln in lines) or outbound else "off"),
        local_users=tuple(ln.name for ln in lines),
    )


def registrations(cfg: Any) -> list[LineRegistration]:
    """One REGISTER per line that has a proxy (the 7960 registers with ``proxy_register: 1``)."""
    out = []
    if not getattr(cfg, "proxy_register", True):
        return out
    expires = int(getattr(cfg, "timer_register_expires", 3600))
    # the 7960's user_info: user=phone / user=ip on the address we REGISTER (To, From)
    user_info = str(getattr(cfg, "user_info", "none") or "none")
    param = f";user={user_info}" if user_info in ("phone", "ip") else ""
    for line in cfg.lines:
        proxy = _proxy_of(cfg, line)
        if proxy is None:
            continue
        hp = _hostport(proxy)
        transport = proxy_transport(cfg, line)
        # RFC 3261 §26.2: the registrar named with transport=tls (port 5061 unless set)
        registrar = f"sip:{hp};transport={transport}" if transport != "udp" else f"sip:{hp}"
        out.append(
            LineRegistration(
                line=line.index, aor=f"sip:{line.name}@{hp}{param}", registrar=registrar,
                expires=expires,
            )
        )
    return out


def dtmf_policy(cfg: Any) -> tuple[bool, int | None]:
    """(``dtmf_inband``, payload type to send events with even when the peer took
    none: ``dtmf_outofband: avt_always``) for ``App.dtmf_inband``/``dtmf_always_pt``."""
    mode = getattr(cfg, "dtmf_outofband", "avt")
    always = int(getattr(cfg, "dtmf_avt_payload", 101)) if mode == "avt_always" else None
    return bool(getattr(cfg, "dtmf_inband", True)), always


def sip_sender(cfg: Any, send: Any, app: Any, keys: Any) -> Any:
    """The app's SIP send: with ``call_stats: 1`` BYEs and their 200 OK carry
    RTP-RxStat / RTP-TxStat (``firmware.app.rtpstat``; ``keys``: the app's
    ``mediakeys.MediaKeys``)."""
    if not getattr(cfg, "call_stats", False):
        return send
    from firmware.app.rtpstat import with_call_stats

    return with_call_stats(send, app, keys)
