"""The web page's view of a running handset (implements ``firmware.control.web.WebBackend``).

Why here: the page's settings, configuration view, log, trace, resync and
restart reach into the assembled firmware (call control, the provisioning
result, the run loop), which only ``firmware.app`` may see. Every method
runs on the loop thread and returns at once; refusals are ``ControlError``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from firmware.app.recorders import SipTrace, describe, log_ring
from firmware.surface import ConfigRow, ControlError, DirectoryEntry, UserSettings, WirePacket

if TYPE_CHECKING:
    from firmware.app.host import PhoneHost

MASK = "••••••"
#: Call control's actions after which what the handset shows may differ.
SEEN = frozenset({"ShowScreen", "StartRinging", "StopRinging", "StartMedia", "StopMedia"})


def _is_secret(key: str) -> bool:
    from firmware.provisioning.schema import is_secret

    return is_secret(key) or "password" in key or "token" in key


class WebAdapter:
    """``WebBackend`` over a ``PhoneHost`` and the configuration it was started with."""

    def __init__(self, host: PhoneHost, config: Any, trace: SipTrace,
                 control: Any = None) -> None:
        self.host = host
        self._started_with = config
        self.trace = trace
        self.control = control
        self.started = time.time()
        self.log = log_ring()

    @property
    def config(self) -> Any:
        """The configuration in force: a live resync replaces the host's."""
        return getattr(self.host, "_config", None) or self._started_with

    @property
    def _app(self) -> Any:
        assert self.host.app is not None
        return self.host.app

    def next_audio_period(self) -> float | None:
        """When the next audio period of a call runs (``firmware.control.pacing``)."""
        return self.host.next_audio_period()

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        observers = self._app.phone_pump.observers

        def observe(action: Any) -> None:
            if type(action).__name__ in SEEN:
                callback()

        observers.append(observe)

        def stop() -> None:
            if observe in observers:
                observers.remove(observe)

        return stop

    # ------------------------------------------------------------ user settings

    def user_settings(self) -> UserSettings:
        phone = self._app.phone
        status = self.host.control_api.status() if self.host.control_api else None
        volume = getattr(status, "volume", None)
        return UserSettings(dnd=bool(phone.dnd), forward_all=phone.cfwd_to or "",
                            volume=dict(volume) if isinstance(volume, dict) else None)

    def set_user_settings(self, *, dnd: bool, forward_all: str,
                          volume: dict[str, int] | None = None) -> None:
        app = self._app
        target = forward_all or None
        if target is not None:
            from firmware.phone.dialing import target_uri

            line = app.phone.lines[0] if app.phone.lines else None
            domain = getattr(getattr(line, "settings", None), "domain", "") or "localhost"
            try:
                target = target_uri(target, domain)
            except ValueError as exc:
                raise ControlError(400, f"forward all: {exc}") from None
        for mode in volume or {}:
            if mode not in ("handset", "speaker", "ringer"):
                raise ControlError(400, f"no {mode} volume (handset, speaker, ringer)")
        app.phone_pump.input(app.phone.set_user_settings, dnd, target, volume)

    def directory(self) -> list[DirectoryEntry]:
        book = getattr(self._app.phone, "directory", None)  # directory_url, by name
        out = []
        for item in getattr(book, "entries", ()) or ():
            name = getattr(item, "name", "") or ""
            number = getattr(item, "number", "") or getattr(item, "telephone", "") or ""
            if number:
                out.append(DirectoryEntry(name=str(name), number=str(number)))
        return out

    # ------------------------------------------------------------ admin

    def admin_status(self) -> dict[str, Any]:
        app = self._app
        names = self.host.control_api.line_names if self.host.control_api else {}
        reg = [(f"Line {n} ({names.get(n, n)})", app.reg_outcome.get(n) or
                ("registered" if app.registered.get(n) else "not registered yet"))
               for n in sorted(set(names) | set(app.registered))]
        proxies = [(f"Proxy line {ln.index}", f"{ln.proxy.address}:{ln.proxy.port}")
                   for ln in getattr(self.config, "lines", ()) if getattr(ln, "proxy", None)]
        sip = self.host.sip_address
        net = [("SIP", f"{sip[0]}:{sip[1]} (UDP, TCP)"), *proxies,
               ("Media ports", f"{getattr(self.config, 'start_media_port', '?')}-"
                               f"{getattr(self.config, 'end_media_port', '?')}")]
        if self.control is not None:
            net.append(("Web and control API", f"{self.control.host}:{self.host.control_port}"))
        from firmware import __version__

        up = int(time.time() - self.started)
        phone = [("Firmware", __version__), ("Up", f"{up // 3600} h {up // 60 % 60} min {up % 60} s"),
                 ("Calls now", str(len(app.phone.calls()))),
                 ("Configuration", ", ".join(getattr(self.config, "sources", ())) or "built in"),
                 ("SIP trace", f"{len(self.trace)} messages kept")]
        return {"Registration": reg or [("Lines", "none configured")], "Network": net,
                "Phone": phone}

    def config_rows(self) -> list[ConfigRow]:
        values = getattr(self.config, "values", None)
        if values:
            origins = getattr(self.config, "origins", {}) or {}
            rows = []
            # what the files set first, in file and line order; then the defaults
            files = list(getattr(self.config, "sources", ()))

            def place(key: str) -> tuple[int, int, int, str]:
                file, line = origins.get(key, ("", 0))
                rank = files.index(file) if file in files else len(files)
                return (key not in origins, rank, line, key)

            order = sorted(values, key=place)
            for key in order:
                secret = _is_secret(key)
                value = describe(values[key])
                where = origins.get(key)
                rows.append(ConfigRow(key=key, value=(MASK if value else "(empty)") if secret
                                      else value, secret=secret,
                                      source=f"{where[0]}:{where[1]}" if where else "(default)"))
            return rows
        return self._dataclass_rows()

    def _dataclass_rows(self) -> list[ConfigRow]:
        """A configuration built in code (the demo's handsets): fields, lines spelled out."""
        rows = []
        if dataclasses.is_dataclass(self.config):
            for f in dataclasses.fields(self.config):
                if f.name != "lines":
                    rows.append(ConfigRow(key=f.name, value=describe(getattr(self.config, f.name)),
                                          source="(built in)"))
        for ln in getattr(self.config, "lines", ()):
            for fld in ("name", "displayname", "authname", "password"):
                value = describe(getattr(ln, fld, ""))
                secret = fld == "password"
                rows.append(ConfigRow(key=f"line{ln.index}_{fld}", secret=secret,
                                      value=(MASK if value else "(empty)") if secret else value,
                                      source="(built in)"))
        return sorted(rows, key=lambda r: r.key)

    def log_tail(self, lines: int) -> list[str]:
        return self.log.tail(lines)

    def resync(self) -> str:
        trigger = self._app.on_check_sync
        if trigger is None:
            raise ControlError(409, "no provisioning server to resync from (started with --config)")
        trigger()
        return "Checking the provisioning server for a new configuration."

    def restart(self) -> str:
        if self.host.on_restart is None:
            raise ControlError(409, "restart is done by the run loop (python -m firmware run)")
        self.host.on_restart()
        return "Restarting (after the calls in progress end)."

    def sip_trace(self, since_wall: float) -> list[WirePacket]:
        return self.trace.since(since_wall)
