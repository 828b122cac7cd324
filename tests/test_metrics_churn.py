"""Churn metrics API (metrics/churn.py): two-year churn, logo churn by period and churn reasons
— numbers computed by hand (SPEC §4). Renewals: tests/test_renewals.py."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from conftest import contract
from cs_analytics.metrics import Filters, churn, revenue
from cs_analytics.metrics import periods as P

D = dt.date.fromisoformat


def approx(value):
    return pytest.approx(value, rel=0, abs=1e-9)


# ---------------------------------------------------------------------------- two-year churn

TWO_YEAR_ROWS = [
    # F = 2023-07, churns 2025-03 (≤ F+24 = 2025-07) and comes back later: still churned.
    contract("a1", "a1", "2023-07-01", "2025-02-28", mrr=10_000),
    contract("a1-back", "a1", "2025-09-01", "2026-12-31", mrr=10_000),
    # F = 2024-06, churns 2026-06 = F+24 exactly (the as-of month): churned.
    contract("a2", "a2", "2024-06-01", "2026-05-31", mrr=10_000),
    # F = 2023-09, churns 2025-10 > F+24 = 2025-09: not within two years.
    contract("a3", "a3", "2023-09-01", "2025-09-30", mrr=10_000),
    # F = 2023-06: M−36, outside the headline window (M−36, M−24].
    contract("a4", "a4", "2023-06-01", "2023-12-31", mrr=10_000),
    # F = 2024-07: too recent for the headline, not yet eligible.
    contract("a5", "a5", "2024-07-01", "2024-12-31", mrr=10_000),
    # F = 2024-01, never churns.
    contract("a6", "a6", "2024-01-01", "2027-12-31", mrr=10_000),
]


def test_two_year_churn_headline(make_snapshot):
    snap = make_snapshot(contracts=TWO_YEAR_ROWS, as_of="2026-06-30")
    got = churn.two_year_churn(snap)
    assert (got["customers"], got["churned"], got["rate"]) == (4, 2, 0.5)
    assert (got["cohort_first_month"], got["cohort_last_month"], got["month"]) == \
        (D("2023-07-01"), D("2024-06-01"), D("2026-06-01"))
    assert revenue.kpis(snap, P.period_containing("quarter", snap.as_of))[
        "two_year_churn_rate"] == 0.5
    # A month earlier the window is (2023-05, 2024-05]: a4 in, a2 out; a1 churned, a4 churned.
    earlier = churn.two_year_churn(snap, month=D("2026-05-01"))
    assert (earlier["customers"], earlier["churned"]) == (4, 2)
    trend = churn.two_year_churn_trend(snap, [D("2026-05-01"), D("2026-06-01")])
    assert trend["rate"].tolist() == [0.5, 0.5]


def test_two_year_churn_by_start_quarter(make_snapshot):
    snap = make_snapshot(contracts=TWO_YEAR_ROWS, as_of="2026-06-30")
    table = churn.two_year_churn_by_cohort(snap)
    rows = {r["cohort"]: r for r in table.to_dict("records")}
    assert list(rows) == ["2023Q2", "2023Q3", "2024Q1", "2024Q2", "2024Q3"]
    assert (rows["2023Q2"]["eligible"], rows["2023Q2"]["churned"], rows["2023Q2"]["rate"]) == \
        (1, 1, 1.0)
    assert (rows["2023Q3"]["customers"], rows["2023Q3"]["churned"], rows["2023Q3"]["rate"]) == \
        (2, 1, 0.5)
    assert rows["2024Q1"]["rate"] == 0.0 and rows["2024Q2"]["rate"] == 1.0
    assert rows["2024Q3"]["eligible"] == 0 and rows["2024Q3"]["churned_to_date"] == 1
    assert pd.isna(rows["2024Q3"]["rate"])     # nobody eligible yet: no rate


def test_two_year_churn_cohorts_follow_the_fiscal_year(make_snapshot):
    snap = make_snapshot(contracts=TWO_YEAR_ROWS, as_of="2026-06-30",
                         config={"general": {"fiscal_year_start_month": 4}})
    labels = churn.two_year_churn_by_cohort(snap)["cohort"].tolist()
    # Apr start: Jun 2023 is FY2023 Q1, Jul–Sep 2023 Q2, Jan 2024 FY2023 Q4, Jun 2024 FY2024 Q1.
    assert labels == ["2023Q1", "2023Q2", "2023Q4", "2024Q1", "2024Q2"]


# ---------------------------------------------------------------------------- logo churn


def test_logo_churn_by_period(make_snapshot):
    snap = make_snapshot(contracts=TWO_YEAR_ROWS, as_of="2026-06-30")
    table = churn.logo_churn_by_period(snap, "year", 3)
    assert table["label"].tolist() == ["FY2024", "FY2025", "FY2026"]
    fy2025 = table.iloc[1]
    # Base (Dec 31, 2024): a1, a2, a3, a5 (its last day), a6. On Dec 31, 2025 a3 and a5 have
    # MRR 0; a1 churned in March but is back, so it is not a lost logo.
    assert fy2025["base_customers"] == 5 and fy2025["churned_customers"] == 2
    assert fy2025["logo_churn_rate"] == approx(2 / 5)
    assert fy2025["churn_count"] == 3    # a5 (Jan), a1 (Mar), a3 (Oct)


# ---------------------------------------------------------------------------- churn reasons


def test_churn_reasons_from_contracts_then_accounts(make_snapshot):
    accounts = [
        {"account_id": "a1", "name": "A1", "owner_id": "u1"},
        {"account_id": "a2", "name": "A2", "owner_id": "u1", "churn_reason": "予算削減"},
        {"account_id": "a3", "name": "A3", "owner_id": "u1"},
        {"account_id": "a4", "name": "A4", "owner_id": "u1", "churn_reason": "その他"},
        {"account_id": "a9", "name": "A9", "owner_id": "u1"},
    ]
    snap = make_snapshot(accounts=accounts, contracts=[
        contract("c1", "a1", "2024-02-01", "2025-01-31", mrr=100_000,
                 churn_reason="施策終了・中止"),
        contract("c2", "a2", "2024-02-11", "2025-02-10", mrr=50_000),
        contract("c3", "a3", "2024-03-16", "2025-03-15", mrr=20_000),
        # An old contract's reason is not this churn's reason; the last contract's is,
        # and it wins over the account's.
        contract("c4-old", "a4", "2022-01-01", "2022-12-31", mrr=10_000, churn_reason="機能不足"),
        contract("c4", "a4", "2024-03-01", "2025-02-28", mrr=30_000,
                 churn_reason=" 施策終了・中止 "),
        contract("c9", "a9", "2024-01-01", "2025-12-31", mrr=1_000),
    ], as_of="2025-06-30")
    q1 = P.parse_quarter("2025Q1", 1)
    reasons = churn.churn_reasons(snap, q1)
    assert reasons.fillna({"reason": "-"})[["reason", "churned", "churned_mrr"]].values.tolist() \
        == [["施策終了・中止", 2, 130_000], ["予算削減", 1, 50_000], ["-", 1, 20_000]]
    assert reasons["share"].tolist() == [0.5, 0.25, 0.25]
    assert reasons["mrr_share"].tolist() == [approx(130 / 200), approx(50 / 200),
                                             approx(20 / 200)]
    listed = churn.churned_accounts(snap, q1)
    assert listed.fillna({"reason": "-"})[["account_id", "reason"]].values.tolist() == [
        ["a1", "施策終了・中止"], ["a2", "予算削減"], ["a4", "施策終了・中止"], ["a3", "-"]]
    owned = churn.churn_reasons(snap, q1, Filters(owner_ids=["u1"]))
    assert owned["churned"].sum() == 4
    assert churn.churn_reasons(snap, q1, Filters(owner_ids=["u2"])).empty
