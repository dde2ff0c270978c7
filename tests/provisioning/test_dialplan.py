"""dialplan.xml: parsing, refusals, the longest-literal rule, rewrite, '>#', ','."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.provisioning.dialplan import (
    DialPlan,
    DialPlanError,
    MatchKind,
    Template,
    compile_pattern,
    match,
    parse_dialplan,
    terminate,
)

CONFIG = Path(__file__).resolve().parents[2] / "config"


def plan(*templates: str) -> DialPlan:
    return parse_dialplan("<DIALTEMPLATE>" + "".join(templates) + "</DIALTEMPLATE>")


def test_parses_attributes_case_insensitively_and_skips_comments() -> None:
    p = parse_dialplan(
        '<DialTemplate><!-- c --><TEMPLATE match="9,1.." TIMEOUT="3" user="PHONE" '
        'rewrite="1.."/><template MATCH="*" Timeout="4"/></DialTemplate>')
    t0, t1 = p.templates
    assert (t0.match, t0.timeout, t0.user, t0.rewrite) == ("9,1..", 3.0, "phone", "1..")
    assert (t1.match, t1.timeout, t1.user, t1.rewrite) == ("*", 4.0, None, None)


def test_the_worked_example_in_config_parses() -> None:
    p = parse_dialplan((CONFIG / "dialplan.xml").read_bytes())
    assert len(p.templates) == 8
    assert match(p, "912125551234").number == "12125551234"


@pytest.mark.parametrize(
    ("xml", "fragment"),
    [
        ("<DIALTEMPLATE>", "not well-formed"),
        ("<DIALPLAN><TEMPLATE MATCH='1'/></DIALPLAN>", "expected <DIALTEMPLATE>"),
        ("<DIALTEMPLATE></DIALTEMPLATE>", "no <TEMPLATE>"),
        ("<DIALTEMPLATE><RULE MATCH='1'/></DIALTEMPLATE>", "is not <TEMPLATE>"),
        ("<DIALTEMPLATE><TEMPLATE Timeout='1'/></DIALTEMPLATE>", "MATCH is missing"),
        ("<DIALTEMPLATE><TEMPLATE MATCH='1' Timeout='-1'/></DIALTEMPLATE>", "accepted: 0..300"),
        ("<DIALTEMPLATE><TEMPLATE MATCH='1' Timeout='soon'/></DIALTEMPLATE>", "0..300"),
        ("<DIALTEMPLATE><TEMPLATE MATCH='1' User='tel'/></DIALTEMPLATE>", "Phone or IP"),
        ("<DIALTEMPLATE><TEMPLATE MATCH='1?'/></DIALTEMPLATE>", "not allowed"),
        ("<DIALTEMPLATE><TEMPLATE MATCH='1>2'/></DIALTEMPLATE>", "followed by '#'"),
        ("<DIALTEMPLATE><TEMPLATE MATCH='1\\2'/></DIALTEMPLATE>", "only escape"),
        ("<DIALTEMPLATE><TEMPLATE MATCH=''/></DIALTEMPLATE>", "1..64"),
        ("<DIALTEMPLATE><TEMPLATE MATCH='1' Rewrite='a b'/></DIALTEMPLATE>", "bad characters"),
        ('<!DOCTYPE x [<!ENTITY a "aaaa">]><DIALTEMPLATE/>', "not allowed"),
        ("<DIALTEMPLATE>" + "<TEMPLATE MATCH='1'/>" * 300 + "</DIALTEMPLATE>", "more than 256"),
        ("<DIALTEMPLATE>" + " " * 70000 + "</DIALTEMPLATE>", "larger than"),
    ],
)
def test_bad_dial_plans_are_refused_with_a_reason(xml: str, fragment: str) -> None:
    with pytest.raises(DialPlanError) as exc:
        parse_dialplan(xml, filename="dp.xml")
    assert fragment in str(exc.value) and str(exc.value).startswith("dp.xml: ")


def test_escaped_star_is_literal_and_bare_star_is_a_wildcard() -> None:
    assert compile_pattern("\\*9*") == (("lit", "*"), ("lit", "9"), ("star",))


def test_dot_matches_digits_and_star_but_never_pound() -> None:
    p = plan("<TEMPLATE MATCH='1..' Timeout='0'/>")
    assert match(p, "12*").kind is MatchKind.COMPLETE
    assert match(p, "12#").kind is MatchKind.NONE
    assert match(p, "1").kind is MatchKind.PARTIAL
    assert match(p, "1234").kind is MatchKind.NONE
    assert match(p, "2").kind is MatchKind.NONE


def test_star_matches_one_or_more() -> None:
    p = plan("<TEMPLATE MATCH='8*' Timeout='2'/>")
    assert match(p, "8").kind is MatchKind.PARTIAL
    r = match(p, "81")
    assert (r.kind, r.timeout, r.number) == (MatchKind.COMPLETE, 2.0, "81")
    assert match(p, "8123456").kind is MatchKind.COMPLETE


def test_literal_pound_is_matched_only_by_pound() -> None:
    p = plan("<TEMPLATE MATCH='*#' Timeout='0'/>")
    assert match(p, "12#").kind is MatchKind.COMPLETE
    assert match(p, "#").kind is MatchKind.NONE  # '*' needs one key before the '#'


def test_more_literal_matches_win_so_911_beats_outside_line() -> None:
    p = plan("<TEMPLATE MATCH='9,1..........' Timeout='0'/>",
             "<TEMPLATE MATCH='911' Timeout='0' User='Phone'/>")
    r = match(p, "911")
    assert r.kind is MatchKind.COMPLETE and r.template is p.templates[1] and r.timeout == 0


def test_complete_match_only_wins_with_strictly_more_literals() -> None:
    p = plan("<TEMPLATE MATCH='1...' Timeout='3'/>", "<TEMPLATE MATCH='1...5..' Timeout='0'/>")
    r = match(p, "1234")  # both have one literal: keep waiting for more keys
    assert r.kind is MatchKind.PARTIAL and r.timeout is None
    assert r.template is p.templates[0] and r.number == "1234"  # what a timeout dials
    assert match(p, "1234567").template is p.templates[1]
    assert match(p, "12345").template is None  # nothing complete to fall back on


def test_ties_go_to_the_first_template_in_the_file() -> None:
    p = plan("<TEMPLATE MATCH='2...' Timeout='0' User='IP'/>",
             "<TEMPLATE MATCH='2...' Timeout='0' User='Phone'/>")
    assert match(p, "2000").template is p.templates[0]


def test_comma_reports_secondary_dial_tone_where_it_is_reached() -> None:
    p = plan("<TEMPLATE MATCH='9,1..........' Timeout='0'/>")
    assert match(p, "9").secondary_tone is True
    assert match(p, "91").secondary_tone is False
    assert match(p, "").secondary_tone is False


@pytest.mark.parametrize(
    ("rewrite", "out"),
    [  # The Cisco administrator guide's table for MATCH ab..cd..ef* and input ab12cd34ef5678
        ("%s", "ab12cd34ef5678"),
        ("%0", "ab12cd34ef5678"),
        ("%1", "12"),
        ("%2", "34"),
        ("%3", "5678"),
        ("%4", ""),
        ("%5", ""),
        ("XYZ....", "XYZ1234"),
        ("X.Y.Z...", "X1Y2Z345"),
        ("919%1%2%3", "91912345678"),
        ("AB...X%1X..", "AB123X12X45"),
        ("X%1X%1X%1", "X12X12X12"),
        ("100%%", "100%"),
    ],
)
def test_rewrite_follows_the_cisco_table(rewrite: str, out: str) -> None:
    tpl = Template(match="ab..cd..ef*", timeout=0, rewrite=rewrite)
    r = match(DialPlan(templates=(tpl,)), "ab12cd34ef5678")
    assert r.kind is MatchKind.COMPLETE and r.number == out


def test_pound_terminator_marker() -> None:
    p = plan("<TEMPLATE MATCH='9011*>#' Timeout='5' Rewrite='011%1'/>",
             "<TEMPLATE MATCH='1.>#...' Timeout='0'/>")
    assert match(p, "9011").terminable is False
    r = match(p, "901144")
    assert r.terminable and r.kind is MatchKind.COMPLETE and r.timeout == 5
    t = terminate(p, "901144")
    assert (t.kind, t.number) == (MatchKind.COMPLETE, "01144")
    t2 = terminate(p, "12")  # terminated before the template completed: as entered
    assert (t2.kind, t2.number, t2.template) == (MatchKind.COMPLETE, "12", p.templates[1])
    assert terminate(p, "1").kind is MatchKind.NONE


def test_input_outside_the_keypad_or_too_long_matches_nothing() -> None:
    p = plan("<TEMPLATE MATCH='*' Timeout='1'/>")
    assert match(p, "12=").kind is MatchKind.NONE
    assert match(p, "12\u0661").kind is MatchKind.NONE  # a non-ASCII digit
    assert match(p, "1" * 65).kind is MatchKind.NONE
