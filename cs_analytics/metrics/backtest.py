"""Health-score backtest (SPEC §4 "Health-score backtest", docs/metrics.md): does the score warn
before churn? From the weekly health history as it was recorded and the churn movements.

Every figure of the Score check page and of `health backtest` is defined here, once:

- The rows: every weekly scored account-week of fct_health_weekly with the component scores
  recorded that Monday and the band of its score as known that day (the renewal component
  without later-signed renewals, `_KNOWN`; everything else as recorded, never recomputed
  with later data), whether each weight alternative would have banded it 🟠/🔴 (`_weeks_sql`),
  the segment it held that day and the snapshot day of the account's next `churn` movement
  after it (fct_account_mrr_monthly). Churn events with their lead-time facts are SQL too
  (`_CHURNS_SQL`). Both are read once per snapshot file and held as arrays.
- The figures are counts over those rows (`run`): the evaluation days and a filter choose the
  rows. A filter is owner and industry (the accounts' current ones) and segment *as held on
  the evaluation day* — a churned account has no current segment, so the current one would
  drop every churn from a segment's figures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test

from cs_analytics.config import BANDS, HEALTH_COMPONENTS, SEGMENTS, Settings
from cs_analytics.metrics.base import fiscal_year_start_month
from cs_analytics.metrics.filters import Filters, account_positions
from cs_analytics.metrics.intervals import wilson_interval

WARNING_BANDS = ("warning", "danger")  # "🟠 or 🔴": the score's warning
_WARNING_CODES = np.array([BANDS.index(b) for b in WARNING_BANDS])
_EPOCH = dt.date(1970, 1, 1)
_NO_CHURN = np.iinfo(np.int32).max  # next churn day of an account that never churns again
_DAY_BITS = 20  # churn event key = account position << 20 | day number (days < 2**20)


@dataclass(frozen=True)
class Options:
    """What a backtest is run with (settings `[backtest]`; the horizon may be overridden)."""

    horizon_days: int = 180
    min_history_days: int = 91
    lead_weeks: int = 26
    min_churned_accounts: int = 30
    confidence: float = 0.90
    weight_factors: tuple[float, ...] = (0.5, 2.0)

    @classmethod
    def of(cls, settings: Settings, horizon_days: int | None = None) -> "Options":
        b = settings.backtest
        return cls(horizon_days=horizon_days or b.horizon_days,
                   min_history_days=b.min_history_days, lead_weeks=b.lead_weeks,
                   min_churned_accounts=b.min_churned_accounts, confidence=b.confidence,
                   weight_factors=tuple(b.weight_factors))


# ---------------------------------------------------------------------------- the rows

# The renewal component as known on the day: model 31 counts a following contract as signed
# with hindsight on past days (the data has no signing date), so the recorded renewal score of
# a week before a renewal was signed already knows the account renews. The backtest takes
# the renewal score from the days to the contract's end alone (renewal_days_score, model 34)
# and the week's score and band with it; every other component is the one recorded. (The
# renewal component always has data, so renewal_days_score is there wherever a score is; the
# coalesce only keeps such a week scored should it not be.)
_KNOWN = {c: (f"w.{c}_weight * coalesce(w.renewal_days_score, w.renewal_score)"
              if c == "renewal" else f"w.{c}_contribution") for c in HEALTH_COMPONENTS}
_KNOWN_SCORES = ", ".join(
    "coalesce(w.renewal_days_score, w.renewal_score) AS renewal_score" if c == "renewal"
    else f"w.{c}_score" for c in HEALTH_COMPONENTS)
_CONTRIBUTIONS = " + ".join(f"({_KNOWN[c]})" for c in HEALTH_COMPONENTS)
_WEIGHTS = " + ".join(f"w.{c}_weight" for c in HEALTH_COMPONENTS)


def _band_sql(score: str) -> str:
    return f"health_band({score}, ph.band_healthy, ph.band_caution, ph.band_warning)"


def _alternative_sql(k: int, component: str) -> str:
    """Whether alternative k — `component`'s weight × $factor_k, the others unchanged — bands
    the week 🟠/🔴, as bit k. The stored weights are the configured ones shared over the
    components with data, so Σ r_i·weight_i·score_i / Σ r_i·weight_i (r the factor of each
    component) is the score with the changed weights; the band is the model's health_band."""
    f = f"$factor_{k}"
    contribution = ("w.known_renewal_contribution" if component == "renewal"
                    else f"w.{component}_contribution")
    score = (f"(w.known_score + ({f} - 1) * {contribution}) / "
             f"nullif(w.weight_sum + ({f} - 1) * w.{component}_weight, 0)")
    return f"CASE WHEN {_band_sql(score)} IN ('warning', 'danger') THEN {1 << k} ELSE 0 END"


# The columns of fct_health_weekly the backtest reads (not all ~50: the mart is ~1.1M rows at
# 10,000 accounts, and a query carrying every column holds them all).
_READ = ", ".join(["w.account_id", "w.snapshot_day", "w.band", "w.top_detractor",
                   "w.renewal_days_score"]
                  + [f"w.{c}_{part}" for c in HEALTH_COMPONENTS
                     for part in ("score", "weight", "contribution")])

# Every weekly scored account-week with its score and band as known that day.
_KNOWN_WEEKS = f"""
    known AS (
        SELECT {_READ}, {_CONTRIBUTIONS} AS known_score,
               {_band_sql("known_score")} AS known_band,
               {_KNOWN["renewal"]} AS known_renewal_contribution, {_WEIGHTS} AS weight_sum
        FROM fct_health_weekly w
        CROSS JOIN params_health ph
        WHERE w.is_weekly AND w.band IS NOT NULL
    )"""


def _weeks_sql(alternatives: list[tuple[str, float]]) -> str:
    bits = " + ".join(_alternative_sql(k, c) for k, (c, _f) in enumerate(alternatives)) or "0"
    return f"""
        WITH {_KNOWN_WEEKS}
        SELECT w.account_id, w.snapshot_day AS day, w.known_band AS band,
               w.band AS recorded_band, {_KNOWN_SCORES},
               CAST({bits} AS INTEGER) AS alternatives_warned
        FROM known w
        CROSS JOIN params_health ph"""


# The segment each account held on each Monday, and the churn movements' snapshot days: matched
# to the weeks by account and day (`_matched`, `_next_after`) rather than joined in SQL — at
# 10,000 accounts the two joins of 1.1M wide rows took most of the query's time and memory.
_SEGMENTS_SQL = """
    SELECT account_id, snapshot_day, segment
    FROM fct_segment_history
    WHERE is_weekly"""
_CHURN_DAYS_SQL = """
    SELECT account_id, snapshot_day AS churn_day
    FROM fct_account_mrr_monthly
    WHERE movement = 'churn'"""


# One row per churn movement: the account's weekly rows in the lead_weeks before the churn
# month's snapshot day give its first 🟠/🔴 week (and that week's top detractor as recorded,
# the component that carried the warning) and its last score.
_CHURNS_SQL = f"""
    WITH {_KNOWN_WEEKS},
    churns AS ({_CHURN_DAYS_SQL})
    SELECT c.account_id, c.churn_day,
           min(w.snapshot_day) FILTER (WHERE w.known_band IN ('warning', 'danger'))
               AS first_warned_day,
           arg_min(w.top_detractor, w.snapshot_day)
               FILTER (WHERE w.known_band IN ('warning', 'danger')) AS warned_by,
           max(w.snapshot_day) AS last_day,
           arg_max(w.known_score, w.snapshot_day) AS last_score,
           arg_max(w.known_band, w.snapshot_day) AS last_band,
           arg_max(w.top_detractor, w.snapshot_day) AS last_detractor,
           any_value(a.name) AS name,
           any_value(coalesce(u.name, a.owner_id)) AS owner_name
    FROM churns c
    LEFT JOIN known w
      ON w.account_id = c.account_id
     AND w.snapshot_day < c.churn_day AND w.snapshot_day >= c.churn_day - 7 * $lead_weeks
    LEFT JOIN accounts a ON a.account_id = c.account_id
    LEFT JOIN users u ON u.user_id = a.owner_id
    GROUP BY c.account_id, c.churn_day
    ORDER BY c.churn_day, c.account_id"""


@dataclass(frozen=True)
class AccountWeeks:
    """Every weekly scored account-week, as arrays (row r):

    account        the account's position in `filters.account_attributes` (-1: not in the
                   accounts table)
    day            the weekly snapshot day W, as days since 1970-01-01
    band           index in BANDS: the band of the week's score with the renewal component as
                   known that day (`_KNOWN`)
    recorded       index in BANDS of the band the weekly history recorded
    segment        index in SEGMENTS as held on W; -1 without one
    next_churn     snapshot day of the account's first churn movement after W (_NO_CHURN: none)
    components     component scores recorded on W (rows × HEALTH_COMPONENTS; NaN: no data)
    alternatives   bit k set when weight alternative k bands the week 🟠/🔴
    weekly_days    every weekly snapshot day of the history, ascending (days since 1970)
    """

    account: np.ndarray
    day: np.ndarray
    band: np.ndarray
    recorded: np.ndarray
    segment: np.ndarray
    next_churn: np.ndarray
    components: np.ndarray
    alternatives: np.ndarray
    weekly_days: np.ndarray


def _day_numbers(column) -> np.ndarray:
    """A DATE column (Arrow) as int32 days since 1970-01-01; nulls as _NO_CHURN."""
    days = column.cast(pa.date32()).cast(pa.int32()).fill_null(_NO_CHURN)
    return days.to_numpy(zero_copy_only=False).astype(np.int32)


def _codes(column, values: tuple[str, ...]) -> np.ndarray:
    found = pc.index_in(column, value_set=pa.array(values, type=pa.string()))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int8)


def account_weeks(snap, alternatives: tuple[tuple[str, float], ...]) -> AccountWeeks:
    """The account-week rows (`AccountWeeks`), read once per snapshot file and alternatives."""

    def load() -> AccountWeeks:
        cur = snap.cursor()
        try:
            params = {f"factor_{k}": float(f) for k, (_c, f) in enumerate(alternatives)}
            table = cur.sql(_weeks_sql(list(alternatives)), params=params).to_arrow_table()
            segments = cur.sql(_SEGMENTS_SQL).to_arrow_table()
            churns = cur.sql(_CHURN_DAYS_SQL).to_arrow_table()
            weekly = cur.sql("SELECT snapshot_day FROM int_health_snapshot_days "
                             "WHERE is_weekly ORDER BY snapshot_day").to_arrow_table()
        finally:
            cur.close()
        account = account_positions(snap, table.column("account_id")).astype(np.int32)
        day = _day_numbers(table.column("day"))
        keys = _keys(account, day)
        segment_keys = _keys(account_positions(snap, segments.column("account_id")),
                             _day_numbers(segments.column("snapshot_day")))
        churn_keys = _keys(account_positions(snap, churns.column("account_id")),
                           _day_numbers(churns.column("churn_day")))
        components = np.column_stack(
            [table.column(f"{c}_score").cast(pa.float32()).to_numpy(zero_copy_only=False)
             for c in HEALTH_COMPONENTS]) if table.num_rows else \
            np.zeros((0, len(HEALTH_COMPONENTS)), dtype=np.float32)
        return AccountWeeks(
            account=account, day=day,
            band=_codes(table.column("band"), BANDS),
            recorded=_codes(table.column("recorded_band"), BANDS),
            segment=_matched(keys, segment_keys,
                             _codes(segments.column("segment"), SEGMENTS), -1),
            next_churn=_next_after(keys, churn_keys),
            components=components.astype(np.float32),
            alternatives=table.column("alternatives_warned").to_numpy(
                zero_copy_only=False).astype(np.int32),
            weekly_days=_day_numbers(weekly.column("snapshot_day")))

    return snap.derived_once("backtest_weeks", alternatives, load)


def _keys(account: np.ndarray, day: np.ndarray) -> np.ndarray:
    """(account position, day number) as one sortable int64: position << 20 | day. Every
    scored account has an accounts row (contracts must reference one), so positions are ≥ 0."""
    return (account.astype(np.int64) << _DAY_BITS) | day.astype(np.int64)


def _matched(keys: np.ndarray, their_keys: np.ndarray, their_values: np.ndarray,
             missing) -> np.ndarray:
    """For each of `keys`, the value of the row of `their_keys` with the same key, else
    `missing` (keys unique on both sides)."""
    order = np.argsort(their_keys, kind="stable")
    sorted_keys = their_keys[order]
    found = np.searchsorted(sorted_keys, keys)
    found = np.minimum(found, max(len(sorted_keys) - 1, 0))
    hit = (sorted_keys[found] == keys) if len(sorted_keys) else np.zeros(len(keys), bool)
    values = np.full(len(keys), missing, dtype=their_values.dtype)
    values[hit] = their_values[order][found[hit]]
    return values


def _next_after(keys: np.ndarray, churn_keys: np.ndarray) -> np.ndarray:
    """For each (account, day) of `keys`, the day of the account's first churn after that day
    (_NO_CHURN: none) — the smallest churn key above the week's key, if it is the account's."""
    sorted_keys = np.sort(churn_keys)
    found = np.searchsorted(sorted_keys, keys, side="right")
    inside = found < len(sorted_keys)
    nearest = sorted_keys[np.minimum(found, max(len(sorted_keys) - 1, 0))] if len(
        sorted_keys) else np.zeros(len(keys), np.int64)
    same = inside & ((nearest >> _DAY_BITS) == (keys >> _DAY_BITS))
    return np.where(same, nearest & ((1 << _DAY_BITS) - 1), _NO_CHURN).astype(np.int32)


def churn_events(snap, lead_weeks: int) -> pd.DataFrame:
    """Every churn movement (account, churn month's snapshot day) with its lead-time facts
    (`_CHURNS_SQL`) and `key` (account position << 20 | day number), read once per snapshot
    file and lead_weeks. Shared: callers take rows, never change it."""

    def load() -> pd.DataFrame:
        events = snap.query(_CHURNS_SQL, {"lead_weeks": lead_weeks})
        events["key"] = _keys(account_positions(snap, events["account_id"]),
                              _days_of(events["churn_day"]))
        return events

    return snap.derived_once("backtest_churns", lead_weeks, load)


def _days_of(values: pd.Series) -> np.ndarray:
    return values.to_numpy().astype("datetime64[D]").astype(np.int64)


def _date(day: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(day))


# ---------------------------------------------------------------------------- the figures


@dataclass
class Backtest:
    """A backtest's figures (see `run`). Frames are shared with the pages: read, not changed."""

    as_of: dt.date
    options: Options
    filters: Filters | None
    evaluation_days: list[dt.date]
    history_first_day: dt.date | None
    account_weeks: int = 0
    accounts: int = 0
    churned_weeks: int = 0
    renewal_adjusted_weeks: int = 0
    overall_rate: float | None = None
    overall_ci: tuple[float | None, float | None] = (None, None)
    bands: pd.DataFrame = field(default_factory=pd.DataFrame)
    warned_weeks: int = 0
    warned_churned_weeks: int = 0
    precision: float | None = None
    recall: float | None = None
    churns: pd.DataFrame = field(default_factory=pd.DataFrame)
    churned_accounts: int = 0
    lead_time: dict = field(default_factory=dict)
    lead_time_counts: pd.DataFrame = field(default_factory=pd.DataFrame)
    survival: pd.DataFrame = field(default_factory=pd.DataFrame)
    survival_by_band: pd.DataFrame = field(default_factory=pd.DataFrame)
    logrank_p: float | None = None
    components: pd.DataFrame = field(default_factory=pd.DataFrame)
    carriers: pd.DataFrame = field(default_factory=pd.DataFrame)
    alternatives: pd.DataFrame | None = None

    @property
    def enough_evidence(self) -> bool:
        """At least `min_churned_accounts` distinct churned accounts behind the figures."""
        return self.churned_accounts >= self.options.min_churned_accounts

    @property
    def horizon_days(self) -> int:
        return self.options.horizon_days

    @property
    def warned_lift(self) -> float | None:
        """Churn rate of 🟠/🔴 account-weeks (precision) ÷ the overall rate."""
        if self.precision is None or not self.overall_rate:
            return None
        return self.precision / self.overall_rate

    @property
    def warned_churn_share(self) -> float | None:
        """Share of the churns with a 🟠/🔴 week among the lead_weeks before (recall counted
        in churns, not account-weeks)."""
        lead = self.lead_time
        return _ratio(lead["warned"], lead["warned"] + lead["not_warned"])


BAND_COLUMNS = ["band", "n", "churned", "rate", "ci_low", "ci_high", "lift", "accounts",
                "churned_accounts"]
CHURN_COLUMNS = ["account_id", "name", "owner_name", "churn_day", "warned", "first_warned_day",
                 "lead_weeks", "warned_by", "last_day", "last_score", "last_band",
                 "last_detractor"]
SURVIVAL_COLUMNS = ["band", "weeks", "survival", "ci_low", "ci_high"]
SURVIVAL_BY_BAND_COLUMNS = ["band", "origins", "churned", "survival_at_horizon", "ci_low",
                            "ci_high"]
COMPONENT_COLUMNS = ["component", "quartile", "low", "high", "n", "churned", "rate", "ci_low",
                     "ci_high", "lift"]
CARRIER_COLUMNS = ["component", "churns", "share"]
ALTERNATIVE_COLUMNS = ["component", "factor", "weight", "new_weight", "warned_share",
                       "precision", "recall", "lift", "f1", "config_line"]


def alternatives_of(options: Options) -> tuple[tuple[str, float], ...]:
    """The weight alternatives, in order: each component × each factor."""
    return tuple((c, float(f)) for c in HEALTH_COMPONENTS for f in options.weight_factors)


def evaluation_days(weekly_days: np.ndarray, as_of: dt.date, options: Options) -> np.ndarray:
    """SPEC §4: every weekly snapshot day at least min_history_days after the history's first
    day and at most as_of − horizon (day numbers)."""
    if not len(weekly_days):
        return weekly_days
    first = int(weekly_days[0])
    last = (as_of - _EPOCH).days - options.horizon_days
    return weekly_days[(weekly_days >= first + options.min_history_days)
                       & (weekly_days <= last)]


def population(snap, weeks: AccountWeeks, days: np.ndarray,
               filters: Filters | None) -> np.ndarray:
    """The account-weeks of the evaluation `days` the filter keeps: owner and industry the
    accounts' current ones (`Filters.keeps`), segment the one held on the day."""
    chosen = np.isin(weeks.day, days)
    if filters is not None and (filters.owner_ids or filters.industries):
        chosen &= Filters(owner_ids=filters.owner_ids,
                          industries=filters.industries).keeps(snap, weeks.account)
    if filters is not None and filters.segments:
        wanted = [SEGMENTS.index(s) for s in filters.segments if s in SEGMENTS]
        chosen &= np.isin(weeks.segment, wanted)
    return chosen


def run(snap, options: Options = Options(), filters: Filters | None = None) -> Backtest:
    """The backtest of SPEC §4 over the accounts `filters` selects (see `population`).

    An account-week (account i scored on evaluation day W) *churned* when i's next churn
    movement after W has its snapshot day in (W, W + horizon]. Figures:
    - per band: account-weeks n, churned c, rate c/n with a Wilson interval at
      options.confidence, lift = rate / overall rate, distinct accounts and churned accounts;
    - precision and recall of "🟠 or 🔴 on W" for churned account-weeks;
    - churns: each churn event behind a churned account-week, with its lead time (weeks from
      its first 🟠/🔴 week among the lead_weeks before the churn month's snapshot day) or its
      last recorded score when never warned; lead_time: median, q1, q3, warned, not_warned;
    - survival: Kaplan–Meier curves of time to churn from the first evaluation day of each
      fiscal quarter, by the band held then (censored at as_of), the survival at the horizon
      and the log-rank test's p-value across bands;
    - components: churn rate by quartile of each component's score (account-weeks with data);
    - churned_accounts: distinct accounts behind the churned account-weeks; with at least
      min_churned_accounts, `carriers` (the top detractor of each warned churn's first
      🟠/🔴 week) and `alternatives` (precision, recall and lift of 🟠/🔴 with each component's
      weight multiplied by each factor) — None below it.
    """
    weeks = account_weeks(snap, alternatives_of(options))
    as_of = snap.as_of
    days = evaluation_days(weeks.weekly_days, as_of, options)
    result = Backtest(
        as_of=as_of, options=options, filters=filters,
        evaluation_days=[_date(d) for d in days],
        history_first_day=_date(weeks.weekly_days[0]) if len(weeks.weekly_days) else None,
        bands=pd.DataFrame(columns=BAND_COLUMNS), churns=pd.DataFrame(columns=CHURN_COLUMNS),
        survival=pd.DataFrame(columns=SURVIVAL_COLUMNS),
        survival_by_band=pd.DataFrame(columns=SURVIVAL_BY_BAND_COLUMNS),
        components=pd.DataFrame(columns=COMPONENT_COLUMNS),
        carriers=pd.DataFrame(columns=CARRIER_COLUMNS),
        lead_time_counts=pd.DataFrame(columns=["weeks", "churns"]),
        lead_time={"median": None, "q1": None, "q3": None, "warned": 0, "not_warned": 0})
    chosen = population(snap, weeks, days, filters)
    rows = np.flatnonzero(chosen)
    if not len(rows):
        return result
    account, day, band = weeks.account[rows], weeks.day[rows], weeks.band[rows]
    next_churn = weeks.next_churn[rows]
    churned = (next_churn.astype(np.int64) - day) <= options.horizon_days
    n_accounts = int(max(account.max(), 0)) + 2
    slot = np.where(account < 0, n_accounts - 1, account)  # -1 (no accounts row) counts too

    result.account_weeks, result.churned_weeks = len(rows), int(churned.sum())
    result.renewal_adjusted_weeks = int((band != weeks.recorded[rows]).sum())
    result.accounts = _distinct(slot, n_accounts)
    result.churned_accounts = _distinct(slot[churned], n_accounts)
    result.overall_rate = result.churned_weeks / result.account_weeks
    result.overall_ci = _interval_or_none(result.churned_weeks, result.account_weeks,
                                        options.confidence)
    result.bands = _bands(band, churned, slot, n_accounts, result.overall_rate, options)

    warned = np.isin(band, _WARNING_CODES)
    result.warned_weeks = int(warned.sum())
    result.warned_churned_weeks = int((warned & churned).sum())
    result.precision = _ratio(result.warned_churned_weeks, result.warned_weeks)
    result.recall = _ratio(result.warned_churned_weeks, result.churned_weeks)

    keys = np.unique(_keys(account[churned], next_churn[churned]))
    events = churn_events(snap, options.lead_weeks)
    result.churns = _churns(events[np.isin(events["key"].to_numpy(), keys)])
    result.lead_time = _lead_time(result.churns)
    result.lead_time_counts = _lead_time_counts(result.churns, options)

    origins = _quarter_origins(days, fiscal_year_start_month(snap))
    at_origin = np.isin(day, origins)
    result.survival, result.survival_by_band, result.logrank_p = _survival(
        day[at_origin], band[at_origin], next_churn[at_origin], as_of, options)
    result.components = _components(weeks.components[rows], churned, result.overall_rate,
                                    options)
    if result.enough_evidence:
        result.carriers = _carriers(result.churns)
        result.alternatives = _alternatives(snap, weeks.alternatives[rows], warned, churned,
                                            result.overall_rate, options)
    return result


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


def _distinct(slots: np.ndarray, size: int) -> int:
    return int(np.count_nonzero(np.bincount(slots, minlength=size)))


def _interval_or_none(churned: int, n: int, confidence: float
                      ) -> tuple[float | None, float | None]:
    """`intervals.wilson_interval` as (low, high), both None where n is 0."""
    return wilson_interval(churned, n, confidence) or (None, None)


def _rate_columns(n: np.ndarray, churned: np.ndarray, overall: float | None,
                  options: Options) -> dict[str, list]:
    """rate, ci_low, ci_high, lift for counts n and churned (None where n is 0)."""
    rates = [_ratio(c, k) for c, k in zip(churned.tolist(), n.tolist())]
    intervals = [_interval_or_none(int(c), int(k), options.confidence)
                 for c, k in zip(churned.tolist(), n.tolist())]
    return {"rate": rates, "ci_low": [i[0] for i in intervals],
            "ci_high": [i[1] for i in intervals],
            "lift": [None if r is None or not overall else r / overall for r in rates]}


def _bands(band: np.ndarray, churned: np.ndarray, slot: np.ndarray, n_accounts: int,
           overall: float, options: Options) -> pd.DataFrame:
    n = np.bincount(band, minlength=len(BANDS))
    c = np.bincount(band[churned], minlength=len(BANDS))
    accounts = np.bincount(band.astype(np.int64) * n_accounts + slot,
                           minlength=len(BANDS) * n_accounts).reshape(len(BANDS), -1)
    churned_accounts = np.bincount((band.astype(np.int64) * n_accounts + slot)[churned],
                                   minlength=len(BANDS) * n_accounts).reshape(len(BANDS), -1)
    return pd.DataFrame({"band": list(BANDS), "n": n, "churned": c,
                         **_rate_columns(n, c, overall, options),
                         "accounts": np.count_nonzero(accounts, axis=1),
                         "churned_accounts": np.count_nonzero(churned_accounts, axis=1)},
                        columns=BAND_COLUMNS)


def _churns(events: pd.DataFrame) -> pd.DataFrame:
    """The churn events behind the churned account-weeks, warned ones first by lead time."""
    out = events.drop(columns=["key"]).copy()
    out["warned"] = out["first_warned_day"].notna()
    lead = (_days_of(out["churn_day"]) - _days_of(out["first_warned_day"].fillna(
        out["churn_day"]))) / 7.0
    out["lead_weeks"] = np.where(out["warned"], lead, np.nan)
    out = out.sort_values(["warned", "lead_weeks", "churn_day", "account_id"],
                          ascending=[False, False, True, True], ignore_index=True)
    return out[CHURN_COLUMNS]


def _lead_time(churns: pd.DataFrame) -> dict:
    """Median and quartiles of the warned churns' lead weeks; warned and not warned counts."""
    lead = churns.loc[churns["warned"], "lead_weeks"].to_numpy(dtype=float)
    q1, median, q3 = (np.percentile(lead, [25, 50, 75]).tolist() if len(lead)
                      else (None, None, None))
    return {"median": median, "q1": q1, "q3": q3, "warned": int(len(lead)),
            "not_warned": int((~churns["warned"]).sum())}


def _lead_time_counts(churns: pd.DataFrame, options: Options) -> pd.DataFrame:
    """Warned churns per whole week of lead time (0 … lead_weeks): weeks, churns."""
    lead = churns.loc[churns["warned"], "lead_weeks"].to_numpy(dtype=float)
    counts = np.bincount(np.floor(lead).astype(np.int64), minlength=options.lead_weeks + 1)
    return pd.DataFrame({"weeks": np.arange(len(counts)), "churns": counts})


def _quarter_origins(days: np.ndarray, fsm: int) -> np.ndarray:
    """The first evaluation day of each fiscal quarter (`days` ascending)."""
    if not len(days):
        return days
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    quarters = (months - (fsm - 1)) // 3
    first = np.r_[True, quarters[1:] != quarters[:-1]]
    return days[first]


def _survival(origin: np.ndarray, band: np.ndarray, next_churn: np.ndarray, as_of: dt.date,
              options: Options) -> tuple[pd.DataFrame, pd.DataFrame, float | None]:
    """Kaplan–Meier by band (lifelines) of days from each quarter's first evaluation day to
    the next churn, censored at as_of; the survival at the horizon; the log-rank p-value.
    Equal (band, duration, churned) rows go to lifelines once, with their count as weight —
    the same estimates, intervals and test as one row each."""
    end = (as_of - _EPOCH).days
    event = next_churn != _NO_CHURN
    duration = np.where(event, next_churn.astype(np.int64), end) - origin
    rows, counts = np.unique(np.column_stack([band.astype(np.int64), event, duration]), axis=0,
                             return_counts=True)
    band, event, duration = rows[:, 0], rows[:, 1].astype(bool), rows[:, 2]
    curves, summary = [], []
    alpha = 1 - options.confidence
    for code, name in enumerate(BANDS):
        mine = band == code
        if not mine.any():
            continue
        fitter = KaplanMeierFitter(alpha=alpha).fit(duration[mine], event[mine],
                                                     weights=counts[mine])
        interval = fitter.confidence_interval_survival_function_
        curves.append(pd.DataFrame({
            "band": name, "weeks": fitter.timeline / 7.0,
            "survival": fitter.survival_function_.iloc[:, 0].to_numpy(),
            "ci_low": interval.iloc[:, 0].to_numpy(), "ci_high": interval.iloc[:, 1].to_numpy()}))
        at = np.searchsorted(fitter.timeline, options.horizon_days, side="right") - 1
        churned = event[mine] & (duration[mine] <= options.horizon_days)
        summary.append({"band": name, "origins": int(counts[mine].sum()),
                        "churned": int(counts[mine][churned].sum()),
                        "survival_at_horizon": float(fitter.survival_function_.iloc[at, 0]),
                        "ci_low": float(interval.iloc[at, 0]),
                        "ci_high": float(interval.iloc[at, 1])})
    p_value = None
    if len(curves) > 1 and event.any():
        p_value = float(multivariate_logrank_test(duration, band, event,
                                                  weights=counts).p_value)
    return (pd.concat(curves, ignore_index=True) if curves
            else pd.DataFrame(columns=SURVIVAL_COLUMNS),
            pd.DataFrame(summary, columns=SURVIVAL_BY_BAND_COLUMNS), p_value)


SCORE_STEPS = 100  # component scores are compared to the 0.01 point (0–100 → 0–10,000)


def _components(scores: np.ndarray, churned: np.ndarray, overall: float,
                options: Options) -> pd.DataFrame:
    """Per component, the account-weeks with data in quarters by the rank of their score:
    quartile q holds the scores whose middle rank falls in the q-th quarter of the ranks.
    Equal scores (to 0.01 point) share one quartile — a component scoring 100 for most weeks
    puts them all in one — so a quartile may hold more or fewer than a quarter; one holding
    none is left out."""
    frames = []
    size = 100 * SCORE_STEPS + 1
    for j, name in enumerate(HEALTH_COMPONENTS):
        values = scores[:, j]
        has = ~np.isnan(values)
        steps = np.clip(np.rint(values[has] * SCORE_STEPS), 0, size - 1).astype(np.int64)
        outcome = churned[has]
        if not len(steps):
            continue
        counts = np.bincount(steps, minlength=size)
        middle_rank = (np.cumsum(counts) - counts / 2) / len(steps)
        quartile_of_step = np.minimum((middle_rank * 4).astype(np.int64), 3)
        quartile = quartile_of_step[steps]
        n = np.bincount(quartile, minlength=4)
        c = np.bincount(quartile[outcome], minlength=4)
        present = counts > 0
        low = [_first_step(present & (quartile_of_step == q)) for q in range(4)]
        high = [_first_step(present & (quartile_of_step == q), last=True) for q in range(4)]
        frame = pd.DataFrame({"component": name, "quartile": [1, 2, 3, 4], "low": low,
                              "high": high, "n": n, "churned": c,
                              **_rate_columns(n, c, overall, options)})
        frames.append(frame[frame["n"] > 0])
    return (pd.concat(frames, ignore_index=True) if frames
            else pd.DataFrame(columns=COMPONENT_COLUMNS))[COMPONENT_COLUMNS]


def _first_step(chosen: np.ndarray, last: bool = False) -> float | None:
    """The lowest (or highest) score step chosen, as a score; None when none is."""
    found = np.flatnonzero(chosen)
    if not len(found):
        return None
    return float(found[-1 if last else 0]) / SCORE_STEPS


def _carriers(churns: pd.DataFrame) -> pd.DataFrame:
    """The top detractor on the first 🟠/🔴 week of each warned churn, counted."""
    warned = churns.loc[churns["warned"], "warned_by"]
    total = len(warned)
    rows = [{"component": c, "churns": int((warned == c).sum())} for c in HEALTH_COMPONENTS]
    frame = pd.DataFrame(rows, columns=["component", "churns"])
    frame["share"] = frame["churns"] / total if total else None
    return frame.sort_values("churns", ascending=False, kind="stable", ignore_index=True)


def _configured_weights(snap) -> dict[str, float]:
    """The component weights the snapshot's scores were computed with."""
    return dict(snap.rows("SELECT component, weight FROM params_health_weights "
                          "ORDER BY component_order"))


def _alternatives(snap, bits: np.ndarray, warned: np.ndarray, churned: np.ndarray,
                  overall: float, options: Options) -> pd.DataFrame:
    """The recorded score (component None) and each weight alternative: share of account-weeks
    🟠/🔴, precision, recall, lift of 🟠/🔴 (precision / overall rate), F1, and the settings line
    that would adopt it (under [health.weights])."""
    weights = _configured_weights(snap)
    churned_total = int(churned.sum())

    def scores(flags: np.ndarray) -> dict:
        hits = int((flags & churned).sum())
        precision = _ratio(hits, int(flags.sum()))
        recall = _ratio(hits, churned_total)
        f1 = (2 * precision * recall / (precision + recall)
              if precision and recall else None)
        return {"warned_share": float(flags.mean()), "precision": precision, "recall": recall,
                "lift": None if precision is None or not overall else precision / overall,
                "f1": f1}

    rows = [{"component": None, "factor": None, "weight": None, "new_weight": None,
             **scores(warned), "config_line": None}]
    for k, (component, factor) in enumerate(alternatives_of(options)):
        weight = weights.get(component, 0.0)
        new_weight = weight * factor
        rows.append({"component": component, "factor": factor, "weight": weight,
                     "new_weight": new_weight, **scores((bits >> k) & 1 == 1),
                     "config_line": f"{component} = {new_weight:g}"})
    return pd.DataFrame(rows, columns=ALTERNATIVE_COLUMNS)


def best_alternative(alternatives: pd.DataFrame) -> dict | None:
    """The weight alternative with the highest F1 of 🟠/🔴 (precision and recall together), when
    it beats the current weights' F1; None otherwise."""
    current = alternatives.iloc[0]["f1"]
    rows = alternatives.iloc[1:].dropna(subset=["f1"])
    if rows.empty:
        return None
    best = rows.loc[rows["f1"].idxmax()]
    if pd.notna(current) and best["f1"] <= current:
        return None
    return best.to_dict()


def weights_section(snap, alternative: dict) -> str:
    """The [health.weights] section of the settings file that adopts `alternative` (a row of
    `Backtest.alternatives`): every component's weight, the changed one marked."""
    weights = _configured_weights(snap)
    lines = ["[health.weights]"]
    for component in HEALTH_COMPONENTS:
        weight = weights.get(component, 0.0)
        if component == alternative["component"]:
            lines.append(f"{component} = {alternative['new_weight']:g}  # was {weight:g}")
        else:
            lines.append(f"{component} = {weight:g}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- JSON


def as_json(result: Backtest) -> dict:
    """The backtest as JSON-ready values (CLI `health backtest --format json`): the keys
    as_of, horizon_days, evaluation_days, bands {band: n, churned, rate, ci90, lift},
    overall_rate, precision, recall, lead_time_weeks {median, q1, q3, warned, not_warned},
    logrank_p, churned_accounts, components {component: [quartiles]} — and the details behind
    them (evidence, survival, churns not warned, carriers, weight alternatives)."""
    options = result.options
    ci_key = f"ci{round(options.confidence * 100)}"
    bands = {r["band"]: {"n": int(r["n"]), "churned": int(r["churned"]), "rate": r["rate"],
                         ci_key: _interval(r["ci_low"], r["ci_high"]), "lift": r["lift"],
                         "accounts": int(r["accounts"]),
                         "churned_accounts": int(r["churned_accounts"])}
             for r in result.bands.to_dict("records")}
    components: dict[str, list] = {}
    for r in result.components.to_dict("records"):
        components.setdefault(r["component"], []).append({
            "quartile": int(r["quartile"]), "low": _value(r["low"]), "high": _value(r["high"]),
            "n": int(r["n"]), "churned": int(r["churned"]), "rate": _value(r["rate"]),
            ci_key: _interval(r["ci_low"], r["ci_high"]), "lift": _value(r["lift"])})
    not_warned = result.churns[~result.churns["warned"].astype(bool)]
    filters = result.filters
    return _json_ready({
        "as_of": result.as_of.isoformat(),
        "horizon_days": options.horizon_days,
        "evaluation_days": [d.isoformat() for d in result.evaluation_days],
        "filters": None if filters is None or filters.is_empty
        else dataclasses.asdict(filters),
        "account_weeks": result.account_weeks,
        "accounts": result.accounts,
        "churned_weeks": result.churned_weeks,
        "bands": bands,
        "overall_rate": result.overall_rate,
        f"overall_{ci_key}": _interval(*result.overall_ci),
        "precision": result.precision,
        "recall": result.recall,
        "warned_weeks": result.warned_weeks,
        "lead_time_weeks": result.lead_time,
        "logrank_p": result.logrank_p,
        "survival_at_horizon": {r["band"]: {"origins": int(r["origins"]),
                                            "churned": int(r["churned"]),
                                            "survival": r["survival_at_horizon"],
                                            ci_key: _interval(r["ci_low"], r["ci_high"])}
                                for r in result.survival_by_band.to_dict("records")},
        "churned_accounts": result.churned_accounts,
        "churns": len(result.churns),
        "evidence": {"churned_accounts": result.churned_accounts,
                     "minimum": options.min_churned_accounts,
                     "enough": result.enough_evidence},
        "components": components,
        "not_warned": [{"account_id": r["account_id"], "name": _value(r["name"]),
                        "churn_day": _iso(r["churn_day"]), "last_day": _iso(r["last_day"]),
                        "last_score": _value(r["last_score"]),
                        "last_band": _value(r["last_band"])}
                       for r in not_warned.to_dict("records")],
        "carriers": None if not result.enough_evidence else
        {r["component"]: int(r["churns"]) for r in result.carriers.to_dict("records")},
        "weight_alternatives": None if result.alternatives is None else [
            {k: _value(v) for k, v in r.items()}
            for r in result.alternatives.to_dict("records")],
    })


def _json_ready(value):
    """Numbers as plain Python values, NaN (a rate without a base, in a frame) as None."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return _value(value)


def _value(value):
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _interval(low, high) -> list | None:
    low, high = _value(low), _value(high)
    return None if low is None or high is None else [low, high]


def _iso(value) -> str | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    return pd.Timestamp(value).date().isoformat()
