"""The health, segment and signal facts the reports show, read from the health marts of issue 4
(`fct_health_weekly`, `fct_health_current`, `fct_signals_current`, `fct_segment_current`).

Scores, bands, components, segments and signals are defined and computed by the health models
(models/3x–4x, docs/metrics.md); this module only selects the snapshot day a report needs and
counts accounts per band. A snapshot without the health marts gives empty results.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from cs_analytics.config import BANDS, HEALTH_COMPONENTS

HEALTH_TABLE = "fct_health_weekly"


def has_health(snap) -> bool:
    return snap.has_table(HEALTH_TABLE)


def snapshot_day_on_or_before(snap, day: dt.date) -> dt.date | None:
    """The latest health snapshot day (a Monday, or the as-of date) on or before `day`."""
    if not has_health(snap):
        return None
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
    if not account_ids or not snap.has_table("fct_health_current"):
        return {}
    return dict(snap.rows("SELECT account_id, band FROM fct_health_current "
                          "WHERE list_contains(?, account_id) AND band IS NOT NULL",
                          [list(account_ids)]))


def account_current(snap, account_id: str) -> dict | None:
    """The account's health row on the as-of date (score, band, top_detractor,
    score_4w_before, contract_end_date, days_to_end, following_signed, components…), or None
    when it is not an active customer."""
    if not snap.has_table("fct_health_current"):
        return None
    frame = snap.query("SELECT * FROM fct_health_current WHERE account_id = ?", [account_id])
    if frame.empty:
        return None
    return {k: _plain(v) for k, v in frame.iloc[0].to_dict().items()}


def components(row: dict | None) -> pd.DataFrame:
    """The six components of one health row: component, value, score, weight, contribution."""
    columns = ["component", "value", "score", "weight", "contribution"]
    if row is None:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame([{"component": c, "value": row.get(f"{c}_value"),
                          "score": row.get(f"{c}_score"), "weight": row.get(f"{c}_weight"),
                          "contribution": row.get(f"{c}_contribution")}
                         for c in HEALTH_COMPONENTS], columns=columns)


def account_trend(snap, account_id: str, since: dt.date) -> pd.DataFrame:
    """The account's score per weekly snapshot (and the as-of date) from `since`, oldest first:
    snapshot_day, score, band, top_detractor and each component's score and contribution."""
    per_component = ", ".join(f"{c}_score, {c}_contribution" for c in HEALTH_COMPONENTS)
    if not has_health(snap):
        return pd.DataFrame(columns=["snapshot_day", "score", "band", "top_detractor"])
    return snap.query(f"""
        SELECT snapshot_day, score, band, top_detractor, {per_component}
        FROM {HEALTH_TABLE}
        WHERE account_id = ? AND snapshot_day >= ? AND (is_weekly OR is_as_of)
        ORDER BY snapshot_day
    """, [account_id, since])


def open_signals(snap, account_id: str) -> pd.DataFrame:
    """The account's signals on the as-of date with their evidence, by signal."""
    columns = ["signal", "since", "last_login_date", "days_since_login",
               "deliveries_last_window", "deliveries_previous_window", "last_contact_date",
               "last_contact_type", "days_since_contact", "contract_end_date", "days_to_end",
               "band"]
    if not snap.has_table("fct_signals_current"):
        return pd.DataFrame(columns=columns)
    return snap.query(f"SELECT {', '.join(columns)} FROM fct_signals_current "
                      "WHERE account_id = ? ORDER BY since, signal", [account_id])


def segment(snap, account_id: str) -> str | None:
    if not snap.has_table("fct_segment_current"):
        return None
    value = snap.scalar("SELECT segment FROM fct_segment_current WHERE account_id = ?",
                        [account_id])
    return None if value is None or pd.isna(value) else str(value)


def _plain(value):
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):
        value = value.item()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value
