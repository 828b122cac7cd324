"""Periods: calendar months, fiscal quarters and years (any start month), trailing 12 months."""

from __future__ import annotations

import datetime as dt

import pytest

from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import periods as P

D = dt.date.fromisoformat


def span(period):
    return period.label, period.first_month.isoformat(), period.last_month.isoformat()


@pytest.mark.parametrize("kind, as_of, fsm, expected", [
    ("month", "2026-05-10", 4, ("2026-05", "2026-05-01", "2026-05-01")),
    ("quarter", "2026-05-10", 1, ("2026Q2", "2026-04-01", "2026-06-01")),
    ("quarter", "2026-05-10", 4, ("2026Q1", "2026-04-01", "2026-06-01")),
    ("quarter", "2026-02-10", 4, ("2025Q4", "2026-01-01", "2026-03-01")),
    ("quarter", "2026-12-31", 4, ("2026Q3", "2026-10-01", "2026-12-01")),
    ("quarter", "2026-11-01", 11, ("2026Q1", "2026-11-01", "2027-01-01")),
    ("year", "2026-02-10", 4, ("FY2025", "2025-04-01", "2026-03-01")),
    ("year", "2026-04-01", 4, ("FY2026", "2026-04-01", "2027-03-01")),
    ("year", "2026-04-01", 1, ("FY2026", "2026-01-01", "2026-12-01")),
    ("ttm", "2026-04-15", 4, ("TTM 2026-04", "2025-05-01", "2026-04-01")),
])
def test_period_containing(kind, as_of, fsm, expected):
    assert span(P.period_containing(kind, D(as_of), fsm)) == expected


@pytest.mark.parametrize("text, fsm, expected", [
    ("2026Q1", 4, ("2026Q1", "2026-04-01", "2026-06-01")),
    ("FY2026Q3", 4, ("2026Q3", "2026-10-01", "2026-12-01")),
    ("2026Q4", 4, ("2026Q4", "2027-01-01", "2027-03-01")),
    ("2026-q2", 1, ("2026Q2", "2026-04-01", "2026-06-01")),
])
def test_parse_quarter(text, fsm, expected):
    assert span(P.parse_quarter(text, fsm)) == expected


@pytest.mark.parametrize("text", ["2026Q5", "Q1 2026", "2026", ""])
def test_parse_quarter_rejects_other_text(text):
    with pytest.raises(CsAnalyticsError, match="expected a fiscal quarter like 2026Q1"):
        P.parse_quarter(text, 1)


def test_parse_year_and_month():
    assert span(P.parse_year("FY2025", 4)) == ("FY2025", "2025-04-01", "2026-03-01")
    assert span(P.parse_month("2026-04")) == ("2026-04", "2026-04-01", "2026-04-01")
    with pytest.raises(CsAnalyticsError, match="2026-13"):
        P.parse_month("2026-13")


def test_previous_crosses_fiscal_year_boundaries():
    q1 = P.parse_quarter("2026Q1", 4)
    assert span(P.previous(q1, 4)) == ("2025Q4", "2026-01-01", "2026-03-01")
    assert span(P.previous(P.parse_year("FY2026", 4), 4)) == ("FY2025", "2025-04-01",
                                                              "2026-03-01")
    assert span(P.previous(P.ttm(D("2026-04-01")))) == ("TTM 2025-04", "2024-05-01",
                                                        "2025-04-01")
    assert span(P.previous(P.month_period(D("2026-01-01")))) == ("2025-12", "2025-12-01",
                                                                 "2025-12-01")


def test_last_n_is_oldest_first_and_ttm_rolls_monthly():
    quarters = P.last_n("quarter", 5, D("2026-05-10"), 4)
    assert [q.label for q in quarters] == ["2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1"]
    windows = P.last_n("ttm", 3, D("2026-05-10"), 4)
    assert [span(w) for w in windows] == [
        ("TTM 2026-03", "2025-04-01", "2026-03-01"),
        ("TTM 2026-04", "2025-05-01", "2026-04-01"),
        ("TTM 2026-05", "2025-06-01", "2026-05-01")]


def test_period_end_is_the_as_of_for_the_current_period():
    q = P.parse_quarter("2026Q1", 4)
    assert q.before_month == D("2026-03-01")
    assert q.end_month(D("2026-05-10")) == D("2026-05-01")
    assert q.end_day(D("2026-05-10")) == D("2026-05-10")
    assert q.end_month(D("2026-09-01")) == D("2026-06-01")
    assert q.end_day(D("2026-09-01")) == D("2026-06-30")
    assert q.months == [D("2026-04-01"), D("2026-05-01"), D("2026-06-01")]
    assert q.contains(D("2026-06-30")) and not q.contains(D("2026-07-01"))


def test_month_arithmetic():
    assert P.add_months(D("2024-01-01"), -13) == D("2022-12-01")
    assert P.last_day(D("2024-02-01")) == D("2024-02-29")
    assert P.months_between(D("2023-11-01"), D("2024-02-01")) == 3
