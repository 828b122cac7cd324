"""Invariants of the reports on generated demo data: the workbooks equal the metrics API, the
bridge reconciles, the SQL aggregates equal a plain recomputation from the canonical tables,
and every account's QBR pack renders without a formula."""

import datetime as dt
import io
import zipfile

import openpyxl
import pytest

from cs_analytics.config import settings_from_dict
from cs_analytics.ingest.demo import build_demo
from cs_analytics.metrics import activity, periods, renewals, revenue, usage
from cs_analytics.outputs.reports import (kpi_report_data, kpi_report_workbook, qbr_data,
                                          qbr_workbook)
from cs_analytics.outputs.reports.talking_points import INFO
from cs_analytics.warehouse.store import Store, reset_connection_cache

END = dt.date(2026, 5, 15)
SETTINGS = settings_from_dict({})
RULES = {"winback", "renewal", "health", "campaign", "deliveries", "logins", "meeting",
         "meeting_never", "onboarding", "upsell", "growth", "conversion", "no_usage", "steady"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo")
    store = Store(home)
    build_demo(SETTINGS, store, accounts=40, years=3, seed=11, end=END)
    yield store.open_current()
    reset_connection_cache()


def no_formulas(data: bytes) -> bool:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return not any("<f>" in z.read(n).decode("utf-8") for n in z.namelist()
                       if n.startswith("xl/worksheets/sheet"))


@pytest.mark.parametrize("quarter", ["2025Q3", "2026Q2"])
def test_kpi_report_equals_the_metrics_api_on_demo_data(demo, quarter):
    report = kpi_report_data(demo, SETTINGS, quarter)
    period = periods.parse_quarter(quarter)
    assert report.kpis == revenue.kpis(demo, period)
    b = report.bridge
    assert b["start_mrr"] + sum(b[m] for m in revenue.MOVEMENTS) == pytest.approx(b["mrr"],
                                                                                    abs=1e-6)
    assert b["mrr"] == pytest.approx(report.kpis["mrr"], abs=1e-6)
    last = report.bridge_quarters.iloc[-1]
    assert last["label"] == quarter and last["mrr"] == pytest.approx(b["mrr"], abs=1e-6)
    health = report.health_distribution
    end_rows = demo.scalar("SELECT count(*) FROM fct_health_weekly WHERE snapshot_day = ?",
                           [report.health_end_day])
    assert int(health["end"].sum()) == end_rows
    owners, total = report.activity.iloc[:-1], report.activity.iloc[-1]
    for column in ("accounts", "meetings", "emails_calls", "accounts_no_contact"):
        assert total[column] == owners[column].sum()
    assert total["accounts"] == report.kpis["customers"]
    for s, due in ((report.renewal_summary, report.renewals),
                   (report.next_renewal_summary, report.next_renewals)):
        assert s["signed_arr"] + s["lost_arr"] + s["pending_arr"] == pytest.approx(
            s["due_arr"], abs=1e-6)
        assert s["at_risk_arr"] <= s["pending_arr"] and s["due_count"] == len(due)
        assert s == renewals.summary_of(due).as_dict()
    assert report.renewals.equals(renewals.due_in(demo, period))
    assert report.next_renewals.equals(renewals.due_in(demo, periods.shift(period, 1)))
    data = kpi_report_workbook(demo, SETTINGS, quarter, lang="en")
    assert no_formulas(data)
    ws = openpyxl.load_workbook(io.BytesIO(data))["Summary"]
    values = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(1, ws.max_row + 1)}
    assert values["MRR (end of quarter)"] == pytest.approx(report.kpis["mrr"], abs=1e-6)
    assert values["Customers (end of quarter)"] == report.kpis["customers"]


def test_accounts_without_contact_match_the_no_contact_signal(demo):
    report = kpi_report_data(demo, SETTINGS, "2026Q2")  # the current quarter: ends on as_of
    signals = demo.scalar("SELECT count(*) FROM fct_signals_current "
                          "WHERE signal = 'no_contact_60d'")
    assert report.activity.iloc[-1]["accounts_no_contact"] == signals


def test_activity_counts_equal_a_plain_recomputation(demo):
    first, last = dt.date(2026, 1, 1), dt.date(2026, 3, 31)
    frame = demo.query("SELECT a.*, acc.owner_id AS account_owner FROM activities a "
                       "JOIN accounts acc USING (account_id)")
    frame = frame[(frame["date"].dt.date >= first) & (frame["date"].dt.date <= last)]
    frame["who"] = frame["owner_id"].fillna(frame["account_owner"])
    expected = frame[frame["type"] == "meeting"].groupby("who").size().to_dict()
    got = activity.activity_by_owner(demo, first, last, SETTINGS)
    assert {r["owner_id"]: r["meetings"] for r in got.to_dict("records")
            if r["meetings"]} == expected


def test_usage_by_quarter_equals_a_plain_recomputation(demo):
    ranges = [("2025Q4", dt.date(2025, 10, 1), dt.date(2025, 12, 31)),
              ("2026Q1", dt.date(2026, 1, 1), dt.date(2026, 3, 31))]
    got = usage.usage_by_period(demo, ranges, settings=SETTINGS)
    raw = demo.query("SELECT * FROM usage WHERE date BETWEEN DATE '2025-10-01' AND "
                     "DATE '2026-03-31'")
    raw["period"] = ["2025Q4" if d.date() <= dt.date(2025, 12, 31) else "2026Q1"
                     for d in raw["date"]]
    sums = raw.groupby(["account_id", "period"])[["deliveries", "viewers", "conversions"]].sum()
    for r in got.to_dict("records"):
        key = (r["account_id"], r["period"])
        if key in sums.index:
            row = sums.loc[key]
            assert (r["deliveries"], r["viewers"], r["conversions"]) == (
                row["deliveries"], row["viewers"], row["conversions"]), key
            if row["viewers"] > 0:
                assert r["conversion_rate"] == pytest.approx(row["conversions"] / row["viewers"])
        elif r["has_usage"]:
            assert r["deliveries"] == 0


def test_every_qbr_pack_renders(demo):
    account_ids = [r[0] for r in demo.rows("SELECT account_id FROM accounts ORDER BY 1")]
    fired = set()
    for i, account_id in enumerate(account_ids):
        pack = qbr_data(demo, SETTINGS, account_id)
        rules = [p.rule for p in pack.talking_points]
        assert rules and set(rules) <= RULES, (account_id, rules)
        assert [p.priority for p in pack.talking_points] == sorted(
            p.priority for p in pack.talking_points)
        assert len(pack.usage_quarters) == 4
        if pack.profile["mrr"] > 0:
            assert "winback" not in rules
            assert pack.health is not None
            assert any(p.priority < INFO for p in pack.talking_points) or "steady" in rules
        fired.update(rules)
        if i % 8 == 0:  # the workbook of a sample, both languages
            assert no_formulas(qbr_workbook(demo, SETTINGS, account_id, lang="ja" if i % 16
                                            else "en"))
    assert {"renewal", "meeting", "winback"} <= fired
