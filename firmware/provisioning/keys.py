"""The key table: every ``.cnf`` key this firmware understands, its type and default.

Keys fall in three kinds (Cisco SIP IP Phone 7940/7960 Administrator Guide,
"Configuration file parameters", plus our own for the Raspberry Pi handset):

* scalar keys (``KEYS``), mapped one-to-one to a field of ``PhoneConfig`` or
  ``HalConfig`` of the same name;
* indexed keys ``line{n}_*`` and ``proxy{n}_*`` (``LINE_KEYS``, ``PROXY_KEYS``),
  n = 1..``MAX_LINES``;
* Cisco keys that 7940/7960 files (of any firmware release) and sister models'
  files carry but this firmware has no use for (``KNOWN_UNUSED``, with what
  each means): accepted with one warning each. Anything else is unknown and
  warns with a "did you mean".

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
    # g729a/g723/ilbc: names real files carry; accepted, and the warning says
    # that piphone offers its own first codec instead (schema.py).
    "preferred_codec": _k(v.choice("g711ulaw", "g711alaw", "g722", "g729a", "g723", "ilbc",
                                   "none", aliases={"g729": "g729a", "pcmu": "g711ulaw",
                                                    "pcma": "g711alaw"}), "g711ulaw"),
    # not a 7960 key: the codecs offered and accepted, in order (preferred_codec goes first)
    "codec_order": _k(v.choice_list("g711ulaw", "g711alaw", "g722"), ("g711ulaw", "g711alaw", "g722")),
    "dtmf_avt_payload": _k(v.integer(96, 127), 101),
    "dtmf_outofband": _k(v.choice("none", "avt", "avt_always"), "avt"),
    "dtmf_inband": _k(v.BOOL, True),
    "call_stats": _k(v.BOOL, False),
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
    "user_info": _k(v.choice("phone", "ip", "none"), "none"),
    "remote_party_id": _k(v.BOOL, False),
    # --- features -------------------------------------------------------------
    "cfwd_url": _k(v.SIP_URI, ""),
    "call_waiting": _k(v.BOOL, True),
    "dnd_control": _k(v.integer(0, 2), 0),
    "messages_uri": _k(v.SIP_URI, ""),
    "stutter_msg_waiting": _k(v.BOOL, False),
    "auto_answer": _k(v.BOOL, False),
    "dialog_events": _k(v.BOOL, True),
    "directory_url": _k(v.string(128, pattern=r"[A-Za-z0-9_./-]+", what="a file name"), ""),
    "cnf_join_enable": _k(v.BOOL, True),
    "phone_label": _k(v.string(32, cut=True), ""),
    "time_zone": _k(v.string(64, pattern=r"[A-Za-z0-9_+/:.-]+", what="a zone name"), "UTC"),
    # --- date and time on the status bar (the 7960's names and defaults) ----
    "time_format_24hr": _k(v.BOOL, True),
    "date_format": _k(v.DATE_FORMAT, "M/D/Y"),
    "dst_auto_adjust": _k(v.BOOL, True),
    "dst_offset": _k(v.HHMM, 60),
    "dst_start_month": _k(v.MONTH, 4),
    "dst_start_day": _k(v.integer(0, 31), 0),
    "dst_start_day_of_week": _k(v.WEEKDAY, 1),
    "dst_start_week_of_month": _k(v.int_choice(1, 2, 3, 4, 5, 6, 8), 1),
    "dst_start_time": _k(v.HHMM, 120),
    "dst_stop_month": _k(v.MONTH, 10),
    "dst_stop_day": _k(v.integer(0, 31), 0),
    "dst_stop_day_of_week": _k(v.WEEKDAY, 1),
    "dst_stop_week_of_month": _k(v.int_choice(1, 2, 3, 4, 5, 6, 8), 8),
    "dst_stop_time": _k(v.HHMM, 120),
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
    "cfwd_noanswer_timeout": _k(v.integer(0, 300, unit="s (0 = off)"), 20),
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
    "shortname": _k(v.string(16, cut=True), ""),
    "displayname": _k(v.string(64, cut=True), ""),
    "authname": _k(_USER, ""),
    "password": _k(v.string(128), "", secret=True),
}

PROXY_KEYS: dict[str, KeySpec] = {
    "address": _k(v.HOST, ""),
    "port": _k(_PORT, 5060),
    "transport": _k(v.choice("udp", "tcp", "tls"), "udp"),
}

#: Keys of 7940/7960 files (all firmware releases) and of sister models' SIP
#: files that piphone accepts but does not use, with what they mean on the
#: phone that has them. Each is warned about once per load (file, line) so an
#: administrator sees what their file asks for that this handset will not do.
KNOWN_UNUSED: dict[str, str] = {
    "proxy_emergency": "proxy for emergency calls when proxy1 is down",
    "proxy_emergency_port": "port of proxy_emergency",
    "outbound_proxy_support": "send via outbound_proxy only if 1 (outbound_proxy alone decides here)",
    "timer_register_delta": "re-REGISTER this many s before expiry (fixed margin here)",
    "nat_received_processing": "use the received= of Via for NAT (rport is always used here)",
    "sntp_server": "SNTP server (the Pi keeps time with the OS's NTP client)",
    "sntp_mode": "SNTP unicast/multicast/directedbroadcast (the OS's NTP client)",
    "telnet_level": "telnet access to the phone's console (none here; ssh is the OS's)",
    "logo_url": "bitmap on the idle screen (the OLED has none)",
    "services_url": "XML services button",
    "language": "language of the screens (English only)",
    "dtmf_db_level": "in-band DTMF tone level",
    "enable_vad": "voice activity detection / comfort noise",
    "network_media_type": "Ethernet speed/duplex (set in the OS)",
    "network_port2_type": "PC port speed/duplex (no PC port)",
    "autocomplete": "complete numbers from the call lists while dialling",
    "call_hold_ringback": "ring back when the far end hangs up on a held call",
    "callerid_blocking": "hide our identity on outgoing calls",
    "anonymous_call_block": "refuse calls without caller id",
    "semi_attended_transfer": "allow transfer while the target rings",
    "phone_password": "password for the settings menu (the Pi has no settings menu)",
    "phone_prompt": "prompt of the phone's telnet console",
    "tos_media": "IP TOS byte of RTP (set by the OS's QoS rules)",
    "tos_sip": "IP TOS byte of SIP",
    "voip_control_tos": "IP TOS byte of SIP (older name)",
    "http_proxy": "HTTP proxy for XML services",
    "http_proxy_addr": "HTTP proxy for XML services",
    "http_proxy_port": "HTTP proxy port for XML services",
    "local_cfwd_enable": "forward-all handled on the phone (cfwd_url does it here)",
    "retain_forward_information": "keep the forward-all target over a reboot",
    "remote_cc_enable": "remote call control by NOTIFY",
    "snmp_enable": "SNMP agent",
    "snmp_community": "SNMP community string",
    "sip_max_forwards": "Max-Forwards of our requests (70 here)",
    "sip_register_retry": "seconds between REGISTER retries",
    "xml_card_type": "XML services card type (7970 and later)",
    "encrypt_key": "key of encrypted config files (.enc.sgn, 8.x firmware)",
    "sip_phone_label": "label (sister-model spelling of phone_label)",
    "vad": "voice activity detection (sister-model name)",
    "call_forward_uri": "forward-all service URI (79x1 spelling)",
    "speed_dial_uri": "speed dial service URI (79x1 spelling)",
    "softkey_file": "softkey layout file (79x1)",
    "user_locale": "language of the screens (79x1)",
    "network_locale": "tones of the country (79x1)",
    "load_id": "firmware image to load (7905/7912)",
    "upgradecode": "firmware upgrade code (7905/7912)",
    "linecount": "number of lines (sister models)",
}
for _n in range(1, 7):
    KNOWN_UNUSED[f"speed_line{_n}"] = "speed dial number on a line button"
    KNOWN_UNUSED[f"speed_label{_n}"] = "label of that speed dial"

#: Secret keys in KNOWN_UNUSED whose values must never be logged either.
IGNORED_SECRETS = frozenset({"phone_password", "encrypt_key", "snmp_community"})
