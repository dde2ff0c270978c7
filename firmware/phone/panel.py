"""The 7960's fixed keys: mute, speaker, headset, volume rocker, info, line keys, and
the keys that open a screen (messages, directories, settings, services).

Why a mixin of its own: these keys act on the audio path (which device is in
use, microphone on or off, how loud) rather than on a call, and
``POST /api/button`` presses exactly them. The rules follow a 7960:

- speaker: off hook on the speaker (dial tone, or answers a ringing call); in a
  speakerphone call it ends the call; in a handset call it moves the call to
  the speaker, so the handset can be put down. Lifting the handset takes a
  speaker or headset call over to the handset.
- headset: the same with the headset (which shares the handset's volume).
- mute: microphone off for the call in use (a status-bar icon); refused with no
  call; cleared when the last call ends, so the next call never starts muted
  unless it is an intercom call (``intercom.py``).
- volume up/down: the ringer while a call rings or while idle, otherwise the
  device in use; every press is remembered (``PrefsChanged``).
"""

from __future__ import annotations

from firmware.phone.actions import PrefsChanged, SetAudio
from firmware.phone.audio_controls import UserPrefs, VolumeMode, Volumes, gain, volume_bar
from firmware.phone.call import CallState
from firmware.phone.callops import PhoneError
from firmware.phone.keys import KeyOps
from hal.base import FIXED_KEYS, MAX_LINE_KEYS, NAV_KEYS

_S = CallState
_VOLUME_NAMES = {"handset": "Handset", "speaker": "Speaker", "ringer": "Ring"}


class PanelOps(KeyOps):
    """Fixed keys and the audio path (mixed into ``Phone``)."""

    muted: bool
    headset: bool
    volumes: Volumes
    _audio: SetAudio | None

    def init_panel(self, prefs: UserPrefs | None) -> None:
        self.muted = False
        self.headset = False
        prefs = prefs or UserPrefs()
        self.volumes = prefs.volumes
        # DND and forward-all as the user last set them win over the provisioned ones
        self.user_dnd, self.user_cfwd = prefs.dnd, prefs.cfwd_all
        if prefs.dnd is not None and not self.settings.dnd_always:
            self.dnd = prefs.dnd
        if prefs.cfwd_all is not None:
            self.cfwd_to = prefs.cfwd_all or None
        self._audio = None

    # ------------------------------------------------------------------ API entry
    def press_button(self, name: str, now: float) -> None:
        """``POST /api/button``: 400 for a name the 7960 has no key for, 409 when the
        key does nothing now (a line key with no line behind it, mute with no call...)."""
        if name.startswith("line") and name[4:].isdigit():
            index = int(name[4:])
            if not 1 <= index <= MAX_LINE_KEYS:
                raise PhoneError(400, f"unknown button {name!r} (line1..line{MAX_LINE_KEYS})")
            if index > len(self.lines):
                raise PhoneError(409, f"line {index} is not configured")
        elif name not in FIXED_KEYS:
            raise PhoneError(400, f"unknown button {name!r}")
        self.press_key(name, now)

    def is_panel_key(self, key: str) -> bool:
        return key in FIXED_KEYS or key in NAV_KEYS or key == "help" or (
            key.startswith("line") and key[4:].isdigit())

    def panel_key(self, key: str, now: float) -> None:
        """One fixed key went down (from the HAL or the API)."""
        if key == "mute":
            self.toggle_mute()
        elif key == "speaker":
            self.toggle_speaker(now)
        elif key == "headset":
            self.toggle_headset(now)
        elif key in ("volup", "voldown"):
            self.step_volume(1 if key == "volup" else -1)
        elif key in ("info", "help"):
            self.toggle_info(now)
        elif key.startswith("line"):
            self.close_menu()
            self.line_key(int(key[4:]), now)
        else:
            self.menu_key(key, now)

    # ------------------------------------------------------------------ keys
    def toggle_mute(self) -> None:
        if not self.muted and self.mute_target() is None:
            raise PhoneError(409, "no call to mute")
        self.muted = not self.muted

    def mute_target(self) -> object | None:
        """The call whose microphone mute acts on (None: nothing to mute)."""
        return next((c for c in self._all_calls() if not c.ended and c.state is not _S.INCOMING
                     and c.state is not _S.DIALING), None)

    def toggle_speaker(self, now: float) -> None:
        hands_free = self.speaker and not self.headset
        if hands_free and not self.handset_up:
            self.go_on_hook(now)  # the speaker key ends a speakerphone call
        elif hands_free:
            self.speaker = False  # back to the handset that is still up
        elif self.handset_up or self.headset:
            self.speaker, self.headset = True, False  # the call moves to the speaker
        else:
            self.go_off_hook(now)  # answers a ringing call, or dial tone and "Enter number"
            self.speaker, self.headset = True, False

    def toggle_headset(self, now: float) -> None:
        if self.speaker and self.headset and not self.handset_up:
            self.go_on_hook(now)
        elif self.speaker and self.headset:
            self.speaker = self.headset = False
        elif self.handset_up or self.speaker:
            self.speaker, self.headset = True, True
        else:
            self.go_off_hook(now)
            self.speaker, self.headset = True, True

    def take_handset(self) -> None:
        """The handset was lifted during a speaker or headset call: it takes the call over."""
        self.speaker = self.headset = False

    @property
    def route(self) -> str:
        if self.speaker:
            return "headset" if self.headset else "speaker"
        return "handset" if self.handset_up else "idle"

    def volume_mode(self) -> VolumeMode:
        """Which level the rocker changes now (a 7960: the ringer while ringing or idle)."""
        route = self.route
        ringing = any(c.state is _S.INCOMING for c in self._all_calls())
        if route == "idle" or (ringing and self.mute_target() is None):
            return "ringer"
        return "speaker" if route == "speaker" else "handset"

    def step_volume(self, delta: int) -> None:
        mode = self.volume_mode()
        self.volumes = self.volumes.stepped(mode, delta)
        level = self.volumes.level(mode)
        self.notice = f"{_VOLUME_NAMES[mode]} {volume_bar(level)}"
        self.emit(PrefsChanged())

    def set_volume(self, mode: VolumeMode, level: int) -> None:
        """A level set from the settings screen."""
        self.volumes = self.volumes.stepped(mode, level - self.volumes.level(mode))
        self.emit(PrefsChanged())

    def remember_forwarding(self) -> None:
        """The user just set DND or forward-all (softkey, Settings, web page): keep it
        over a restart, as a 7960 keeps CFwdAll. DND the config holds on
        (``dnd_control: 2``) cannot be turned off."""
        if self.settings.dnd_always:
            self.dnd = True
        now_set = (self.dnd, self.cfwd_to or "")
        if (self.user_dnd, self.user_cfwd) != now_set:
            self.user_dnd, self.user_cfwd = now_set
            self.emit(PrefsChanged())

    def forget_forwarding(self, dnd: bool, cfwd: bool) -> None:
        """A resync changed the provisioned DND / forwarding: the config speaks again."""
        if (dnd and self.user_dnd is not None) or (cfwd and self.user_cfwd is not None):
            if dnd:
                self.user_dnd = None
            if cfwd:
                self.user_cfwd = None
            self.emit(PrefsChanged())

    def prefs(self) -> UserPrefs:
        """What the app writes to the state directory on ``PrefsChanged``."""
        return UserPrefs(volumes=self.volumes, dnd=self.user_dnd, cfwd_all=self.user_cfwd)

    # ------------------------------------------------------------------ output
    def refresh_audio(self) -> None:
        """Emit ``SetAudio`` when mute, route or a level changed (idempotent, like the tones)."""
        if self.muted and self.mute_target() is None:
            self.muted = False  # the call is over: the next one starts with the microphone on
        route = self.route
        level = self.volumes.level("speaker" if route == "speaker" else "handset")
        audio = SetAudio(muted=self.muted, gain=gain(level), route=route,  # type: ignore[arg-type]
                         ringer=self.volumes.ringer)
        if audio != self._audio:
            self._audio = audio
            self.emit(audio)

    # ------------------------------------------------------------------ screens (menus.py)
    def close_menu(self) -> None:
        raise NotImplementedError

    def menu_key(self, key: str, now: float) -> None:
        raise NotImplementedError
