"""The key table: every ``.cnf`` key this firmware understands, its type and default.

Keys fall in three kinds (Cisco SIP IP Phone 7940/7960 Administrator Guide,
"Configuration file parameters", plus our own for the Raspberry Pi handset):

* scalar keys (``KEYS``), mapped one-to-one to a field of ``PhoneConfig`` or
  ``HalConfig`` of the same name;
* indexed keys ``line{n}_*`` and ``proxy{n}_*`` (``LINE_KEYS``, ``PROXY_KEYS``),
  n = 1..``MAX_LINES``;
* Cisco keys that a 7960 fleet's files carry but this firmware has no use for
  (``IGNORED_KEYS``): accepted silently so real SIPDefault.cnf files load without
  a wall of warnings. Anything else is unknown and warns.

Defaults are the 7960's where the 7960 has the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from firmware.provisioning import values as v

MAX_LINES = 6


@dataclass(frozen=True, slots=True, kw_only=True)
class KeySpec:
    """How one key is parsed, where it lands, and whether it is a secret."""

    type: v.ValueType
    default: Any
    group: str = "phone"  # "phone" -> PhoneConfig, "hal" -> HalConfig
    secret: bool = False


def _k(t: v.ValueType, default: Any, **kw: Any) -> KeySpec:
    return KeySpec(type=t, default=default, **kw)


_PORT = v.integer(1, 65535)
_PATH = v.string(256, pattern=r"[\x21-\x7e]+", what="a file path")
_USER = v.string(64, pattern=r"[A-Za-z0-9_.!~*'()&=+$,;?/%#-]+", what="a SIP user part")

KEYS: dict[str, KeySpec] = {
    # --- SIP (7960 names) ---------------------------------------------------
    "outbound_proxy": _k(v.HOST, ""),
    "outbound_proxy_port": _k(_PORT, 5060),
    "proxy_register": _k(v.BOOL, False),
    "timer_register_expires": _k(v.integer(60, 86400, unit="s"), 3600),
    "timer_t1": _k(v.integer(100, 10000, unit="ms"), 500),
    "timer_t2": _k(v.integer(200, 64000, unit="ms"), 4000),
    "timer_invite_expires": _k(v.integer(1, 300, unit="s"), 180),
    "sip_retx": _k(v.integer(1, 10), 10),
    "sip_invite_retx": _k(v.integer(1, 6), 6),
    "voip_control_port": _k(_PORT, 5060),
    "start_media_port": _k(v.integer(1024, 65534), 16384),
    "end_media_port": _k(v.integer(1025, 65535), 32766),
    "preferred_codec": _k(v.choice("g711ulaw", "g711alaw", "g722", "g729a", "none"), "g711ulaw"),
    # not a 7960 key: the codecs offered and accepted, in order (preferred_codec goes first)
    "codec_order": _k(v.choice_list("g711ulaw", "g711alaw", "g722"), ("g711ulaw", "g711alaw", "g722")),
    "dtmf_avt_payload": _k(v.integer(96, 127), 101),
    "dtmf_outofband": _k(v.choice("none", "avt", "avt_always"), "avt"),
    "nat_enable": _k(v.BOOL, False),
    "nat_address": _k(v.HOST, ""),
    # not a 7960 key: symmetric RTP latching without the rest of nat_enable
    "rtp_latch": _k(v.BOOL, False),
    "proxy_backup": _k(v.HOST, ""),
    "proxy_backup_port": _k(_PORT, 5060),
    # --- ours: networks (docs/provisioning.md "Networks") ---------------------
    "bind_address": _k(v.HOST, ""),
    "keepalive_interval": _k(v.integer(0, 3600, unit="s (0 = off)"), 30),
    "proxy_retry_interval": _k(v.integer(1, 3600, unit="s"), 60),
    "user_info": _k(v.choice("phone", "ip", "none"), "phone"),
    "remote_party_id": _k(v.BOOL, False),
    # --- features -------------------------------------------------------------
    "cfwd_url": _k(v.SIP_URI, ""),
    "call_waiting": _k(v.BOOL, True),
    "dnd_control": _k(v.integer(0, 2), 0),
    "messages_uri": _k(v.SIP_URI, ""),
    "stutter_msg_waiting": _k(v.BOOL, False),
    "auto_answer": _k(v.BOOL, False),
    "directory_url": _k(v.string(128, pattern=r"[A-Za-z0-9_./-]+", what="a file name"), ""),
    "cnf_join_enable": _k(v.BOOL, True),
    "phone_label": _k(v.string(32), ""),
    "time_zone": _k(v.string(64, pattern=r"[A-Za-z0-9_+/:-]+", what="a zone name"), "UTC"),
    "rfc_2543_hold": _k(v.BOOL, True),
    # --- provisioning -------------------------------------------------------
    "image_version": _k(v.string(64, pattern=r"[A-Za-z0-9_.-]+", what="an image name"), ""),
    "tftp_cfg_dir": _k(v.string(128, pattern=r"[A-Za-z0-9_./-]+", what="a path"), ""),
    "sync": _k(v.integer(0, 2**31 - 1), 1),
    "dial_template": _k(v.string(64, pattern=r"[A-Za-z0-9_.-]+", what="a file name"), "dialplan"),
    # --- ours: call control ---------------------------------------------------
    "hold_method": _k(v.choice("c0", "sendonly"), None),  # None: from rfc_2543_hold
    "transfer_method": _k(v.choice("refer", "also"), "refer"),
    "dnd_response": _k(v.int_choice(480, 486), 480),
    "cfwd_busy_url": _k(v.SIP_URI, ""),
    "cfwd_noanswer_url": _k(v.SIP_URI, ""),
    "cfwd_noanswer_timeout": _k(v.integer(0, 300, unit="s (0 = off)"), 0),
    "ring_timeout": _k(v.integer(5, 600, unit="s"), 180),
    "reject_488_as_400": _k(v.BOOL, False),
    "interdigit_timeout": _k(v.integer(1, 60, unit="s"), 10),
    "dial_pound_sends": _k(v.BOOL, True),
    "resync_interval": _k(v.integer(0, 7 * 86400, unit="s (0 = off)"), 0),
    "mwi_subscribe": _k(v.BOOL, False),
    "mwi_uri": _k(v.SIP_URI, ""),
    "mwi_expires": _k(v.integer(60, 86400, unit="s"), 3600),
    # --- ours: control API ----------------------------------------------------
    "control_bind": _k(v.HOST_PORT, None),
    "control_token": _k(v.string(256, pattern=r"[\x21-\x7e]+", what="a token"), "", secret=True),
    # --- ours: web page logins (plain, or pbkdf2_sha256$... as hash_password writes) ---
    "web_user_password": _k(v.string(256), "", secret=True),
    "web_admin_password": _k(v.string(256), "", secret=True),
    # names besides the bound address the API answers to (Host/Origin check)
    "control_hosts": _k(v.string(512, pattern=r"[A-Za-z0-9.,:\[\] -]*", what="host names"), ""),
    "control_cert_file": _k(_PATH, ""),  # HTTPS when set
    "control_key_file": _k(_PATH, ""),
    # --- ours: security (docs/security.md) --------------------------------------
    "tls_ca_file": _k(_PATH, ""),  # empty: the system CA store
    "tls_verify": _k(v.BOOL, True),
    "tls_cert_file": _k(_PATH, ""),  # optional client certificate (PEM chain)
    "tls_key_file": _k(_PATH, ""),
    "srtp_mode": _k(v.choice("off", "optional", "mandatory"), "optional"),
    # SDES keys travel in the SDP: offered/answered over TLS signalling only, unless 1
    "srtp_over_plain": _k(v.BOOL, False),
    # out-of-dialog requests from other sources than the proxies, while a proxy is set
    "trust_proxy_only": _k(v.choice("403", "drop", "off"), "403"),
    # --- ours: handset hardware (HalConfig -> hal.settings.HalSettings.from_cnf) ---
    # Default None / (): unset, so HalSettings' reference wiring applies.
    "pin_factory": _k(v.choice("auto", "rpigpio", "lgpio", "mock"), None, group="hal"),
    "keypad_rows": _k(v.pin_list(8), (), group="hal"),
    "keypad_cols": _k(v.pin_list(8), (), group="hal"),
    "softkey_pins": _k(v.pin_list(16), (), group="hal"),
    "line_pins": _k(v.pin_list(16), (), group="hal"),
    "feature_pins": _k(v.named_pins(16), (), group="hal"),
    "hook_pin": _k(v.PIN, None, group="hal"),
    "hook_polarity": _k(v.choice("no", "nc"), None, group="hal"),
    "hook_debounce_ms": _k(v.integer(0, 2000, unit="ms"), None, group="hal"),
    "buzzer_pin": _k(v.PIN, None, group="hal"),
    "buzzer_tone_hz": _k(v.integer(50, 10000, unit="Hz"), None, group="hal"),
    "display_type": _k(v.choice("ssd1306", "sh1106", "ssd1309", "none"), None, group="hal"),
    "display_bus": _k(v.choice("i2c", "spi"), None, group="hal"),
    "display_port": _k(v.integer(0, 1), None, group="hal"),
    "display_address": _k(v.hex_or_int(0x03, 0x77), None, group="hal"),
    "display_spi_device": _k(v.integer(0, 1), None, group="hal"),
    "display_dc_pin": _k(v.PIN, None, group="hal"),
    "display_rst_pin": _k(v.PIN, None, group="hal"),
    "display_width": _k(v.int_choice(128), None, group="hal"),
    "display_height": _k(v.int_choice(64, 32), None, group="hal"),
    "display_rotate": _k(v.int_choice(0, 2), None, group="hal"),
    "audio_capture_device": _k(v.string(128, pattern=r"[\x21-\x7e]+", what="an ALSA device"),
                               None, group="hal"),
    "audio_playback_device": _k(v.string(128, pattern=r"[\x21-\x7e]+", what="an ALSA device"),
                                None, group="hal"),
}

#: ``line{n}_<field>``: field -> spec. ``name`` is the SIP user (the number).
LINE_KEYS: dict[str, KeySpec] = {
    "name": _k(_USER, ""),
    "shortname": _k(v.string(16), ""),
    "displayname": _k(v.string(64), ""),
    "authname": _k(_USER, ""),
    "password": _k(v.string(128), "", secret=True),
}

PROXY_KEYS: dict[str, KeySpec] = {
    "address": _k(v.HOST, ""),
    "port": _k(_PORT, 5060),
    "transport": _k(v.choice("udp", "tcp", "tls"), "udp"),
}

#: Cisco 7940/7960 keys that load silently but change nothing here.
IGNORED_KEYS = frozenset({
    "proxy_emergency", "proxy_emergency_port",
    "outbound_proxy_support", "timer_register_delta", "nat_received_processing",
    "sntp_server", "sntp_mode", "dst_offset", "dst_start_month", "dst_start_day",
    "dst_start_day_of_week", "dst_start_week_of_month", "dst_start_time", "dst_stop_month",
    "dst_stop_day", "dst_stop_day_of_week", "dst_stop_week_of_month", "dst_stop_time",
    "dst_auto_adjust", "time_format_24hr", "date_format", "telnet_level", "logo_url",
    "services_url", "language", "dtmf_db_level", "dtmf_inband",
    "enable_vad", "network_media_type", "autocomplete", "call_hold_ringback",
    "callerid_blocking", "anonymous_call_block",
    "semi_attended_transfer", "phone_password", "tos_media",
    "tos_sip", "voip_control_tos", "network_port2_type", "http_proxy", "speed_line1",
    "speed_line2", "speed_line3", "speed_line4", "speed_line5", "speed_line6",
    "speed_label1", "speed_label2", "speed_label3", "speed_label4", "speed_label5",
    "speed_label6",
})

#: Secret Cisco keys in IGNORED_KEYS whose values must never be logged either.
IGNORED_SECRETS = frozenset({"phone_password"})
