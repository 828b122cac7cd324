"""Account filters shared by every metric: owner, segment, industry (the sidebar filters).

A filter restricts which accounts a metric reads, by their current attributes: the account's
current owner and industry (accounts table) and its current segment (fct_segment_current, built
by the health models). Empty means "all accounts".
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cs_analytics.errors import CsAnalyticsError

if TYPE_CHECKING:
    import pandas as pd

SEGMENT_TABLE = "fct_segment_current"


@dataclass(frozen=True)
class Filters:
    owner_ids: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()

    def __post_init__(self):
        # Accept lists from callers (query params, click options) but stay hashable.
        for name in ("owner_ids", "segments", "industries"):
            object.__setattr__(self, name, tuple(getattr(self, name) or ()))

    @property
    def is_empty(self) -> bool:
        return not (self.owner_ids or self.segments or self.industries)

    def sql(self, snap, column: str = "account_id") -> tuple[str, dict]:
        """A boolean SQL condition on `column` (an account id) and its named parameters.

        Parameter names start with `filter_`; combine with other named parameters freely.
        A segment filter on a snapshot without segments is an error, not a silent no-op.
        """
        conditions, params = [], {}
        if self.owner_ids:
            conditions.append(
                f"{column} IN (SELECT account_id FROM accounts "
                f"WHERE list_contains(CAST($filter_owner_ids AS VARCHAR[]), owner_id))")
            params["filter_owner_ids"] = list(self.owner_ids)
        if self.industries:
            conditions.append(
                f"{column} IN (SELECT account_id FROM accounts "
                f"WHERE list_contains(CAST($filter_industries AS VARCHAR[]), industry))")
            params["filter_industries"] = list(self.industries)
        if self.segments:
            if not snap.has_table(SEGMENT_TABLE):
                raise no_segments_error()
            conditions.append(
                f"{column} IN (SELECT account_id FROM {SEGMENT_TABLE} "
                f"WHERE list_contains(CAST($filter_segments AS VARCHAR[]), segment))")
            params["filter_segments"] = list(self.segments)
        return (" AND ".join(conditions) or "TRUE"), params


def no_segments_error() -> CsAnalyticsError:
    """A segment filter on a snapshot built without segments."""
    return CsAnalyticsError(
        "cannot filter by segment: this snapshot has no segments yet "
        f"(table {SEGMENT_TABLE} is missing); refresh the data or remove the segment filter")


def condition(filters: Filters | None, snap, column: str = "account_id") -> tuple[str, dict]:
    """`filters.sql(...)`, or no restriction when filters is None."""
    return ("TRUE", {}) if filters is None else filters.sql(snap, column)


# ---------------------------------------------------------------- per-account lists, restricted
#
# A filter restricts which accounts a metric reads. For a list whose rows each belong to one
# account and do not depend on the other accounts (an account's signals, its stale records,
# its place in a portfolio, its contracts due), the filtered list is the unfiltered one
# restricted to the accounts the filter selects, in the same order: the pages compute such a
# list once per snapshot and restrict it on each filter change, selecting the ids from the
# accounts' attributes held in memory instead of running the list's own joins
# (tests/test_metrics_demo.py and tests/test_app_metrics.py compare the two for every list
# read this way). A total over such a list is then taken from the restricted rows.


@dataclass(frozen=True)
class Attribute:
    """One account attribute as codes: account i has value v when codes[i] == values[v];
    -1 when it has none."""

    codes: np.ndarray
    values: dict[str, int]

    @classmethod
    def of(cls, column: list) -> "Attribute":
        values: dict[str, int] = {}
        codes = np.array([-1 if v is None else values.setdefault(v, len(values))
                          for v in column], dtype=np.int64)
        return cls(codes, values)

    def isin(self, wanted: tuple[str, ...]) -> np.ndarray:
        """The accounts whose value is one of `wanted` (never those without a value)."""
        # chosen[code] for every account; code -1 (no value) reads the last entry, False.
        chosen = np.zeros(len(self.values) + 1, dtype=bool)
        chosen[[self.values[v] for v in wanted if v in self.values]] = True
        return chosen[self.codes]


@dataclass(frozen=True)
class AccountAttributes:
    """The attributes the filters select on, for a list of accounts: the current owner and
    industry (accounts table) and the current segment (fct_segment_current; None when the
    snapshot has no segments)."""

    account_ids: list[str]
    owner: Attribute
    industry: Attribute
    segment: Attribute | None

    @classmethod
    def of(cls, rows: list[tuple], has_segments: bool) -> "AccountAttributes":
        """From rows starting (account_id, owner_id, industry, segment)."""
        return cls([r[0] for r in rows], Attribute.of([r[1] for r in rows]),
                   Attribute.of([r[2] for r in rows]),
                   Attribute.of([r[3] for r in rows]) if has_segments else None)

    @functools.cached_property
    def id_array(self) -> pa.Array:
        """The account ids as Arrow text, to find rows' accounts by (`AccountList`)."""
        return pa.array(self.account_ids, type=pa.string())

    def selected(self, filters: Filters | None) -> np.ndarray:
        """For each account, whether `filters` selects it — what `Filters.sql` selects."""
        chosen = np.ones(len(self.account_ids), dtype=bool)
        if filters is not None:
            if filters.owner_ids:
                chosen &= self.owner.isin(filters.owner_ids)
            if filters.industries:
                chosen &= self.industry.isin(filters.industries)
            if filters.segments:
                if self.segment is None:
                    raise no_segments_error()
                chosen &= self.segment.isin(filters.segments)
        return chosen


def attributes_sql(snap, accounts: str, also: str = "") -> str:
    """SELECT account_id, owner_id, industry, segment for the accounts of `accounts` (a table
    or table function with an account_id column, aliased `x` here), then the aggregates `also`
    (say, ", min(x.month)") over each account's rows, in account id order."""
    has_segments = snap.has_table(SEGMENT_TABLE)
    return f"""
        SELECT x.account_id, any_value(a.owner_id), any_value(a.industry),
               {"any_value(g.segment)" if has_segments else "NULL"}{also}
        FROM {accounts} x
        LEFT JOIN accounts a USING (account_id)
        {f"LEFT JOIN {SEGMENT_TABLE} g USING (account_id)" if has_segments else ""}
        GROUP BY x.account_id
        ORDER BY x.account_id"""


def account_attributes(snap) -> AccountAttributes:
    """The filter attributes of every account of the accounts table, read once per snapshot
    file (its `derived` values) and as the snapshot has or lacks segments."""
    has_segments = snap.has_table(SEGMENT_TABLE)

    def load() -> AccountAttributes:
        attributes = AccountAttributes.of(snap.rows(attributes_sql(snap, "accounts")),
                                          has_segments)
        attributes.id_array  # made here, where the lists are not waiting for it
        return attributes

    return snap.derived_once("account_attributes", has_segments, load)


def account_ids(snap, filters: Filters | None) -> list[str]:
    """The ids of the accounts `filters` selects (every account for no filter), in account id
    order. Selected from the accounts' attributes held in memory: a filter change costs
    ~0.1 ms instead of a query of the accounts table (~5 ms at 10,000 accounts)."""
    attributes = account_attributes(snap)
    chosen = attributes.selected(filters)
    return [a for a, keep in zip(attributes.account_ids, chosen.tolist()) if keep]


def account_positions(snap, ids) -> np.ndarray:
    """For each of `ids` (a pandas or Arrow column of account ids), the position of its
    account in `account_attributes(snap)`; -1 for an account the accounts table lacks."""
    if not isinstance(ids, (pa.Array, pa.ChunkedArray)):
        ids = pa.array(ids, type=pa.string(), from_pandas=True)
    found = pc.index_in(ids.cast(pa.string()), value_set=account_attributes(snap).id_array)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def rows_kept(snap, positions: np.ndarray, filters: Filters | None) -> np.ndarray:
    """For rows whose accounts are at `positions` (`account_positions`), whether `filters`
    keeps each: every row without a filter, else the rows of the accounts it selects — never
    one of an account the accounts table lacks, which no filter's SQL selects either."""
    if filters is None or filters.is_empty:
        return np.ones(len(positions), dtype=bool)
    chosen = account_attributes(snap).selected(filters)
    return np.append(chosen, False)[positions]  # position -1 reads the False


class AccountList:
    """A per-account list (a frame with an account_id column) made once without filters,
    and `positions`: for each of its rows, the position of its account in the accounts'
    attributes (`account_attributes`; -1 for an account the accounts table lacks, which no
    filter selects), found when the list is made. A filter then restricts it by position:
    which accounts the filter selects is an array over the accounts, and a row is kept when
    its account's entry is — an indexing and a take, ~0.5 ms a list at 10,000 accounts,
    where matching the rows' ids against the selected ids cost 1.5–3 ms. The frame is
    shared and never changed: `restricted` and `whole` return frames of their own."""

    def __init__(self, snap, frame: pd.DataFrame):
        self._snap = snap
        self.frame = frame
        self.positions = account_positions(snap, frame["account_id"])

    def whole(self) -> pd.DataFrame:
        """The list without filters. A shallow copy: with pandas' copy-on-write, a page
        adding or changing a column of it changes its own copy, never the shared frame."""
        return self.frame.copy(deep=False)

    def kept(self, filters: Filters | None) -> np.ndarray:
        """The positions of the rows of the accounts `filters` selects, in the list's order
        (every row for no filter)."""
        return np.flatnonzero(rows_kept(self._snap, self.positions, filters))

    def restricted(self, filters: Filters | None) -> pd.DataFrame:
        """The rows of the accounts `filters` selects, in the list's order and numbered
        from 0: what the list's function returns with `filters`."""
        if filters is None or filters.is_empty:
            return self.whole()
        return self.frame.take(self.kept(filters)).reset_index(drop=True)

