"""The renewal figures as the Overview, Churn, Renewals and KPI report pages show them: the
summary cards of a list of renewals due and the tables' columns (metrics/renewals.py gives
every number)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cs_analytics.app.ui import fmt
from cs_analytics.app.ui.i18n import t
from cs_analytics.app.ui.widgets import Col, amount, go_to_account, table
from cs_analytics.metrics.renewals import RenewalSummary


def summary_cards(s: RenewalSummary | dict) -> None:
    """Due, signed, pending, at-risk and lost ARR, and the expected renewing ARR (signed +
    the forecast of what is pending) with its range — each with its count and basis. `s` is
    `renewals.summary_of` or its `as_dict()` (a report's)."""
    if isinstance(s, dict):
        s = RenewalSummary(**s)
    cards = (
        ("due", s.due_arr, t("renewals.card.due_help", count=s.due_count)),
        ("signed", s.signed_arr, t("renewals.card.signed_help", count=s.signed_count,
                                   auto=fmt.yen(s.auto_renew_arr))),
        ("lost", s.lost_arr, t("renewals.card.lost_help", count=s.lost_count,
                               rate=fmt.pct(s.renewal_rate))),
        ("pending", s.pending_arr, t("renewals.card.pending_help", count=s.pending_count,
                                     risk=s.at_risk_count)),
        ("at_risk", s.at_risk_arr, t("renewals.card.at_risk_help", count=s.at_risk_count)),
        ("expected", s.expected_arr, t("renewals.card.expected_help",
                                       low=fmt.yen(s.signed_arr + s.forecast_low),
                                       high=fmt.yen(s.signed_arr + s.forecast_high),
                                       rate=fmt.pct(s.expected_rate))),
    )
    cols = st.columns(3) + st.columns(3)  # what is decided, then what is not
    for col, (key, value, help_text) in zip(cols, cards):
        col.metric(t(f"renewals.card.{key}"), amount(value), border=True,
                   help=f"{fmt.yen(value)} — {help_text}")


# A list of renewals due (renewals.contracts_due).
CONTRACT_COLUMNS = {
    "status": Col("renewals.col.status", "enum", "renewals.status"),
    "name": Col("col.account_name"), "owner_name": Col("col.owner"),
    "end_date": Col("col.end_date", "date"), "arr": Col("col.arr", "yen"),
    "renewal_kind": Col("renewals.col.kind", "enum", "renewals.kind"),
    "notice_deadline": Col("renewals.col.notice_deadline", "date"),
    "band": Col("col.band", "band"),
    "risk_reasons": Col("renewals.col.risk", "enums", "renewals.risk"),
    "p_renew": Col("renewals.col.p_renew", "pct"),
    "at_stake_arr": Col("renewals.col.at_stake", "yen"),
    "signed_by": Col("renewals.col.signed_by", "enum", "renewals.signed_by"),
    "contract_id": Col("renewals.col.contract_id"),
    "account_id": Col("col.account_link", "account"),
}

# The notice-deadline radar (renewals.notice_radar).
RADAR_COLUMNS = {
    "notice_deadline": Col("renewals.col.notice_deadline", "date"),
    "days_to_notice_deadline": Col("renewals.col.days_left", "int"),
    "name": Col("col.account_name"), "owner_name": Col("col.owner"),
    "band": Col("col.band", "band"),
    "last_contact_date": Col("renewals.col.last_contact", "date"),
    "arr": Col("col.arr", "yen"), "end_date": Col("col.end_date", "date"),
    "status": Col("renewals.col.status", "enum", "renewals.status"),
    "risk_reasons": Col("renewals.col.risk", "enums", "renewals.risk"),
    "contract_id": Col("renewals.col.contract_id"),
    "account_id": Col("col.account_link", "account"),
}

# The reminder list (renewals.reminders).
REMINDER_COLUMNS = {
    "end_date": Col("col.end_date", "date"), "days_to_end": Col("renewals.col.days_to_end", "int"),
    "name": Col("col.account_name"), "owner_name": Col("col.owner"),
    "arr": Col("col.arr", "yen"),
    "renewal_kind": Col("renewals.col.kind", "enum", "renewals.kind"),
    "notice_deadline": Col("renewals.col.notice_deadline", "date"),
    "status": Col("renewals.col.status", "enum", "renewals.status"),
    "band": Col("col.band", "band"),
    "contract_id": Col("renewals.col.contract_id"),
    "account_id": Col("col.account_link", "account"),
}

# Renewals by quarter (renewals.by_quarter_of).
QUARTER_COLUMNS = {
    "quarter": Col("renewals.col.quarter"), "due_count": Col("renewals.col.contracts", "int"),
    "due_arr": Col("renewals.card.due", "yen"), "signed_arr": Col("renewals.card.signed", "yen"),
    "lost_arr": Col("renewals.card.lost", "yen"),
    "pending_arr": Col("renewals.card.pending", "yen"),
    "at_risk_arr": Col("renewals.card.at_risk", "yen"),
    "forecast_arr": Col("renewals.col.forecast", "yen"),
    "forecast_low": Col("renewals.col.forecast_low", "yen"),
    "forecast_high": Col("renewals.col.forecast_high", "yen"),
    "expected_rate": Col("renewals.col.expected_rate", "pct"),
}

# The renewal rate of past quarters (renewals.by_quarter_of over past quarters).
HISTORY_COLUMNS = {**{k: QUARTER_COLUMNS[k] for k in ("quarter", "due_count", "due_arr",
                                                      "signed_arr", "lost_arr")},
                   "renewal_rate": Col("renewals.col.renewal_rate", "pct")}

# P(renew) per bucket (renewals.probabilities): the P used first, then the history behind it.
PROBABILITY_COLUMNS = {
    "bucket": Col("renewals.col.bucket", "enum", "renewals.bucket"),
    "p": Col("renewals.col.p", "pct"), "p_low": Col("renewals.col.p_low", "pct"),
    "p_high": Col("renewals.col.p_high", "pct"),
    "source": Col("renewals.col.source", "enum", "renewals.source"),
    "renewals": Col("renewals.col.renewals", "int"),
    "renewed": Col("renewals.col.renewed", "int"),
    "rate": Col("renewals.col.rate", "pct"), "ci_low": Col("renewals.col.ci_low", "pct"),
    "ci_high": Col("renewals.col.ci_high", "pct"),
}


def probability_source_line(probabilities: pd.DataFrame) -> str:
    """Which buckets' P(renew) comes from past renewals and which from the configured
    defaults (`renewals.probabilities`), as one line."""
    parts = []
    for source in ("history", "default"):
        names = [t(f"renewals.bucket.{b}") for b, s in zip(probabilities["bucket"],
                                                           probabilities["source"]) if s == source]
        if names:
            parts.append(t(f"renewals.source_line.{source}", buckets=", ".join(names)))
    return " · ".join(parts)


def contracts_table(frame: pd.DataFrame, columns: dict[str, Col], *, key: str, download: str,
                    empty_key: str = "common.no_rows", shared: bool = False) -> None:
    """A list of renewals; clicking a row opens the account's karte."""
    row = table(frame, columns, key=key, download=download, select=True, empty_key=empty_key,
                shared=shared)
    if row is not None:
        go_to_account(frame["account_id"].iloc[row])
