"""The 7960's clock keys as a value: ``time_zone`` plus its summer-time rule,
``time_format_24hr`` and ``date_format``, turned into what the status bar shows.

Why here and pure: the phone reads no clock of its own (sans-IO); it hands
this value a UTC epoch and gets "14:05 03/12" back, so the rule is tested on
any date without waiting for one. The 7960 names zones by abbreviation (its
admin guide's table: ``EST``, ``JST``, ``CET``...) and applies summer time to
them with ``dst_auto_adjust`` and the ``dst_*`` keys, absolute (``dst_start_day``
1..31) or relative (``dst_start_week_of_month`` + ``dst_start_day_of_week``,
week 8 = the last). A zone without summer time (``JST``, ``UTC``) ignores the
rule. ``UTC+9``-style offsets are fixed. IANA names (``Europe/Berlin``) are
handed over with their own tzinfo by the app (``tz``), which knows the rules.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

#: Abbreviation -> (minutes east of UTC in standard time, has summer time).
#: The 7960's names plus the usual North American / European / Pacific ones.
ZONES: dict[str, tuple[int, bool]] = {
    "IDL": (-720, False), "NT": (-660, False), "SST": (-660, False),
    "HST": (-600, False), "AHST": (-600, False), "AKST": (-540, True), "YST": (-540, True),
    "PST": (-480, True), "MST": (-420, True), "CST": (-360, True), "EST": (-300, True),
    "AST": (-240, True), "NST": (-210, True), "BRT": (-180, False), "AT": (-120, False),
    "WAT": (-60, False), "GMT": (0, True), "UTC": (0, False), "UT": (0, False),
    "WET": (0, True), "CET": (60, True), "MET": (60, True), "MEWT": (60, True),
    "SWT": (60, True), "FWT": (60, True), "EET": (120, True), "BT": (180, False),
    "MSK": (180, False), "IT": (210, False), "ZP4": (240, False), "ZP5": (300, False),
    "IST": (330, False), "ZP6": (360, False), "WAST": (420, False), "ICT": (420, False),
    "CCT": (480, False), "AWST": (480, False), "SGT": (480, False), "HKT": (480, False),
    "JST": (540, False), "KST": (540, False), "ACST": (570, True), "CAST": (570, True),
    "EAST": (600, True), "AEST": (600, True), "GST": (600, False), "NZST": (720, True),
    "IDLE": (720, False),
    # summer-time names: the offset as written, no rule on top
    "ADT": (-180, False), "EDT": (-240, False), "CDT": (-300, False), "MDT": (-360, False),
    "PDT": (-420, False), "AKDT": (-480, False), "BST": (60, False), "CEST": (120, False),
    "MEST": (120, False), "EEST": (180, False), "AEDT": (660, False), "NZDT": (780, False),
}

_OFFSET_RE = re.compile(r"(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?")


def zone_offset(name: str) -> tuple[int, bool] | None:
    """(standard offset in minutes, has summer time) for an abbreviation or a
    ``UTC+9`` / ``GMT-05:30`` / ``+0530`` offset; None if unknown (or an IANA name)."""
    t = name.strip().upper()
    if t in ZONES:
        return ZONES[t]
    m = _OFFSET_RE.fullmatch(t)
    if m and int(m.group(2)) <= 14 and int(m.group(3) or 0) < 60:
        minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
        return (-minutes if m.group(1) == "-" else minutes), False
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class DstEdge:
    """When summer time starts or stops: month, day (0 = use week/day of week),
    day of week (1 = Sunday), week of month (8 = last), minutes after midnight."""

    month: int
    day: int
    day_of_week: int
    week: int
    minutes: int

    def date(self, year: int) -> dt.date:
        if self.day:
            last = calendar.monthrange(year, self.month)[1]
            return dt.date(year, self.month, min(self.day, last))
        want = (self.day_of_week - 2) % 7  # Cisco 1 = Sunday -> Python Monday = 0
        days = [d for d in range(1, calendar.monthrange(year, self.month)[1] + 1)
                if dt.date(year, self.month, d).weekday() == want]
        n = len(days) if self.week == 8 else min(self.week, len(days))
        return dt.date(year, self.month, days[n - 1])


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalTime:
    """The status bar's clock: offset (standard), summer-time rule, 24 h or am/pm,
    date order. ``tz``: an IANA zone's tzinfo (then ``offset``/``dst`` are unused)."""

    offset: int = 0
    dst: tuple[DstEdge, DstEdge] | None = None
    dst_minutes: int = 60
    hour24: bool = True
    date_format: str = "M/D/Y"
    tz: Any = None

    def utc_offset(self, epoch: float) -> int:
        """Minutes east of UTC at the UTC instant ``epoch``."""
        if self.tz is not None:
            off = dt.datetime.fromtimestamp(epoch, self.tz).utcoffset()
            return int(off.total_seconds() // 60) if off is not None else 0
        if self.dst is None or not self.dst_minutes:
            return self.offset
        year = dt.datetime.fromtimestamp(epoch, dt.UTC).year
        start_edge, stop_edge = self.dst
        start = self._utc(start_edge, year, self.offset)
        stop = self._utc(stop_edge, year, self.offset + self.dst_minutes)
        summer = start <= epoch < stop if start < stop else (epoch >= start or epoch < stop)
        return self.offset + (self.dst_minutes if summer else 0)

    @staticmethod
    def _utc(edge: DstEdge, year: int, offset: int) -> float:
        day = edge.date(year)
        local = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(
            minutes=edge.minutes)
        return local.timestamp() - offset * 60

    def local(self, epoch: float) -> dt.datetime:
        """The wall-clock time at ``epoch`` (a naive-looking datetime in UTC clothing)."""
        return dt.datetime.fromtimestamp(epoch + 60 * self.utc_offset(epoch), dt.UTC)

    def time_text(self, epoch: float) -> str:
        t = self.local(epoch)
        if self.hour24:
            return f"{t.hour:02d}:{t.minute:02d}"
        return f"{(t.hour % 12) or 12}:{t.minute:02d}{'a' if t.hour < 12 else 'p'}"

    def date_text(self, epoch: float, *, year: bool = False) -> str:
        """The date in ``date_format`` order (``year=False``: day and month only,
        as the status bar has room for)."""
        t = self.local(epoch)
        sep = self.date_format[1]
        parts = {"M": f"{t.month:02d}", "D": f"{t.day:02d}", "Y": f"{t.year % 100:02d}"}
        order = [c for c in self.date_format[::2] if year or c != "Y"]
        return sep.join(parts[c] for c in order)

    def status(self, epoch: float) -> str:
        """What the status bar's right end shows: time, then day and month."""
        return f"{self.time_text(epoch)} {self.date_text(epoch)}"


def local_time(cfg: Any, tz: Any = None) -> LocalTime:
    """``LocalTime`` from a config's keys (read by attribute: any config object)."""
    zone = zone_offset(str(getattr(cfg, "time_zone", "UTC") or "UTC"))
    offset, has_dst = zone if zone is not None else (0, False)
    dst = None
    if has_dst and getattr(cfg, "dst_auto_adjust", True) and tz is None:
        dst = (DstEdge(month=cfg.dst_start_month, day=cfg.dst_start_day,
                       day_of_week=cfg.dst_start_day_of_week,
                       week=cfg.dst_start_week_of_month, minutes=cfg.dst_start_time),
               DstEdge(month=cfg.dst_stop_month, day=cfg.dst_stop_day,
                       day_of_week=cfg.dst_stop_day_of_week,
                       week=cfg.dst_stop_week_of_month, minutes=cfg.dst_stop_time))
    return LocalTime(offset=offset, dst=dst, dst_minutes=int(getattr(cfg, "dst_offset", 60)),
                     hour24=bool(getattr(cfg, "time_format_24hr", True)),
                     date_format=str(getattr(cfg, "date_format", "M/D/Y")), tz=tz)
