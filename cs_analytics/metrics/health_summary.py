"""Health across accounts, for the Health page, the Overview and the Monday check: the band
distribution now and over the weekly snapshots, by owner / segment / industry, the
attribute-tier × band matrix, accounts whose health declined, average component contributions,
the accounts of one band, one account's current score, components and history, and the signals
shown now (views over metrics/health.py and metrics/signals.py for the pages and the QBR).

Scores, bands and segments are computed by the health models (fct_health_weekly,
fct_health_current, fct_segment_current — docs/metrics.md) and read per account by
metrics/health.py; this module only counts and selects. The counts and averages are taken
from the marts' rows held in memory (`metrics.held`), the lists are SQL rows held per account.
A snapshot built without those marts gives empty results.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cs_analytics.config import ATTRIBUTE_TIERS, BANDS, HEALTH_COMPONENTS
from cs_analytics.metrics import health
from cs_analytics.metrics import signals as signal_metrics
from cs_analytics.metrics.base import date_column, plain
from cs_analytics.metrics.filters import Filters, condition, mask
from cs_analytics.metrics.held import Query, held, per_account

GROUPINGS = {"owner": "coalesce(u.name, a.owner_id)", "segment": "s.segment",
             "industry": "coalesce(nullif(a.industry, ''), '—')"}

# The rows each count and average reads, held in memory.
WEEKLY_BANDS = Query("health bands of the last weeks", """
    SELECT account_id, snapshot_day, band
    FROM fct_health_weekly
    WHERE (is_weekly OR is_as_of) AND snapshot_day > (SELECT as_of FROM params) - 7 * $weeks""",
                     keep=4)


def _grouped_bands_sql(snap) -> str:
    """Every scored account of the accounts table with its band and each grouping."""
    segment_join = "LEFT JOIN fct_segment_current s USING (account_id)"
    return f"""
        SELECT h.account_id, h.band,
               {", ".join(f'{sql} AS "{name}"' for name, sql in GROUPINGS.items())}
        FROM fct_health_current h
        JOIN accounts a USING (account_id)
        LEFT JOIN users u ON u.user_id = a.owner_id
        {segment_join}"""


GROUPED_BANDS = Query("health bands with groupings", _grouped_bands_sql, keep=1)
TIERS_AND_BANDS = Query("attribute tiers and bands", """
    SELECT account_id, attribute_tier, band FROM fct_segment_current WHERE band IS NOT NULL""",
                        keep=1)
SEGMENT_MATRIX = Query("segment matrix", """
    SELECT attribute_tier, band, segment FROM params_segment_matrix""", keep=1,
                       by_account=False)
COMPONENTS = Query("components of the current scores", "SELECT account_id, " + ", ".join(
    f"{c}_score, {c}_weight, {c}_contribution, "
    f"coalesce({c}_weight * (100 - {c}_score), 0) AS {c}_lost" for c in HEALTH_COMPONENTS)
    + " FROM fct_health_current", keep=1)


def band_distribution(snap, filters: Filters | None = None) -> pd.DataFrame:
    """`health.band_counts` on the as-of date as rows: band, accounts, share (of the scored
    accounts; None when none)."""
    counts = health.band_counts(snap, None, filters)
    total = sum(counts.values())
    return pd.DataFrame([{"band": b, "accounts": counts[b],
                          "share": counts[b] / total if total else None} for b in BANDS])


def band_counts_over_time(snap, weeks: int = 26, filters: Filters | None = None
                          ) -> pd.DataFrame:
    """Accounts per band on each weekly snapshot of the last `weeks` weeks and on the as-of
    date: snapshot_day, healthy, caution, warning, danger, accounts; oldest first."""
    rows = held(snap, WEEKLY_BANDS, weeks=weeks)
    counts = rows.counts(mask(filters, snap, rows), "snapshot_day", "band")
    days = sorted({day for day, _ in counts})
    return pd.DataFrame({"snapshot_day": date_column(days), **_by_band(counts, days)})


def band_counts_by(snap, by: str, filters: Filters | None = None) -> pd.DataFrame:
    """Accounts per band on the as-of date grouped by owner, segment or industry:
    group, healthy, caution, warning, danger, accounts; by group, no group last."""
    if by not in GROUPINGS:
        raise ValueError(f"group by '{by}': expected one of {', '.join(GROUPINGS)}")
    rows = held(snap, GROUPED_BANDS)
    counts = rows.counts(mask(filters, snap, rows), by, "band")
    groups = sorted({g for g, _ in counts}, key=lambda g: (g is None, g or ""))
    return pd.DataFrame({"group": pd.Series(groups, dtype="str"), **_by_band(counts, groups)})


def _by_band(counts: dict[tuple, int], keys: list) -> dict[str, np.ndarray]:
    """The columns healthy…danger and accounts (every band, and rows without one) for `keys`
    from counts by (key, band)."""
    columns = {band: np.array([counts.get((k, band), 0) for k in keys], dtype=np.int64)
               for band in [*BANDS, None]}
    columns["accounts"] = sum(columns.values())
    del columns[None]
    return columns


def attribute_matrix(snap, filters: Filters | None = None) -> pd.DataFrame:
    """Attribute tier (high, mid, low) × band account counts on the as-of date, with the
    segment each cell maps to: tier, healthy…danger, segment_healthy…segment_danger."""
    columns = ["tier", *BANDS, *(f"segment_{b}" for b in BANDS)]
    rows = held(snap, TIERS_AND_BANDS)
    counts = rows.counts(mask(filters, snap, rows), "attribute_tier", "band")
    matrix = _segment_matrix(snap)
    rows = []
    for tier in ATTRIBUTE_TIERS:
        row = {"tier": tier}
        for band in BANDS:
            row[band] = counts.get((tier, band), 0)
            row[f"segment_{band}"] = matrix.get((tier, band))
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def _segment_matrix(snap) -> dict[tuple[str, str], str]:
    """{(attribute tier, band): segment} of the snapshot's params_segment_matrix."""
    rows = held(snap, SEGMENT_MATRIX)
    return rows.memo("by tier and band", lambda: dict(zip(
        zip(rows.frame()["attribute_tier"], rows.frame()["band"]), rows.frame()["segment"])))


@per_account
def declined(snap, min_drop: float = 10.0, filters: Filters | None = None) -> pd.DataFrame:
    """Accounts whose health fell over the last four weeks: the score dropped by at least
    `min_drop` points or the band got worse. account_id, name, owner_name, score,
    score_4w_before, score_change_4w, band, band_4w_before, top_detractor; biggest drop
    first."""
    columns = ["account_id", "name", "owner_name", "score", "score_4w_before",
               "score_change_4w", "band", "band_4w_before", "top_detractor"]
    where, params = condition(filters, snap, "h.account_id")
    rank = "CASE {} WHEN 'healthy' THEN 0 WHEN 'caution' THEN 1 WHEN 'warning' THEN 2 " \
           "WHEN 'danger' THEN 3 END"
    return snap.query(f"""
        SELECT h.account_id, a.name, coalesce(u.name, a.owner_id) AS owner_name, h.score,
               h.score_4w_before, h.score_change_4w, h.band, h.band_4w_before, h.top_detractor
        FROM fct_health_current h
        JOIN accounts a USING (account_id)
        LEFT JOIN users u ON u.user_id = a.owner_id
        WHERE h.score_4w_before IS NOT NULL
          AND (h.score_change_4w <= -$min_drop
               OR {rank.format("h.band")} > {rank.format("h.band_4w_before")})
          AND {where}
        ORDER BY h.score_change_4w, a.name, a.account_id
    """, {**params, "min_drop": float(min_drop)})[columns]


def component_contributions(snap, filters: Filters | None = None) -> pd.DataFrame:
    """Per component over the accounts scored on the as-of date: accounts (with data for it),
    avg_score (over those), and over every scored account avg_weight, avg_contribution
    (points it adds to the total; the six add up to the average score) and avg_lost
    (weight × (100 − score): points it costs; 0 without data); in component order."""
    columns = ["component", "accounts", "avg_score", "avg_weight", "avg_contribution",
               "avg_lost"]
    rows = held(snap, COMPONENTS)
    measures = ("score", "weight", "contribution", "lost")
    totals = rows.totals(mask(filters, snap, rows), (),
                         tuple(f"{c}_{m}" for c in HEALTH_COMPONENTS for m in measures))

    def average(name: str) -> float:  # avg(name): over the rows with a value
        n = int(totals.present[name])
        return float(totals.sums[name]) / n if n else float("nan")

    return pd.DataFrame({
        "component": pd.Series(HEALTH_COMPONENTS, dtype="str"),
        "accounts": np.array([int(totals.present[f"{c}_score"]) for c in HEALTH_COMPONENTS],
                             dtype=np.int64),
        **{f"avg_{m}": np.array([average(f"{c}_{m}") for c in HEALTH_COMPONENTS],
                                dtype=np.float64) for m in measures}})[columns]


@per_account
def accounts_in_band(snap, band: str, filters: Filters | None = None) -> pd.DataFrame:
    """Active accounts in one band on the as-of date (the drill-down from a band):
    account_id, name, owner_name, score, score_change_4w, top_detractor, segment; lowest
    score first."""
    if band not in BANDS:
        raise ValueError(f"band '{band}': expected one of {', '.join(BANDS)}")
    columns = ["account_id", "name", "owner_name", "score", "score_change_4w",
               "top_detractor", "segment"]
    where, params = condition(filters, snap, "h.account_id")
    segment = "(SELECT segment FROM fct_segment_current s WHERE s.account_id = h.account_id)"
    return snap.query(f"""
        SELECT h.account_id, a.name, coalesce(u.name, a.owner_id) AS owner_name, h.score,
               h.score_change_4w, h.top_detractor, {segment} AS segment
        FROM fct_health_current h
        JOIN accounts a USING (account_id)
        LEFT JOIN users u ON u.user_id = a.owner_id
        WHERE h.band = $band AND {where}
        ORDER BY h.score, a.name, a.account_id
    """, {**params, "band": band})[columns]


def account_current(snap, account_id: str) -> dict | None:
    """The account's health on the as-of date (score, band, top_detractor, changes, the
    components' value/score/weight/contribution, renewal facts), or None when not scored."""
    frame = snap.query("SELECT * FROM fct_health_current WHERE account_id = $id",
                       {"id": account_id})
    if frame.empty:
        return None
    return {k: plain(v) for k, v in frame.iloc[0].to_dict().items()}


def account_segment(snap, account_id: str) -> str | None:
    """The account's segment on the as-of date (None when not active or not scored)."""
    value = snap.scalar("SELECT segment FROM fct_segment_current WHERE account_id = $id",
                        {"id": account_id})
    return plain(value)


def account_components(current: dict | None) -> pd.DataFrame:
    """The six components of `account_current`: component, value, score, weight,
    contribution, lost (weight × (100 − score))."""
    columns = ["component", "value", "score", "weight", "contribution", "lost"]
    if current is None:
        return pd.DataFrame(columns=columns)
    rows = []
    for c in HEALTH_COMPONENTS:
        score, weight = current.get(f"{c}_score"), current.get(f"{c}_weight")
        lost = None if score is None or weight is None else weight * (100 - score)
        rows.append({"component": c, "value": current.get(f"{c}_value"), "score": score,
                     "weight": weight, "contribution": current.get(f"{c}_contribution"),
                     "lost": lost})
    return pd.DataFrame(rows, columns=columns)


def account_history(snap, account_id: str, since: dt.date | None = None) -> pd.DataFrame:
    """`health.history` from `since` (all when None): snapshot_day, score, band,
    top_detractor and each component's score; oldest first."""
    columns = ["snapshot_day", "score", "band", "top_detractor",
               *(f"{c}_score" for c in HEALTH_COMPONENTS)]
    frame = health.history(snap, account_id)[columns]
    if since is not None:
        frame = frame[pd.to_datetime(frame["snapshot_day"]).dt.date >= since]
    return frame.reset_index(drop=True)


SIGNAL_COLUMNS = ["account_id", "name", "owner_id", "owner_name", "signal", "since",
                  "last_login_date", "days_since_login", "deliveries_last_window",
                  "deliveries_previous_window", "last_contact_date", "last_contact_type",
                  "days_since_contact", "contract_end_date", "days_to_end", "band", "score",
                  "mrr", "sf_url"]


def current_signals(snap, signals: tuple[str, ...] = (), filters: Filters | None = None,
                    account_id: str | None = None) -> pd.DataFrame:
    """`signals.signals_on` for the as-of date with the evidence and context columns of
    SIGNAL_COLUMNS (all signals, or only `signals`)."""
    frame = signal_metrics.signals_on(snap, None, tuple(signals), filters, account_id)
    return frame.reindex(columns=SIGNAL_COLUMNS).reset_index(drop=True)
