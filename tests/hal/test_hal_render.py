"""hal.render: the 7960-style layout and the bitmap fonts (docs/screens: tests/app/test_screens_doc.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hal.base import Screen
from hal.font import ICONS, MAIN, SMALL
from hal.render import INDICATORS, main_line_capacity, render

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland

ROOT = Path(__file__).resolve().parents[2]


def px(screen: Screen, height: int = 64) -> np.ndarray:
    return np.asarray(render(screen, 128, height), dtype=np.uint8)


def test_every_printable_ascii_character_has_a_main_glyph() -> None:
    for code in range(32, 127):
        g = MAIN.glyphs[chr(code)]
        assert g.width == 5 and len(g.rows) == 8
    assert MAIN.text_width("x" * 21) <= 126


def test_small_font_is_upper_case_and_7960_labels_fit_four_across() -> None:
    assert SMALL.glyph("a") is SMALL.glyph("A")
    labels = ["Redial", "NewCall", "CFwdAll", "EndCall", "Hold", "Resume", "Trnsfer", "Answer",
              "Decline", "Conf", "Swap", "Dial", "EditDial", "Cancel", "DND", "Exit", "Delete", "More"]
    for label in labels:
        assert SMALL.text_width(label) <= 30, label


def test_status_bar_shows_registration_icons_and_clock_without_overlap() -> None:
    plain = px(Screen(clock="10:42a", icons=frozenset({"registered"})))
    crowded = px(Screen(status="X" * 60, clock="10:42a", icons=frozenset({"registered", *INDICATORS})))
    clock_w = SMALL.text_width("10:42a")
    assert (plain[:7, 128 - clock_w:] == crowded[:7, 128 - clock_w:]).all(), "status text ran into the clock"
    icons_w = sum(ICONS[n].width + 2 for n in INDICATORS)
    assert crowded[1:6, 128 - clock_w - 3 - icons_w:128 - clock_w - 3].any()
    unreg = px(Screen())
    assert not (unreg[1:6, 0:5] == plain[1:6, 0:5]).all(), "unregistered icon differs from registered"
    assert plain[7].all(), "rule under the status bar"


def test_selected_line_is_inverted() -> None:
    normal = px(Screen(lines=("a", "Bob")))
    inverted = px(Screen(lines=("a", "Bob"), inverted_line=1))
    band = slice(17, 26)
    assert normal[band].mean() < 0.1 and inverted[band].mean() > 0.8
    assert (normal[:17] == inverted[:17]).all()


def test_tab_right_aligns_the_call_timer() -> None:
    img = px(Screen(lines=("Connected\t01:23",)))
    right = px(Screen(lines=("\t01:23",)))
    assert (img[9:17, 95:] == right[9:17, 95:]).all()
    assert right[9:17, 128 - MAIN.text_width("01:23") - 1:127].any() and not right[9:17, :90].any()


def test_softkey_labels_sit_in_four_slots() -> None:
    img = px(Screen(softkeys=("A", "B", "C", "D")))
    row = img[58:63]
    for slot in range(4):
        assert row[:, slot * 32:(slot + 1) * 32].any()
    assert img[56].all(), "rule above the softkeys"


def test_small_panel_shows_bars_and_one_line() -> None:
    assert main_line_capacity(32) == 1 and main_line_capacity(64) == 5
    img = px(Screen(status="1", lines=("one", "two"), softkeys=("Hold",)), height=32)
    assert img.shape == (32, 128) and img[9:17].any() and img[24].all()


@settings(max_examples=150, deadline=None)
@given(
    st.builds(
        Screen,
        status=st.text(max_size=80),
        lines=st.lists(st.text(max_size=60), max_size=12).map(tuple),
        softkeys=st.lists(st.text(max_size=20), max_size=8).map(tuple),
        icons=st.frozensets(st.sampled_from([*INDICATORS, "registered", "bogus"])),
        inverted_line=st.one_of(st.none(), st.integers(-3, 15)),
        clock=st.text(max_size=30),
    )
)
def test_any_screen_renders_without_error(screen: Screen) -> None:
    img = render(screen)
    assert img.size == (128, 64) and img.mode == "1"


@pytest.mark.parametrize("text", ["caf\u00e9 \u260e", "\x00\x1b[2J", "\t\t\t", "x" * 10_000])
def test_hostile_text_is_cleaned_not_raised(text: str) -> None:
    img = px(Screen(status=text, lines=(text,), softkeys=(text,), clock=text))
    assert img.shape == (64, 128)
