"""Parameter tables written into each build before the SQL models run."""

from __future__ import annotations

import datetime as dt

import duckdb

from cs_analytics.config import Settings


def write(con: duckdb.DuckDBPyConnection, settings: Settings, as_of: dt.date) -> None:
    g = settings.general
    con.execute(
        "CREATE OR REPLACE TABLE params AS SELECT CAST(? AS DATE) AS as_of, "
        "CAST(? AS INTEGER) AS renewal_grace_days, CAST(? AS INTEGER) AS fiscal_year_start_month",
        [as_of, g.renewal_grace_days, g.fiscal_year_start_month])
