"""The account state written to Salesforce (metrics/account_status.py): the weekly usage and the
90-day sums are usage_by_period's sums; the values follow the health models; an account that is
not an active customer has none."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cs_analytics.metrics import health
from cs_analytics.metrics.account_status import (account_status, complete_weeks,
                                                 weekly_usage)
from cs_analytics.metrics.usage import USAGE_MEASURES, usage_by_period
from cs_analytics.warehouse.store import Store
from tests.test_app_common import demo_home  # noqa: F401


def test_complete_weeks_end_on_the_last_sunday():
    assert complete_weeks(dt.date(2026, 3, 31), 2) == [
        (dt.date(2026, 3, 16), dt.date(2026, 3, 22)), (dt.date(2026, 3, 23), dt.date(2026, 3, 29))]
    # On a Sunday that week is complete.
    assert complete_weeks(dt.date(2026, 3, 29), 1) == [(dt.date(2026, 3, 23),
                                                        dt.date(2026, 3, 29))]


def test_weekly_usage_is_usage_by_period_for_each_week(demo_home):
    snap = Store(demo_home).open_current()
    weeks = complete_weeks(snap.as_of, 13)
    reference = usage_by_period(snap, [(first.isoformat(), first, last) for first, last in weeks])
    reference = reference[reference["usage_days"] > 0]
    expected = reference.rename(columns={"first_day": "week_start"})[
        ["account_id", "week_start", *USAGE_MEASURES]].reset_index(drop=True)
    got = weekly_usage(snap, 13)
    assert len(got) == len(expected) > 0
    for frame in (expected, got):
        frame["week_start"] = pd.to_datetime(frame["week_start"])
        for m in USAGE_MEASURES:
            frame[m] = frame[m].astype("int64")
    pd.testing.assert_frame_equal(got.sort_values(["account_id", "week_start"])
                                  .reset_index(drop=True),
                                  expected.sort_values(["account_id", "week_start"])
                                  .reset_index(drop=True))


def test_account_status_follows_the_health_models_and_the_usage(demo_home):
    snap = Store(demo_home).open_current()
    status = account_status(snap).set_index("account_id")
    scores = health.scores_on(snap).set_index("account_id")
    active = status[status["health_band"].notna()]
    assert set(active.index) == set(scores.index)
    assert (active["health_score"] == scores.loc[active.index, "score"]).all()
    assert (active["segment"] == scores.loc[active.index, "segment"]).all()
    recent = usage_by_period(snap, [("90d", snap.as_of - dt.timedelta(days=89), snap.as_of)])
    recent = recent.set_index("account_id")
    with_usage = active.index[recent.loc[active.index, "has_usage"]]
    assert (active.loc[with_usage, "deliveries_90d"]
            == recent.loc[with_usage, "deliveries"].astype("int64")).all()
    inactive = status[status["health_band"].isna()].drop(columns="name")
    assert len(inactive) > 0 and inactive.isna().all().all()
    # The next renewal is never before the end of the contract in force.
    ends = scores["contract_end_date"].dropna()
    renewals = pd.to_datetime(active.loc[ends.index, "next_renewal_date"])
    assert (renewals >= pd.to_datetime(ends)).all()
