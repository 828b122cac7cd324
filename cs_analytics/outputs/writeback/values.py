"""What `push` writes, as Salesforce field values: each Account's CS fields and the weekly usage
rows, from the metrics layer (metrics/account_status.py), under the field names of
[salesforce.push]. The score has one decimal; band, segment and top detractor are their ids;
signals are ids joined with ';'; dates YYYY-MM-DD; counts whole numbers; empty is null.

Each record comes as (key, JSON text of its fields, keys sorted): the text is what the state
keeps and compares, made in one DuckDB pass over the metrics' frame, so comparing 100,000 rows
with the last push is string equality, and only changed records are ever decoded.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from cs_analytics.config import SalesforcePush
from cs_analytics.metrics.account_status import account_status, weekly_usage

# How each value becomes a field value (SQL over the metrics' frame, column `value`).
ACCOUNT_SQL = {
    "health_score": "round(health_score, 1)",
    "health_band": "health_band",
    "segment": "segment",
    "top_detractor": "top_detractor",
    "signals": "signals",
    "last_contact_date": "CAST(last_contact_date AS DATE)",
    "last_login_date": "CAST(last_login_date AS DATE)",
    "deliveries_90d": "CAST(deliveries_90d AS BIGINT)",
    "logins_90d": "CAST(logins_90d AS BIGINT)",
    "next_renewal_date": "CAST(next_renewal_date AS DATE)",
}
USAGE_SQL = {
    "account": "account_id",
    "week_start": "CAST(week_start AS DATE)",
    "deliveries": "deliveries", "logins": "logins", "viewers": "viewers",
    "registrants": "registrants", "conversions": "conversions",
}
# The usage row's external id: account id + ':' + the Monday (SPEC §5), e.g. 001…:2026-03-23.
KEY_SQL = "account_id || ':' || strftime(CAST(week_start AS DATE), '%Y-%m-%d')"


def _json_records(frame: pd.DataFrame, key_sql: str, members: dict[str, str]
                  ) -> list[tuple[str, str]]:
    """(key, JSON object of `members` — Salesforce field → SQL over the frame, keys sorted)."""
    con = duckdb.connect()
    try:
        con.register("source", frame)
        packed = ", ".join(f'"{field}" := {sql}' for field, sql in sorted(members.items()))
        return con.execute(f"SELECT {key_sql}, to_json(struct_pack({packed})) FROM source "
                           f"ORDER BY 1").fetchall()
    finally:
        con.close()


def account_values(snap, push: SalesforcePush) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """([(account id, its Account fields as JSON)], {account id: name}) for every account of
    the snapshot; values switched off in account_fields are left out."""
    frame = account_status(snap)
    members = {field: ACCOUNT_SQL[value] for value, field in push.account_fields.items()
               if field}
    names = dict(zip(frame["account_id"].tolist(), frame["name"].tolist()))
    return _json_records(frame, "account_id", members), names


def usage_values(snap, push: SalesforcePush) -> list[tuple[str, str]]:
    """[(external id, the row's fields as JSON, the external id among them)] for the last
    `usage_weeks` complete weeks."""
    if not push.usage_object or push.usage_weeks < 1:
        return []
    frame = weekly_usage(snap, push.usage_weeks)
    members = {field: USAGE_SQL[value] for value, field in push.usage_fields.items() if field}
    members[push.usage_key_field] = KEY_SQL
    return _json_records(frame, KEY_SQL, members)
