"""Health band counts on a past day, for the KPI report's "quarter start vs end" comparison,
read from the health marts (`fct_health_weekly`, `fct_health_current`).

Scores and bands are defined and computed by the health models (models/3x, docs/metrics.md);
this module only picks the weekly snapshot on or before a day and counts accounts per band.
One account's health, segment and signals come from metrics/health_summary.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from cs_analytics.config import BANDS

HEALTH_TABLE = "fct_health_weekly"


def snapshot_day_on_or_before(snap, day: dt.date) -> dt.date | None:
    """The latest health snapshot day (a Monday, or the as-of date) on or before `day`."""
    value = snap.scalar(f"SELECT max(snapshot_day) FROM {HEALTH_TABLE} WHERE snapshot_day <= ?",
                        [day])
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def band_counts(snap, day: dt.date | None) -> dict[str, int]:
    """Active accounts per band on a health snapshot day (every band present, 0 when none)."""
    counts = {band: 0 for band in BANDS}
    if day is None:
        return counts
    for band, n in snap.rows(f"SELECT band, count(*) FROM {HEALTH_TABLE} "
                             "WHERE snapshot_day = ? AND band IS NOT NULL GROUP BY band", [day]):
        counts[band] = int(n)
    return counts


@dataclass
class Distribution:
    start_day: dt.date | None
    end_day: dt.date | None
    start_counts: dict = field(default_factory=dict)
    end_counts: dict = field(default_factory=dict)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)


def distribution(snap, start: dt.date, end: dt.date) -> Distribution:
    """Band counts on the latest health snapshot on or before `start` and on or before `end`:
    table columns band, start, end, change, start_share, end_share."""
    start_day = snapshot_day_on_or_before(snap, start)
    end_day = snapshot_day_on_or_before(snap, end)
    before, after = band_counts(snap, start_day), band_counts(snap, end_day)
    total_before, total_after = sum(before.values()), sum(after.values())
    rows = [{"band": band, "start": before[band], "end": after[band],
             "change": after[band] - before[band],
             "start_share": before[band] / total_before if total_before else None,
             "end_share": after[band] / total_after if total_after else None}
            for band in BANDS]
    return Distribution(start_day, end_day, before, after, pd.DataFrame(rows))


def by_owner(snap, day: dt.date) -> pd.DataFrame:
    """Band counts per account owner on the latest health snapshot on or before `day`:
    owner_id, owner_name, one column per band, accounts."""
    columns = ["owner_id", "owner_name", *BANDS, "accounts"]
    snapshot_day = snapshot_day_on_or_before(snap, day)
    if snapshot_day is None:
        return pd.DataFrame(columns=columns)
    counts = ", ".join(f"count(*) FILTER (WHERE h.band = '{b}') AS {b}" for b in BANDS)
    return snap.query(f"""
        SELECT a.owner_id, coalesce(u.name, a.owner_id) AS owner_name, {counts},
               count(*) AS accounts
        FROM {HEALTH_TABLE} h
        JOIN accounts a USING (account_id)
        LEFT JOIN users u ON u.user_id = a.owner_id
        WHERE h.snapshot_day = ?
        GROUP BY ALL
        ORDER BY owner_name, a.owner_id
    """, [snapshot_day])[columns]


def current_bands(snap, account_ids: list[str]) -> dict[str, str]:
    """account_id → band on the as-of date, for accounts with a score."""
    if not account_ids:
        return {}
    return dict(snap.rows("SELECT account_id, band FROM fct_health_current "
                          "WHERE list_contains(?, account_id) AND band IS NOT NULL",
                          [list(account_ids)]))
