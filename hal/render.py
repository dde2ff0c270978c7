"""Draw a ``hal.base.Screen`` onto a 1-bit panel image, laid out like the Cisco 7960.

Why one renderer: the Pi display, the mock display's PNG, the control API's
``/api/screen.png`` and the snapshots in docs/screens all come from this code,
so what a test sees is what the handset shows.

Layout of a 128x64 panel (y ranges inclusive)::

    0-6    status bar: registration icon, status text (line), indicator icons, clock
    7      rule
    9-52   main area: 5 lines of the 5x7 font, 9 px apart, 21 characters each;
           the selected line is drawn inverted (dark text on a lit bar)
    56     rule
    58-62  softkey row: up to 4 labels in the 3x5 font, centred in 32 px slots;
           a label wider than 30 px is cut, so use the 7960's short forms ("Trnsfer")

A 128x32 panel keeps the bars and shows one main line. Lit pixels are 1.
"""

from __future__ import annotations

import functools
import io
import logging

from PIL import Image, ImageDraw

from hal.base import Screen
from hal.font import ICONS, MAIN, SMALL, Font

__all__ = ["INDICATORS", "main_line_capacity", "render", "render_png"]

log = logging.getLogger(__name__)

#: Status icons in the order they are drawn, right to left from the clock.
INDICATORS = ("muted", "speaker", "mwi", "dnd", "cfwd", "waiting", "hold", "conference", "hd",
              "secure")
LINE_PITCH = 9
MAIN_TOP = 9
SOFTKEY_SLOTS = 4


def main_line_capacity(height: int = 64) -> int:
    """How many main-area lines fit on a panel ``height`` pixels tall."""
    return max(0, (height - 8 - MAIN_TOP) // LINE_PITCH)


class _Canvas:
    """Collects lit and dark points, then paints them in one ImageDraw call each."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.lit: list[tuple[int, int]] = []
        self.dark: list[tuple[int, int]] = []
        self.bars: list[tuple[int, int, int, int]] = []

    def glyphs(self, font: Font, text: str, x: int, y: int, lit: bool = True) -> int:
        """Draw ``text`` at (x, y); returns the x after the last glyph."""
        dest = self.lit if lit else self.dark
        for ch in text:
            g = font.glyph(ch)
            dest.extend([(x + gx, y + gy) for gx, gy in g.lit])
            x += g.width + font.spacing
        return x

    def icon(self, name: str, x: int, y: int) -> int:
        g = ICONS[name]
        self.lit.extend([(x + gx, y + gy) for gx, gy in g.lit])
        return g.width

    def image(self) -> Image.Image:
        img = Image.new("1", (self.width, self.height), 0)
        draw = ImageDraw.Draw(img)
        for box in self.bars:
            draw.rectangle(box, fill=1)
        draw.point(self.lit, fill=1)  # Pillow clips points outside the image
        draw.point(self.dark, fill=0)
        return img


def _clean(text: str) -> str:
    """Printable ASCII only: anything else a peer sends (display names) becomes '?'."""
    return "".join(ch if " " <= ch <= "~" or ch == "\t" else "?" for ch in text[:200])


def _status_bar(c: _Canvas, screen: Screen) -> None:
    right = c.width
    clock = _clean(screen.clock).replace("\t", " ")
    if clock:
        clock = SMALL.fit(clock, c.width // 2)
        right -= SMALL.text_width(clock)
        c.glyphs(SMALL, clock, right, 1)
        right -= 3
    for name in INDICATORS:
        if name in screen.icons:
            if name == "mwi" and screen.badge:  # the count of new messages after the envelope
                badge = SMALL.fit(_clean(screen.badge).replace("\t", " "), 16)
                right -= SMALL.text_width(badge)
                c.glyphs(SMALL, badge, right, 1)
                right -= 1
            right -= ICONS[name].width
            c.icon(name, right, 1)
            right -= 2
    reg = "registered" if "registered" in screen.icons else "unregistered"
    x = c.icon(reg, 0, 1) + 2
    status = SMALL.fit(_clean(screen.status).replace("\t", " "), max(0, right - x - 1))
    c.glyphs(SMALL, status, x, 1)
    c.bars.append((0, 7, c.width - 1, 7))


def _main_area(c: _Canvas, screen: Screen) -> None:
    capacity = main_line_capacity(c.height)
    if len(screen.lines) > capacity:
        log.debug("screen has %d lines, panel shows %d", len(screen.lines), capacity)
    usable = c.width - 2
    for i, raw in enumerate(screen.lines[:capacity]):
        y = MAIN_TOP + i * LINE_PITCH
        inverted = screen.inverted_line == i
        if inverted:
            c.bars.append((0, y - 1, c.width - 1, y + LINE_PITCH - 2))
        left, _, right = _clean(raw).partition("\t")
        right = MAIN.fit(right.replace("\t", " "), usable)
        right_w = MAIN.text_width(right)
        gap = MAIN.spacing + 5 if right else 0
        left = MAIN.fit(left, usable - right_w - gap)
        c.glyphs(MAIN, left, 1, y, lit=not inverted)
        if right:
            c.glyphs(MAIN, right, c.width - 1 - right_w, y, lit=not inverted)


def _softkey_row(c: _Canvas, screen: Screen) -> None:
    top = c.height - 8
    c.bars.append((0, top, c.width - 1, top))
    slot = c.width // SOFTKEY_SLOTS
    for i, label in enumerate(screen.softkeys[:SOFTKEY_SLOTS]):
        x0 = i * slot
        text = SMALL.fit(_clean(label).replace("\t", " ").strip(), slot - 2)
        x = x0 + (slot - 1 - SMALL.text_width(text)) // 2
        c.glyphs(SMALL, text, x, top + 2)
    if len(screen.softkeys) > SOFTKEY_SLOTS:
        log.debug("screen has %d softkeys, panel shows %d", len(screen.softkeys), SOFTKEY_SLOTS)


def render(screen: Screen, width: int = 128, height: int = 64) -> Image.Image:
    """The panel image (mode "1", lit = 1) of ``screen``."""
    c = _Canvas(width, height)
    _status_bar(c, screen)
    _main_area(c, screen)
    _softkey_row(c, screen)
    return c.image()


def render_png(screen: Screen, width: int = 128, height: int = 64, scale: int = 1) -> bytes:
    """``screen`` as PNG bytes; ``scale`` > 1 enlarges each pixel for people to read.

    The last few are kept (a ``Screen`` is a value): in a call the web page's push, its
    ``/api/screen.png`` and every other open page ask for the same screen, and each
    render holds the one loop about half a millisecond, time taken from the RTP
    pacing (bench/bench_web.py)."""
    try:
        hash(screen)
    except TypeError:  # a Screen built with a list where a tuple belongs: not kept
        return _png.__wrapped__(screen, width, height, scale)
    return _png(screen, width, height, scale)


@functools.lru_cache(maxsize=8)
def _png(screen: Screen, width: int, height: int, scale: int) -> bytes:
    img = render(screen, width, height)
    if scale > 1:
        img = img.resize((width * scale, height * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
