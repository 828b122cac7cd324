"""Pages' cached calls begun on worker threads (`data.start`): the same cache and the same
values as `data.call`, errors where the page takes the value, never stuck behind busy workers."""

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


def blocked(event: threading.Event) -> None:
    assert event.wait(10)


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


def test_a_started_call_gives_the_value_call_gives_and_is_computed_once(snap):
    """Three sections asking for one number at once — two started, one called while the first
    still runs — get equal values from a single computation, and a later call is a cache hit."""
    SLOW.clear()
    first = data.start(slow_metric, snap, 21)
    _wait_for(lambda: RUNS)  # a worker is computing it
    second = data.start(slow_metric, snap, 21)
    called = []
    caller = threading.Thread(target=lambda: called.append(data.call(slow_metric, snap, 21)))
    caller.start()
    time.sleep(0.2)  # the others are now waiting on the one computation
    SLOW.set()
    caller.join(10)
    expected = {"value": 42, "rows": [21, 21, 21]}
    assert first.result() == second.result() == called[0] == expected
    assert data.call(slow_metric, snap, 21) == expected
    assert [(run[0], run[1]) for run in RUNS] == [(snap.id, 21)]
    assert RUNS[0][2].startswith("cs-analytics-data")  # it ran on a worker


def test_started_calls_with_other_arguments_are_other_values(snap):
    started = {v: data.start(slow_metric, snap, v) for v in (1, 2, 3)}
    assert {v: s.result()["value"] for v, s in started.items()} == {1: 2, 2: 4, 3: 6}
    assert sorted(run[1] for run in RUNS) == [1, 2, 3]


def test_an_error_is_raised_where_the_page_takes_the_value(snap):
    """A failing query does not fail the page where it was started (the sections above it still
    draw); its message is raised where the section takes the value, as with `call`."""
    started = data.start(failing_metric, snap, "2031Q9")
    with pytest.raises(CsAnalyticsError, match="no such period: 2031Q9"):
        started.result()


def test_a_page_does_not_wait_behind_busy_workers(snap):
    """Other sessions' queries hold every worker: a page's started call is taken back and run
    in the page's own thread instead of waiting for a worker to come free."""
    release = threading.Event()
    busy = [data._workers.submit(blocked, release) for _ in range(data.WORKERS)]
    try:
        time.sleep(0.1)
        started = data.start(slow_metric, snap, 5)
        began = time.monotonic()
        assert started.result()["value"] == 10
        assert time.monotonic() - began < 5
        assert RUNS == [(snap.id, 5, threading.current_thread().name)]
    finally:
        release.set()
        for future in busy:
            future.result(10)


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
    """A per-account list called or started from a page comes from the rows the metrics hold
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
        again = data.start(listed, snap, None).result()
        assert again.to_dict("list") == {"account_id": ["a2", "ghost", "a1", "a2"],
                                         "n": [1, 2, 3, 4]}
        mine = data.call(listed, snap, Filters(owner_ids=("u2",)))
        assert mine.to_dict("list") == {"account_id": ["a2", "a2"], "n": [1, 4]}
        assert list(mine.index) == [0, 1]
        assert data.start(listed, snap, Filters(owner_ids=("no-such-owner",))).result().empty
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
