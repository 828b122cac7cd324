"""Rows of a SQL query held in memory, once per snapshot file, and what a filter change
recomputes from them: counts, sums and maxima grouped by columns, a column by account, the
rows a filter keeps. The one in-memory engine of the metrics API; it defines no metric.

Two ways in:
- `held(snap, QUERY, **params)` for a set of rows declared as a `Query` (a mart's rows, or the
  per-account rows a figure sums);
- `@per_account` on a function returning a list whose every row belongs to one account: the
  list is queried once without filters and a filter keeps its accounts' rows.

Which rows a filter keeps is the Filters object's answer (`Filters.mask`), the same accounts
its SQL condition selects. Every Query and every `@per_account` function is registered here;
tests/test_held_rows.py holds each one, for every kind of filter, to the SQL over the same rows.
"""

from __future__ import annotations

import bisect
import functools
import inspect
import re
from dataclasses import dataclass, field
from math import prod
from typing import Callable

import numpy as np
import pandas as pd

from cs_analytics.once import MadeOnce

ACCOUNT = "account_id"  # the column saying whose a row is
LISTS_KEPT = 64  # per-account lists kept per snapshot file and function (one per arguments)
FILTERS_KEPT = 16  # masks kept per set of held rows (one per filter)

QUERIES: dict[str, "Query"] = {}
PER_ACCOUNT: dict[str, Callable] = {}  # "module.function" → the function as written (its SQL)


@dataclass(frozen=True)
class Query:
    """A set of rows the metrics hold: `sql` (or `sql(snap)`, when it depends on the tables the
    snapshot has) with named parameters ($name). Its rows have an account_id column unless
    `by_account` is False. `keep` sets (one per parameters) are kept per snapshot file."""

    name: str
    sql: str | Callable
    keep: int = 8
    by_account: bool = True

    def __post_init__(self):
        QUERIES[self.name] = self

    def text(self, snap) -> str:
        return self.sql(snap) if callable(self.sql) else self.sql


# What every set of rows held by account is given as it is read, once: `hook(snap, name, rows)`
# for each registered hook (metrics.filters registers where each row's account is among the
# accounts a filter selects from, which every filter change reads).
_ON_READ: list[Callable] = []


def on_read(hook: Callable) -> Callable:
    """Register `hook(snap, name, rows)`, run on each set of rows held by account as it is
    read (name: the Query's or the per-account function's)."""
    _ON_READ.append(hook)
    return hook


def _read(snap, name: str, rows: "HeldRows") -> "HeldRows":
    if rows.accounts is not None:
        for hook in _ON_READ:
            hook(snap, name, rows)
    return rows


def held(snap, query: Query, **params) -> "HeldRows":
    """The rows of `query` with `params`, read once per snapshot file and shared by every
    thread (a thread asking while another reads waits for its rows)."""
    sql = query.text(snap)
    key = (sql, _hashable(params))
    return snap.derived_once(f"held:{query.name}", key,
                             lambda: _read(snap, query.name,
                                           HeldRows(_query(snap, sql, params), query.by_account)),
                             keep=query.keep)


def per_account(fn: Callable) -> Callable:
    """For `fn(snap, …, filters=…)` returning a list whose every row belongs to one account
    (an account_id column) and depends on no other account: the list for the other arguments
    is queried once per snapshot file without filters and held; a call with filters returns
    the rows of the accounts they select, in the list's order and numbered from 0 — what
    `fn`'s own filtered query returns. The frame returned is the caller's own (a shallow copy;
    pandas' copy-on-write keeps the held rows unchanged). `fn.rows(snap, …)` gives the held
    rows themselves, for a caller deriving a column of them once (`HeldRows.memo`);
    `fn.count(snap, …, filters=…)` the number of rows the call returns."""
    signature = inspect.signature(fn)
    first = next(iter(signature.parameters))
    name = f"{fn.__module__}.{fn.__qualname__}"
    PER_ACCOUNT[name] = fn

    def held_list(*args, **kwargs) -> tuple[object, HeldRows, object]:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        snap = arguments.pop(first)
        filters = arguments.pop("filters")
        rows = snap.derived_once(
            f"held list:{name}", _hashable(arguments),
            lambda: _read(snap, name, HeldRows(fn(snap, **arguments, filters=None))),
            keep=LISTS_KEPT)
        return snap, rows, filters

    @functools.wraps(fn)
    def restricted(*args, **kwargs):
        snap, rows, filters = held_list(*args, **kwargs)
        if filters is None or filters.is_empty:
            return rows.frame()
        return rows.frame(filters.mask(snap, rows))

    def rows(*args, **kwargs) -> HeldRows:
        """The held rows of the list for these arguments (filters ignored)."""
        return held_list(*args, **kwargs)[1]

    def count(*args, **kwargs) -> int:
        """How many rows the call returns, counted without taking them out."""
        snap, rows, filters = held_list(*args, **kwargs)
        if filters is None or filters.is_empty:
            return rows.size
        return int(np.count_nonzero(filters.mask(snap, rows)))

    restricted.per_account = True
    restricted.rows = rows
    restricted.count = count
    return restricted


def is_per_account(fn: Callable) -> bool:
    """Whether `fn` answers from held rows (`per_account`): its result is cheap to recompute."""
    return getattr(fn, "per_account", False)


@dataclass(frozen=True)
class Totals:
    """Kept rows grouped by the columns `by`: arrays shaped by each column's values (in sorted
    order) followed by NULL, e.g. totals.count[i, j] for labels[0][i], labels[1][j].

    count     rows per group
    sums      {value column: Σ of its non-NULL values}
    present   {value column: its non-NULL values counted}
    maxima    {value column: its largest value; NaN without one} (those asked for)
    """

    labels: tuple[list, ...]
    count: np.ndarray
    sums: dict[str, np.ndarray] = field(default_factory=dict)
    present: dict[str, np.ndarray] = field(default_factory=dict)
    maxima: dict[str, np.ndarray] = field(default_factory=dict)

    def groups(self) -> list[tuple]:
        """The label tuples of the groups with at least one row, in label order."""
        if not self.labels:  # (no column: one group, every kept row)
            return [()] if self.count > 0 else []
        found = np.unravel_index(np.flatnonzero(self.count), self.count.shape)
        return list(zip(*([labels[i] for i in positions.tolist()]
                          for labels, positions in zip(self.labels, found))))

    def index(self, *labels) -> tuple[int, ...] | None:
        """The array position of a group's labels; None for a label no row has."""
        at = []
        for values, label in zip(self.labels, labels):
            try:
                at.append(values.index(label))
            except ValueError:
                return None
        return tuple(at)


class HeldRows:
    """The rows of one query, in its order. Columns are read as needed: text, dates and
    booleans as codes of their sorted values (`codes`), numbers as float64 with NaN for NULL
    (`numbers`; booleans as 0/1). With an account_id column, each row's account is one of
    `accounts` (sorted ids): `account[r]` is its index there."""

    def __init__(self, frame: pd.DataFrame, by_account: bool = True):
        self._frame = frame
        self.size = len(frame)
        self._memo = MadeOnce()
        if by_account:
            ids = frame.iloc[:, list(frame.columns).index(ACCOUNT)]
            self.account, accounts = pd.factorize(ids, sort=True)
            self.accounts = np.asarray(accounts, dtype=object)
        else:
            self.account, self.accounts = None, None

    def memo(self, key, make: Callable):
        """A value derived from these rows, made once: a thread asking while another makes it
        waits for that value (sessions asking at once share one filter's work)."""
        return self._memo.get(key, make)

    def per_filter(self, name: str, filters, make: Callable):
        """`memo` for a value that depends on a filter: the values of `name` for the last
        FILTERS_KEPT filters asked for are kept (a page's rerun asks again for the filter it
        just computed)."""
        def made():
            found = make()
            if isinstance(found, np.ndarray):
                found.flags.writeable = False  # (shared by every caller)
            return found

        kept = self.memo(("per filter", name), lambda: MadeOnce(keep=FILTERS_KEPT))
        return kept.get(filters, made)

    def frame(self, mask: np.ndarray | None = None) -> pd.DataFrame:
        """The rows (those of `mask`), numbered from 0; a frame of the caller's own."""
        if mask is None:
            return self._frame.copy(deep=False)
        return self.take(np.flatnonzero(mask))

    def take(self, positions: np.ndarray) -> pd.DataFrame:
        """The rows at `positions`, in that order, numbered from 0; a frame of the caller's
        own."""
        return self._frame.take(positions).reset_index(drop=True)

    def codes(self, name: str) -> tuple[np.ndarray, list]:
        """Column `name` as (codes, values): row r holds values[codes[r]], -1 for NULL;
        values sorted."""
        def make():
            codes, values = pd.factorize(self._frame[name], sort=True)
            return codes.astype(np.int64), [_plain(v) for v in values]
        return self.memo(("codes", name), make)

    def numbers(self, name: str) -> np.ndarray:
        """Column `name` as float64, NaN for NULL (a boolean as 0/1)."""
        return self.memo(("numbers", name), lambda: self._frame[name].to_numpy(
            dtype=np.float64, na_value=np.nan))

    def isin(self, name: str, wanted) -> np.ndarray:
        """Per row, whether column `name` holds one of `wanted` (never for NULL)."""
        codes, values = self.codes(name)
        chosen = np.zeros(len(values) + 1, dtype=bool)
        wanted = set(wanted)
        chosen[[i for i, v in enumerate(values) if v in wanted]] = True
        return chosen[codes]  # code -1 (NULL) reads the last entry, False

    def span(self, name: str, first, last) -> slice:
        """The rows whose `name` lies in [first, last], for rows ordered by `name`."""
        codes, values = self.codes(name)
        if not self.memo(("ordered", name), lambda: bool(np.all(np.diff(codes) >= 0))):
            raise ValueError(f"held rows are not ordered by {name}")
        lo, hi = bisect.bisect_left(values, first), bisect.bisect_right(values, last)
        return slice(*np.searchsorted(codes, [lo, hi]).tolist())

    def rows_of(self, accounts: np.ndarray | None, within: slice = slice(None),
                having: str | None = None) -> np.ndarray | slice:
        """The rows among `within` of the accounts `accounts` keeps (a bool per account of
        `self.accounts`; every one for None) — with `having`, only those whose column
        `having` is not NULL — as row positions (or `within` itself)."""
        start, stop, _ = within.indices(self.size)
        if having is not None:
            present = self.memo(("present", having), lambda: np.flatnonzero(
                self.codes(having)[0] >= 0))
            rows = present[np.searchsorted(present, start):np.searchsorted(present, stop)]
            return rows if accounts is None else rows[accounts[self.account[rows]]]
        if accounts is None:
            return within
        return np.flatnonzero(accounts[self.account[within]]) + start

    def totals(self, kept: np.ndarray | slice | None, by: tuple[str, ...] = (),
               values: tuple[str, ...] = (), maxima: tuple[str, ...] = ()) -> Totals:
        """The kept rows (a bool per row, row positions or a slice; every row for None)
        grouped by the columns `by`: what `SELECT by…, count(*), sum(v), count(v), max(m) …
        GROUP BY by…` returns, as arrays over every combination of the columns' values (see
        Totals)."""
        if kept is None:
            kept = slice(None)
        if not by and not maxima:  # one group: column sums of the kept rows
            filled, present = self._stacked(values)
            if isinstance(kept, np.ndarray) and kept.dtype == bool:
                weights = kept.astype(np.float64)
                count = np.asarray(int(kept.sum()))
                sums = np.einsum("rk,r->k", filled, weights)
                counts = np.einsum("rk,r->k", present, weights)
            else:
                count = np.asarray(len(range(self.size)[kept]) if isinstance(kept, slice)
                                   else len(kept))
                sums, counts = filled[kept].sum(axis=0), present[kept].sum(axis=0)
            return Totals((), count, dict(zip(values, sums.astype(np.float64))),
                          dict(zip(values, counts.round().astype(np.int64))))
        if isinstance(kept, np.ndarray) and kept.dtype == bool:
            kept = np.flatnonzero(kept)
        index, labels = self._combined(by)
        size = prod(len(lab) for lab in labels)
        shape = tuple(len(lab) for lab in labels)
        at = index[kept]
        result = Totals(labels, np.bincount(at, minlength=size).reshape(shape))
        for name in dict.fromkeys((*values, *maxima)):
            column = self.numbers(name)[kept]
            whole = not self.memo(("has null", name), lambda: bool(np.isnan(
                self.numbers(name)).any()))
            present = None if whole else ~np.isnan(column)
            if name in values:
                result.sums[name] = np.bincount(  # (float64 even with no row)
                    at, weights=column if whole else np.where(present, column, 0.0),
                    minlength=size).astype(np.float64).reshape(shape)
                result.present[name] = (result.count if whole else np.bincount(
                    at[present], minlength=size).reshape(shape))
            if name in maxima:
                top = np.full(size, -np.inf)
                if whole:
                    np.maximum.at(top, at, column)
                else:
                    np.maximum.at(top, at[present], column[present])
                result.maxima[name] = np.where(np.isinf(top), np.nan, top).reshape(shape)
        return result

    def counts(self, mask: np.ndarray | None, *by: str) -> dict[tuple, int]:
        """{(value of each of `by`…): rows} for each combination with a kept row (NULL as
        None) — `SELECT by…, count(*) … GROUP BY by…`."""
        totals = self.totals(mask, by)
        return dict(zip(totals.groups(), totals.count[totals.count > 0].tolist()))

    def grid(self, value: str | None, by: tuple[str, ...]) -> np.ndarray:
        """Column `value` (rows counted for None) summed by the values of `by` and account:
        shape [values of each of `by` (see Totals.labels)…, accounts]; 0 where an account has
        no row (NULL values left out)."""
        def make():
            index, labels = self._combined(by)
            accounts = len(self.accounts)
            if value is None:
                weights = None
            else:
                numbers = self.numbers(value)
                weights = np.where(np.isnan(numbers), 0.0, numbers)
            size = prod(len(lab) for lab in labels) * accounts
            return np.bincount(index * accounts + self.account, weights=weights,
                               minlength=size).astype(np.float64).reshape(
                *(len(lab) for lab in labels), accounts)
        return self.memo(("grid", value, by), make)

    def sums(self, accounts: np.ndarray | None, by: tuple[str, ...],
             values: tuple[str | None, ...], within: slice = slice(None)
             ) -> dict[str | None, np.ndarray]:
        """{value: Σ of column `value` (rows counted for None) over the rows of the accounts
        `accounts` keeps (a bool per account; every one for None), by the values of `by`} —
        `grid` summed over those accounts, for the values of `by`'s first column `within`
        (its codes' positions)."""
        weights = None if accounts is None else accounts.astype(np.float64)
        out = {}
        for value in values:
            grid = self.grid(value, by)[within]
            out[value] = (grid.sum(axis=-1) if weights is None
                          else np.einsum("...a,a->...", grid, weights))
        return out

    def by_account(self, name: str) -> np.ndarray:
        """Per account, the code of column `name` (`codes`) on its first row — for a column
        holding one value per account."""
        def make():
            first = np.empty(len(self.accounts), dtype=np.int64)
            first[self.account[::-1]] = np.arange(self.size)[::-1]
            return self.codes(name)[0][first]
        return self.memo(("by account", name), make)

    def _stacked(self, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """The numeric columns `names` side by side (rows × names, NULL as 0), and 1 where a
        value is present."""
        def make():
            stacked = (np.column_stack([self.numbers(n) for n in names]) if names
                       else np.zeros((self.size, 0)))
            present = ~np.isnan(stacked)
            return np.where(present, stacked, 0.0), present.astype(np.float64)
        return self.memo(("stacked", names), make)

    def _combined(self, by: tuple[str, ...]) -> tuple[np.ndarray, tuple[list, ...]]:
        """One code per row for the combination of `by`'s values (NULL the last of each), and
        each column's labels (its values, then None)."""
        def make():
            index = np.zeros(self.size, dtype=np.int64)
            labels = []
            for name in by:
                codes, values = self.codes(name)
                size = len(values) + 1
                index = index * size + np.where(codes < 0, size - 1, codes)
                labels.append([*values, None])
            return index, tuple(labels)
        return self.memo(("combined", by), make)


def _plain(value):
    """A value as Python has it: a date column's values as datetime.date."""
    if isinstance(value, pd.Timestamp):
        return value.date() if value == value.normalize() else value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _hashable(arguments: dict) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                        for k, v in arguments.items()))


def _query(snap, sql: str, params: dict) -> pd.DataFrame:
    """snap.query with only the named parameters the SQL uses (DuckDB refuses others)."""
    used = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", sql))
    return snap.query(sql, {k: v for k, v in params.items() if k in used})
