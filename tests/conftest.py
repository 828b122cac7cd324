"""Shared fixtures: build real snapshots (DuckDB files on disk) from small hand-written tables.

    def test_something(make_snapshot):
        snap = make_snapshot(contracts=[contract("c1", "a1", "2024-04-15", "2025-04-14",
                                                 amount=1_200_000)], as_of="2025-06-30")

Rows are dicts with any subset of the canonical columns (SPEC §3); missing columns are NULL.
Dates may be ISO strings or `datetime.date`. Users and accounts get defaults so a test can give
only contracts: every account referenced by contracts/activities/usage and not given exists
(name = its id, owner "u1"), and every owner referenced and not given exists as a user.
A table may also be a pandas DataFrame with the canonical columns (e.g. the demo generator's
output); it is loaded as it is and gets no defaults.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from cs_analytics import contract as canonical
from cs_analytics.config import Settings, settings_from_dict
from cs_analytics.warehouse.build import open_build
from cs_analytics.warehouse.store import Snapshot, Store, reset_connection_cache

DEFAULT_OWNER = "u1"


def contract(contract_id: str, account_id: str, start_date, end_date, *, amount=None, mrr=None,
             **other) -> dict:
    """A contracts row; give `amount` (total for the term) or `mrr`."""
    return {"contract_id": contract_id, "account_id": account_id, "start_date": start_date,
            "end_date": end_date, "amount": amount, "mrr": mrr, **other}


def _frame(table: str, rows) -> pd.DataFrame:
    spec = canonical.TABLES[table]
    unknown = {k for row in rows for k in row} - set(spec.column_names)
    if unknown:
        raise ValueError(f"{table}: unknown columns {sorted(unknown)}")
    data = {}
    for column in spec.columns:
        values = [row.get(column.name) for row in rows]
        if column.kind == "date":
            values = [None if v is None else dt.date.fromisoformat(v) if isinstance(v, str) else v
                      for v in values]
        data[column.name] = pd.Series(values, dtype="object")
    return pd.DataFrame(data, columns=spec.column_names)


def _default_rows(users, accounts, contracts, activities, usage):
    """Accounts referenced but not given, and users referenced but not given (dict rows only)."""
    if not isinstance(accounts, pd.DataFrame):
        accounts = list(accounts) if accounts is not None else []
        known = {a["account_id"] for a in accounts}
        for table in (contracts, activities, usage):
            for row in ([] if isinstance(table, pd.DataFrame) else table):
                if row["account_id"] not in known:
                    accounts.append({"account_id": row["account_id"], "name": row["account_id"],
                                     "owner_id": DEFAULT_OWNER})
                    known.add(row["account_id"])
    if not isinstance(users, pd.DataFrame):
        users = list(users) if users is not None else []
        known_users = {u["user_id"] for u in users}
        wanted = (list(accounts["owner_id"]) if isinstance(accounts, pd.DataFrame)
                  else [a.get("owner_id") for a in accounts])
        if not isinstance(activities, pd.DataFrame):
            wanted += [r.get("owner_id") for r in activities]
        wanted += [u.get("manager_id") for u in users]
        for user_id in wanted:
            if user_id and user_id not in known_users:
                users.append({"user_id": user_id, "name": f"User {user_id}"})
                known_users.add(user_id)
    return users, accounts


def build_snapshot(home: Path, *, users=None, accounts=None, contracts=(), activities=(),
                   usage=(), as_of, settings: Settings | None = None, config: dict | None = None,
                   is_demo: bool = False, source: str = "test") -> Snapshot:
    """Build and publish a snapshot in `home` (replacing everything) and open it read-only.

    `config` is a settings dict as in cs_analytics.toml, e.g.
    {"general": {"renewal_grace_days": 10}}.
    """
    if settings is None:
        settings = settings_from_dict(config or {})
    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of)
    contracts, activities, usage = (t if isinstance(t, pd.DataFrame) else list(t)
                                    for t in (contracts, activities, usage))
    users, accounts = _default_rows(users, accounts, contracts, activities, usage)
    tables = {"users": users, "accounts": accounts, "contracts": contracts,
              "activities": activities, "usage": usage}
    store = Store(home)
    with open_build(settings, store, source=source, base="empty", is_demo=is_demo) as build:
        # All frames are registered before the first insert: Build's row counts use
        # fetchone(), which leaves a result open that makes a later register() fail.
        given = [name for name in canonical.TABLE_ORDER if len(tables[name])]
        for name in given:
            table = tables[name]
            frame = table if isinstance(table, pd.DataFrame) else _frame(name, table)
            build.con.register(f"incoming_{name}", frame)
        for name in given:
            build.replace(name, f"SELECT * FROM incoming_{name}")
        build.publish(as_of=as_of)
    return store.open_current()


@pytest.fixture
def org():
    """A fake Salesforce org (tests/fakes/salesforce.py) with the standard records, serving
    two records a page."""
    from tests.fakes.salesforce import FakeSalesforce, populate

    with FakeSalesforce(page_size=2) as fake:
        populate(fake)
        yield fake


@pytest.fixture
def fresh_connections():
    """No snapshot connection or verdict cached by an earlier test, none left for a later one
    (for tests that damage, replace or copy snapshot files)."""
    reset_connection_cache()
    yield
    reset_connection_cache()


@pytest.fixture
def make_snapshot(tmp_path):
    """Factory: `make_snapshot(contracts=[...], as_of="2025-06-30", ...)` → published Snapshot.

    Each call publishes a new snapshot in the test's own data directory (tmp_path / "data").
    """
    home = tmp_path / "data"

    def make(**kwargs) -> Snapshot:
        return build_snapshot(home, **kwargs)

    make.home = home
    return make


def pytest_configure(config):
    """Keep pytest's closing line last: at interpreter exit, after pytest has printed its
    summary and restored its captured file descriptors, DuckDB's nanobind bindings print dozens
    of "leaked function" lines (nanobind's shutdown report, not a test result). An exit handler
    points stderr at /dev/null just before that; exit codes are unaffected."""
    import atexit
    import os
    import sys

    def silence_stderr():
        sys.stderr.flush()
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)

    atexit.register(silence_stderr)
