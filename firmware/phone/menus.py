"""The screens behind the Directories, Settings and Services keys (a 7960's menus).

Why a mixin with a small state value: a menu is one more thing the LCD shows
and the keys act on while it is up (digits pick an entry, the softkeys
Select/Next/Prev/Dial/Lower/Raise/Exit, the Pi's nav keys do the same). It is
drawn from ``MenuView`` by ``screens.py``; call control proper never sees it.

- Directories: 1 Missed calls, 2 Received calls, 3 Placed calls, 4 the local
  directory (``directory_url``); each list newest first (the directory by name),
  Dial calls the entry. Opening Missed clears the "missed calls" count.
- Settings: ring, handset and speaker volume and Do Not Disturb, changed with
  Lower/Raise and remembered like the volume keys.
- Services: this firmware has no XML services client, and the screen says so.

A ringing call or a hook change closes the menu: the call comes first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from firmware.phone.audio_controls import MAX_VOLUME, volume_bar
from firmware.phone.call import CallState
from firmware.phone.callops import PhoneError
from firmware.phone.panel import PanelOps
from firmware.phone.screens import uri_user, wall_clock
from firmware.phone.softkeys import DIAL, EXIT, LOWER, NEXT, PREV, RAISE, SELECT
from firmware.phone.view import MenuView

_S = CallState
ROWS = 5  # main-area rows of the 128x64 panel

_LISTS = {"missed": "Missed Calls", "received": "Received Calls", "placed": "Placed Calls"}
_DIRECTORIES = ("missed", "received", "placed", "directory")
_SETTINGS = ("ringer", "handset", "speaker", "dnd")
_SETTING_NAMES = {"ringer": "Ring vol", "handset": "Handset vol", "speaker": "Speaker vol",
                  "dnd": "Do not disturb"}


@dataclass(slots=True)
class Menu:
    kind: str  # directories | missed | received | placed | directory | settings | services
    selected: int = 0


class MenuOps(PanelOps):
    """Menus on the LCD (mixed into ``Phone``)."""

    menu: Menu | None
    directory: Any  # firmware.provisioning.directory.Directory
    _now_epoch: float

    def init_menus(self, directory: Any) -> None:
        from firmware.provisioning.directory import Directory

        self.menu = None
        self.directory = directory if directory is not None else Directory()
        self._now_epoch = self.wall_offset

    # ------------------------------------------------------------------ keys
    def softkey(self, label: str, now: float) -> None:
        """A softkey of the open menu, else of the call screens (``keys.py``)."""
        if self.menu is not None:
            self.menu_softkey(label, now)
            return
        super().softkey(label, now)

    def menu_key(self, key: str, now: float) -> None:
        """directories / settings / services open their screen (again: close it);
        messages calls voicemail; nav keys move in the open menu."""
        if key == "messages":
            self.call_voicemail(now)
        elif key in ("directories", "settings", "services"):
            if any(c.state is _S.INCOMING for c in self._all_calls()):
                raise PhoneError(409, "a call is ringing: answer or decline it first")
            self.menu = None if self.menu is not None and self._root(self.menu.kind) == key \
                else Menu(kind=key)
        elif self.menu is None:
            raise PhoneError(409, f"{key}: no list on the screen")
        elif key == "nav_down":
            self.menu_softkey(NEXT, now)
        elif key == "nav_up":
            self.menu_softkey(PREV, now)
        else:  # select
            self.menu_softkey(self.menu_softkeys()[0], now)

    @staticmethod
    def _root(kind: str) -> str:
        return kind if kind in ("settings", "services") else "directories"

    def call_voicemail(self, now: float) -> None:
        target = self.settings.messages_uri
        if not target:
            raise PhoneError(409, "no voicemail number (messages_uri) is configured")
        self.menu = None
        self.dial(target, now)

    def close_menu(self) -> None:
        self.menu = None

    def menu_digit(self, key: str, now: float) -> None:
        """A keypad digit picks row N of the open menu (1-based)."""
        assert self.menu is not None
        if not key.isdigit() or key == "0":
            raise PhoneError(409, "pick an entry with 1-9")
        index = int(key) - 1
        if index >= len(self.menu_rows()):
            raise PhoneError(409, f"there is no entry {key}")
        self.menu.selected = index
        if self.menu.kind == "directories":
            self.menu_softkey(SELECT, now)

    def menu_softkeys(self) -> tuple[str, ...]:
        assert self.menu is not None
        kind, n = self.menu.kind, len(self.menu_rows())
        if kind == "directories":
            return (SELECT, NEXT, PREV, EXIT)
        if kind == "settings":
            return (NEXT, LOWER, RAISE, EXIT)
        if kind == "services" or n == 0:
            return (EXIT,)
        return (DIAL, NEXT, PREV, EXIT)

    def menu_softkey(self, label: str, now: float) -> None:
        menu = self.menu
        assert menu is not None
        if label not in self.menu_softkeys():
            raise PhoneError(409, f"{label} is not available now")
        rows = len(self.menu_rows())
        if label == EXIT:
            self.menu = Menu(kind="directories") if menu.kind in _DIRECTORIES else None
        elif label == NEXT:
            menu.selected = (menu.selected + 1) % max(1, rows)
        elif label == PREV:
            menu.selected = (menu.selected - 1) % max(1, rows)
        elif label == SELECT:
            self.menu = Menu(kind=_DIRECTORIES[menu.selected])
            if self.menu.kind == "missed":
                self.history.mark_seen()
        elif label == DIAL:
            target = self.menu_targets()[menu.selected]
            self.menu = None
            self.dial(target, now)
        else:
            self.change_setting(_SETTINGS[menu.selected], 1 if label == RAISE else -1)

    def change_setting(self, name: str, delta: int) -> None:
        if name == "dnd":
            if self.settings.dnd_always:  # type: ignore[attr-defined]
                raise PhoneError(409, "do not disturb is always on here (dnd_control 2)")
            self.dnd = delta > 0
            self.remember_forwarding()  # type: ignore[attr-defined]
            return
        level = self.volumes.level(name)  # type: ignore[arg-type]
        self.set_volume(name, max(0, min(MAX_VOLUME, level + delta)))  # type: ignore[arg-type]

    # ------------------------------------------------------------------ what is shown
    def menu_targets(self) -> list[str]:
        """What Dial calls for each row of a list."""
        assert self.menu is not None
        kind = self.menu.kind
        if kind in _LISTS:
            return [e.remote for e in self.history.entries(kind)]  # type: ignore[arg-type]
        if kind == "directory":
            return [e.number for e in self.directory.entries]
        return []

    def menu_rows(self) -> list[str]:
        assert self.menu is not None
        kind = self.menu.kind
        if kind == "directories":
            return ["1 Missed calls", "2 Received calls", "3 Placed calls",
                    f"4 {self.directory.title}"[:21]]
        if kind == "settings":
            rows = []
            for i, name in enumerate(_SETTINGS, start=1):
                if name == "dnd":
                    value = "on" if self.dnd else "off"
                else:
                    value = str(self.volumes.level(name))  # type: ignore[arg-type]
                rows.append(f"{i} {_SETTING_NAMES[name]}\t{value}")
            return rows
        if kind in _LISTS:
            return [f"{self._name(e.display, e.remote)[:14]}\t{self._when(e.at)}"
                    for e in self.history.entries(kind)]  # type: ignore[arg-type]
        if kind == "directory":
            return [f"{e.name[:20 - len(uri_user(e.number))]}\t{uri_user(e.number)}"
                    for e in self.directory.entries]
        return []

    def _name(self, display: str | None, remote: str) -> str:
        """The caller's display name, else the directory's name for the number, else it."""
        user = uri_user(remote)
        return display or self.directory.name_for(user) or user

    def _when(self, at: float) -> str:
        """HH:MM for today's calls, MM/DD for older ones (local time, like the status bar)."""
        offset = 60.0 * self.settings.utc_offset_minutes
        now_local = self._now_epoch + offset
        local = at + offset
        if int(local // 86400) == int(now_local // 86400):
            return wall_clock(local)
        day = datetime.fromtimestamp(local, tz=UTC)  # calendar arithmetic, no clock
        return f"{day.month:02d}/{day.day:02d}"

    def menu_view(self, now: float) -> MenuView | None:
        menu = self.menu
        if menu is None:
            return None
        self._now_epoch = now + self.wall_offset
        rows = self.menu_rows()
        title = {"directories": "Directories", "settings": "Settings", "services": "Services",
                 "directory": self.directory.title, **_LISTS}[menu.kind]
        empty = {"services": ("No services", "configured"),
                 "directory": ("Directory is empty", "(directory_url)")}.get(
                     menu.kind, ("No calls",))
        if not rows:
            return MenuView(title=title, rows=empty, selected=None, softkeys=self.menu_softkeys())
        menu.selected = min(menu.selected, len(rows) - 1)
        top = max(0, min(menu.selected - ROWS + 1, len(rows) - ROWS))
        visible = tuple(rows[top:top + ROWS])
        if menu.kind == "settings" and menu.selected < len(_SETTINGS) and \
                _SETTINGS[menu.selected] != "dnd":
            level = self.volumes.level(_SETTINGS[menu.selected])  # type: ignore[arg-type]
            visible = (*visible, volume_bar(level))
        return MenuView(title=title, rows=visible, selected=menu.selected - top,
                        softkeys=self.menu_softkeys())

    def refresh_menu(self) -> None:
        """A ringing call takes the screen from the menu."""
        if self.menu is not None and any(c.state is _S.INCOMING for c in self._all_calls()):
            self.menu = None
