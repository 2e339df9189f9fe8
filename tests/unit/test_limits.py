"""Limits as the law writes them (DESIGN.md "Legal time": units) and commitment ratios."""

from __future__ import annotations

from fractions import Fraction

import pytest

from workflow.limits import Limit, Unit, parse_ratio, within_working_days


@pytest.mark.parametrize(
    ("text", "n", "unit"),
    [
        ("5 working days", 5, Unit.WORKING_DAYS),
        ("1 working day", 1, Unit.WORKING_DAYS),
        ("20 workdays", 20, Unit.WORKING_DAYS),
        ("  5   Working   Days ", 5, Unit.WORKING_DAYS),
        ("15 days", 15, Unit.DAYS),
        ("1 day", 1, Unit.DAYS),
        ("15days", 15, Unit.DAYS),
        ("3 months", 3, Unit.MONTHS),
        ("1 Month", 1, Unit.MONTHS),
        # Chinese forms, as laws and notices write them
        ("5个工作日", 5, Unit.WORKING_DAYS),
        ("20工作日", 20, Unit.WORKING_DAYS),
        ("15日", 15, Unit.DAYS),
        ("15天", 15, Unit.DAYS),
        ("3个月", 3, Unit.MONTHS),
        ("6月", 6, Unit.MONTHS),
        (" 60 日 ", 60, Unit.DAYS),
    ],
)
def test_parse_accepts_english_and_chinese_forms(text: str, n: int, unit: Unit) -> None:
    assert Limit.parse(text) == Limit(n, unit)


def test_parse_passes_a_limit_through() -> None:
    lim = Limit(3, Unit.MONTHS)
    assert Limit.parse(lim) is lim


@pytest.mark.parametrize(
    "text",
    ["", "   ", "five days", "5 weeks", "5 working", "个工作日", "5.5 days", "-1 days", "5 hours",
     "5 days 3 hours", "5周", "五日", "3 months later"],
)
def test_unreadable_limits_raise_a_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"cannot read limit .*N working days.*N个工作日"):
        Limit.parse(text)


@pytest.mark.parametrize("text", ["0 days", "0 working days", "0个月", "0日"])
def test_zero_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="at least 1 unit"):
        Limit.parse(text)


@pytest.mark.parametrize("value", [5, None, 5.0, ["5 days"], True])
def test_non_text_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="must be text like '5 working days'"):
        Limit.parse(value)


@pytest.mark.parametrize(
    ("lim", "english", "chinese"),
    [
        (Limit(5, Unit.WORKING_DAYS), "5 working days", "5个工作日"),
        (Limit(1, Unit.WORKING_DAYS), "1 working day", "1个工作日"),
        (Limit(15, Unit.DAYS), "15 days", "15日"),
        (Limit(1, Unit.DAYS), "1 day", "1日"),
        (Limit(3, Unit.MONTHS), "3 months", "3个月"),
        (Limit(1, Unit.MONTHS), "1 month", "1个月"),
    ],
)
def test_text_round_trips(lim: Limit, english: str, chinese: str) -> None:
    assert str(lim) == english
    assert lim.label == chinese
    assert Limit.parse(str(lim)) == lim
    assert Limit.parse(lim.label) == lim


def test_unit_families() -> None:
    # working days count working days; days and months count natural days (rule 4)
    assert Unit.WORKING_DAYS.family == "working"
    assert Unit.DAYS.family == "natural"
    assert Unit.MONTHS.family == "natural"


def test_limits_are_values() -> None:
    assert {Limit.parse("5个工作日"), Limit.parse("5 working days")} == {Limit(5, Unit.WORKING_DAYS)}
    with pytest.raises(AttributeError):
        Limit.parse("5 days").n = 6  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2/3", Fraction(2, 3)),
        (" 2/3 ", Fraction(2, 3)),
        (Fraction(1, 2), Fraction(1, 2)),
        (0.5, Fraction(1, 2)),
        (2 / 3, Fraction(2, 3)),
        (1, Fraction(1)),
        ("1", Fraction(1)),
        ("0.75", Fraction(3, 4)),
    ],
)
def test_parse_ratio(value: object, expected: Fraction) -> None:
    assert parse_ratio(value) == expected


@pytest.mark.parametrize("value", ["abc", "1/0", None, "two thirds"])
def test_unreadable_ratio(value: object) -> None:
    with pytest.raises(ValueError, match="cannot read ratio .*2/3"):
        parse_ratio(value)


@pytest.mark.parametrize("value", ["0", 0, "3/2", 1.5, "-1/3"])
def test_ratio_out_of_range(value: object) -> None:
    with pytest.raises(ValueError, match=r"must be in \(0, 1\]"):
        parse_ratio(value)


def test_within_working_days_is_working_days_no_longer_than_the_law_s():
    law = Limit(10, Unit.WORKING_DAYS)
    assert within_working_days(Limit(10, Unit.WORKING_DAYS), law)
    assert within_working_days(Limit(1, Unit.WORKING_DAYS), law)
    assert not within_working_days(Limit(11, Unit.WORKING_DAYS), law)
    assert not within_working_days(Limit(5, Unit.DAYS), law)  # natural days are never working days
    assert not within_working_days(Limit(1, Unit.MONTHS), law)
