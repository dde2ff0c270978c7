"""The 7960 file order, as pure functions: which files to ask for, and how a
fetched set becomes one ``PhoneConfig``.

Order (Cisco SIP IP Phone Administrator Guide, "Phone boot-up process"):
``SIPDefault.cnf`` from the TFTP root, then ``SIP<MAC>.cnf`` from
``tftp_cfg_dir`` (overrides), then ``<dial_template>.xml`` from the same
directory. Everything is parsed before anything is used, so a bad file
refuses the whole set (``ConfigError`` / ``DialPlanError``).
"""

from __future__ import annotations

import dataclasses
import logging
import re

from firmware.provisioning.cnf import CnfFile, ConfigError, parse_cnf
from firmware.provisioning.dialplan import DialPlan, parse_dialplan
from firmware.provisioning.directory import DirectoryError, parse_directory
from firmware.provisioning.keys import KEYS
from firmware.provisioning.schema import PhoneConfig, build_config
from firmware.provisioning.values import ValueRefused

log = logging.getLogger(__name__)

DEFAULT_FILE = "SIPDefault.cnf"


def normalize_mac(mac: str) -> str:
    """``00:11:22:33:aa:bb`` / ``0011.2233.aabb`` / ``00112233AABB`` -> ``00112233AABB``."""
    hexdigits = re.sub(r"[:.\-]", "", mac.strip()).upper()
    if not re.fullmatch(r"[0-9A-F]{12}", hexdigits):
        raise ValueError(f"not a MAC address: {mac!r}")
    return hexdigits


def mac_file(mac: str) -> str:
    return f"SIP{normalize_mac(mac)}.cnf"


def cfg_dir(value: str) -> str:
    """``tftp_cfg_dir`` as a path prefix: ``./sip_phone`` -> ``sip_phone/``; no '..'."""
    parts = [p for p in value.strip().split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ValueError("tftp_cfg_dir may not contain '..'")
    return "/".join(parts) + "/" if parts else ""


def last_value(files: list[CnfFile], key: str) -> str | None:
    """The value a key would get after overriding (raw text), validated by its type."""
    found: tuple[CnfFile, int, str] | None = None
    for cnf in files:
        for entry in cnf.entries:
            if entry.key == key:
                found = (cnf, entry.line, entry.value)
    if found is None:
        return None
    cnf, line, value = found
    try:
        KEYS[key].type(value)
    except ValueRefused as exc:
        raise ConfigError(file=cnf.name, line=line, key=key, reason=f"bad value: {exc}") from None
    return value


def dialplan_file(files: list[CnfFile]) -> str:
    name = last_value(files, "dial_template")
    name = KEYS["dial_template"].default if name is None else name
    return f"{name}.xml" if name else ""


def directory_file(files: list[CnfFile]) -> str:
    """The local directory's file name (``directory_url``), "" when none is configured."""
    return last_value(files, "directory_url") or ""


def config_from_files(
    default: bytes | None, per_mac: bytes | None, dialplan: bytes | None, *,
    mac_name: str, dialplan_name: str = "dialplan.xml",
    directory: bytes | None = None, directory_name: str = "",
) -> PhoneConfig:
    """Lex, validate and merge a fetched set. Raises on the first bad file, except the
    directory: a bad one is logged (naming the file and the entry) and left out, since
    a phone without its phonebook still makes calls."""
    if default is None and per_mac is None:
        raise ConfigError(file=mac_name, line=None, key=None,
                          reason=f"neither {DEFAULT_FILE} nor {mac_name} is available")
    files = []
    if default is not None:
        files.append(parse_cnf(default, filename=DEFAULT_FILE))
    if per_mac is not None:
        files.append(parse_cnf(per_mac, filename=mac_name))
    plan: DialPlan | None = None
    if dialplan is not None:
        plan = parse_dialplan(dialplan, filename=dialplan_name)
    config = build_config(files, dialplan=plan)
    if directory is not None:
        try:
            parsed = parse_directory(directory, filename=directory_name or "directory")
        except DirectoryError as exc:
            log.warning("directory refused: %s", exc)
            return dataclasses.replace(config, warnings=(*config.warnings, str(exc)))
        return dataclasses.replace(config, directory=parsed)
    return config
