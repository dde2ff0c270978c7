"""Boot-time provisioning and periodic resync: TFTP (or a local directory) ->
validated ``PhoneConfig``, with the last good set cached for when the server is
down or serves a broken file.

The app calls ``await provision(tftp_server, mac, cache_dir)`` once at start
and ``await resync(current, ...)`` every ``resync_interval`` seconds; a resync
returns the new config plus a ``ConfigDiff`` (lines added/removed ->
re-register). The file sequence itself (``_steps``) is a generator that
yields names and receives bytes, so the TFTP driver and the local-directory
driver share one implementation of the 7960 order.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path

from firmware.provisioning.cache import ConfigCache
from firmware.provisioning.cnf import ConfigError, parse_cnf
from firmware.provisioning.dialplan import DialPlanError
from firmware.provisioning.diff import ConfigDiff, diff_configs
from firmware.provisioning.loader import (
    DEFAULT_FILE,
    cfg_dir,
    config_from_files,
    dialplan_file,
    directory_file,
    last_value,
    mac_file,
    normalize_mac,
)
from firmware.provisioning.schema import PhoneConfig, build_config
from firmware.provisioning.tftp import TftpError, TftpSettings, tftp_get
from firmware.provisioning.tftp_proto import FailureKind

log = logging.getLogger(__name__)

TFTP_PORT = 69
Server = tuple[str, int]


class ProvisioningError(Exception):
    """Kept for callers that caught it; provisioning no longer raises it (a
    phone without any configuration still runs, line-less, and retries)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvisionResult:
    config: PhoneConfig
    origin: str  # "tftp" (fresh, usable) | "cache" | "partial" (line-less) | "none"
    server: str = ""
    #: Why the fresh set was not used (server down, file refused), else None.
    problem: str | None = None
    files: dict[str, bytes] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResyncResult:
    config: PhoneConfig
    diff: ConfigDiff
    problem: str | None = None


def default_cache_dir() -> Path:
    """``$STATE_DIRECTORY`` (set by systemd's StateDirectory=) else /var/lib/piphone."""
    state = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(state) if state else Path("/var/lib/piphone")


def default_mac(sys_net: Path = Path("/sys/class/net")) -> str | None:
    """The handset's own MAC for naming SIP<MAC>.cnf: eth0 first (as the 7960
    uses its Ethernet MAC), then any other non-loopback interface."""
    try:
        names = sorted(p.name for p in sys_net.iterdir())
    except OSError:
        return None
    names.sort(key=lambda n: (n != "eth0", not n.startswith(("eth", "en")), n))
    for name in names:
        try:
            text = (sys_net / name / "address").read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        try:
            mac = normalize_mac(text)
        except ValueError:
            continue
        if mac != "000000000000":
            return mac
    return None


def parse_server(text: str | Server | None, default_port: int = TFTP_PORT) -> Server | None:
    """``HOST``, ``HOST:PORT``, ``[V6]:PORT`` or a tuple -> (host, port)."""
    if text is None or text == "":
        return None
    if isinstance(text, tuple):
        return (str(text[0]), int(text[1]))
    t = text.strip()
    if t.startswith("["):
        host, _, rest = t[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif t.count(":") == 1:
        host, _, port = t.partition(":")
    else:
        host, port = t, ""
    if not host or (port and (not port.isdecimal() or not 0 < int(port) < 65536)):
        raise ValueError(f"bad TFTP server {text!r}; expected HOST[:PORT]")
    return (host, int(port) if port else default_port)


_Steps = Generator[str, "bytes | None", tuple[dict[str, bytes], PhoneConfig]]


def _steps(mac: str) -> _Steps:
    """Yield each file name to fetch; receive its bytes (None = not found)."""
    mac_name = mac_file(mac)
    default = yield DEFAULT_FILE
    lexed = [parse_cnf(default, filename=DEFAULT_FILE)] if default is not None else []
    prefix = ""
    if lexed:
        raw_dir = last_value(lexed, "tftp_cfg_dir")
        try:
            prefix = cfg_dir(raw_dir or "")
        except ValueError as exc:
            log.warning("%s: tftp_cfg_dir: %s; the TFTP root is used", DEFAULT_FILE, exc)
    per_mac = yield prefix + mac_name
    if per_mac is not None:
        lexed.append(parse_cnf(per_mac, filename=mac_name))
    plan_name = dialplan_file(lexed)
    plan = (yield prefix + plan_name) if plan_name else None
    if plan_name and plan is None:
        log.warning("dial plan %s not found; dialling without a dial plan", prefix + plan_name)
    dir_name = directory_file(lexed)
    directory = (yield prefix + dir_name) if dir_name else None
    if dir_name and directory is None:
        log.warning("directory %s not found; the local directory is empty", prefix + dir_name)
    config = config_from_files(default, per_mac, plan, mac_name=mac_name,
                               dialplan_name=plan_name or "dialplan.xml",
                               directory=directory, directory_name=dir_name)
    files = {DEFAULT_FILE: default, mac_name: per_mac, plan_name: plan, dir_name: directory}
    return {k: v for k, v in files.items() if v is not None and k}, config


async def _run_async(steps: _Steps, fetch: Callable[[str], Awaitable[bytes | None]]
                     ) -> tuple[dict[str, bytes], PhoneConfig]:
    try:
        name = next(steps)
        while True:
            name = steps.send(await fetch(name))
    except StopIteration as stop:
        return stop.value


def _run_sync(steps: _Steps, fetch: Callable[[str], bytes | None]
              ) -> tuple[dict[str, bytes], PhoneConfig]:
    try:
        name = next(steps)
        while True:
            name = steps.send(fetch(name))
    except StopIteration as stop:
        return stop.value


def _tftp_fetcher(server: Server, settings: TftpSettings
                  ) -> Callable[[str], Awaitable[bytes | None]]:
    async def fetch(name: str) -> bytes | None:
        try:
            return (await tftp_get(server, name, settings)).data
        except TftpError as exc:
            if exc.kind is FailureKind.NOT_FOUND:
                log.info("TFTP %s: not on the server", name)
                return None
            raise
    return fetch


def _from_cache(cache: ConfigCache, mac: str) -> PhoneConfig | None:
    files = cache.load()
    if files is None:
        return None
    lexed = []
    for name in (DEFAULT_FILE, mac_file(mac)):
        if files.get(name) is not None:
            try:
                lexed.append(parse_cnf(files[name], filename=name))
            except ConfigError:
                pass  # config_from_files below reports it
    plan_name = dialplan_file(lexed) or "dialplan.xml"
    dir_name = directory_file(lexed)
    try:
        return config_from_files(files.get(DEFAULT_FILE), files.get(mac_file(mac)),
                                 files.get(plan_name), mac_name=mac_file(mac),
                                 dialplan_name=plan_name,
                                 directory=files.get(dir_name) if dir_name else None,
                                 directory_name=dir_name)
    except (ConfigError, DialPlanError) as exc:
        log.error("cached configuration no longer loads: %s", exc)
        return None


def _no_line_reason(files: dict[str, bytes], config: PhoneConfig, mac_name: str) -> str:
    """Why a fetched set gives no usable line, in words an administrator acts on."""
    if mac_name not in files:
        return f"{mac_name} is not on the server, and {DEFAULT_FILE} configures no line"
    about_lines = [w for w in config.warnings if re.search(r": line\d_name:", w)]
    return "no usable line (line1_name..line6_name) in the files" + (f" ({about_lines[0]})" if about_lines else "")


async def provision_result(
    tftp_server: str | Server | None,
    mac: str,
    cache_dir: Path | str,
    *,
    settings: TftpSettings | None = None,
    lease_paths: list[Path] | None = None,
    fetcher: Callable[[str], Awaitable[bytes | None]] | None = None,
) -> ProvisionResult:
    """Fetch, validate and cache the set; fall back to the cache. Never raises
    for a provisioning problem: the phone must come up whatever the server does.

    "Last good" is replaced only by a set that gives at least one usable line.
    Otherwise the last good set is used (origin "cache"); without one, the
    fetched line-less set (origin "partial": SIPDefault.cnf alone) or, with
    nothing fetched, the defaults (origin "none"); ``problem`` says why.
    ``fetcher`` replaces TFTP (HTTP(S) provisioning)."""
    server = parse_server(tftp_server) if fetcher is None else None
    if server is None and fetcher is None:
        from firmware.provisioning.dhcp import find_tftp_server  # not for a --config boot

        hint = find_tftp_server(lease_paths)
        server = (hint.host, TFTP_PORT) if hint else None
    cache = ConfigCache(cache_dir)
    where = f"{server[0]}:{server[1]}" if server else ""
    fetched: PhoneConfig | None = None
    if server is not None or fetcher is not None:
        fetch = fetcher or _tftp_fetcher(server, settings or TftpSettings())  # type: ignore[arg-type]
        try:
            files, config = await _run_async(_steps(mac), fetch)
        except (TftpError, OSError) as exc:
            problem = str(exc) or type(exc).__name__
        except ConfigError as exc:
            problem = f"configuration refused: {exc}"
        else:
            if config.lines:
                try:
                    cache.save(files, server=where)
                except OSError as exc:  # a full or read-only disk must not stop the boot
                    log.error("cannot cache the configuration in %s: %s", cache.path, exc)
                log.info("provisioned from %s (%s)", where or "HTTP", ", ".join(config.sources))
                return ProvisionResult(config=config, origin="tftp", server=where, files=files)
            problem = _no_line_reason(files, config, mac_file(mac))
            fetched = config
    else:
        problem = "no TFTP server given and none announced by DHCP (option 150/66)"
    config = _from_cache(cache, mac)
    if config is not None:
        log.warning("%s; using the last good configuration", problem)
        return ProvisionResult(config=config, origin="cache", server=where, problem=problem)
    if fetched is not None:
        log.warning("%s; no last good configuration: running without a line", problem)
        return ProvisionResult(config=fetched, origin="partial", server=where, problem=problem)
    log.warning("%s; no last good configuration in %s: running without a line",
                problem, cache.path)
    return ProvisionResult(config=build_config([]), origin="none", server=where, problem=problem)


async def provision(
    tftp_server: str | Server | None,
    mac: str,
    cache_dir: Path | str,
    *,
    settings: TftpSettings | None = None,
    lease_paths: list[Path] | None = None,
) -> PhoneConfig:
    """Boot: fetch SIPDefault.cnf, SIP<MAC>.cnf and the dial plan from the TFTP
    server (None: from the DHCP lease's option 150/66), cache the set when it
    gives a usable line, and fall back to the cached set otherwise (see
    ``provision_result``; never raises for a provisioning problem)."""
    result = await provision_result(tftp_server, mac, cache_dir, settings=settings,
                                    lease_paths=lease_paths)
    return result.config


async def resync(
    current: PhoneConfig,
    tftp_server: str | Server | None,
    mac: str,
    cache_dir: Path | str,
    *,
    settings: TftpSettings | None = None,
    lease_paths: list[Path] | None = None,
    fetcher: Callable[[str], Awaitable[bytes | None]] | None = None,
) -> ResyncResult:
    """Fetch again; on success return the new config and what changed. On any
    failure the current config stays (a bad file never replaces a good one)."""
    result = await provision_result(tftp_server, mac, cache_dir, settings=settings,
                                    lease_paths=lease_paths, fetcher=fetcher)
    if result.origin != "tftp":
        return ResyncResult(config=current, diff=ConfigDiff(), problem=result.problem)
    diff = diff_configs(current, result.config)
    log.info("resync: %s", diff.summary())
    return ResyncResult(config=result.config, diff=diff)


def load_local(path: Path | str, mac: str | None = None) -> PhoneConfig:
    """``--config``: a directory laid out like the TFTP root (needs ``mac``), or
    one ``.cnf`` file (with ``SIPDefault.cnf`` and the dial plan beside it, if
    present). Raises ``ConfigError``/``DialPlanError`` on a bad file."""
    p = Path(path)
    root = p if p.is_dir() else p.parent
    if p.is_dir() and mac is None:
        raise ValueError("a config directory needs the phone's MAC address")
    resolved_root = root.resolve()

    def read(name: str) -> bytes | None:
        target = (root / name).resolve()
        if resolved_root not in target.parents:
            return None  # no escaping the config directory
        return target.read_bytes() if target.is_file() else None

    def fetch(name: str) -> bytes | None:
        if p.is_dir():
            return read(name)
        base = name.rsplit("/", 1)[-1]
        if base == DEFAULT_FILE:
            return p.read_bytes() if p.name == DEFAULT_FILE else read(DEFAULT_FILE)
        if base.endswith(".cnf"):  # the per-phone file
            if p.name != DEFAULT_FILE:
                return p.read_bytes()
            return read(name) if mac else None
        return read(name)

    if mac is None and not p.is_dir() and p.name != DEFAULT_FILE:
        m = re.fullmatch(r"SIP([0-9A-Fa-f]{12})\.cnf", p.name)
        mac = m.group(1) if m else None
    _files, config = _run_sync(_steps(mac or "000000000000"), fetch)
    return config
