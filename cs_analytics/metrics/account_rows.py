"""Rows of a snapshot's per-account tables held in memory as arrays, for the counts and
averages the pages recompute on every filter change: the health band counts now and over the
weekly snapshots, by owner / segment / industry, the attribute × band matrix, the average
component contributions, the segment and signal counts.

Why arrays and not SQL. A filter restricts the accounts and nothing else, and each of these
figures is a count or an average over rows that each belong to one account (a row of
fct_health_current, of fct_segment_current, of fct_health_weekly on one snapshot day). So the
columns a figure needs are read once per snapshot file — text and dates as codes, numbers as
floats —, a filter becomes a 0/1 weight per row (its account's), and the figure is a weighted
`np.bincount` or mean. At 10,000 accounts on the 2-core machine the health page's filtered
queries took 5–20 ms each (planning, the filter's semi-joins); their sums take well under 1 ms
(docs/benchmarks.md, session 9).

Which rows a filter keeps is `filters.rows_kept`'s answer, from the accounts' attributes held
in memory (`filters.account_attributes`): the accounts of the accounts table the filter
selects. A row whose account is not in the accounts table counts without a filter and never
with one. What the SQL of each figure selected is unchanged: the rows are those of the query
each caller gives, and tests hold every figure equal to its SQL (tests/test_metrics_demo.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

import numpy as np
import pyarrow as pa

from cs_analytics.metrics.filters import Filters, account_positions, rows_kept


@dataclass(frozen=True)
class Coded:
    """A text or date column as codes: row r holds values[codes[r]]; -1 for NULL."""

    codes: np.ndarray
    values: list


@dataclass(frozen=True)
class AccountRows:
    """The rows of one query, each of one account.

    account[r]   the row's account as a position in `filters.account_attributes(snap)`'s
                 account ids; -1 for an account not in the accounts table
    coded        text and date columns (Coded), by name
    numbers      numeric columns as float64, NaN for NULL, by name
    """

    account: np.ndarray
    coded: dict[str, Coded]
    numbers: dict[str, np.ndarray]
    combined: dict = field(default_factory=dict, repr=False, compare=False)  # _combined, _stacked

    def weights(self, snap, filters: Filters | None) -> np.ndarray:
        """Per row, 1.0 when `filters` selects its account, else 0.0 (every row for no
        filter)."""
        return rows_kept(snap, self.account, filters).astype(np.float64)

    def counts(self, weights: np.ndarray, *names: str) -> dict[tuple, int]:
        """The weighted rows per combination of the coded columns `names` (NULL as None):
        {(value, …): rows}, for each combination with at least one row — what
        `SELECT names…, count(*) … GROUP BY names…` returns."""
        index, sizes = self._combined(names)
        totals = np.bincount(index, weights=weights, minlength=prod(sizes))
        found = np.flatnonzero(totals > 0.5)
        columns = [[values[i] for i in positions.tolist()] for values, positions in zip(
            ([*self.coded[name].values, None] for name in names),
            np.unravel_index(found, sizes))]
        return dict(zip(zip(*columns), np.rint(totals[found]).astype(np.int64).tolist()))

    def _combined(self, names: tuple[str, ...]) -> tuple[np.ndarray, list[int]]:
        """One code per row for the combination of `names`' values (NULL the last code of
        each), and each column's number of codes; computed once per `names`."""
        found = self.combined.get(("codes", names))
        if found is None:
            sizes, index = [], np.zeros(len(self.account), dtype=np.int64)
            for name in names:
                column = self.coded[name]
                size = len(column.values) + 1
                index = index * size + np.where(column.codes < 0, size - 1, column.codes)
                sizes.append(size)
            found = self.combined["codes", names] = (index, sizes)
        return found

    def means(self, weights: np.ndarray, names: tuple[str, ...]) -> dict[str, tuple[int, float]]:
        """{name: (rows with a value, their mean)} of the numeric columns `names` over the
        weighted rows — `count(name)` and `avg(name)`; the mean is NaN over no rows."""
        values, present = self._stacked(names)
        counts, sums = present.T @ weights, values.T @ weights
        return {name: (int(round(n)), float(total / n) if n else float("nan"))
                for name, n, total in zip(names, counts.tolist(), sums.tolist())}

    def _stacked(self, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """The numeric columns `names` side by side (rows × names, NULL as 0) and 1.0 where a
        value is present; computed once per `names`."""
        found = self.combined.get(("numbers", names))
        if found is None:
            stacked = np.column_stack([self.numbers[n] for n in names]) if names else \
                np.zeros((len(self.account), 0))
            present = ~np.isnan(stacked)
            found = self.combined["numbers", names] = (np.where(present, stacked, 0.0),
                                            present.astype(np.float64))
        return found


def account_rows(snap, sql: str, params: dict | None = None) -> AccountRows:
    """The rows of `sql` (its first column an account_id, then the columns the caller sums),
    read once per snapshot file and query, and shared by every thread."""
    params = params or {}
    return snap.derived_once("account_rows", (sql, tuple(sorted(params.items()))),
                             lambda: _read(snap, sql, params))


def _read(snap, sql: str, params: dict) -> AccountRows:
    cur = snap.cursor()
    try:
        table = cur.sql(sql, params=params).to_arrow_table()
    finally:
        cur.close()
    account = account_positions(snap, table.column(0))
    coded, numbers = {}, {}
    for name, column in zip(table.column_names[1:], table.columns[1:]):
        kind = column.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            numbers[name] = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
        else:
            encoded = column.combine_chunks().dictionary_encode()
            coded[name] = Coded(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
                                .astype(np.int64), encoded.dictionary.to_pylist())
    return AccountRows(account, coded, numbers)
