"""What every metric shares: the account × month MRR spine it reads (as a SQL common table
expression), the as-of date, and small value helpers.

Every revenue and churn metric is an aggregate over `fct_account_mrr_monthly` (models/11_*.sql).
For the snapshot's own as-of date that table is read directly; for an earlier as-of date the
same definition is recomputed in SQL through the snapshot's `account_mrr_as_of(date)` macro, so
both paths share one definition. Filters restrict the accounts.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics.filters import Filters, condition
from cs_analytics.metrics.periods import Period, month_start
from cs_analytics.warehouse.models.parameters import MRR_EPSILON

SPINE_TABLE = "fct_account_mrr_monthly"


@dataclass(frozen=True)
class Spine:
    """`WITH {cte} SELECT … FROM spine …` with `params` (named parameters)."""

    as_of: dt.date
    cte: str
    params: dict

    @property
    def as_of_month(self) -> dt.date:
        return month_start(self.as_of)

    def with_params(self, **more) -> dict:
        return {**self.params, **more}


def resolve_as_of(snap, as_of: dt.date | None) -> dt.date:
    """The as-of date a metric uses: the snapshot's own unless an earlier one is asked for."""
    if as_of is None:
        return snap.as_of
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    if as_of > snap.as_of:
        raise CsAnalyticsError(
            f"as-of date {as_of.isoformat()} is after this snapshot's data as-of "
            f"{snap.as_of.isoformat()}; refresh the data or choose an earlier date")
    return as_of


def fiscal_year_start_month(snap) -> int:
    """The fiscal year start month the snapshot was built with (its `params` table)."""
    return int(snap.fact("fiscal_year_start_month",
                         "SELECT fiscal_year_start_month FROM params"))


def spine(snap, as_of: dt.date | None = None, filters: Filters | None = None,
          months: tuple[dt.date, dt.date] | None = None) -> Spine:
    """The spine CTE for the as-of date, restricted to the filtered accounts and, with
    `months=(first, last)`, to the rows of those months: a metric that reads a few months of
    the three years says so, and the CTE — materialized when the query reads it twice — holds
    only those rows."""
    as_of = resolve_as_of(snap, as_of)
    where, params = condition(filters, snap, "s.account_id")
    params = {**params, "eps": MRR_EPSILON}
    if months is not None:
        where += " AND s.month BETWEEN $spine_first_month AND $spine_last_month"
        params["spine_first_month"], params["spine_last_month"] = (month_start(months[0]),
                                                                  month_start(months[1]))
    if as_of == snap.as_of:
        body = f"SELECT s.* FROM {SPINE_TABLE} s WHERE {where}"
        cte = f"spine AS ({body})"
    else:
        body = (f"SELECT s.* FROM account_mrr_as_of(CAST($spine_as_of AS DATE)) s "
                f"WHERE {where}")
        params["spine_as_of"] = as_of
        cte = f"spine AS MATERIALIZED ({body})"
    return Spine(as_of, cte, params)


def check_period(period: Period, as_of: dt.date) -> None:
    """A period must have started by the as-of date."""
    if period.first_month > month_start(as_of):
        raise CsAnalyticsError(
            f"period {period.label} starts after the as-of date {as_of.isoformat()}")


def ratio(numerator, denominator) -> float | None:
    """numerator / denominator, or None when the denominator is 0 (a rate with no base)."""
    if denominator is None or numerator is None or denominator == 0:
        return None
    return float(numerator) / float(denominator)


def plain(value):
    """numpy / pandas scalars → plain Python values: Timestamp → date, NaN / NaT / NA → None."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def json_value(value):
    """A JSON-ready python value: dates as ISO strings, NaN/NaT as None."""
    value = plain(value)
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def as_date(value) -> dt.date:
    """A DATE read back through pandas (Timestamp or date) → datetime.date."""
    return value.date() if isinstance(value, dt.datetime) else value


def date_column(days: list[dt.date]) -> pd.Series:
    """Dates as the datetime64[us] column a DuckDB DATE reads back as (for a frame computed
    in Python that stands for a query's)."""
    return pd.Series(np.array(days, dtype="datetime64[D]").astype("datetime64[us]"))


def stable_types(frame: pd.DataFrame, text: tuple[str, ...] = (),
                 ints: tuple[str, ...] = ()) -> pd.DataFrame:
    """`frame` with the `text` columns as text (str) and the `ints` columns as nullable
    integers (Int32) whatever rows it holds: DuckDB types a text column without any value as
    object and an INTEGER column without a NULL as int32, so a list restricted to some
    accounts would otherwise not have the types of the whole list."""
    return frame.astype({**{c: "str" for c in text}, **{c: "Int32" for c in ints}})


def query(snap, sql: str, params: dict):
    """snap.query with only the named parameters the SQL uses (DuckDB rejects extra ones)."""
    used = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", sql))
    return snap.query(sql, {k: v for k, v in params.items() if k in used})
