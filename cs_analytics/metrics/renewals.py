"""Renewals (SPEC §4 "Renewals", "Renewals due"): every contract due in a window with its
status — signed, lost, pending, at risk —, its notice deadline and its forecast; the sums the
pages, the KPI report and the CLI show (due, signed, lost, pending and at-risk ARR, renewal
rate, forecast renewing ARR with its range); the notice-deadline radar, the reminder list for
the renewal-reminder mail and P(renew) by band.

Statuses, notice deadlines and the forecast are defined once, by the SQL models 14 and 50
(`int_contract_renewal`, `fct_renewals`, `fct_renewal_probabilities`), on the snapshot's
as-of date; this module selects their rows and sums them. Each row of a list belongs to one
account: the lists are held per account (`metrics.held.per_account`, a filter keeps its
accounts' rows), and every figure is a sum over the rows it is given (`summary_of`,
`by_quarter_of`; `due_summary` and `due_by_quarter` sum the held rows a filter keeps where
they are).
Definitions and a worked example: docs/metrics.md "Renewals".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from cs_analytics.metrics import periods as P
from cs_analytics.metrics.base import fiscal_year_start_month, query, ratio, stable_types
from cs_analytics.metrics.filters import Filters, condition, mask
from cs_analytics.metrics.held import HeldRows, per_account
from cs_analytics.metrics.periods import Period

# Statuses in the order lists show them: what needs action first.
STATUSES = ("at_risk", "pending", "lost", "signed")
# How a renewal counts as signed (fct_renewals.signed_by).
SIGNED_BY = ("contract", "outcome", "auto_renew")
# Forecast buckets (fct_renewal_probabilities.bucket), in the order they are shown.
BUCKETS = ("healthy", "caution", "warning", "danger", "unscored", "notice_given")
# Why a pending renewal is at risk (the list's risk_reasons, comma-separated).
RISK_REASONS = ("band", "signal", "notice")

MART = "fct_renewals"

# One row per contract due; docs/metrics.md "Renewals" describes each column.
COLUMNS = ["contract_id", "account_id", "name", "owner_id", "owner_name", "owner_email",
           "start_date", "end_date", "days_to_end", "mrr", "arr", "type", "auto_renew",
           "renewal_kind", "notice_days", "notice_deadline", "days_to_notice_deadline", "notice_date",
           "notice_given", "status", "signed_by", "following_contract_id", "account_churned",
           "band", "score", "last_contact_date", "signals", "risk_reasons", "bucket", "p_renew",
           "p_low", "p_high", "expected_arr", "expected_arr_low", "expected_arr_high",
           "at_stake_arr"]

_TEXT_COLUMNS = ("contract_id", "account_id", "name", "owner_id", "owner_name", "owner_email",
                 "type", "renewal_kind", "status", "signed_by", "following_contract_id", "band",
                 "signals", "risk_reasons", "bucket")
_INT_COLUMNS = ("days_to_end", "notice_days", "days_to_notice_deadline")
_STATUS_RANK = "list_position(['" + "', '".join(STATUSES) + "'], r.status)"


def _rows(snap, where_sql: str, params: dict, filters: Filters | None,
          order_sql: str) -> pd.DataFrame:
    """fct_renewals rows matching `where_sql` for the filtered accounts, with the account's
    name and owner, in `order_sql` order (COLUMNS)."""
    where, filter_params = condition(filters, snap, "r.account_id")
    return stable_types(query(snap, f"""
        SELECT r.contract_id, r.account_id, a.name, a.owner_id,
               coalesce(u.name, a.owner_id) AS owner_name, u.email AS owner_email,
               r.start_date, r.end_date, CAST(r.end_date - $as_of AS INTEGER) AS days_to_end,
               r.mrr, r.arr, r.type, r.auto_renew,
               CASE WHEN r.auto_renew THEN 'auto' ELSE 'manual' END AS renewal_kind,
               r.notice_days, r.notice_deadline,
               CAST(r.notice_deadline - $as_of AS INTEGER) AS days_to_notice_deadline,
               r.notice_date, r.notice_given, r.status, r.signed_by, r.following_contract_id,
               r.account_churned, r.band, r.score, r.last_contact_date, r.signals,
               CASE WHEN r.status = 'at_risk' THEN concat_ws(',',
                   CASE WHEN r.risk_band THEN 'band' END,
                   CASE WHEN r.risk_signal THEN 'signal' END,
                   CASE WHEN r.risk_notice THEN 'notice' END) END AS risk_reasons,
               r.bucket, r.p_renew, r.p_low, r.p_high, r.expected_arr, r.expected_arr_low,
               r.expected_arr_high, r.at_stake_arr
        FROM {MART} r
        LEFT JOIN accounts a ON a.account_id = r.account_id
        LEFT JOIN users u ON u.user_id = a.owner_id
        WHERE ({where_sql}) AND {where}
        ORDER BY {order_sql}, r.contract_id""", {**params, **filter_params, "as_of": snap.as_of}),
        text=_TEXT_COLUMNS, ints=_INT_COLUMNS)


@per_account
def contracts_due(snap, first_day: dt.date, last_day: dt.date,
                  filters: Filters | None = None) -> pd.DataFrame:
    """Renewals due from `first_day` to `last_day` (end_date in that range), with their status
    on the as-of date: at risk first, then pending — each by ARR at stake (ARR × (1 − P(renew)),
    the ARR the forecast expects to lose), largest first —, then lost and signed by ARR."""
    return _rows(snap, "r.end_date BETWEEN $first_day AND $last_day",
                 {"first_day": first_day, "last_day": last_day}, filters,
                 f"{_STATUS_RANK}, r.at_stake_arr DESC NULLS LAST, r.arr DESC, r.end_date")


@per_account
def due_in(snap, period: Period, filters: Filters | None = None) -> pd.DataFrame:
    """`contracts_due` of a period (end_date within its months)."""
    return contracts_due(snap, period.start_date, period.end_date, filters)


def due_in_list(contracts: pd.DataFrame, period: Period) -> pd.DataFrame:
    """The rows of a `contracts_due` list due in `period`, in the list's order: what
    `due_in` gives for that period when the list covers it."""
    days = pd.to_datetime(contracts["end_date"])
    keep = (days >= pd.Timestamp(period.start_date)) & (days <= pd.Timestamp(period.end_date))
    return contracts[keep.to_numpy()].reset_index(drop=True)


@per_account
def notice_radar(snap, days: int, filters: Filters | None = None) -> pd.DataFrame:
    """Pending and at-risk renewals that renew by themselves, with no notice given, whose
    notice deadline is within `days` of the as-of date (the as-of date included): the last
    days to talk the customer out of cancelling. Most urgent first (deadline, then ARR)."""
    return _rows(snap, "r.status IN ('pending', 'at_risk') AND r.auto_renew "
                       "AND NOT r.notice_given "
                       "AND r.notice_deadline BETWEEN $as_of AND $as_of + $days",
                 {"days": days}, filters, "r.notice_deadline, r.arr DESC")


@per_account
def reminders(snap, min_days: int, max_days: int,
              filters: Filters | None = None) -> pd.DataFrame:
    """The renewal-reminder mail's list: renewals ending `min_days` to `max_days` days after
    the as-of date (both included) that no contract has renewed yet and whose customer has not
    given notice — pending, at risk, or renewing by themselves (signed_by 'auto_renew', not
    booked yet). By end date, then account."""
    return _rows(snap, "r.end_date BETWEEN $as_of + $min_days AND $as_of + $max_days "
                       "AND (r.status IN ('pending', 'at_risk') OR r.signed_by = 'auto_renew') "
                       "AND NOT r.notice_given",
                 {"min_days": min_days, "max_days": max_days}, filters,
                 "r.end_date, a.name")


# The reminder CSV for the mail tool: fixed ASCII headers, one row per account and end date
# (an upsell ending with its base contract is one mail, not two).
REMINDER_CSV_COLUMNS = ["account_id", "account_name", "end_date", "days_to_end", "contract_ids",
                        "arr", "auto_renew", "notice_deadline", "status", "owner_name",
                        "owner_email"]


def reminder_csv_frame(reminders_list: pd.DataFrame) -> pd.DataFrame:
    """`reminders` as the rows of the mail tool's CSV (REMINDER_CSV_COLUMNS): one row per
    account and end date — its contract ids joined by ';', ARR summed in whole yen, auto_renew
    when any of them renews by itself, the earliest notice deadline, the most urgent status —,
    dates as ISO text; in the list's order."""
    rows: dict[tuple, dict] = {}
    for r in reminders_list.to_dict("records"):
        end = pd.Timestamp(r["end_date"]).date()
        row = rows.setdefault((r["account_id"], end), {
            "account_id": r["account_id"], "account_name": r["name"],
            "end_date": end.isoformat(), "days_to_end": r["days_to_end"], "contract_ids": [],
            "arr": 0.0, "auto_renew": False, "notice_deadline": None, "status": r["status"],
            "owner_name": r["owner_name"], "owner_email": r["owner_email"]})
        row["contract_ids"].append(r["contract_id"])
        row["arr"] += float(r["arr"])
        row["auto_renew"] = row["auto_renew"] or bool(r["auto_renew"])
        if not pd.isna(r["notice_deadline"]):
            deadline = pd.Timestamp(r["notice_deadline"]).date().isoformat()
            row["notice_deadline"] = min(filter(None, (row["notice_deadline"], deadline)))
        if STATUSES.index(r["status"]) < STATUSES.index(row["status"]):
            row["status"] = r["status"]
    out = pd.DataFrame(list(rows.values()), columns=REMINDER_CSV_COLUMNS)
    out["contract_ids"] = [";".join(ids) for ids in out["contract_ids"]]
    out["arr"] = [int(round(v)) for v in out["arr"]]
    return out


def probabilities(snap) -> pd.DataFrame:
    """P(renew) per forecast bucket (fct_renewal_probabilities): bucket, renewals, renewed,
    rate, ci_low, ci_high (90% Wilson), source ('history' or 'default'), p, p_low, p_high,
    default_p; in BUCKETS order."""
    return snap.query("SELECT * FROM fct_renewal_probabilities")


# ---------------------------------------------------------------------------- sums


@dataclass(frozen=True)
class RenewalSummary:
    """What a list of renewals due adds up to (amounts are ARR, yen, unrounded).

    pending_* counts every undecided renewal, at-risk ones included; at_risk_* only those.
    renewal_rate = signed ARR / (signed + lost ARR), None when nothing is decided.
    forecast_arr = Σ pending ARR × P(renew) (low/high: at the ends of each bucket's range);
    expected_arr = signed ARR + forecast_arr; expected_rate = expected_arr / due ARR.
    """

    due_count: int
    due_arr: float
    signed_count: int
    signed_arr: float
    auto_renew_count: int
    auto_renew_arr: float
    lost_count: int
    lost_arr: float
    pending_count: int
    pending_arr: float
    at_risk_count: int
    at_risk_arr: float
    renewal_rate: float | None
    forecast_arr: float
    forecast_low: float
    forecast_high: float
    expected_arr: float
    expected_rate: float | None

    def as_dict(self) -> dict:
        return asdict(self)


SUMMARY_FIELDS = [name for name in RenewalSummary.__dataclass_fields__]


def _totals(rows: HeldRows, at: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """Every RenewalSummary figure per group, for `rows` (a list's, or the rows held for it)
    in groups `at` (0..size−1; −1: none)."""
    keep = at >= 0
    at = at[keep]
    arr = rows.numbers("arr")[keep]
    auto = rows.isin("signed_by", ("auto_renew",))[keep]

    def values(column):
        return np.nan_to_num(rows.numbers(column)[keep])

    def count(mask):
        return np.bincount(at[mask], minlength=size).astype(np.int64)

    def total(weights):
        return np.bincount(at, weights=weights, minlength=size).astype(np.float64)

    signed, lost = rows.isin("status", ("signed",))[keep], rows.isin("status", ("lost",))[keep]
    at_risk = rows.isin("status", ("at_risk",))[keep]
    pending = rows.isin("status", ("pending",))[keep] | at_risk
    out = {
        "due_count": count(np.ones(len(at), dtype=bool)), "due_arr": total(arr),
        "signed_count": count(signed), "signed_arr": total(arr * signed),
        "auto_renew_count": count(signed & auto), "auto_renew_arr": total(arr * (signed & auto)),
        "lost_count": count(lost), "lost_arr": total(arr * lost),
        "pending_count": count(pending), "pending_arr": total(arr * pending),
        "at_risk_count": count(at_risk), "at_risk_arr": total(arr * at_risk),
        "forecast_arr": total(values("expected_arr") * pending),
        "forecast_low": total(values("expected_arr_low") * pending),
        "forecast_high": total(values("expected_arr_high") * pending),
    }
    decided = out["signed_arr"] + out["lost_arr"]
    out["renewal_rate"] = np.array([ratio(s, d) if d > 0 else None
                                    for s, d in zip(out["signed_arr"], decided)], dtype=object)
    out["expected_arr"] = out["signed_arr"] + out["forecast_arr"]
    out["expected_rate"] = np.array([ratio(e, d) for e, d in zip(out["expected_arr"],
                                                                  out["due_arr"])],
                                    dtype=object)
    return out


def summary_of(contracts: pd.DataFrame) -> RenewalSummary:
    """The figures of a list of renewals due (`contracts_due`, restricted or not)."""
    return _summary(_totals(HeldRows(contracts, by_account=False),
                            np.zeros(len(contracts), dtype=np.int64), 1))


def due_summary(snap, period: Period, filters: Filters | None = None) -> RenewalSummary:
    """`summary_of(due_in(snap, period, filters))`: summed over the rows of `due_in` held for
    the period that `filters` keeps, without copying them out."""
    rows = due_in.rows(snap, period)
    kept = mask(filters, snap, rows)
    return _summary(_totals(rows, np.zeros(rows.size, dtype=np.int64) if kept is None
                            else np.where(kept, 0, -1), 1))


def _summary(totals: dict[str, np.ndarray]) -> RenewalSummary:
    return RenewalSummary(**{name: _plain(totals[name][0]) for name in SUMMARY_FIELDS})


def summary_at(by_quarter: pd.DataFrame, position: int) -> RenewalSummary:
    """The `summary_of` of one quarter of a `by_quarter_of` table: its row `position`."""
    row = by_quarter.iloc[position]
    return RenewalSummary(**{name: _plain(row[name]) for name in SUMMARY_FIELDS})


def by_quarter_of(contracts: pd.DataFrame, quarters: list[Period]) -> pd.DataFrame:
    """`summary_of` per quarter of end_date, one row per quarter (zeros where nothing is due):
    quarter, quarter_start, quarter_end and every RenewalSummary field."""
    return _by_quarter(HeldRows(contracts, by_account=False), quarters)


def due_by_quarter(snap, quarters: list[Period], filters: Filters | None = None) -> pd.DataFrame:
    """`by_quarter_of` the renewals due in `quarters` (`contracts_due` over their span) of the
    accounts `filters` selects: summed over the held rows the filter keeps, without copying
    them out first."""
    rows = contracts_due.rows(snap, **span(quarters))
    return _by_quarter(rows, quarters, kept=mask(filters, snap, rows))


def _by_quarter(rows: HeldRows, quarters: list[Period],
                kept: np.ndarray | None = None) -> pd.DataFrame:
    """`by_quarter_of` over `rows`, counting only the rows `kept` (a bool per row; all for
    None)."""
    starts = np.array([q.start_date for q in quarters], dtype="datetime64[D]")
    ends = np.array([q.end_date for q in quarters], dtype="datetime64[D]")
    days = rows.memo(("days", "end_date"), lambda: pd.to_datetime(
        rows.frame()["end_date"]).to_numpy().astype("datetime64[D]"))
    at = np.searchsorted(starts, days, side="right") - 1
    inside = (at >= 0) & (days <= ends[np.clip(at, 0, len(quarters) - 1)]) if len(quarters) \
        else np.zeros(len(days), dtype=bool)
    if kept is not None:
        inside &= kept
    totals = _totals(rows, np.where(inside, at, -1), len(quarters))
    return pd.DataFrame({"quarter": [q.label for q in quarters],
                         "quarter_start": [q.start_date for q in quarters],
                         "quarter_end": [q.end_date for q in quarters],
                         **{name: totals[name] for name in SUMMARY_FIELDS}})


def _plain(value):
    if value is None:
        return None
    return value.item() if hasattr(value, "item") else value


# ---------------------------------------------------------------------------- windows


def quarters_from(snap, first: int, count: int) -> list[Period]:
    """`count` fiscal quarters starting `first` quarters after the as-of quarter (0: the as-of
    quarter; −8: eight quarters before it)."""
    fsm = fiscal_year_start_month(snap)
    current = P.period_containing("quarter", snap.as_of, fsm)
    return [P.shift(current, first + i, fsm) for i in range(count)]


def span(quarters: list[Period]) -> dict:
    """The `contracts_due` window covering `quarters`: {first_day, last_day}."""
    return {"first_day": quarters[0].start_date, "last_day": quarters[-1].end_date}
