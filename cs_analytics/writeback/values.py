"""What `push` writes, as Salesforce field values: each Account's CS fields and the weekly usage
rows, from the metrics layer (metrics/account_status.py), under the field names of
[salesforce.push]. Values are JSON-ready: the score with one decimal, the band, segment and
top detractor as their ids, signals as ids joined with ';', dates as YYYY-MM-DD, counts as
whole numbers, None for empty.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from cs_analytics.config import SalesforcePush
from cs_analytics.metrics.account_status import account_status, weekly_usage


def json_value(value):
    """A snapshot value as Salesforce JSON: None for missing, ISO text for dates, int for
    whole numbers."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return int(value) if value.is_integer() else value
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return json_value(value.item())
    return value


def account_values(snap, push: SalesforcePush) -> tuple[dict[str, dict], dict[str, str]]:
    """({account id: {Account field: value}}, {account id: account name}) for every account
    of the snapshot; values switched off in account_fields are left out."""
    frame = account_status(snap)
    wanted = {value: field for value, field in push.account_fields.items() if field}
    if "health_score" in frame:
        frame["health_score"] = frame["health_score"].round(1)
    columns = {value: [json_value(v) for v in frame[value].tolist()] for value in wanted}
    ids = frame["account_id"].tolist()
    records = {account_id: {wanted[value]: columns[value][i] for value in wanted}
               for i, account_id in enumerate(ids)}
    return records, dict(zip(ids, frame["name"].tolist()))


def usage_key(account_id: str, week_start: dt.date) -> str:
    """The usage row's external id: account id + ':' + the Monday (SPEC §5)."""
    return f"{account_id}:{week_start.isoformat()}"


def usage_values(snap, push: SalesforcePush) -> dict[str, dict]:
    """{external id: {usage object field: value}} for the last `usage_weeks` complete weeks,
    the external id among the fields."""
    if not push.usage_object or push.usage_weeks < 1:
        return {}
    frame = weekly_usage(snap, push.usage_weeks)
    fields = {value: field for value, field in push.usage_fields.items() if field}
    records: dict[str, dict] = {}
    accounts = frame["account_id"].tolist()
    weeks = [pd.Timestamp(w).date() for w in frame["week_start"].tolist()]
    counts = {value: [json_value(v) for v in frame[value].tolist()]
              for value in fields if value not in ("account", "week_start")}
    for i, (account_id, week) in enumerate(zip(accounts, weeks)):
        key = usage_key(account_id, week)
        row = {push.usage_key_field: key}
        if "account" in fields:
            row[fields["account"]] = account_id
        if "week_start" in fields:
            row[fields["week_start"]] = week.isoformat()
        for value, values in counts.items():
            row[fields[value]] = values[i]
        records[key] = row
    return records
