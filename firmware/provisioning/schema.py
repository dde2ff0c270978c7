"""Typed phone configuration built from lexed ``.cnf`` files (SIPDefault, then SIP<MAC>).

Why frozen dataclasses: the config is a value. Resync builds a new one and
compares (``diff.py``); nothing mutates a config in place, so a bad file can
never half-apply. Secrets (line passwords, the control token) are fields with
``repr=False`` and are never logged; messages name the key, not the value.

Why warnings and not refusals: a 7960 boots from whatever it can read, and
so must we. A bad value of a key is skipped (the earlier value or the
default stays) with a warning naming file, line and key and, for a typo, a
"did you mean"; a label too long is cut; an unknown key is ignored. Only the
wiring (``hal.settings.HalSettings``: pins used twice, pins a display bus
needs) refuses the set, since a handset wired wrong cannot work; whether a
set is good enough to become "last good" (a usable line) is boot.py's call.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from firmware.provisioning.cnf import CnfFile, ConfigError, where
from firmware.provisioning.dialplan import DialPlan
from firmware.provisioning.keys import (
    IGNORED_SECRETS,
    KEYS,
    KNOWN_UNUSED,
    LINE_KEYS,
    MAX_LINES,
    PROXY_KEYS,
    KeySpec,
)
from firmware.provisioning.localtime import ZONES, zone_offset
from firmware.provisioning.suggest import did_you_mean, known_key_names
from firmware.provisioning.values import ValueRefused
from hal.settings import HalConfigError, HalSettings

log = logging.getLogger(__name__)

_INDEXED_RE = re.compile(r"^(line|proxy)(\d{1,2})_([a-z]+)$")
UNPROVISIONED = "UNPROVISIONED"


@dataclass(frozen=True, slots=True, kw_only=True)
class Proxy:
    """A SIP proxy/registrar: ``proxy{n}_address``/``proxy{n}_port``."""

    address: str
    port: int = 5060
    #: False when the file named no ``proxy{n}_port``: a host name is then
    #: looked up by NAPTR/SRV first (RFC 3263 §4.2), an IP address gets 5060.
    port_given: bool = True
    transport: str = "udp"  # proxy{n}_transport: udp, tcp or tls


@dataclass(frozen=True, slots=True, kw_only=True)
class LineConfig:
    """One line (``line{n}_*``): the SIP identity it registers and calls as."""

    index: int
    name: str
    displayname: str = ""
    shortname: str = ""
    authname: str = ""
    password: str = field(default="", repr=False)
    proxy: Proxy | None = None

    @property
    def auth_user(self) -> str:
        """Digest user name: ``authname`` if given, else the line name (7960 rule)."""
        return self.authname or self.name


@dataclass(frozen=True, slots=True, kw_only=True)
class HalConfig:
    """Handset hardware keys as set in the files (our keys). None / () = not set,
    so ``hal.settings.HalSettings`` keeps its reference wiring for it. The HAL
    takes it as ``HalSettings.from_cnf(dataclasses.asdict(config.hal))``;
    ``PhoneConfig.hal_settings`` is that value, already validated."""

    pin_factory: str | None = None
    keypad_rows: tuple[int, ...] = ()
    keypad_cols: tuple[int, ...] = ()
    softkey_pins: tuple[int, ...] = ()
    line_pins: tuple[int, ...] = ()
    feature_pins: tuple[tuple[str, int], ...] = ()
    hook_pin: int | None = None
    hook_polarity: str | None = None
    hook_debounce_ms: int | None = None
    buzzer_pin: int | None = None
    buzzer_tone_hz: int | None = None
    display_type: str | None = None
    display_bus: str | None = None
    display_port: int | None = None
    display_address: int | None = None
    display_spi_device: int | None = None
    display_dc_pin: int | None = None
    display_rst_pin: int | None = None
    display_width: int | None = None
    display_height: int | None = None
    display_rotate: int | None = None
    audio_capture_device: str | None = None
    audio_playback_device: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneConfig:
    """The whole configuration of one handset. Field names are the ``.cnf`` keys;
    timers keep the 7960's units (``timer_t1``/``timer_t2`` in ms)."""

    lines: tuple[LineConfig, ...] = ()
    proxies: Mapping[int, Proxy] = field(default_factory=dict)
    outbound_proxy: str = ""
    outbound_proxy_port: int = 5060
    proxy_register: bool = False
    timer_register_expires: int = 3600
    timer_t1: int = 500
    timer_t2: int = 4000
    timer_invite_expires: int = 180
    sip_retx: int = 10
    sip_invite_retx: int = 6
    voip_control_port: int = 5060
    start_media_port: int = 16384
    end_media_port: int = 32766
    preferred_codec: str = "g711ulaw"
    codec_order: tuple[str, ...] = ("g711ulaw", "g711alaw", "g722")
    dtmf_avt_payload: int = 101
    dtmf_outofband: str = "avt"
    dtmf_inband: bool = True
    call_stats: bool = False
    nat_enable: bool = False
    nat_address: str = ""
    rtp_latch: bool = False  # RFC 4961 latching (also on with nat_enable)
    proxy_backup: str = ""
    proxy_backup_port: int = 5060
    bind_address: str = ""
    keepalive_interval: int = 30
    proxy_retry_interval: int = 60
    user_info: str = "none"
    remote_party_id: bool = False
    cfwd_url: str = ""
    call_waiting: bool = True
    dnd_control: int = 0
    messages_uri: str = ""
    stutter_msg_waiting: bool = False
    auto_answer: bool = False
    dialog_events: bool = True
    directory_url: str = ""
    cnf_join_enable: bool = True
    phone_label: str = ""
    time_zone: str = "UTC"
    time_format_24hr: bool = True
    date_format: str = "M/D/Y"
    dst_auto_adjust: bool = True
    dst_offset: int = 60  # minutes
    dst_start_month: int = 4
    dst_start_day: int = 0
    dst_start_day_of_week: int = 1  # 1 = Sunday
    dst_start_week_of_month: int = 1  # 8 = last
    dst_start_time: int = 120  # minutes after midnight
    dst_stop_month: int = 10
    dst_stop_day: int = 0
    dst_stop_day_of_week: int = 1
    dst_stop_week_of_month: int = 8
    dst_stop_time: int = 120
    rfc_2543_hold: bool = True
    image_version: str = ""
    tftp_cfg_dir: str = ""
    sync: int = 1
    dial_template: str = "dialplan"
    hold_method: str = "c0"
    transfer_method: str = "refer"
    dnd_response: int = 480
    cfwd_busy_url: str = ""
    cfwd_noanswer_url: str = ""
    cfwd_noanswer_timeout: int = 20
    ring_timeout: int = 180
    reject_488_as_400: bool = False
    interdigit_timeout: int = 10
    dial_pound_sends: bool = True
    resync_interval: int = 0
    mwi_subscribe: bool = False
    mwi_uri: str = ""
    mwi_expires: int = 3600
    control_bind: tuple[str, int] | None = None
    control_token: str = field(default="", repr=False)
    web_user_password: str = field(default="", repr=False)
    web_admin_password: str = field(default="", repr=False)
    control_hosts: str = ""
    control_cert_file: str = ""
    control_key_file: str = ""
    tls_ca_file: str = ""
    tls_verify: bool = True
    tls_cert_file: str = ""
    tls_key_file: str = ""
    srtp_mode: str = "optional"
    srtp_over_plain: bool = False
    trust_proxy_only: str = "403"
    hal: HalConfig = field(default_factory=HalConfig)
    #: ``hal`` resolved against the HAL's defaults and validated (wiring checks).
    hal_settings: HalSettings = field(default_factory=HalSettings, repr=False)
    dialplan: DialPlan | None = None
    #: the local directory named by ``directory_url`` (``provisioning.directory``), if fetched
    directory: Any = None
    #: Every resolved key -> value (secrets included, hence repr=False); used by diff.
    values: Mapping[str, Any] = field(default_factory=dict, repr=False)
    #: Names of the files this config came from, in the order read.
    sources: tuple[str, ...] = ()
    #: key -> (file, line) that set it (keys left at their default are absent).
    origins: Mapping[str, tuple[str, int]] = field(default_factory=dict, compare=False, repr=False)
    #: Human-readable warnings (unknown keys...), never containing secret values.
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def t1(self) -> float:
        """RFC 3261 T1 in seconds, for ``firmware.sip.timers.TimerConfig``."""
        return self.timer_t1 / 1000.0

    @property
    def t2(self) -> float:
        return self.timer_t2 / 1000.0

    def line(self, index: int) -> LineConfig | None:
        return next((ln for ln in self.lines if ln.index == index), None)


def is_secret(key: str) -> bool:
    """True for keys whose values must never be logged or shown."""
    m = _INDEXED_RE.match(key)
    if m and m.group(1) == "line":
        spec = LINE_KEYS.get(m.group(3))
        return bool(spec and spec.secret)
    spec = KEYS.get(key)
    return bool(spec and spec.secret) or key in IGNORED_SECRETS


def _lookup(key: str) -> tuple[KeySpec, str, int | None, str] | None:
    """(spec, kind, index, field) for a known key; None if unknown."""
    if key in KEYS:
        return KEYS[key], "scalar", None, key
    m = _INDEXED_RE.match(key)
    if m:
        kind, idx, fld = m.group(1), int(m.group(2)), m.group(3)
        table = LINE_KEYS if kind == "line" else PROXY_KEYS
        if fld in table and 1 <= idx <= MAX_LINES:
            return table[fld], kind, idx, fld
    return None


def build_config(
    files: Iterable[CnfFile], *, dialplan: DialPlan | None = None,
    extra_warnings: Iterable[str] = (),
) -> PhoneConfig:
    """Merge the files in order (later files override) into a ``PhoneConfig``.

    Bad values are skipped with a warning (file, line, key, accepted range);
    unknown keys warn with a "did you mean"; raises ``ConfigError`` only for
    wiring the handset cannot run with. Nothing is applied until every file
    parsed.
    """
    values: dict[str, Any] = {}
    origin: dict[str, tuple[str, int]] = {}
    warnings: list[str] = []
    sources: list[str] = []
    unused_seen: set[str] = set()
    for cnf in files:
        sources.append(cnf.name)
        warnings.extend(cnf.warnings)
        for entry in cnf.entries:
            found = _lookup(entry.key)
            if found is None:
                msg = _unknown(cnf.name, entry.line, entry.key, unused_seen)
                if msg:
                    log.warning("%s", msg)
                    warnings.append(msg)
                continue
            spec = found[0]
            text = entry.value
            cut = spec.type.cut
            if cut is not None and len(text) > cut:
                msg = where(cnf.name, entry.line, entry.key,
                            f"{len(text)} characters, cut to {cut}")
                log.warning("%s", msg)
                warnings.append(msg)
                text = text[:cut]
            try:
                values[entry.key] = spec.type(text)
            except ValueRefused as exc:
                if not text.strip():  # `proxy_backup_port: ""`: blank means "the default"
                    values.pop(entry.key, None)
                    origin.pop(entry.key, None)
                    continue
                shown = "" if spec.secret else f" ({text[:40]!r})"
                hint = "" if spec.secret else did_you_mean(text.strip().lower(),
                                                           spec.type.options)
                kept = "the earlier value" if entry.key in values else "the default"
                msg = where(cnf.name, entry.line, entry.key,
                            f"bad value{shown}: {exc}; skipped, {kept} stays{hint}")
                log.warning("%s", msg)
                warnings.append(msg)
                continue
            origin[entry.key] = (cnf.name, entry.line)
    for note in extra_warnings:
        log.warning("%s", note)
        warnings.append(note)
    return _assemble(values, origin, tuple(sources), warnings, dialplan)


def _unknown(file: str, line: int, key: str, unused_seen: set[str]) -> str | None:
    """The warning for a key that sets nothing here (None: already warned)."""
    if key in KNOWN_UNUSED:
        if key in unused_seen:
            return None
        unused_seen.add(key)
        return where(file, line, key, f"accepted, not used by piphone: {KNOWN_UNUSED[key]}")
    m = _INDEXED_RE.match(key)
    if m and int(m.group(2)) > MAX_LINES and (
            m.group(3) in (LINE_KEYS if m.group(1) == "line" else PROXY_KEYS)):
        return where(file, line, key, f"ignored: this handset has {MAX_LINES} lines")
    return where(file, line, key, "unknown key ignored" + did_you_mean(key, known_key_names()))


def _fail(origin: Mapping[str, tuple[str, int]], key: str, reason: str) -> ConfigError:
    file, line = origin.get(key, ("<defaults>", None))
    return ConfigError(file=file, line=line, key=key, reason=reason)


def _assemble(
    values: dict[str, Any],
    origin: Mapping[str, tuple[str, int]],
    sources: tuple[str, ...],
    warnings: list[str],
    dialplan: DialPlan | None,
) -> PhoneConfig:
    def warn(key: str, reason: str) -> None:
        file, line = origin.get(key, ("<defaults>", None))
        msg = where(file, line, key, reason)
        log.warning("%s", msg)
        warnings.append(msg)

    scalars = {k: values.get(k, spec.default) for k, spec in KEYS.items()}
    if scalars["hold_method"] is None:
        scalars["hold_method"] = "c0" if scalars["rfc_2543_hold"] else "sendonly"
    if scalars["start_media_port"] >= scalars["end_media_port"]:
        start, end = KEYS["start_media_port"].default, KEYS["end_media_port"].default
        warn("end_media_port", f"must be above start_media_port "
                               f"({scalars['start_media_port']}); using {start}..{end}")
        scalars["start_media_port"], scalars["end_media_port"] = start, end
    zone = str(scalars["time_zone"])
    if "/" not in zone and zone_offset(zone) is None:
        warn("time_zone", f"unknown zone {zone!r}; the clock shows UTC"
                          + did_you_mean(zone.upper(), ZONES))
    codec = scalars["preferred_codec"]
    if codec not in ("g711ulaw", "g711alaw", "g722", "none"):
        warn("preferred_codec", f"{codec} is not supported by piphone; "
                                "the first of codec_order is offered instead")
    proxies: dict[int, Proxy] = {}
    for n in range(1, MAX_LINES + 1):
        addr = values.get(f"proxy{n}_address", "")
        if addr and addr.upper() != "USECALLMANAGER":
            transport = values.get(f"proxy{n}_transport", "udp")
            default_port = 5061 if transport == "tls" else 5060
            proxies[n] = Proxy(address=addr, port=values.get(f"proxy{n}_port", default_port),
                               transport=transport, port_given=f"proxy{n}_port" in values)
    lines: list[LineConfig] = []
    for n in range(1, MAX_LINES + 1):
        name = values.get(f"line{n}_name", "")
        if not name or name.upper() == UNPROVISIONED:
            continue
        # No proxy at all: the line works peer-to-peer (direct calls), as on a 7960.
        proxy = proxies.get(n) or proxies.get(1)
        lines.append(LineConfig(
            index=n, name=name, proxy=proxy,
            **{f: values.get(f"line{n}_{f}", LINE_KEYS[f].default)
               for f in ("displayname", "shortname", "authname", "password")},
        ))
    hal = HalConfig(**{k: v for k, v in scalars.items() if KEYS[k].group == "hal"})
    try:
        hal_settings = HalSettings.from_cnf(dataclasses.asdict(hal))
    except HalConfigError as exc:
        key = re.split(r"[\[.]", exc.key, maxsplit=1)[0]
        if key not in origin:
            # The key at fault kept its default; blame the wiring key a file did
            # set (the combination is what is wrong), so the error names a line.
            given = [k for k in origin if k in KEYS and KEYS[k].group == "hal"]
            if given:
                key = given[-1]
        raise _fail(origin, key, f"bad wiring: {exc.key} {exc.reason}") from None
    phone_fields = {k: v for k, v in scalars.items() if KEYS[k].group == "phone"}
    resolved = dict(scalars)
    resolved.update({k: v for k, v in values.items() if k not in resolved})
    return PhoneConfig(
        lines=tuple(lines), proxies=proxies, hal=hal, hal_settings=hal_settings,
        dialplan=dialplan, values=resolved, sources=sources, warnings=tuple(warnings),
        origins=dict(origin),
        **phone_fields,
    )
