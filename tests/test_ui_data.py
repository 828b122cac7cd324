"""Pages' cached calls (`data.call`): one computation per snapshot and arguments, shared by the
sessions asking at once; errors raised where the page asks; per-account lists from held rows."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

import pytest

from cs_analytics.app.ui import data
from cs_analytics.errors import CsAnalyticsError


@dataclass(frozen=True)
class _Snap:
    """What `data.call` reads of a snapshot: its id (a new one per test: a fresh cache key)."""

    id: str


RUNS: list[tuple[str, int, str]] = []  # (snapshot id, argument, thread name) of every run
SLOW = threading.Event()  # set: the slow metric returns


def slow_metric(snap, value):
    RUNS.append((snap.id, value, threading.current_thread().name))
    assert SLOW.wait(10)
    return {"value": value * 2, "rows": [value] * 3}


def failing_metric(snap, value):
    raise CsAnalyticsError(f"no such period: {value}")


def _wait_for(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def snap():
    RUNS.clear()
    SLOW.set()
    yield _Snap(uuid.uuid4().hex)
    SLOW.set()


def test_sessions_asking_for_one_value_at_once_share_one_computation(snap):
    """Three sessions asking for one number at once get equal values from a single
    computation, run in the first one's thread; a later call is a cache hit."""
    SLOW.clear()
    got: dict[str, dict] = {}

    def session(name: str) -> None:
        got[name] = data.call(slow_metric, snap, 21)

    sessions = [threading.Thread(target=session, args=(f"session-{i}",), name=f"session-{i}")
                for i in range(3)]
    sessions[0].start()
    _wait_for(lambda: RUNS)  # the first session is computing it
    for thread in sessions[1:]:
        thread.start()
    time.sleep(0.2)  # the others are now waiting on the one computation
    SLOW.set()
    for thread in sessions:
        thread.join(10)
    expected = {"value": 42, "rows": [21, 21, 21]}
    assert list(got.values()) == [expected] * 3
    assert data.call(slow_metric, snap, 21) == expected
    assert RUNS == [(snap.id, 21, "session-0")]


def test_calls_with_other_arguments_are_other_values(snap):
    assert {v: data.call(slow_metric, snap, v)["value"] for v in (1, 2, 3)} == {1: 2, 2: 4, 3: 6}
    assert sorted(run[1] for run in RUNS) == [1, 2, 3]


def test_an_error_is_raised_where_the_page_asks_and_not_cached(snap):
    """A failing query raises its message where the page asks for the value; the failure is
    not kept, so the next run asks again."""
    for _ in range(2):
        with pytest.raises(CsAnalyticsError, match="no such period: 2031Q9"):
            data.call(failing_metric, snap, "2031Q9")


def test_opening_a_snapshot_starts_loading_the_filter_attributes(make_snapshot, monkeypatch):
    """The first filter change after a refresh does not wait for the accounts' filter
    attributes, which pages without filters never read: opening the snapshot starts loading
    them on a worker thread, once per snapshot file."""
    from cs_analytics.metrics.filters import Filters, account_attributes, account_ids
    from conftest import contract

    built = make_snapshot(contracts=[contract("c1", "a1", "2024-04-15", "2025-04-14")],
                          as_of="2025-06-30")
    monkeypatch.setenv("CS_ANALYTICS_HOME", str(make_snapshot.home))
    snap = data.current_snapshot()
    assert snap.id == built.id
    loading = snap.derived("prefetched")["attributes"]
    assert loading.result(timeout=10) is account_attributes(snap)
    assert data.current_snapshot().derived("prefetched")["attributes"] is loading
    assert account_ids(snap, Filters(owner_ids=("no-such-owner",))) == []


def test_a_per_account_list_is_held_not_cached_per_run_and_never_changed_by_a_page(
        make_snapshot, monkeypatch):
    """A per-account list called from a page comes from the rows the metrics hold
    (no copy cached per run): a page adding or changing a column of what it got changes its
    own frame only; a filter keeps the rows of the accounts it selects, in the list's order."""
    import pandas as pd
    from conftest import contract

    from cs_analytics.metrics.filters import Filters
    from cs_analytics.metrics.held import PER_ACCOUNT, per_account

    make_snapshot(accounts=[{"account_id": "a1", "name": "A1", "owner_id": "u1"},
                            {"account_id": "a2", "name": "A2", "owner_id": "u2"}],
                  contracts=[contract("c1", "a1", "2024-04-15", "2025-04-14"),
                             contract("c2", "a2", "2024-04-15", "2025-04-14")],
                  as_of="2025-06-30")
    monkeypatch.setenv("CS_ANALYTICS_HOME", str(make_snapshot.home))
    snap = data.current_snapshot()
    queried = []

    @per_account
    def listed(snap, filters=None):
        queried.append(filters)
        return pd.DataFrame({"account_id": ["a2", "ghost", "a1", "a2"], "n": [1, 2, 3, 4]})

    try:
        first = data.call(listed, snap, None)
        first["n"] = first["n"] * 100  # what a page may do with its frame
        first.loc[0, "account_id"] = "changed"
        again = data.call(listed, snap, None)
        assert again.to_dict("list") == {"account_id": ["a2", "ghost", "a1", "a2"],
                                         "n": [1, 2, 3, 4]}
        mine = data.call(listed, snap, Filters(owner_ids=("u2",)))
        assert mine.to_dict("list") == {"account_id": ["a2", "a2"], "n": [1, 4]}
        assert list(mine.index) == [0, 1]
        assert data.call(listed, snap, Filters(owner_ids=("no-such-owner",))).empty
        assert queried == [None]
    finally:
        PER_ACCOUNT.pop(f"{__name__}.{listed.__qualname__}")


def keyed_metric(snap, period, filters=None, settings=None, *, top=3):
    RUNS.append((snap.id, (period, filters, top), threading.current_thread().name))
    return {"period": period.label, "filters": filters, "top": top}


def test_a_cached_call_is_keyed_by_every_argument_it_is_given(snap):
    """Periods, filters, settings and keywords each make their own cache entry — a page
    never shows the value of another filter — and the same arguments are one entry."""
    from cs_analytics.config import settings_from_dict
    from cs_analytics.metrics import periods
    from cs_analytics.metrics.filters import Filters

    q1, q2 = periods.parse_quarter("2026Q1"), periods.parse_quarter("2026Q2")
    settings = settings_from_dict({})
    cases = [(q1, None), (q2, None), (q1, Filters(segments=("S",))),
             (q1, Filters(segments=("S", "A"))), (q1, Filters(owner_ids=("S",))),
             (q1, Filters(industries=("'S'",)))]
    for period, filters in cases:
        for _ in range(2):
            got = data.call(keyed_metric, snap, period, filters, settings, top=3)
            assert got == {"period": period.label, "filters": filters, "top": 3}
    assert data.call(keyed_metric, snap, q1, None, settings, top=5)["top"] == 5
    other = settings_from_dict({"targets": {"nrr": {"value": 1.2}}})
    data.call(keyed_metric, snap, q1, None, other, top=5)
    assert len(RUNS) == len(cases) + 2  # each distinct call computed once
