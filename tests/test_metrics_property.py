"""Invariants on generated data: the MRR bridge holds every month, movement totals reconcile with
the MRR totals, and the SQL models and metrics API agree with a straightforward Python
re-implementation of SPEC §4 computed from the contracts (hundreds of random accounts, plus
small hypothesis-generated cases that hunt for edge cases)."""

from __future__ import annotations

import calendar
import datetime as dt
import random

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import build_snapshot, contract
from cs_analytics.metrics import churn, revenue
from cs_analytics.metrics import periods as P
from cs_analytics.warehouse.models.parameters import MRR_EPSILON

GRACE = 31
DAY = dt.timedelta(days=1)


# ---------------------------------------------------------------------------- reference (SPEC §4)


def last_day(d: dt.date) -> dt.date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def month_ends(start: dt.date, end: dt.date) -> int:
    count, month = 0, start.replace(day=1)
    while month <= end:
        if start <= last_day(month) <= end:
            count += 1
        month = P.add_months(month, 1)
    return count


class Reference:
    """Account MRR on any day, straight from the contract list."""

    def __init__(self, contracts: list[dict], grace: int = GRACE):
        self.by_account: dict[str, list[tuple]] = {}

        def mrr_of(c):
            start, end = c["start_date"], c["end_date"]
            if c["mrr"] is not None:
                return c["mrr"]
            if end is not None and month_ends(start, end):
                return c["amount"] / month_ends(start, end)
            return None

        for c in contracts:
            start, end = c["start_date"], c["end_date"]
            mrr = mrr_of(c)
            # the grace runs to the next contract with MRR (a spot contract is looked past)
            later = [o["start_date"] for o in contracts if o["account_id"] == c["account_id"]
                     and end is not None and o["start_date"] > end and mrr_of(o) is not None]
            until = end
            if later and (min(later) - end).days - 1 <= grace:
                until = min(later) - DAY
            if mrr is not None:
                self.by_account.setdefault(c["account_id"], []).append((start, until, mrr))

    def mrr(self, account: str, day: dt.date) -> float:
        return sum(m for s, u, m in self.by_account.get(account, [])
                   if s <= day and (u is None or day <= u))

    @staticmethod
    def snapshot_day(month: dt.date, as_of: dt.date) -> dt.date:
        return as_of if month == as_of.replace(day=1) else last_day(month)

    def spine(self, as_of: dt.date) -> dict[str, dict[dt.date, float]]:
        """{account: {month: MRR}} from the account's first month with MRR to as_of's month."""
        out = {}
        last = as_of.replace(day=1)
        for account, terms in self.by_account.items():
            month = min(s for s, _, _ in terms).replace(day=1)
            values, started = {}, False
            while month <= last:
                value = self.mrr(account, self.snapshot_day(month, as_of))
                started = started or value >= MRR_EPSILON
                if started:
                    values[month] = value
                month = P.add_months(month, 1)
            if values:
                out[account] = values
        return out


def movement(month, value, previous, first_month) -> str | None:
    eps = MRR_EPSILON
    if value >= eps and previous < eps:
        return "new" if month == first_month else "reactivation"
    if value >= eps and previous >= eps:
        if value - previous >= eps:
            return "expansion"
        if previous - value >= eps:
            return "contraction"
        return None
    return "churn" if previous >= eps else None


# ---------------------------------------------------------------------------- generated data


def random_contracts(rng: random.Random, accounts: int, as_of: dt.date) -> list[dict]:
    """Contract chains with the awkward cases mixed in: mid-month starts, renewals on time,
    late inside and outside the grace window, long gaps, overlapping upsells, zero amounts,
    terms covering no month-end, explicit MRR, fractional amounts, open-ended contracts."""
    rows = []
    for a in range(accounts):
        account = f"acc{a:04d}"
        start = dt.date(2021, 1, 1) + dt.timedelta(days=rng.randrange(0, 5 * 365))
        for n in range(rng.randint(1, 5)):
            if start > as_of + dt.timedelta(days=200):
                break
            if rng.random() < 0.6:
                start = start.replace(day=1)
            kind = rng.random()
            if kind < 0.05:
                end = start + dt.timedelta(days=rng.randrange(0, 20))          # maybe no month-end
            else:
                months = rng.choice([1, 3, 6, 12, 12, 12, 24])
                end = P.add_months(start, months) - DAY if start.day == 1 else \
                    P.add_months(start.replace(day=1), months) + dt.timedelta(days=start.day - 2)
            cid = f"{account}-{n}"
            value = rng.choice([30_000, 50_000, 120_000, 333_333.33, 1_000 / 3])
            if rng.random() < 0.03:
                row = contract(cid, account, start, end, amount=0)
            elif rng.random() < 0.3:
                row = contract(cid, account, start, end, mrr=value)
            else:
                row = contract(cid, account, start, end,
                               amount=value * max(1, month_ends(start, end)) + rng.random())
            if rng.random() < 0.02:
                row["end_date"], row["mrr"] = None, value        # open-ended
            rows.append(row)
            if row["end_date"] is None:
                break
            if rng.random() < 0.2:                                # overlapping upsell
                up_start = start + dt.timedelta(days=rng.randrange(0, max(1, (end - start).days)))
                rows.append(contract(f"{cid}-up", account, up_start, end,
                                     mrr=rng.choice([5_000, 20_000])))
            gap = rng.choice([0, 0, 0, rng.randrange(1, 60), rng.randrange(1, 60),
                              rng.randrange(60, 400)])
            start = end + dt.timedelta(days=gap + 1)
    return rows


def check_against_reference(snap, rows: list[dict], as_of: dt.date) -> None:
    ref = Reference(rows).spine(as_of)
    got: dict[str, dict] = {}
    for account, month, value, previous, kind, first in snap.rows(
            "SELECT account_id, month, mrr, previous_mrr, movement, first_month "
            "FROM fct_account_mrr_monthly ORDER BY account_id, month"):
        got.setdefault(account, {})[month] = (value, previous, kind, first)
    assert set(got) == set(ref)
    for account, months in ref.items():
        assert list(got[account]) == list(months), account
        first = min(months)
        previous = 0.0
        for month, value in months.items():
            g_value, g_previous, g_kind, g_first = got[account][month]
            assert g_value == pytest.approx(value, abs=1e-6), (account, month)
            assert g_previous == pytest.approx(previous, abs=1e-6), (account, month)
            assert g_first == first
            assert g_kind == movement(month, value, previous, first), (account, month)
            previous = value


def check_bridge_and_totals(snap) -> None:
    monthly = snap.query("SELECT * FROM fct_mrr_monthly ORDER BY month").to_dict("records")
    from_accounts = {r["month"]: r for r in revenue.mrr_trend(
        snap, monthly[0]["month"], monthly[-1]["month"]).to_dict("records")}
    previous = 0.0
    for row in monthly:
        moved = sum(row[k] for k in revenue.MOVEMENTS)
        tolerance = MRR_EPSILON * max(1, row["accounts"])
        assert row["mrr"] == pytest.approx(previous + moved, abs=tolerance), row["month"]
        assert row["contraction"] <= 0 and row["churn"] <= 0
        assert row["new"] >= 0 and row["expansion"] >= 0 and row["reactivation"] >= 0
        mine = from_accounts[row["month"]]
        for k in ("mrr", "customers", *revenue.MOVEMENTS, *(f"{m}_count" for m in
                                                            revenue.MOVEMENTS)):
            assert mine[k] == pytest.approx(row[k], abs=1e-6), (row["month"], k)
        previous = row["mrr"]


# ---------------------------------------------------------------------------- tests

AS_OF = dt.date(2026, 3, 17)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    rng = random.Random(20260317)
    rows = random_contracts(rng, 400, AS_OF)
    snap = build_snapshot(tmp_path_factory.mktemp("generated") / "data", contracts=rows,
                          as_of=AS_OF)
    return snap, rows


def test_generated_spine_matches_the_reference(generated):
    snap, rows = generated
    assert snap.scalar("SELECT count(DISTINCT account_id) FROM fct_account_mrr_monthly") > 300
    kinds = {r[0] for r in snap.rows("SELECT DISTINCT movement FROM fct_account_mrr_monthly")}
    assert kinds == {None, *revenue.MOVEMENTS}   # the data exercises every movement
    check_against_reference(snap, rows, AS_OF)


def test_generated_bridge_holds_and_movements_reconcile_every_month(generated):
    snap, _ = generated
    check_bridge_and_totals(snap)
    totals = revenue.movement_totals(snap, P.period_containing("year", dt.date(2024, 6, 1)))
    moved = sum(totals[k] for k in revenue.MOVEMENTS)
    assert totals["mrr"] == pytest.approx(totals["start_mrr"] + moved, abs=1e-3)


@pytest.mark.parametrize("kind", ["month", "quarter", "year", "ttm"])
def test_generated_nrr_grr_and_logo_churn_match_a_recomputation(generated, kind):
    snap, rows = generated
    ref = Reference(rows)
    accounts = list(ref.by_account)
    periods = P.last_n(kind, 8, AS_OF, 1)
    frame = revenue.period_metrics(snap, periods).to_dict("records")
    for period, got in zip(periods, frame):
        a_day = Reference.snapshot_day(period.before_month, AS_OF)
        b_day = period.end_day(AS_OF)
        base = [(ref.mrr(i, a_day), ref.mrr(i, b_day)) for i in accounts]
        base = [(a, b) for a, b in base if a >= MRR_EPSILON]
        start = sum(a for a, _ in base)
        assert got["base_customers"] == len(base)
        if not base:                          # before the data starts: no rate, not 0
            assert pd.isna(got["nrr"]) and pd.isna(got["grr"])
            continue
        assert got["nrr"] == pytest.approx(sum(b for _, b in base) / start, abs=1e-12)
        assert got["grr"] == pytest.approx(sum(min(a, b) for a, b in base) / start, abs=1e-12)
        lost = sum(1 for _, b in base if b < MRR_EPSILON)
        assert got["logo_churn_rate"] == pytest.approx(lost / len(base), abs=1e-12)
        assert got["mrr"] == pytest.approx(sum(ref.mrr(i, b_day) for i in accounts), abs=1e-4)


@pytest.mark.parametrize("as_of", [AS_OF, dt.date(2025, 8, 19)])
def test_generated_two_year_churn_matches_a_recomputation(generated, as_of):
    """At the snapshot's as-of date (the account life table) and at an earlier one (the same
    definition recomputed by the snapshot's macro)."""
    snap, rows = generated
    spine = Reference(rows).spine(as_of)
    months = [P.add_months(as_of.replace(day=1), -i) for i in range(16, -1, -4)]
    trend = churn.two_year_churn_trend(snap, months, as_of=as_of).to_dict("records")
    for month, got in zip(months, trend):
        cohort = []
        for values in spine.values():
            first = min(values)
            if P.add_months(month, -36) < first <= P.add_months(month, -24):
                churned = [m for m, v in values.items() if m > first and v < MRR_EPSILON]
                cohort.append(bool(churned) and churned[0] <= P.add_months(first, 24))
        assert got["customers"] == len(cohort) and got["churned"] == sum(cohort)
    assert any(r["churned"] for r in trend) and any(r["customers"] > r["churned"] for r in trend)


def test_generated_earlier_as_of_matches_the_reference(generated):
    snap, rows = generated
    day = dt.date(2025, 8, 19)
    ref = Reference(rows).spine(day)
    trend = revenue.mrr_trend(snap, dt.date(2020, 1, 1), day, as_of=day)
    for row in trend.to_dict("records"):
        month = row["month"].date()
        expected = sum(v.get(month, 0.0) for v in ref.values())
        assert row["mrr"] == pytest.approx(expected, abs=1e-4)


# Small random cases: a few accounts with contracts near each other, so renewals, gaps,
# overlaps and the as-of month collide often.
dates = st.dates(dt.date(2024, 1, 1), dt.date(2025, 12, 31))
small_contract = st.tuples(st.sampled_from(["a", "b", "c"]), dates, st.integers(0, 400),
                           st.one_of(st.none(), st.sampled_from([0.0, 1_000.0, 2_500.5])),
                           st.sampled_from([0.0, 12_000.0, 7_777.77]))


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cases=st.lists(small_contract, min_size=1, max_size=7), as_of=dates)
def test_small_random_cases_match_the_reference(tmp_path, cases, as_of):
    rows = [contract(f"c{i}", account, start, start + dt.timedelta(days=length), mrr=mrr,
                     amount=amount)
            for i, (account, start, length, mrr, amount) in enumerate(cases)]
    snap = build_snapshot(tmp_path / "data", contracts=rows, as_of=as_of)
    check_against_reference(snap, rows, as_of)
    if snap.scalar("SELECT count(*) FROM fct_mrr_monthly"):
        check_bridge_and_totals(snap)
