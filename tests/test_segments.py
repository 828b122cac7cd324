"""Attribute score, tier and segment S/A/B/C (models 40–41): the matrix, ARR tiers at their
edge, industry and phase points, the segment history and its entering/leaving events. The
band is controlled through test_health.DAYS_LEFT (score = days to the contract's end)."""

from __future__ import annotations

import datetime as dt

import pytest

from cs_analytics.metrics import segments
from test_health import (AS_OF, DAYS_LEFT, build, days_before, days_left_contract,
                         yearly_contract)


def account(account_id, industry=None, phase=None):
    return {"account_id": account_id, "name": account_id, "owner_id": "u1",
            "industry": industry, "phase": phase}


def segment_row(snap, account_id) -> dict:
    frame = snap.query("SELECT * FROM fct_segment_current WHERE account_id = $id",
                       {"id": account_id})
    assert len(frame) == 1
    return frame.iloc[0].to_dict()


@pytest.fixture(scope="module")
def matrix_snapshot(tmp_path_factory):
    home = tmp_path_factory.mktemp("segments") / "data"
    accounts = [account("hiS", "金融", "mature"), account("hiA", "金融", "mature"),
                account("midA", "保険", "mature"), account("midB", "保険", "mature"),
                account("lowB", "IT", "mature"), account("lowC", "IT", "mature"),
                account("adopt", "IT", "adoption"), account("edge", None, "mature"),
                account("below", None, "mature"), account("onb", None, None)]
    contracts = [
        days_left_contract("hiS", 80, mrr=500_000),   # ARR 6,000,000 → 3 + 金融 2 = 5: high
        days_left_contract("hiA", 10, mrr=500_000),
        days_left_contract("midA", 80, mrr=100_000),  # ARR 1,200,000 → 1 + 保険 1 = 2: mid
        days_left_contract("midB", 30, mrr=100_000),
        days_left_contract("lowB", 80, mrr=50_000),   # ARR 600,000 → 0 + IT 0: low
        days_left_contract("lowC", 60, mrr=50_000),
        days_left_contract("adopt", 80, mrr=100_000),  # 1 + adoption 1 = 2: mid
        days_left_contract("edge", 80, mrr=300_000),   # ARR 3,600,000 exactly: 2 points
        days_left_contract("below", 80, mrr=299_999),  # ARR 3,599,988: 1 point
        yearly_contract("onb", start=days_before(30), end=AS_OF + dt.timedelta(days=80),
                        mrr=100_000),                  # 1 + derived phase onboarding 1 = 2
    ]
    return build(home, accounts=accounts, contracts=contracts, config=DAYS_LEFT)


@pytest.mark.parametrize("account_id, points, tier, band, segment", [
    ("hiS", 5, "high", "healthy", "S"),
    ("hiA", 5, "high", "danger", "A"),
    ("midA", 2, "mid", "healthy", "A"),
    ("midB", 2, "mid", "warning", "B"),
    ("lowB", 0, "low", "healthy", "B"),
    ("lowC", 0, "low", "caution", "C"),
    ("adopt", 2, "mid", "healthy", "A"),
    ("edge", 2, "mid", "healthy", "A"),
    ("below", 1, "low", "healthy", "B"),
    ("onb", 2, "mid", "healthy", "A"),
])
def test_attribute_tier_and_segment_matrix(matrix_snapshot, account_id, points, tier, band,
                                           segment):
    row = segment_row(matrix_snapshot, account_id)
    assert row["attribute_points"] == points
    assert (row["attribute_tier"], row["band"], row["segment"]) == (tier, band, segment)


def test_points_are_itemised(matrix_snapshot):
    row = segment_row(matrix_snapshot, "hiS")
    assert (row["arr"], row["arr_points"], row["industry_points"], row["phase_points"]) == (
        6_000_000, 3, 2, 0)
    assert segment_row(matrix_snapshot, "onb")["phase"] == "onboarding"


def test_segment_current_leads_with_the_filter_columns(matrix_snapshot):
    columns = [r[0] for r in matrix_snapshot.rows(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'fct_segment_current' ORDER BY ordinal_position")]
    assert columns[:4] == ["account_id", "attribute_tier", "band", "segment"]


def test_segment_counts(matrix_snapshot):
    assert segments.counts(matrix_snapshot) == {"S": 1, "A": 5, "B": 3, "C": 1}


def test_configured_matrix(tmp_path):
    config = {**DAYS_LEFT, "segments": {"matrix": {
        "high": {"healthy": "S", "caution": "S", "warning": "S", "danger": "S"},
        "mid": {"healthy": "A", "caution": "A", "warning": "A", "danger": "A"},
        "low": {"healthy": "A", "caution": "B", "warning": "C", "danger": "C"}}}}
    snap = build(tmp_path, accounts=[account("x", "IT")],
                 contracts=[days_left_contract("x", 80, mrr=10_000)], config=config)
    assert segment_row(snap, "x")["segment"] == "A"


def test_segment_history_and_events(tmp_path):
    # Low tier; 60 days left at as_of: 81 → healthy (B) three Mondays before, 74 → caution
    # (C) from two Mondays before. The other account ends a week before as_of.
    snap = build(tmp_path, accounts=[account("a", "IT"), account("gone", "IT")],
                 contracts=[days_left_contract("a", 60, mrr=10_000),
                            yearly_contract("gone", end=days_before(10), mrr=10_000)],
                 config=DAYS_LEFT)
    frame = segments.history(snap, "a")
    history = dict(zip(frame["snapshot_day"].dt.date, frame["segment"]))
    assert history[days_before(21)] == "B" and history[days_before(14)] == "C"
    rows = snap.rows("SELECT snapshot_day, event, segment, from_segment, to_segment "
                     "FROM fct_segment_events WHERE account_id = 'a' ORDER BY snapshot_day")
    first = rows[0]
    assert first[1:] == ("entered", "B", None, "B")   # the start of the history
    change = [r for r in rows if r[0] == days_before(14)]
    assert [r[1:] for r in change] == [("left", "B", "B", "C"), ("entered", "C", "B", "C")]
    assert len(rows) == 3
    gone = snap.rows("SELECT snapshot_day, event, from_segment, to_segment "
                     "FROM fct_segment_events WHERE account_id = 'gone' AND to_segment IS NULL")
    # active through days_before(10): its last Monday is days_before(14); gone on the next
    assert gone == [(days_before(7), "left", "C", None)]
    changes = segments.changes(snap, since=days_before(14))
    assert list(changes["account_id"]) == ["gone", "a"]
