"""Account filters shared by every metric: owner, segment, industry (the sidebar filters).

A filter restricts which accounts a metric reads, by their current attributes: the account's
current owner and industry (accounts table) and its current segment (fct_segment_current, built
by the health models). Empty means "all accounts". One Filters object gives both forms of the
same selection: a SQL condition for the warehouse (`sql`) and a mask for rows held in memory
(`mask`), which selects from the accounts' attributes held once per snapshot file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cs_analytics.metrics.held import HeldRows, Query, held, on_read

SEGMENT_TABLE = "fct_segment_current"


# One row per account of the accounts table, in account id order: its owner, industry and
# segment — what a filter selects on.
ATTRIBUTES = Query("account attributes", f"""
    SELECT a.account_id, a.owner_id, a.industry, g.segment
    FROM accounts a LEFT JOIN {SEGMENT_TABLE} g USING (account_id)
    ORDER BY a.account_id""", keep=2)


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
            conditions.append(
                f"{column} IN (SELECT account_id FROM {SEGMENT_TABLE} "
                f"WHERE list_contains(CAST($filter_segments AS VARCHAR[]), segment))")
            params["filter_segments"] = list(self.segments)
        return (" AND ".join(conditions) or "TRUE"), params

    def selected(self, snap) -> np.ndarray:
        """For each account of the accounts table (`account_attributes(snap).accounts`),
        whether this filter selects it — the accounts `sql` selects."""
        attributes = account_attributes(snap)
        return attributes.per_filter("selected", self, lambda: self._selected(snap, attributes))

    def _selected(self, snap, attributes: HeldRows) -> np.ndarray:
        chosen = np.ones(attributes.size, dtype=bool)
        if self.owner_ids:
            chosen &= attributes.isin("owner_id", self.owner_ids)
        if self.industries:
            chosen &= attributes.isin("industry", self.industries)
        if self.segments:
            chosen &= attributes.isin("segment", self.segments)
        by_account = np.empty(len(attributes.accounts), dtype=bool)
        by_account[attributes.account] = chosen  # (one row per account)
        return by_account

    def keeps(self, snap, positions: np.ndarray) -> np.ndarray:
        """For accounts at `positions` in the accounts table (`account_positions`; -1 for one
        it lacks, which no filter's SQL selects either), whether this filter selects each."""
        if self.is_empty:
            return np.ones(len(positions), dtype=bool)
        return np.append(self.selected(snap), False)[positions]

    def accounts_kept(self, snap, rows: HeldRows) -> np.ndarray:
        """For each of the held rows' accounts (`rows.accounts`), whether this filter
        selects it."""
        positions = _positions(snap, rows)
        return rows.per_filter("accounts kept", self, lambda: self.keeps(snap, positions))

    def mask(self, snap, rows: HeldRows) -> np.ndarray:
        """For each held row, whether this filter keeps it: the rows of the accounts it
        selects — what `WHERE {sql('account_id')}` keeps of the same rows."""
        if self.is_empty:
            return np.ones(rows.size, dtype=bool)
        return rows.per_filter("mask", self,
                               lambda: self.accounts_kept(snap, rows)[rows.account])


def condition(filters: Filters | None, snap, column: str = "account_id") -> tuple[str, dict]:
    """`filters.sql(...)`, or no restriction when filters is None."""
    return ("TRUE", {}) if filters is None else filters.sql(snap, column)


def mask(filters: Filters | None, snap, rows: HeldRows) -> np.ndarray | None:
    """`filters.mask(...)`, or None (every row) when there is no filter."""
    return None if filters is None or filters.is_empty else filters.mask(snap, rows)


def accounts_kept(filters: Filters | None, snap, rows: HeldRows) -> np.ndarray:
    """`filters.accounts_kept(...)`, every account when filters is None."""
    if filters is None:
        return np.ones(len(rows.accounts), dtype=bool)
    return filters.accounts_kept(snap, rows)


def account_attributes(snap) -> HeldRows:
    """Every account of the accounts table with its owner_id, industry and segment, held once
    per snapshot file."""
    return held(snap, ATTRIBUTES)


def _positions(snap, rows: HeldRows) -> np.ndarray:
    """Where each of the held rows' accounts is in the accounts table (`account_positions`)."""
    return rows.memo("account positions", lambda: account_positions(snap, rows.accounts))


@on_read
def _index_accounts(snap, name: str, rows: HeldRows) -> None:
    """Held rows are read with their accounts' positions, so that a filter change finds
    them (the attributes themselves are what the positions point into)."""
    if name != ATTRIBUTES.name:
        _positions(snap, rows)


def account_ids(snap, filters: Filters | None) -> list[str]:
    """The ids of the accounts `filters` selects (every account for no filter), in account id
    order."""
    attributes = account_attributes(snap)
    if filters is None or filters.is_empty:
        return attributes.accounts.tolist()
    return attributes.accounts[filters.selected(snap)].tolist()


def account_positions(snap, ids) -> np.ndarray:
    """For each of `ids` (account ids: a list, array or pandas/Arrow column), the position of
    its account in the accounts table (`account_attributes` order); -1 for one it lacks."""
    if not isinstance(ids, (pa.Array, pa.ChunkedArray)):
        ids = pa.array(np.asarray(ids, dtype=object), type=pa.string(), from_pandas=True)
    known = account_attributes(snap).memo("id array", lambda: pa.array(
        account_attributes(snap).accounts, type=pa.string()))
    found = pc.index_in(ids.cast(pa.string()), value_set=known)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
