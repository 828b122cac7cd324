"""The revenue SQL models (models/10–12): contract MRR, renewal grace, the account × month spine,
movements, monthly totals and the MRR bridge check. Values computed by hand (SPEC §4)."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import build_snapshot, contract
from cs_analytics.errors import BuildFailed
from cs_analytics.warehouse import models
from cs_analytics.warehouse.store import RefreshLog, Store

D = dt.date.fromisoformat


def contract_row(snap, contract_id) -> dict:
    """One int_contract_mrr row with Python values (dates as date, NULL as None)."""
    cur = snap.cursor()
    try:
        cur.execute("SELECT * FROM int_contract_mrr WHERE contract_id = ?", [contract_id])
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchall()[0]))
    finally:
        cur.close()


def series(snap, account_id):
    """{YYYY-MM: (mrr, movement)} for one account."""
    rows = snap.rows("SELECT strftime(month, '%Y-%m'), mrr, movement FROM fct_account_mrr_monthly "
                     "WHERE account_id = ? ORDER BY month", [account_id])
    return {m: (v, kind) for m, v, kind in rows}


def movements(snap, account_id):
    return {m: kind for m, (_, kind) in series(snap, account_id).items() if kind}


# ---------------------------------------------------------------------------- contract MRR


@pytest.mark.parametrize("start, end, month_ends", [
    ("2024-04-15", "2025-04-14", 12),   # the SPEC example
    ("2024-04-01", "2024-04-30", 1),
    ("2024-04-01", "2024-04-29", 0),
    ("2024-03-31", "2024-03-31", 1),
    ("2024-02-01", "2024-02-28", 0),    # 2024 is a leap year: Feb 29 is the month-end
    ("2024-02-01", "2024-02-29", 1),
    ("2024-01-31", "2024-03-30", 2),    # Jan 31, Feb 29
    ("2023-12-31", "2026-12-31", 37),
    ("2024-05-10", "2024-05-20", 0),
])
def test_month_ends_counts_last_days_of_months_within_the_term(make_snapshot, start, end,
                                                                month_ends):
    snap = make_snapshot(contracts=[contract("c", "a", start, end, amount=1_200_000)],
                         as_of="2027-01-31")
    row = contract_row(snap, "c")
    assert row["month_ends"] == month_ends
    if month_ends:
        assert row["mrr"] == pytest.approx(1_200_000 / month_ends, abs=1e-9)
    else:
        assert row["mrr"] is None


def test_contract_mrr_spec_example_and_explicit_mrr_wins(make_snapshot):
    snap = make_snapshot(contracts=[
        contract("c1", "a1", "2024-04-15", "2025-04-14", amount=1_200_000),
        contract("c2", "a2", "2024-04-15", "2025-04-14", amount=1_200_000, mrr=90_000),
        contract("c3", "a3", "2024-01-01", "2024-03-31", amount=1_000_000),
    ], as_of="2024-06-30")
    assert contract_row(snap, "c1")["mrr"] == 100_000
    assert contract_row(snap, "c2")["mrr"] == 90_000
    # Unrounded: 1,000,000 / 3 month-ends.
    assert contract_row(snap, "c3")["mrr"] == pytest.approx(333_333.333333333, abs=1e-6)
    assert series(snap, "a3")["2024-01"][0] == pytest.approx(1_000_000 / 3, abs=1e-9)


def test_contract_mrr_does_not_depend_on_the_as_of_date(make_snapshot):
    rows = [contract("c1", "a1", "2024-04-15", "2025-04-14", amount=1_200_000)]
    early = contract_row(make_snapshot(contracts=rows, as_of="2024-05-02"), "c1")["mrr"]
    late = contract_row(make_snapshot(contracts=rows, as_of="2026-01-01"), "c1")["mrr"]
    assert early == late == 100_000


# ---------------------------------------------------------------------------- the spine


def test_spine_runs_from_first_month_to_the_as_of_month_with_zero_months(make_snapshot):
    snap = make_snapshot(contracts=[
        contract("c1", "a1", "2024-01-01", "2024-03-31", mrr=10_000)], as_of="2024-06-12")
    got = series(snap, "a1")
    assert list(got) == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    assert [v for v, _ in got.values()] == [10_000, 10_000, 10_000, 0, 0, 0]
    assert movements(snap, "a1") == {"2024-01": "new", "2024-04": "churn"}
    days = snap.rows("SELECT month, snapshot_day, first_month FROM fct_account_mrr_monthly "
                     "WHERE account_id = 'a1' ORDER BY month")
    assert days[0] == (D("2024-01-01"), D("2024-01-31"), D("2024-01-01"))
    assert days[1][1] == D("2024-02-29")
    assert days[-1][1] == D("2024-06-12")  # the as-of month's snapshot day is as_of


def test_account_with_no_mrr_ever_is_not_in_the_spine(make_snapshot):
    snap = make_snapshot(contracts=[
        contract("c1", "a1", "2024-01-01", "2024-12-31", mrr=10_000),
        contract("short", "a2", "2024-02-03", "2024-02-25", amount=50_000),  # no month-end
        contract("future", "a3", "2024-08-01", "2025-07-31", mrr=20_000),
    ], as_of="2024-06-30")
    accounts = {r[0] for r in snap.rows("SELECT DISTINCT account_id FROM fct_account_mrr_monthly")}
    assert accounts == {"a1"}


def test_overlapping_contracts_sum(make_snapshot):
    snap = make_snapshot(contracts=[
        contract("base", "a1", "2024-01-01", "2024-12-31", mrr=100_000),
        # 6 month-ends (Mar–Aug): ¥300,000 / 6 = ¥50,000 a month on top of the base.
        contract("extra", "a1", "2024-03-01", "2024-08-31", amount=300_000),
    ], as_of="2024-12-31")
    got = series(snap, "a1")
    assert got["2024-02"] == (100_000, None)
    assert got["2024-03"] == (150_000, "expansion")
    assert got["2024-08"] == (150_000, None)
    assert got["2024-09"] == (100_000, "contraction")
    amounts = dict(snap.rows("SELECT strftime(month, '%Y-%m'), movement_amount "
                             "FROM fct_account_mrr_monthly WHERE movement IS NOT NULL"))
    assert amounts == {"2024-01": 100_000, "2024-03": 50_000, "2024-09": -50_000}


def test_upsell_mid_term_is_expansion_in_the_month_it_starts(make_snapshot):
    snap = make_snapshot(contracts=[
        contract("c1", "a1", "2024-04-15", "2025-04-14", amount=1_200_000),
        # Oct 31 … Mar 31: 6 month-ends → ¥30,000 a month, co-terminating with the base.
        contract("up", "a1", "2024-10-10", "2025-04-14", amount=180_000, type="upsell"),
    ], as_of="2025-06-30")
    got = series(snap, "a1")
    assert got["2024-09"] == (100_000, None)
    assert got["2024-10"] == (130_000, "expansion")
    assert got["2025-03"] == (130_000, None)
    # Both end on Apr 14; the last month-end covered is Mar 31 → churn in April.
    assert got["2025-04"] == (0, "churn")
    assert snap.scalar("SELECT movement_amount FROM fct_account_mrr_monthly "
                       "WHERE account_id = 'a1' AND month = DATE '2025-04-01'") == -130_000


def test_churn_is_recorded_in_the_month_after_the_last_covered_month_end(make_snapshot):
    snap = make_snapshot(contracts=[
        contract("c1", "a1", "2024-04-15", "2025-04-14", amount=1_200_000)], as_of="2025-06-30")
    got = series(snap, "a1")
    assert got["2024-04"] == (100_000, "new")        # active on Apr 30 (mid-month start)
    assert got["2025-03"] == (100_000, None)         # last month-end covered
    assert got["2025-04"] == (0, "churn")
    assert got["2025-05"] == (0, None)


@pytest.mark.parametrize("renewal_start, grace, expected", [
    # Ends Jan 15; the renewal starts Feb 10: 25 days strictly between ≤ 31 → no churn.
    ("2025-02-10", 31, {"2024-01": "new", "2025-02": "expansion"}),
    # Starts Feb 20: 35 days > 31 → churn in January, reactivation in February.
    ("2025-02-20", 31, {"2024-01": "new", "2025-01": "churn", "2025-02": "reactivation"}),
    # The same 25-day gap with a 10-day grace is churn + reactivation.
    ("2025-02-10", 10, {"2024-01": "new", "2025-01": "churn", "2025-02": "reactivation"}),
    # Exactly at the limit: Jan 15 → Feb 16 has 31 days strictly between.
    ("2025-02-16", 31, {"2024-01": "new", "2025-02": "expansion"}),
    ("2025-02-17", 31, {"2024-01": "new", "2025-01": "churn", "2025-02": "reactivation"}),
])
def test_late_renewal_inside_and_outside_the_grace_window(make_snapshot, renewal_start, grace,
                                                         expected):
    snap = make_snapshot(contracts=[
        contract("c1", "a1", "2024-01-16", "2025-01-15", mrr=100_000),
        contract("c2", "a1", renewal_start, "2026-01-31", mrr=120_000, type="renewal"),
    ], as_of="2025-06-30", config={"general": {"renewal_grace_days": grace}})
    assert movements(snap, "a1") == expected
    got = series(snap, "a1")
    if "2025-01" not in expected:
        assert got["2025-01"][0] == 100_000  # the earlier contract's MRR through the gap
    row = contract_row(snap, "c1")
    gap = (D(renewal_start) - D("2025-01-15")).days - 1
    assert row["gap_days"] == gap
    assert row["active_until"] == (D(renewal_start) - dt.timedelta(days=1) if gap <= grace
                                   else D("2025-01-15"))


def test_grace_extends_to_the_next_contract_even_across_an_upsell(make_snapshot):
    snap = make_snapshot(contracts=[
        contract("base", "a1", "2024-01-01", "2024-12-20", mrr=100_000),
        contract("up", "a1", "2024-06-01", "2024-12-20", mrr=20_000),
        contract("renewal", "a1", "2025-01-05", "2025-12-31", mrr=130_000),
    ], as_of="2025-03-31")
    got = series(snap, "a1")
    assert got["2024-12"] == (120_000, None)          # both extended through Jan 4
    assert got["2025-01"] == (130_000, "expansion")
    # the renewal follows both the base and the upsell (int_contract_renewal)
    assert dict(snap.rows("SELECT contract_id, following_contract_id FROM int_contract_renewal "
                          "WHERE contract_id IN ('base', 'up')")) == {"base": "renewal",
                                                                      "up": "renewal"}


def test_grace_looks_past_a_spot_contract_to_the_next_recurring_one(make_snapshot):
    """SPEC §4 "Renewal grace": annual → 20-day spot → annual. The spot contract covers no
    month-end (no MRR: non-recurring), so the gap is the 28 days from Jan 31 to the next annual
    contract on Mar 1: February keeps the old MRR — no churn, no reactivation."""
    snap = make_snapshot(contracts=[
        contract("annual-1", "a1", "2025-02-01", "2026-01-31", amount=1_200_000),
        contract("spot", "a1", "2026-02-01", "2026-02-20", amount=300_000),
        contract("annual-2", "a1", "2026-03-01", "2027-02-28", amount=1_440_000),
    ], as_of="2026-06-30")
    assert contract_row(snap, "spot")["mrr"] is None
    first = contract_row(snap, "annual-1")
    assert first["next_start_date"] == D("2026-03-01") and first["gap_days"] == 28
    assert first["active_until"] == D("2026-02-28")
    # the renewal signed is the annual one, not the spot (int_contract_renewal)
    assert snap.rows("SELECT following_contract_id FROM int_contract_renewal "
                     "WHERE contract_id = 'annual-1'") == [("annual-2",)]
    got = series(snap, "a1")
    assert got["2026-01"] == (100_000, None)
    assert got["2026-02"] == (100_000, None)          # 12 month-ends: ¥100,000 a month
    assert got["2026-03"] == (120_000, "expansion")   # ¥1,440,000 over 12 month-ends
    assert movements(snap, "a1") == {"2025-02": "new", "2026-03": "expansion"}


def test_a_spot_contract_alone_is_no_renewal(make_snapshot):
    """Nothing recurring follows the spot contract: the annual one churns at its end (the spot
    contract neither bridges the gap nor counts as a signed renewal)."""
    snap = make_snapshot(contracts=[
        contract("annual", "a1", "2025-02-01", "2026-01-31", amount=1_200_000),
        contract("spot", "a1", "2026-02-01", "2026-02-20", amount=300_000),
    ], as_of="2026-06-30")
    row = contract_row(snap, "annual")
    assert row["next_start_date"] is None and row["active_until"] == D("2026-01-31")
    assert snap.rows("SELECT following_contract_id FROM int_contract_renewal "
                     "WHERE contract_id = 'annual'") == [(None,)]
    assert movements(snap, "a1") == {"2025-02": "new", "2026-02": "churn"}


def test_reactivation_after_a_gap(make_snapshot):
    snap = make_snapshot(contracts=[
        contract("c1", "a1", "2024-01-01", "2024-06-30", mrr=50_000),
        contract("c2", "a1", "2024-10-01", "2025-09-30", mrr=60_000),
    ], as_of="2025-01-31")
    got = series(snap, "a1")
    assert movements(snap, "a1") == {"2024-01": "new", "2024-07": "churn",
                                     "2024-10": "reactivation"}
    assert got["2024-08"] == (0, None) and got["2024-09"] == (0, None)
    assert snap.scalar("SELECT movement_amount FROM fct_account_mrr_monthly "
                       "WHERE movement = 'reactivation'") == 60_000
    assert snap.scalar("SELECT DISTINCT first_month FROM fct_account_mrr_monthly") == \
        D("2024-01-01")


def test_downgrade_to_zero_is_churn_even_with_a_contract(make_snapshot):
    snap = make_snapshot(contracts=[
        contract("paid", "a1", "2024-01-01", "2024-06-30", mrr=50_000),
        contract("free", "a1", "2024-07-01", "2024-12-31", amount=0),
    ], as_of="2024-12-31")
    assert movements(snap, "a1") == {"2024-01": "new", "2024-07": "churn"}


def test_contract_covering_no_month_end_has_no_mrr_unless_explicit(make_snapshot):
    snap = make_snapshot(contracts=[
        contract("a-short", "a1", "2024-02-03", "2024-02-25", amount=50_000),
        # An explicit mrr counts on the snapshot days the contract covers: only the as-of day.
        contract("b-short", "a2", "2024-05-10", "2024-05-20", mrr=5_000),
        contract("c-short", "a3", "2024-03-10", "2024-03-20", mrr=5_000),
    ], as_of="2024-05-15")
    assert contract_row(snap, "a-short")["month_ends"] == 0
    assert series(snap, "a1") == {}
    assert series(snap, "a2") == {"2024-05": (5_000, "new")}
    assert series(snap, "a3") == {}


def test_mid_month_start_counts_from_the_month_whose_snapshot_day_it_covers(make_snapshot):
    snap = make_snapshot(contracts=[
        contract("c1", "a1", "2024-04-30", "2025-04-29", mrr=10_000),   # active on Apr 30
        contract("c2", "a2", "2024-05-01", "2025-04-30", mrr=10_000),
    ], as_of="2024-06-30")
    assert movements(snap, "a1") == {"2024-04": "new"}
    assert movements(snap, "a2") == {"2024-05": "new"}


def test_the_as_of_month_uses_the_as_of_day(make_snapshot):
    snap = make_snapshot(contracts=[
        contract("ended", "a1", "2024-01-01", "2025-06-10", mrr=10_000),
        contract("started", "a2", "2025-06-12", "2026-06-11", mrr=20_000),
        contract("later", "a3", "2025-06-20", "2026-06-19", mrr=30_000),
        contract("running", "a4", "2024-01-01", "2025-06-20", mrr=40_000),
        contract("open", "a5", "2024-01-01", None, mrr=50_000),   # no end date: open-ended
    ], as_of="2025-06-15")
    assert series(snap, "a1")["2025-06"] == (0, "churn")
    assert series(snap, "a2") == {"2025-06": (20_000, "new")}
    assert series(snap, "a3") == {}
    assert series(snap, "a4")["2025-06"] == (40_000, None)
    assert series(snap, "a5")["2025-06"] == (50_000, None)
    assert snap.scalar("SELECT max(month) FROM fct_account_mrr_monthly") == D("2025-06-01")


def test_a_pending_renewal_at_the_as_of_date_shows_as_churn_until_it_is_recorded(make_snapshot):
    rows = [contract("c1", "a1", "2024-05-01", "2025-04-30", mrr=10_000)]
    assert movements(make_snapshot(contracts=rows, as_of="2025-05-10"), "a1")["2025-05"] == "churn"
    rows.append(contract("c2", "a1", "2025-05-20", "2026-05-19", mrr=10_000))
    # Once recorded, the renewal closes the gap (19 days ≤ 31) and the churn disappears.
    assert movements(make_snapshot(contracts=rows, as_of="2025-05-31"), "a1") == \
        {"2024-05": "new"}


def test_mrr_differences_below_a_micro_yen_are_unchanged(make_snapshot):
    snap = make_snapshot(contracts=[
        contract("c1", "a1", "2024-01-01", "2024-03-31", mrr=100_000),
        contract("c2", "a1", "2024-04-01", "2024-06-30", mrr=100_000.0000004),
        contract("c3", "a1", "2024-07-01", "2024-09-30", mrr=100_000.0000024),
    ], as_of="2024-09-30")
    assert movements(snap, "a1") == {"2024-01": "new", "2024-07": "expansion"}


# ---------------------------------------------------------------------------- monthly totals


def test_monthly_totals_and_counts(make_snapshot):
    snap = make_snapshot(contracts=[
        contract("c1", "a1", "2024-01-01", "2024-12-31", mrr=100_000),
        contract("c2", "a2", "2024-01-01", "2024-01-31", mrr=40_000),
        contract("c3", "a3", "2024-02-01", "2024-12-31", mrr=25_000),
        contract("c4", "a1", "2024-02-01", "2024-12-31", mrr=10_000),
    ], as_of="2024-03-31")
    rows = snap.query("SELECT * FROM fct_mrr_monthly ORDER BY month").to_dict("records")
    assert [r["mrr"] for r in rows] == [140_000, 135_000, 135_000]
    assert [r["previous_mrr"] for r in rows] == [0, 140_000, 135_000]
    assert [r["customers"] for r in rows] == [2, 2, 2]
    feb = rows[1]
    assert (feb["new"], feb["expansion"], feb["churn"], feb["contraction"],
            feb["reactivation"]) == (25_000, 10_000, -40_000, 0, 0)
    assert (feb["new_count"], feb["expansion_count"], feb["churn_count"]) == (1, 1, 1)


# ---------------------------------------------------------------------------- bridge check


def _with_extra_model(monkeypatch, tmp_path, sql: str) -> None:
    extra = tmp_path / "models" / "99_break.sql"
    extra.parent.mkdir()
    extra.write_text(sql, encoding="utf-8")
    real = models.model_files
    monkeypatch.setattr(models, "model_files", lambda: [*real(), extra])


ROWS = [contract("c1", "a1", "2024-01-01", "2024-12-31", mrr=100_000),
        contract("c2", "a2", "2024-02-01", "2024-12-31", mrr=50_000)]


def test_a_broken_bridge_fails_the_build_naming_month_and_difference(tmp_path, monkeypatch):
    home = tmp_path / "data"
    good = build_snapshot(home, contracts=ROWS, as_of="2024-06-30")
    _with_extra_model(monkeypatch, tmp_path,
                      "UPDATE fct_mrr_monthly SET mrr = mrr + 5 WHERE month = DATE '2024-03-01'")
    with pytest.raises(BuildFailed) as failure:
        build_snapshot(home, contracts=ROWS, as_of="2024-06-30")
    message = str(failure.value)
    assert "nothing was published" in message
    assert "MRR bridge broken in 2024-03" in message and "by ¥+5.000000" in message
    assert "MRR bridge broken in 2024-04" in message and "by ¥-5.000000" in message
    store = Store(home)
    assert store.current_file().id == good.id
    last = RefreshLog(store).recent(1)[0]
    assert last["outcome"] == "failed" and "2024-03" in last["error"]


def test_a_missing_month_breaks_the_bridge(tmp_path, monkeypatch):
    _with_extra_model(monkeypatch, tmp_path,
                      "DELETE FROM fct_mrr_monthly WHERE month = DATE '2024-04-01'")
    with pytest.raises(BuildFailed, match="MRR bridge broken in 2024-05"):
        build_snapshot(tmp_path / "data", contracts=ROWS, as_of="2024-06-30")
    assert not Store(tmp_path / "data").has_snapshot()


def test_a_lost_account_breaks_the_bridge(tmp_path, monkeypatch):
    # Deleting an account's movement rows but keeping totals: rebuild the totals from a spine
    # that lost a2's "new" row, as a buggy model would.
    _with_extra_model(monkeypatch, tmp_path, """
        DELETE FROM fct_account_mrr_monthly WHERE account_id = 'a2' AND movement = 'new';
        UPDATE fct_mrr_monthly SET new = 0, new_count = 0 WHERE month = DATE '2024-02-01';""")
    with pytest.raises(BuildFailed, match=r"2024-02: .* by ¥\+50,000\.000000"):
        build_snapshot(tmp_path / "data", contracts=ROWS, as_of="2024-06-30")
