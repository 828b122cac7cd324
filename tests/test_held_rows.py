"""The rows the metrics hold in memory (metrics/held.py) and the Filters mask over them.

One generic test covers every set of rows the metrics hold, on the generated demo company:
for each `Query` and each kind of filter, the counts, sums and maxima grouped by each of its
columns, and its columns by account, equal the SQL GROUP BY over the same rows with the
filter's SQL condition; for each `@per_account` list, the rows a filter keeps equal the list's
own filtered query. A new Query or per-account list without an example here fails the test.
The engine's own behaviour (NULL groups, accounts the accounts table lacks, the cache) is
tested by hand on small rows.
"""

from __future__ import annotations

import datetime as dt
import threading

import numpy as np
import pandas as pd
import pytest

from conftest import contract
from cs_analytics.config import settings_from_dict
from cs_analytics.ingest import demo
from cs_analytics.metrics import (accounts, churn, contributors, data_quality, health_summary,
                                  renewals, revenue, signals, team)
from cs_analytics.metrics import periods as P
from cs_analytics.metrics import weekly  # noqa: F401  (registers its queries)
from cs_analytics.metrics.filters import Filters, account_ids, condition, mask
from cs_analytics.metrics.held import (PER_ACCOUNT, QUERIES, HeldRows, Query, held,
                                       per_account)
from cs_analytics.warehouse.store import Store

END = dt.date(2026, 4, 30)
EARLIER = END - dt.timedelta(days=200)


@pytest.fixture(scope="module")
def snap(tmp_path_factory):
    home = tmp_path_factory.mktemp("held") / "data"
    demo.build_demo(settings_from_dict({}), Store(home), accounts=600, years=3, seed=7, end=END)
    return Store(home).open_current()


def _filters(snap) -> dict[str, Filters | None]:
    owners = [r[0] for r in snap.rows("SELECT DISTINCT owner_id FROM accounts ORDER BY 1")]
    return {"none": None, "segments": Filters(segments=("S", "A")),
            "industries": Filters(industries=("製造", "IT")),
            "owners": Filters(owner_ids=tuple(owners[:3])),
            "together": Filters(owner_ids=tuple(owners[:20]), segments=("A", "B", "C"),
                                industries=("製造", "IT", "小売")),
            "nobody": Filters(owner_ids=("no-such-owner",))}


# ---------------------------------------------------------------------------- every Query


def _examples(snap) -> dict[str, dict]:
    """The parameters each registered Query is tested with."""
    monday = [d for d in snap.rows("SELECT snapshot_day FROM int_health_snapshot_days "
                                   "WHERE snapshot_day <= $d ORDER BY 1", {"d": EARLIER})][-1][0]
    examples = {
        "account attributes": {},
        "account mrr monthly": {},
        "account mrr monthly as of": {"as_of": EARLIER},
        "account life": {"two_years": churn.TWO_YEARS},
        "account life as of": {"as_of": EARLIER, "two_years": churn.TWO_YEARS},
        "health bands of the last weeks": {"weeks": 26},
        "health bands with groupings": {},
        "attribute tiers and bands": {},
        "segment matrix": {},
        "components of the current scores": {},
        "active customers by owner": {},
        "users by name": {},
    }
    for name in _ours(QUERIES):
        if name.endswith(" of a day"):
            examples[name] = {"day": monday}
        elif name.startswith("fct_") and "." in name:
            examples[name] = {}
    return examples


def _numeric(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c != "account_id" and (
        pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))]


def _grouping(frame: pd.DataFrame, numbers: list[str]) -> list[str]:
    """The columns a figure groups by: text, dates and booleans, and whole numbers with few
    values."""
    return [c for c in frame.columns if c != "account_id" and (
        c not in numbers or pd.api.types.is_bool_dtype(frame[c])
        or (pd.api.types.is_integer_dtype(frame[c]) and frame[c].nunique() <= 50))]


def _plain(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date() if value == value.normalize() else value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _ours(names) -> list[str]:
    return sorted(n for n in names if not n.startswith("test "))


def test_every_query_and_per_account_list_has_an_example(snap):
    assert set(_examples(snap)) == set(_ours(QUERIES))
    ours = {name for name in PER_ACCOUNT if name.startswith("cs_analytics.")}
    assert ours == set(_list_examples())


@pytest.mark.parametrize("name", _ours(QUERIES))
def test_held_rows_sum_like_the_sql_group_by_for_every_filter(snap, name):
    """For each filter kind: count(*), sum(v), count(v) and max(v) of every number grouped by
    each column (and by the first two together), and every number by (first column,
    account), equal the SQL over the same rows with the filter's SQL condition."""
    query, params = QUERIES[name], _examples(snap)[name]
    rows = held(snap, query, **params)
    assert held(snap, query, **params) is rows  # read once per snapshot file and parameters
    whole = rows.frame()
    numbers = _numeric(whole)
    groups = _grouping(whole, numbers)
    sql = query.text(snap)
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    kinds = _filters(snap) if query.by_account else {"none": None}
    selected_someone = False
    for kind, filters in kinds.items():
        where, where_params = condition(filters, snap, "account_id")
        if not query.by_account:
            where = "TRUE"
        kept = mask(filters, snap, rows) if query.by_account else None
        for by in [(), *((g,) for g in groups), *([tuple(groups[:2])] if len(groups) > 1
                                                   else [])]:
            got = rows.totals(kept, by, tuple(numbers), maxima=tuple(numbers))
            keys = "".join(f't."{b}", ' for b in by)
            aggregates = "".join(
                f', sum(CAST(t."{v}" AS DOUBLE)), count(t."{v}"), max(CAST(t."{v}" AS DOUBLE))'
                for v in numbers)
            expected = [r for r in snap.rows(
                f"SELECT {keys}count(*){aggregates} FROM ({sql}) t "
                f"WHERE {where} GROUP BY ALL", {**used, **where_params}) if r[len(by)]]
            assert sorted(map(_key, got.groups())) == sorted(
                _key(tuple(_plain(v) for v in r[:len(by)])) for r in expected), (name, kind, by)
            for row in expected:
                at = got.index(*(_plain(v) for v in row[:len(by)]))
                assert got.count[at] == row[len(by)], (name, kind, by)
                for i, v in enumerate(numbers):
                    total, n, top = row[len(by) + 1 + 3 * i: len(by) + 4 + 3 * i]
                    assert got.present[v][at] == n, (name, kind, by, v)
                    assert got.sums[v][at] == pytest.approx(total or 0.0, rel=1e-12,
                                                            abs=1e-6), (name, kind, by, v)
                    if top is None:
                        assert np.isnan(got.maxima[v][at])
                    else:
                        assert got.maxima[v][at] == pytest.approx(top), (name, kind, by, v)
            selected_someone |= bool(expected)
        if query.by_account and groups:
            _grids_match(snap, rows, sql, used, groups[0], numbers, filters)
    assert selected_someone, name


def _key(labels: tuple) -> tuple:
    return tuple((v is None, str(v)) for v in labels)


def _grids_match(snap, rows: HeldRows, sql: str, params: dict, key: str, numbers: list[str],
                 filters: Filters | None) -> None:
    """Each number by (key, account) for the accounts the filter keeps equals the SQL's."""
    from cs_analytics.metrics.filters import accounts_kept

    chosen = accounts_kept(filters, snap, rows)
    labels = rows.codes(key)[1]
    where, where_params = condition(filters, snap, "t.account_id")
    for value in numbers:
        grid = rows.grid(value, (key,))[:-1]  # (the last: NULL keys)
        expected = snap.rows(f"""SELECT t."{key}", t.account_id, sum(CAST(t."{value}" AS DOUBLE))
                                 FROM ({sql}) t WHERE {where} AND t."{key}" IS NOT NULL
                                 GROUP BY ALL""", {**params, **where_params})
        columns = np.flatnonzero(chosen)
        kept = grid[:, columns]
        got = {(labels[i], rows.accounts[columns[j]]): kept[i, j]
               for i, j in zip(*np.nonzero(kept))}
        wanted = {(_plain(k), a): v for k, a, v in expected if v}
        assert set(got) == set(wanted), (key, value)
        for cell, total in wanted.items():
            assert got[cell] == pytest.approx(total, rel=1e-12, abs=1e-9)


# ---------------------------------------------------------------------------- every per-account list


def _list_examples() -> dict[str, dict]:
    """The arguments each `@per_account` list is tested with (besides filters)."""
    quarter = P.period_containing("quarter", END)
    year = P.period_containing("year", END)
    return {
        "cs_analytics.metrics.revenue.movement_accounts": {"period": year,
                                                           "movement": "contraction"},
        "cs_analytics.metrics.contributors.movement_accounts": {"period": year},
        "cs_analytics.metrics.churn.churned_accounts": {"period": year},
        "cs_analytics.metrics.renewals.contracts_due": {
            "first_day": quarter.start_date, "last_day": END + dt.timedelta(days=365)},
        "cs_analytics.metrics.renewals.due_in": {"period": year},
        "cs_analytics.metrics.renewals.notice_radar": {"days": 90},
        "cs_analytics.metrics.renewals.reminders": {"min_days": 30, "max_days": 120},
        "cs_analytics.metrics.signals.signals_on": {},
        "cs_analytics.metrics.signals.keys_on": {"day": END - dt.timedelta(days=70)},
        "cs_analytics.metrics.health_summary.declined": {"min_drop": 5.0},
        "cs_analytics.metrics.health_summary.accounts_in_band": {"band": "caution"},
        "cs_analytics.metrics.team.portfolio": {"bands": ("warning", "danger")},
        "cs_analytics.metrics.accounts.account_list": {},
        "cs_analytics.metrics.accounts.qbr_candidates": {"first_day": quarter.start_date,
                                                         "last_day": END},
        # (the demo company has no stale records: test_app_metrics.py has some by hand)
        "cs_analytics.metrics.data_quality.stale_records": {},
    }


_LISTS = {"cs_analytics.metrics.revenue.movement_accounts": revenue.movement_accounts,
          "cs_analytics.metrics.contributors.movement_accounts": contributors.movement_accounts,
          "cs_analytics.metrics.churn.churned_accounts": churn.churned_accounts,
          "cs_analytics.metrics.renewals.contracts_due": renewals.contracts_due,
          "cs_analytics.metrics.renewals.due_in": renewals.due_in,
          "cs_analytics.metrics.renewals.notice_radar": renewals.notice_radar,
          "cs_analytics.metrics.renewals.reminders": renewals.reminders,
          "cs_analytics.metrics.signals.signals_on": signals.signals_on,
          "cs_analytics.metrics.signals.keys_on": signals.keys_on,
          "cs_analytics.metrics.health_summary.declined": health_summary.declined,
          "cs_analytics.metrics.health_summary.accounts_in_band": health_summary.accounts_in_band,
          "cs_analytics.metrics.team.portfolio": team.portfolio,
          "cs_analytics.metrics.accounts.account_list": accounts.account_list,
          "cs_analytics.metrics.accounts.qbr_candidates": accounts.qbr_candidates,
          "cs_analytics.metrics.data_quality.stale_records": data_quality.stale_records}


@pytest.mark.parametrize("name", sorted(_list_examples()))
def test_a_per_account_list_for_a_filter_is_its_own_filtered_query(snap, name):
    """The rows, their order, values and types: what the list's SQL returns with the filter's
    SQL condition (the function as written, `PER_ACCOUNT`), for every kind of filter; and
    `count`, how many rows that is."""
    kwargs = _list_examples()[name]
    restricted, written = _LISTS[name], PER_ACCOUNT[name]
    whole = restricted(snap, filters=None, **kwargs)
    assert whole.equals(written(snap, filters=None, **kwargs))
    assert restricted.count(snap, filters=None, **kwargs) == len(whole)
    if not name.endswith("stale_records"):
        assert len(whole) > 10, name
    for kind, filters in _filters(snap).items():
        expected = written(snap, filters=filters, **kwargs)
        got = restricted(snap, filters=filters, **kwargs)
        assert restricted.count(snap, filters=filters, **kwargs) == len(expected), (name, kind)
        assert list(got.columns) == list(expected.columns), (name, kind)
        if expected.empty:  # (DuckDB types an empty result's text columns as objects)
            assert got.empty, (name, kind)
            continue
        assert got.equals(expected), (name, kind)
        assert list(got.dtypes) == list(expected.dtypes), (name, kind)
        assert got.index.equals(expected.index)



def test_renewals_by_quarter_summed_in_place_equal_the_filtered_lists_sums(snap):
    """`renewals.due_by_quarter` sums the held rows a filter keeps without taking them out:
    every figure of every quarter equals `by_quarter_of` the filtered list, for every kind
    of filter."""
    quarters = [P.parse_quarter(q) for q in ("2025Q3", "2025Q4", "2026Q1", "2026Q2")]
    for kind, filters in _filters(snap).items():
        listed = renewals.contracts_due(snap, **renewals.span(quarters), filters=filters)
        expected = renewals.by_quarter_of(listed, quarters)
        got = renewals.due_by_quarter(snap, quarters, filters)
        pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=kind)
        if kind == "segments":
            assert got["due_count"].sum() > 0

def test_a_periods_renewal_summary_summed_in_place_equals_the_filtered_lists(snap):
    """`renewals.due_summary` — the Churn page's renewal cards — sums the held rows of
    `due_in` a filter keeps: every figure equals `summary_of` the filtered list, exactly, for
    every kind of filter and period."""
    periods = [P.parse_quarter("2026Q1"), P.parse_month("2026-03"),
               P.period_containing("ttm", END), P.period_containing("year", END)]
    for period in periods:
        for kind, filters in _filters(snap).items():
            expected = renewals.summary_of(renewals.due_in(snap, period, filters))
            assert renewals.due_summary(snap, period, filters) == expected, (period, kind)
    assert renewals.due_summary(snap, periods[0], _filters(snap)["segments"]).due_count > 0
    assert renewals.due_summary(snap, periods[0], _filters(snap)["nobody"]).due_count == 0


def test_top_accounts_taken_in_place_equal_the_top_of_the_filtered_list(snap):
    """`contributors.top_contributors` ranks the held rows a filter keeps and takes out only
    those shown: the frame equals `top_of` the filtered list, exactly, for every kind of
    filter and size."""
    quarter = P.parse_quarter("2026Q1")
    for kind, filters in _filters(snap).items():
        listed = contributors.movement_accounts(snap, quarter, filters)
        for top in (1, 3, 5, 1000):
            got = contributors.top_contributors(snap, quarter, filters, top=top)
            pd.testing.assert_frame_equal(got, contributors.top_of(listed, top),
                                          check_exact=True, obj=f"{kind} top {top}")
        if kind == "segments":
            assert len(got) == len(listed) > 20


def test_account_ids_are_the_accounts_the_filter_condition_selects(snap):
    for kind, filters in _filters(snap).items():
        where, params = condition(filters, snap, "account_id")
        expected = [r[0] for r in snap.rows(
            f"SELECT account_id FROM accounts WHERE {where} ORDER BY account_id", params)]
        assert account_ids(snap, filters) == expected, kind
        assert (not expected) == (kind == "nobody")


# ---------------------------------------------------------------------------- the engine by hand


@pytest.fixture
def small(make_snapshot):
    return make_snapshot(accounts=[{"account_id": "a1", "name": "A1", "owner_id": "u1"},
                                   {"account_id": "a2", "name": "A2", "owner_id": "u2"},
                                   {"account_id": "a3", "name": "A3", "owner_id": "u1"}],
                         contracts=[contract(f"c{i}", f"a{i}", "2024-04-15", "2025-04-14")
                                    for i in (1, 2, 3)], as_of="2025-06-30")


SMALL = Query("test rows", """
    SELECT * FROM (VALUES ('a1', 'x', 1.0, DATE '2025-01-01'), ('a1', NULL, NULL,
                           DATE '2025-02-01'), ('a2', 'x', 3.0, DATE '2025-02-01'),
                          ('a3', 'y', 5.0, DATE '2025-03-01'), ('ghost', 'x', 7.0,
                           DATE '2025-03-01'))
    t(account_id, g, v, month) ORDER BY month, account_id""")


def test_rows_are_grouped_and_summed_as_sql_does(small):
    """NULLs are their own group and left out of sums and counts of a value; a filter keeps
    the rows of the accounts it selects, never one of an account the accounts table lacks
    (ghost), which counts only without a filter."""
    rows = held(small, SMALL)
    assert rows.counts(None, "g") == {("x",): 3, (None,): 1, ("y",): 1}
    totals = rows.totals(None, ("g",), ("v",), maxima=("v",))
    x, null = totals.index("x"), totals.index(None)
    assert (totals.count[x], totals.sums["v"][x], totals.present["v"][x]) == (3, 11.0, 3)
    assert (totals.count[null], totals.present["v"][null], totals.sums["v"][null]) == (1, 0, 0)
    assert totals.maxima["v"][x] == 7.0 and np.isnan(totals.maxima["v"][null])
    assert totals.index("nothing") is None
    u1 = Filters(owner_ids=("u1",))
    assert rows.counts(u1.mask(small, rows), "g") == {("x",): 1, (None,): 1, ("y",): 1}
    assert rows.counts(Filters(owner_ids=("nobody",)).mask(small, rows), "g") == {}
    assert rows.frame(u1.mask(small, rows))["v"].tolist()[::2] == [1.0, 5.0]
    assert list(rows.accounts) == ["a1", "a2", "a3", "ghost"]
    assert u1.accounts_kept(small, rows).tolist() == [True, False, True, False]


def test_a_column_by_account_and_a_span_of_ordered_rows(small):
    rows = held(small, SMALL)
    grid = rows.grid("v", ("month",))  # months, then NULL × accounts a1, a2, a3, ghost
    assert grid.tolist() == [[1.0, 0, 0, 0], [0, 3.0, 0, 0], [0, 0, 5.0, 7.0], [0, 0, 0, 0]]
    counted = rows.grid(None, ("g",))  # x, y, NULL × accounts
    assert counted.tolist() == [[1, 1, 0, 1], [0, 0, 1, 0], [1, 0, 0, 0]]
    u1 = Filters(owner_ids=("u1",)).accounts_kept(small, rows)
    sums = rows.sums(u1, ("month",), ("v", None), slice(1, 3))
    assert sums["v"].tolist() == [0.0, 5.0] and sums[None].tolist() == [1.0, 1.0]
    assert rows.sums(None, ("month",), ("v",))["v"].tolist() == [1.0, 3.0, 12.0, 0.0]
    assert rows.codes("month")[1] == [dt.date(2025, m, 1) for m in (1, 2, 3)]
    assert rows.by_account("month").tolist() == [0, 1, 2, 2]
    span = rows.span("month", dt.date(2025, 2, 1), dt.date(2025, 2, 28))
    assert rows.totals(span, ("g",), ("v",)).sums["v"].tolist() == [3.0, 0, 0]
    u2 = Filters(owner_ids=("u2",)).accounts_kept(small, rows)
    assert rows.rows_of(u2, span).tolist() == [2] and rows.rows_of(None, span) == span
    with pytest.raises(ValueError, match="not ordered by g"):
        rows.span("g", "x", "y")


def test_a_frame_taken_from_held_rows_is_the_callers_own(small):
    rows = held(small, SMALL)
    mine = rows.frame()
    mine["v"] = mine["v"] * 100
    mine.loc[0, "g"] = "changed"
    assert rows.frame()["v"].tolist()[:1] == [1.0] and rows.frame()["g"].iloc[0] == "x"
    kept = rows.frame(np.array([False, True, False, True, False]))
    assert list(kept.index) == [0, 1] and kept["account_id"].tolist() == ["a1", "a3"]


def test_held_rows_are_read_once_per_snapshot_file_and_few_are_kept(small):
    """Four threads asking at once read the rows once; a Query keeps `keep` parameter sets,
    the least recently asked for dropped first."""
    reads = []
    counted = Query("test counted reads", "SELECT 'a1' AS account_id, $n AS n", keep=2)
    original = HeldRows.__init__

    def counting(self, frame, by_account=True):
        if "n" in frame:  # (not the accounts' attributes, read with any rows by account)
            reads.append(int(frame["n"].iloc[0]))
        original(self, frame, by_account)

    HeldRows.__init__ = counting
    try:
        got = []
        threads = [threading.Thread(target=lambda: got.append(held(small, counted, n=1)))
                   for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert reads == [1] and all(g is got[0] for g in got)
        two = held(small, counted, n=2)
        assert held(small, counted, n=1) is got[0]  # (1 is now the most recent)
        held(small, counted, n=3)  # drops 2
        assert held(small, counted, n=1) is got[0]
        assert held(small, counted, n=2) is not two
        assert reads == [1, 2, 3, 2]
    finally:
        HeldRows.__init__ = original
        QUERIES.pop("test counted reads")



def test_a_filters_mask_is_made_once_when_threads_ask_together(small):
    """Sessions on the same filter (or the snapshot's prefetch and a page) ask for its mask at
    once: it is made once, and every thread gets that one array."""
    rows = HeldRows(pd.DataFrame({"account_id": ["a1", "a2", "a3"], "n": [1, 2, 3]}))
    made, started = [], threading.Barrier(4)

    def slow():
        made.append(1)
        threading.Event().wait(0.05)
        return np.array([True, False, True])

    def ask(got):
        started.wait()
        got.append(rows.per_filter("test mask", "f", slow))

    got: list = []
    threads = [threading.Thread(target=ask, args=(got,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert made == [1] and all(g is got[0] for g in got)
    assert not got[0].flags.writeable  # shared: no caller can change it
    for n in range(20):  # the last few filters are kept, older ones made again
        rows.per_filter("test mask", n, lambda: np.zeros(3, dtype=bool))
    rows.per_filter("test mask", "f", slow)
    assert made == [1, 1]

def test_a_per_account_list_is_queried_once_and_restricted_by_filter(small):
    calls = []

    @per_account
    def listed(snap, kind: str, filters: Filters | None = None) -> pd.DataFrame:
        calls.append((kind, filters))
        return pd.DataFrame({"account_id": ["a2", "ghost", "a1", "a2"], "n": [1, 2, 3, 4]})

    try:
        assert listed(small, "k").to_dict("list") == {"account_id": ["a2", "ghost", "a1", "a2"],
                                                      "n": [1, 2, 3, 4]}
        mine = listed(small, "k", Filters(owner_ids=("u2",)))
        assert mine.to_dict("list") == {"account_id": ["a2", "a2"], "n": [1, 4]}
        assert list(mine.index) == [0, 1]
        assert listed(small, "k", filters=Filters(owner_ids=("nobody",))).empty
        assert calls == [("k", None)]  # the query ran once, without filters
        listed(small, "other")
        assert calls == [("k", None), ("other", None)]
    finally:
        PER_ACCOUNT.pop(f"{__name__}.{listed.__qualname__}")


