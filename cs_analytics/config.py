"""Settings: the TOML configuration file → validated, typed settings.

This module is the one place where every threshold, weight, mapping and default is defined and
documented. `docs/configuration.md` and the glossary page are generated from these dataclasses
(`defaults_toml()`), so a default changes here and nowhere else.

The file is `cs_analytics.toml` at the repository root, or the path in `CS_ANALYTICS_CONFIG`.
The data directory is `data/` at the repository root, or the path in `CS_ANALYTICS_HOME`.
Secrets never live in this file: they come from the environment or `.streamlit/secrets.toml`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import tomllib
import re
import types
import typing
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

from cs_analytics.contract import ACTIVITY_TYPES, TABLES
from cs_analytics.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_ENV = "CS_ANALYTICS_CONFIG"
HOME_ENV = "CS_ANALYTICS_HOME"

HEALTH_COMPONENTS = ("deliveries", "logins", "touchpoints", "meetings", "conversion", "renewal")
BANDS = ("healthy", "caution", "warning", "danger")
ATTRIBUTE_TIERS = ("high", "mid", "low")
SEGMENTS = ("S", "A", "B", "C")
CANONICAL_TABLES = ("users", "accounts", "contracts", "activities", "usage")


def _doc(text: str, default, merge: bool = False, **kwargs):
    """A dataclass field with its documentation kept beside its default. `merge`: a table
    given in the settings file changes only its own keys of the default table."""
    metadata = {"doc": text, "merge": merge}
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: _copy(default), metadata=metadata, **kwargs)
    return field(default=default, metadata=metadata, **kwargs)


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


@dataclass(frozen=True)
class General:
    """Calendar and reporting basics."""

    fiscal_year_start_month: int = _doc(
        "First month of the fiscal year (1 = January; 4 = April is common in Japan). "
        "'2026Q1' is the first quarter of fiscal year 2026.", 1)
    renewal_grace_days: int = _doc(
        "A contract counts as active through a gap of at most this many days before the "
        "account's next contract, so a late renewal is not churn + reactivation.", 31)
    as_of: dt.date | None = _doc(
        "Fixed as-of date for every metric. Unset: today, or the latest date in the data for "
        "the demo dataset.", None)
    language: str = _doc("Default UI and report language: 'ja' or 'en'.", "ja")
    timezone: str = _doc(
        "Time zone in which every time shown to a user (banner, reports, history, alerts) is "
        "given, with its label; the data-as-of date is a date in this zone.", "Asia/Tokyo")
    app_base_url: str = _doc(
        "Public URL of the app, used for links to account pages in Slack messages.",
        "http://localhost:8501")


# The units amounts can be shown in on screen (Display.amount_unit): yen per unit.
AMOUNT_UNITS = {"yen": 1, "thousand": 1_000, "man": 10_000, "million": 1_000_000}


@dataclass(frozen=True)
class Display:
    """How the app shows amounts: one unit per UI language, the same on every page."""

    amount_unit_ja: str = _doc(
        "Unit of amounts on KPI cards, account headers and chart axes in the Japanese UI: "
        "'man' (10,000 yen), 'thousand', 'million' or 'yen'. Tables, hovers and "
        "downloads always give whole yen.", "man")
    amount_unit_en: str = _doc(
        "The same in the English UI: 'thousand' (¥K), 'million' (¥M) or 'yen'.", "thousand")

    def amount_unit(self, lang: str) -> str:
        return self.amount_unit_ja if lang == "ja" else self.amount_unit_en


@dataclass(frozen=True)
class Snapshots:
    """How many published snapshots are kept on disk."""

    keep: int = _doc("Number of most recent snapshots kept; older ones are pruned after a publish.", 5)


@dataclass(frozen=True)
class Import:
    """File import (CLI `import`, the Data page upload, the Metabase inbox)."""

    max_errors: int = _doc("Problems reported per import before the list is cut off.", 200)
    upload_max_mb: int = _doc("Largest file accepted by upload or import, in megabytes.", 200)
    mapping: dict[str, dict[str, str]] = _doc(
        "Extra header aliases per table: {table = {\"source header\" = \"canonical column\"}}, "
        "checked before the built-in Japanese aliases.", {})
    raw_rows_max: int = _doc(
        "An import keeps its rows as received (raw_import_<table>) only for tables of at most "
        "this many imported rows; larger imports (daily usage) keep only the file list "
        "(raw_import_files), so the snapshot does not hold every row twice.", 1_000_000)
    max_amount_yen: float = _doc(
        "Amounts (contract amount and mrr) must be below this many yen; a larger value is "
        "reported with its row and column (it is a typo or a hostile file, and would make "
        "every total meaningless).", 10_000_000_000_000.0)
    max_count: int = _doc(
        "Counts (deliveries, logins, viewers, …) and whole numbers (capacity) may be at most "
        "this per row.", 1_000_000_000)
    date_order: str = _doc(
        "Day/month order of numeric dates like 1/5/2026 (Metabase's M/D/YYYY and D/M/YYYY "
        "styles): \"mdy\" (month first) or \"dmy\" (day first). Empty: each file is read in "
        "the order its dates show (a day above 12), and a file that does not show it is "
        "refused with a message naming this setting.", "")
    reader_memory_mb: int = _doc(
        "Memory the child process reading one XLSX or JSON file may use (MB); a file needing "
        "more is refused with one message, and the process that asked (the app, a refresh) "
        "is not affected.", 768)
    reader_timeout_seconds: float = _doc(
        "Time the child process reading one XLSX or JSON file may take.", 600.0)


# The KPIs a target may judge, and the bases each can be judged on (SPEC §4 "Comparisons and
# targets"): a rate of a period on that period kind or on the trailing twelve months at the
# period's end; the two-year churn rate only on itself.
TARGET_BASES = {
    "nrr": ("ttm", "year", "quarter", "month"),
    "grr": ("ttm", "year", "quarter", "month"),
    "logo_churn_rate": ("ttm", "year", "quarter", "month"),
    "gross_mrr_churn": ("ttm", "year", "quarter", "month"),
    "net_mrr_churn": ("ttm", "year", "quarter", "month"),
    "quick_ratio": ("ttm", "year", "quarter", "month"),
    "two_year_churn_rate": ("two_year",),
}
TARGET_DIRECTIONS = ("at_least", "at_most")


@dataclass(frozen=True)
class Target:
    """One goal: the KPI it judges, its value, the basis it is judged on and its direction."""

    metric: str = _doc(
        "The KPI judged: nrr, grr, logo_churn_rate, gross_mrr_churn, net_mrr_churn, "
        "quick_ratio or two_year_churn_rate. Unset: the target's own name.", "")
    value: float = _doc("The target (rates as fractions: 1.10 = 110%).", 0.0)
    basis: str = _doc(
        "What the target is judged on: 'ttm' (the trailing twelve months ending with the "
        "period's last month — an annual target, judged whatever period is shown), 'year', "
        "'quarter' or 'month' (that period itself, judged only when such a period is shown), "
        "'two_year' (the two-year churn rate at the period's last month).", "")
    direction: str = _doc("'at_least' or 'at_most'.", "")
    enabled: bool = _doc("false switches a default target off.", True)


def _default_targets() -> dict:
    return {
        "nrr": {"metric": "nrr", "value": 1.10, "basis": "ttm", "direction": "at_least"},
        "grr": {"metric": "grr", "value": 0.90, "basis": "ttm", "direction": "at_least"},
        "two_year_churn_rate": {"metric": "two_year_churn_rate", "value": 0.10,
                                "basis": "two_year", "direction": "at_most"},
    }


TARGETS_DOC = (
    "The CS strategy's goals, each with its basis, keyed by a name of your choice: "
    "[targets.<name>] metric, value, basis, direction. Defaults: NRR ≥ 110% and GRR ≥ 90% on "
    "the trailing twelve months, two-year churn ≤ 10%. A period's own NRR, GRR or logo churn "
    "is shown without a pass/fail mark unless a target with that basis is configured, e.g. "
    "[targets.nrr_quarter] metric = \"nrr\", value = 1.02, basis = \"quarter\", "
    "direction = \"at_least\". For a default name only the keys you set change.")


@dataclass(frozen=True)
class Samples:
    """How a rate over a small group says how small it is (SPEC §4)."""

    small_below: int = _doc(
        "A rate over fewer customers than this (the two-year churn rate's cohort) is marked as "
        "a small sample (its 90% Wilson interval is shown beside it in any case).", 30)


LEGACY_TARGET_KEYS = {"nrr_min": ("nrr", "ttm", "at_least"),
                      "grr_min": ("grr", "ttm", "at_least"),
                      "two_year_churn_max": ("two_year_churn_rate", "two_year", "at_most")}


def _points(*pairs):
    return [list(p) for p in pairs]


@dataclass(frozen=True)
class HealthWindows:
    """Windows measured back from the snapshot day, in days."""

    deliveries_days: int = _doc("Deliveries are counted over this many days.", 90)
    logins_days: int = _doc("Days with at least one login are counted over this many days.", 30)
    touchpoints_days: int = _doc("Email/call/other activities are counted over this many days.", 90)
    meetings_days: int = _doc("Meetings are counted over this many days.", 90)
    conversion_days: int = _doc("Conversion rate is measured over this many days.", 90)


@dataclass(frozen=True)
class Health:
    """Health score: six components scored 0–100 by piecewise-linear thresholds."""

    weights: dict[str, float] = _doc(
        "Weight of each component. Components without data are left out and their weight is "
        "redistributed over the others.",
        {"deliveries": 25.0, "logins": 20.0, "touchpoints": 15.0, "meetings": 15.0,
         "conversion": 10.0, "renewal": 15.0})
    thresholds: dict[str, list[list[float]]] = _doc(
        "Scoring points [input, score] per component, increasing in input; linear between "
        "points, flat outside them. Inputs: deliveries in window, login days in window, "
        "touchpoints in window, meetings in window, conversion rate (fraction), days to the "
        "current contract's end.",
        {"deliveries": _points((0, 0), (3, 40), (6, 70), (12, 100)),
         "logins": _points((0, 0), (4, 50), (8, 80), (12, 100)),
         "touchpoints": _points((0, 0), (2, 50), (4, 80), (6, 100)),
         "meetings": _points((0, 0), (1, 60), (2, 85), (3, 100)),
         "conversion": _points((0, 0), (0.05, 40), (0.10, 70), (0.20, 100)),
         "renewal": _points((0, 0), (30, 20), (90, 60), (180, 100))})
    onboarding_days: int = _doc(
        "Accounts whose first contract started fewer than this many days before the snapshot "
        "day are scored with the onboarding thresholds.", 90)
    onboarding_thresholds: dict[str, list[list[float]]] = _doc(
        "Thresholds used during onboarding, per component; a component not listed uses the "
        "normal thresholds.",
        {"deliveries": _points((0, 0), (1, 50), (3, 80), (6, 100)),
         "logins": _points((0, 0), (2, 50), (6, 80), (10, 100)),
         "meetings": _points((0, 0), (1, 70), (2, 100))})
    bands: dict[str, float] = _doc(
        "Lowest score of each band: healthy 🟢, caution 🟡, warning 🟠; below warning is "
        "danger 🔴.", {"healthy": 75.0, "caution": 50.0, "warning": 25.0})
    conversion_basis: str = _doc(
        "Conversion rate = conversions / viewers ('viewers') or viewers / registrants "
        "('registrants').", "viewers")
    windows: HealthWindows = field(default_factory=HealthWindows, metadata={"doc": "Windows."})


@dataclass(frozen=True)
class Backtest:
    """Health-score backtest (the Score check page, `health backtest`): does the score warn
    before churn?"""

    horizon_days: int = _doc(
        "An account-week counts as churned when the account has a churn movement whose "
        "snapshot day falls within this many days after the evaluation day (the CLI's "
        "--horizon and the page's choice override it).", 180)
    min_history_days: int = _doc(
        "Evaluation days start this many days after the first day of the weekly health "
        "history, so the scores' 90-day windows are filled.", 91)
    lead_weeks: int = _doc(
        "Lead time looks for the first 🟠/🔴 week among this many weeks before the churn "
        "month's snapshot day.", 26)
    min_churned_accounts: int = _doc(
        "Below this many distinct churned accounts behind the figures, the page and the CLI "
        "warn that the evidence is thin and show no weight alternatives.", 30)
    confidence: float = _doc("Confidence of the Wilson intervals around churn rates.", 0.90)
    weight_factors: list[float] = _doc(
        "Weight alternatives: each component's weight multiplied by each of these factors "
        "(the others unchanged), the score re-weighted from the components recorded each "
        "week. Shown, never applied.", [0.5, 2.0])


@dataclass(frozen=True)
class Segments:
    """Attribute score (fixed) × health band (variable) → segment S/A/B/C."""

    arr_points: list[list[float]] = _doc(
        "[ARR at least, points] from the lowest tier up: the highest row whose ARR the account "
        "reaches gives its points.",
        _points((0, 0), (1_200_000, 1), (3_600_000, 2), (6_000_000, 3)))
    industry_points: dict[str, float] = _doc(
        "Points per industry (finance and medical need more effort); industries not listed "
        "get 0.", {"金融": 2.0, "医療": 2.0, "保険": 1.0, "官公庁": 1.0})
    phase_points: dict[str, float] = _doc(
        "Points per usage phase.", {"onboarding": 1.0, "adoption": 1.0, "mature": 0.0})
    tier_min_points: dict[str, float] = _doc(
        "Lowest attribute points of each tier; below 'mid' is 'low'.", {"high": 4.0, "mid": 2.0})
    matrix: dict[str, dict[str, str]] = _doc(
        "Segment for [attribute tier][health band].",
        {"high": {"healthy": "S", "caution": "S", "warning": "A", "danger": "A"},
         "mid": {"healthy": "A", "caution": "A", "warning": "B", "danger": "B"},
         "low": {"healthy": "B", "caution": "C", "warning": "C", "danger": "C"}})


@dataclass(frozen=True)
class Signals:
    """Churn-risk signal thresholds."""

    no_login_days: int = _doc("no_login_60d: no login for at least this many days.", 60)
    deliveries_window_days: int = _doc(
        "deliveries_drop_50: length of the two windows compared, in days.", 90)
    deliveries_drop_ratio: float = _doc(
        "deliveries_drop_50: fires when the last window is at most this share of the one "
        "before.", 0.5)
    deliveries_min_previous: int = _doc(
        "deliveries_drop_50: the window before must have had at least this many deliveries.", 2)
    no_contact_days: int = _doc(
        "no_contact_60d: no meeting, email or call for at least this many days.", 60)
    renewal_at_risk_days: int = _doc(
        "renewal_at_risk: the contract ends within this many days and nothing following is "
        "signed.", 90)
    renewal_at_risk_bands: list[str] = _doc(
        "Health bands that put a renewal at risk: the renewal_at_risk and "
        "notice_deadline_near signals, and a pending renewal's status 'at risk'.",
        ["warning", "danger"])
    notice_deadline_days: int = _doc(
        "notice_deadline_near: a pending auto-renewing contract's notice deadline is within "
        "this many days, and its account is in renewal_at_risk_bands or shows another "
        "signal.", 30)


@dataclass(frozen=True)
class Renewals:
    """Renewal terms, the renewals page's windows and the renewal forecast (docs/metrics.md
    "Renewals")."""

    auto_renew_default: bool = _doc(
        "Whether a contract whose auto_renew is empty renews by itself unless the customer "
        "gives notice. Set true when your standard terms renew automatically.", False)
    notice_days_default: int = _doc(
        "Days before end_date by which a cancellation must be given, for a contract whose "
        "notice_days is empty (notice deadline = end_date − notice days).", 30)
    radar_days: int = _doc(
        "Notice-deadline radar: pending auto-renewing contracts whose notice deadline is "
        "within this many days of the as-of date.", 60)
    reminder_days_min: int = _doc(
        "Reminder list (renewal-reminder mail): contracts ending at least this many days after "
        "the as-of date…", 55)
    reminder_days_max: int = _doc("… and at most this many days after it.", 65)
    forecast_lead_days: int = _doc(
        "Forecast: a past renewal's band is the one its account held on the last weekly "
        "snapshot on or before end_date minus this many days (point in time).", 90)
    forecast_min_renewals: int = _doc(
        "Forecast: P(renew | band) comes from past renewals when at least this many back the "
        "band; otherwise the band's default_probabilities value is used.", 30)
    default_probabilities: dict[str, float] = _doc(
        "Forecast: P(renew) used where the history is too small, per band now; 'unscored' for "
        "an account without a score, 'notice_given' for a contract whose customer gave notice "
        "(whatever its band).",
        {"healthy": 0.95, "caution": 0.85, "warning": 0.65, "danger": 0.40, "unscored": 0.80,
         "notice_given": 0.05})
    history_quarters: int = _doc(
        "Renewal-rate history: the number of fiscal quarters shown before the current one.", 8)


@dataclass(frozen=True)
class Alerts:
    """Churn-risk alerts to Slack (webhook URL from SLACK_WEBHOOK_URL)."""

    mode: str = _doc("'each' sends one message per alert; 'digest' one message per run.", "each")
    cooldown_days: int = _doc(
        "An account does not alert again on the same signal within this many days.", 7)
    manager_user_ids: list[str] = _doc("Users mentioned on every alert (the CS manager).", [])
    slack_member_ids: dict[str, str] = _doc(
        "Slack member id per user_id, for mentions: {\"U001\" = \"U0ABCDEF\"}.", {})
    max_attempts: int = _doc("Delivery attempts per alert per run before it is left for later.", 4)
    backoff_seconds: float = _doc("First retry delay; doubled on each retry.", 1.0)
    timeout_seconds: float = _doc("HTTP timeout for one delivery.", 10.0)


@dataclass(frozen=True)
class SalesforceObject:
    """One Salesforce object pulled into one canonical table."""

    table: str = _doc("Canonical table filled from this object.", "")
    object: str = _doc("Salesforce object API name.", "")
    fields: dict[str, str] = _doc(
        "canonical column → Salesforce field (relationship paths like Owner.Name allowed).", {})
    where: str = _doc("Extra SOQL condition, e.g. \"Type = 'Customer'\".", "")
    constants: dict[str, str] = _doc("canonical column → fixed value (e.g. type = 'meeting').", {})
    keep: dict[str, list[str]] = _doc(
        "Salesforce field → the values a record must have to be loaded (compared as text, "
        "ignoring case; true/false for checkboxes). A record with another value is left out, "
        "and removed when an incremental refresh sees it change to one (a contract back to "
        "Draft); an empty list turns the condition off.", {})
    timed: dict[str, str] = _doc(
        "canonical date column → date-time field giving the moment of a timed record, used "
        "instead of the mapped date field when it is set (converted to salesforce.timezone).",
        {})
    all_day: str = _doc(
        "Checkbox field marking all-day records: their mapped date field is used as it is, "
        "never `timed` (Event: IsAllDayEvent).", "")
    bulk: bool = _doc("Pull through Bulk API 2.0 instead of the REST query endpoint.", False)
    track_deletes: bool = _doc(
        "Incremental pulls also fetch deleted records (queryAll + IsDeleted) and remove them; "
        "false for objects without an IsDeleted field, such as User.", True)
    enabled: bool = _doc("Pull this object; false leaves a default object out.", True)


def _sf_default_objects():
    return {
        "users": {"table": "users", "object": "User", "where": "", "track_deletes": False,
                  "fields": {"user_id": "Id", "name": "Name", "email": "Email",
                             "manager_id": "ManagerId", "active": "IsActive"}},
        "accounts": {"table": "accounts", "object": "Account", "where": "",
                     "fields": {"account_id": "Id", "name": "Name", "industry": "Industry",
                                "owner_id": "OwnerId", "created_date": "CreatedDate"}},
        # Only an activated contract is revenue: a Draft is not (SPEC §5 "Salesforce").
        "contracts": {"table": "contracts", "object": "Contract", "where": "",
                      "fields": {"contract_id": "Id", "account_id": "AccountId",
                                 "start_date": "StartDate", "end_date": "EndDate",
                                 "status": "Status", "amount": "Amount__c",
                                 "auto_renew": "", "notice_days": "", "notice_date": ""},
                      "keep": {"Status": ["Activated"]}},
        # An open task's ActivityDate is its due date, not a contact.
        "tasks": {"table": "activities", "object": "Task", "where": "",
                  "fields": {"activity_id": "Id", "account_id": "AccountId",
                             "owner_id": "OwnerId", "date": "ActivityDate",
                             "type": "TaskSubtype", "subject": "Subject"},
                  "keep": {"IsClosed": ["true"]}},
        # Each invitee of a meeting gets a child copy of its Event (IsChild = true): one
        # meeting is the parent only. A timed event's moment is ActivityDateTime (UTC).
        "events": {"table": "activities", "object": "Event", "where": "",
                   "fields": {"activity_id": "Id", "account_id": "AccountId",
                              "owner_id": "OwnerId", "date": "ActivityDate",
                              "subject": "Subject"},
                   "constants": {"type": "meeting"},
                   "keep": {"IsChild": ["false"]},
                   "timed": {"date": "ActivityDateTime"}, "all_day": "IsAllDayEvent"},
    }


# What `push` writes to each Account (SPEC §5 "Salesforce write-back"); the values are defined
# in cs_analytics/metrics/account_status.py.
PUSH_ACCOUNT_VALUES = ("health_score", "health_band", "segment", "top_detractor", "signals",
                       "last_contact_date", "last_login_date", "deliveries_90d", "logins_90d",
                       "next_renewal_date")
PUSH_USAGE_VALUES = ("account", "week_start", "deliveries", "logins", "viewers", "registrants",
                     "conversions")


@dataclass(frozen=True)
class SalesforcePush:
    """Write-back to Salesforce (`push`, `refresh --push`): CS fields on each Account, a weekly
    usage row per account, notes and manual assessments as completed Tasks. Set up the fields
    and the object first (docs/operations.md, "Salesforce write-back")."""

    account_fields: dict[str, str] = _doc(
        "Value → the Account field it is written to; \"\" writes that value nowhere. Keys you "
        "set replace only their own default.",
        {"health_score": "CS_Health_Score__c", "health_band": "CS_Health_Band__c",
         "segment": "CS_Segment__c", "top_detractor": "CS_Top_Detractor__c",
         "signals": "CS_Signals__c", "last_contact_date": "CS_Last_Contact__c",
         "last_login_date": "CS_Last_Login__c", "deliveries_90d": "CS_Deliveries_90d__c",
         "logins_90d": "CS_Logins_90d__c", "next_renewal_date": "CS_Next_Renewal__c"},
        merge=True)
    usage_object: str = _doc(
        "Custom object receiving one row per account and week; \"\" writes no weekly usage.",
        "CS_Usage_Weekly__c")
    usage_fields: dict[str, str] = _doc(
        "Value → field of the usage object (account is the lookup to Account, week_start the "
        "Monday). Keys you set replace only their own default; \"\" leaves a count out.",
        {"account": "Account__c", "week_start": "Week_Start__c", "deliveries": "Deliveries__c",
         "logins": "Logins__c", "viewers": "Viewers__c", "registrants": "Registrants__c",
         "conversions": "Conversions__c"}, merge=True)
    usage_key_field: str = _doc(
        "External ID field of the usage object: account id + ':' + week start, so a re-run "
        "updates a row instead of adding one.", "CS_Key__c")
    usage_weeks: int = _doc(
        "Complete weeks (Monday to Sunday, up to the data-as-of date) written; later pushes "
        "send only the rows that changed.", 13)
    tasks: bool = _doc(
        "Write notes and manual assessments entered in the app as completed Tasks on the "
        "account (they wait in an outbox until Salesforce confirms them).", True)
    task_key_field: str = _doc(
        "External ID text field on Activity identifying the note or assessment a Task carries, "
        "so a retry never creates a second Task.", "CS_Outbox_Key__c")
    task_status: str = _doc("Task status of a completed task in your org.", "Completed")
    bulk_threshold: int = _doc(
        "Records of one object above which Bulk API 2.0 is used instead of sObject "
        "Collections (200 records a call).", 2000)
    max_errors_shown: int = _doc("Refused records listed one by one; the rest are counted.", 50)


@dataclass(frozen=True)
class Salesforce:
    """Salesforce connection and mapping (credentials come from SF_* environment variables)."""

    api_version: str = _doc("REST API version.", "59.0")
    timeout_seconds: float = _doc("HTTP timeout per request.", 60.0)
    max_retries: int = _doc(
        "Retries on REQUEST_LIMIT_EXCEEDED, timeouts and 5xx before the refresh fails.", 3)
    backoff_seconds: float = _doc("First retry delay; doubled on each retry.", 2.0)
    task_type_map: dict[str, str] = _doc(
        "Value of the field mapped to activities.type (TaskSubtype by default) → activity "
        "type; other values become 'other' unless they already are an activity type.",
        {"Email": "email", "Call": "call", "Task": "other", "ListEmail": "email",
         "Cadence": "other"})
    timezone: str = _doc(
        "Time zone in which Salesforce date-times (e.g. CreatedDate) become dates.", "Asia/Tokyo")
    bulk_poll_seconds: float = _doc(
        "Bulk API 2.0: wait before the first status check of a query job, in seconds.", 5.0)
    objects: dict[str, SalesforceObject] = field(
        default_factory=lambda: {k: _build(SalesforceObject, v, f"salesforce.objects.{k}")
                                 for k, v in _sf_default_objects().items()},
        metadata={"doc": "Objects pulled, keyed by a name of your choice. For a default name "
                         "(users, accounts, contracts, tasks, events) only the keys you set "
                         "change; `fields`, `constants`, `keep` and `timed` merge key by key, "
                         "a field set to \"\" is left out and a `keep` list set to [] is "
                         "no condition. Contract renewal terms have no standard "
                         "Salesforce field: map your custom fields, e.g. "
                         "`objects.contracts.fields.auto_renew = \"AutoRenew__c\"`, "
                         "`notice_days = \"NoticeDays__c\"`, `notice_date = "
                         "\"NoticeDate__c\"`; unmapped, they keep what a file import gave "
                         "and otherwise take the [renewals] defaults."})
    push: SalesforcePush = field(default_factory=SalesforcePush)


@dataclass(frozen=True)
class MetabaseCard:
    """A saved question pulled through the Metabase API."""

    id: int = _doc("Card (saved question) id.", 0)
    table: str = _doc("Canonical table the card's rows fill.", "usage")
    mapping: dict[str, str] = _doc("Column display name → canonical column.", {})
    format: str = _doc("Export format pulled: \"csv\", \"json\" or \"xlsx\".", "csv")
    format_rows: bool = _doc(
        "Ask Metabase for formatted values (dates like \"January 5, 2026\", grouped numbers), "
        "as its download button gives them; false asks for plain ISO dates and numbers. Both "
        "are read.", False)


@dataclass(frozen=True)
class Metabase:
    """Metabase exports: an inbox folder and the API (key from METABASE_API_KEY)."""

    inbox_dir: str = _doc("Folder of exported files, relative to the data directory.", "inbox")
    processed_dir: str = _doc(
        "Where inbox files move after a successful publish, relative to the data directory.",
        "inbox/processed")
    url: str = _doc("Metabase base URL for API pulls; empty disables the API pull.", "")
    timeout_seconds: float = _doc("HTTP timeout per card.", 120.0)
    cards: list[MetabaseCard] = field(default_factory=list,
                                      metadata={"doc": "Cards pulled through the API."})


@dataclass(frozen=True)
class Access:
    """Who sees what when login ([auth] in .streamlit/secrets.toml) is configured."""

    allowed_domains: list[str] = _doc(
        "Email domains allowed to sign in in addition to active users (as members).", [])
    admin_emails: list[str] = _doc(
        "Emails that always sign in as managers, e.g. to import the first users before the "
        "users table exists.", [])
    restrict_members_to_own_accounts: bool = _doc(
        "Members see only their own portfolio (default: the whole team's data).", False)


@dataclass(frozen=True)
class Server:
    """Who may reach the app (docs/operations.md, "Security model")."""

    allow_anonymous: bool = _doc(
        "Without sign-in ([auth] in .streamlit/secrets.toml) the app serves only this computer "
        "(localhost) and refuses every other address. true allows anonymous access from the "
        "network on purpose: every visitor is then a manager who sees every customer.", False)


@dataclass(frozen=True)
class Reports:
    """KPI report and QBR pack: onboarding completions and the QBR talking-point rules
    (docs/reports.md describes each rule)."""

    onboarding_kickoff_lead_days: int = _doc(
        "Onboarding completion: a kickoff meeting counts from this many days before the first "
        "contract starts (the onboarding period itself is health.onboarding_days).", 30)
    deliveries_fall_ratio: float = _doc(
        "Talking point 'deliveries falling': deliveries in the last 90 days are at most this "
        "share of the 90 days before.", 0.75)
    deliveries_fall_min_previous: int = _doc(
        "Talking point 'deliveries falling': the 90 days before had at least this many "
        "deliveries.", 3)
    campaign_quiet_days: int = _doc(
        "Talking point 'campaign ended': no delivery in the last this many days, after an event "
        "burst (campaign_min_burst) in the 90 days before them.", 45)
    campaign_min_burst: int = _doc(
        "Talking point 'campaign ended': deliveries in the 90 days before the quiet days that "
        "make an event burst.", 5)
    campaign_churn_reasons: list[str] = _doc(
        "Talking point 'campaign ended': churn reasons (of the account or any of its contracts) "
        "that mean a campaign ended.", ["施策終了・中止"])
    plan_delivery_limits: list[list[float]] = _doc(
        "Deliveries per month included in the plan, as [MRR at least, deliveries] from the "
        "lowest tier up (the highest row whose MRR the account reaches applies). Set them to "
        "your price list; an empty list turns the 'near plan limit' talking point off.",
        _points((0, 8), (100_000, 15), (200_000, 30), (500_000, 60)))
    near_limit_ratio: float = _doc(
        "Talking point 'near plan limit': average monthly deliveries over the last 90 days reach "
        "this share of the plan's included deliveries.", 0.8)
    renewal_proposal_days: int = _doc(
        "Talking point 'renewal proposal': the current contract ends within this many days and "
        "no following contract is signed.", 90)
    no_meeting_days: int = _doc(
        "Talking point 'schedule a review': no meeting for at least this many days.", 60)
    low_conversion_rate: float = _doc(
        "Talking point 'conversion': the conversion rate of the last 90 days is below this.", 0.05)
    growth_ratio: float = _doc(
        "Talking point 'growing usage': deliveries in the last 90 days are at least this multiple "
        "of the 90 days before, with healthy health.", 1.5)
    health_drop_points: float = _doc(
        "Talking point 'health falling': the score fell by at least this many points since the "
        "snapshot 4 weeks earlier.", 15.0)
    pace_min_days: int = _doc(
        "QBR pack and deck: the current quarter's usage is pro-rated to the whole quarter (its "
        "pace) once at least this many of its days have passed; before that it is shown to "
        "date only.", 30)
    qbr_template: str = _doc(
        "The customer QBR deck (.pptx) uses this PowerPoint file's slide master and layouts "
        "(a .pptx or .potx; its own slides are left out). A relative path is read from the "
        "folder of the configuration file. Empty: the built-in design.", "")
    deck_font_latin: str = _doc(
        "QBR deck: font of Latin letters and digits on every text run and chart. Text is laid "
        "out with Arial's metrics (a wider font may need shorter texts).", "Arial")
    deck_font_east_asian: str = _doc(
        "QBR deck: font of Japanese text (the east-asian font of every run and chart), e.g. "
        "游ゴシック, メイリオ, BIZ UDPゴシック.", "游ゴシック")


@dataclass(frozen=True)
class Settings:
    """All settings. Every section and key is optional in the file."""

    general: General = field(default_factory=General)
    display: Display = field(default_factory=Display)
    snapshots: Snapshots = field(default_factory=Snapshots)
    import_: Import = field(default_factory=Import, metadata={"toml": "import"})
    targets: dict[str, Target] = field(
        default_factory=lambda: {k: _build(Target, v, f"targets.{k}")
                                 for k, v in _default_targets().items()},
        metadata={"doc": TARGETS_DOC})
    samples: Samples = field(default_factory=Samples)
    health: Health = field(default_factory=Health)
    backtest: Backtest = field(default_factory=Backtest)
    segments: Segments = field(default_factory=Segments)
    signals: Signals = field(default_factory=Signals)
    renewals: Renewals = field(default_factory=Renewals)
    alerts: Alerts = field(default_factory=Alerts)
    salesforce: Salesforce = field(default_factory=Salesforce)
    metabase: Metabase = field(default_factory=Metabase)
    access: Access = field(default_factory=Access)
    server: Server = field(default_factory=Server)
    reports: Reports = field(default_factory=Reports)
    source_path: str | None = field(default=None, metadata={"internal": True})


# --------------------------------------------------------------------------- loading


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or REPO_ROOT / "cs_analytics.toml")


def data_home() -> Path:
    return Path(os.environ.get(HOME_ENV) or REPO_ROOT / "data")


def read_toml(path: Path) -> dict:
    """A TOML file (settings, secrets) as a dict, or one ConfigError naming the file. The
    parser's message gives the line and column, never the values."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None


def load_settings(path: str | Path | None = None) -> Settings:
    """Read and validate the configuration file; a missing default file means all defaults."""
    explicit = path is not None or os.environ.get(CONFIG_ENV)
    path = Path(path) if path is not None else config_path()
    if not path.exists():
        if explicit:
            raise ConfigError(f"configuration file not found: {path}")
        return Settings()
    raw = read_toml(path)
    try:
        settings = settings_from_dict(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return dataclasses.replace(settings, source_path=str(path))


def settings_from_dict(raw: dict) -> Settings:
    settings = _build(Settings, raw, "")
    _check_semantics(settings)
    return settings


def _toml_name(f: dataclasses.Field) -> str:
    return f.metadata.get("toml", f.name)


def _build(cls, raw, where: str):
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or 'top level'}: expected a table, got {_show(raw)}")
    if cls is Salesforce and isinstance(raw.get("objects"), dict):
        raw = {**raw, "objects": _merge_sf_objects(raw["objects"])}
    if cls is Settings and "targets" in raw:
        raw = {**raw, "targets": _merge_targets(raw["targets"])}
    fields = {_toml_name(f): f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        key = f"{where}.{unknown[0]}" if where else unknown[0]
        raise ConfigError(f"unknown key '{key}' (known keys here: {', '.join(sorted(fields))})")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, f in fields.items():
        if name in raw:
            key = f"{where}.{name}" if where else name
            value = raw[name]
            if f.metadata.get("merge") and isinstance(value, dict):
                value = {**f.default_factory(), **value}
            values[f.name] = _convert(hints[f.name], value, key)
    return cls(**values)


def _merge_sf_objects(raw_objects: dict) -> dict:
    """Overrides of a default Salesforce object change only the keys they set, so mapping one
    custom field (`fields.amount = "TotalPrice__c"`) keeps the object's other fields."""
    merged = _sf_default_objects()
    for name, override in raw_objects.items():
        if name not in merged or not isinstance(override, dict):
            merged[name] = override
            continue
        base = merged[name]
        for key, value in override.items():
            if key in ("fields", "constants", "keep", "timed") and isinstance(value, dict):
                base[key] = {**base.get(key, {}), **value}
            else:
                base[key] = value
    return merged


def _merge_targets(raw_targets) -> dict:
    """Targets of a default name change only the keys they set; a target's metric defaults to
    its name. The pre-basis keys (nrr_min …) are refused with the form that replaces them."""
    if not isinstance(raw_targets, dict):
        return raw_targets
    merged = _default_targets()
    for name, override in raw_targets.items():
        if name in LEGACY_TARGET_KEYS and not isinstance(override, dict):
            metric, basis, direction = LEGACY_TARGET_KEYS[name]
            raise ConfigError(
                f"targets.{name}: targets now say their basis; write [targets.{metric}] with "
                f"value = {override!r}, basis = \"{basis}\", direction = \"{direction}\"")
        if not isinstance(override, dict):
            merged[name] = override
            continue
        merged[name] = {**merged.get(name, {"metric": name}), **override}
        merged[name].setdefault("metric", name)
    return merged


def _convert(tp, value, key: str):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(args[0], value, key)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key)
    if origin is dict:
        key_type, value_type = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table, got {_show(value)}")
        return {str(k): _convert(value_type, v, f"{key}.{k}") for k, v in value.items()}
    if origin is list:
        (item_type,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {_show(value)}")
        return [_convert(item_type, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {_show(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected a whole number, got {_show(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {_show(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {_show(value)}")
        return value
    if tp is dt.date:
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise ConfigError(f"{key}: expected a date like 2026-03-31, got {_show(value)}")
        return value
    raise ConfigError(f"{key}: unsupported setting type {tp}")  # pragma: no cover


def _show(value) -> str:
    return f"{type(value).__name__} {value!r}"


def _check_semantics(s: Settings) -> None:
    def fail(key, message):
        raise ConfigError(f"{key}: {message}")

    if not 1 <= s.general.fiscal_year_start_month <= 12:
        fail("general.fiscal_year_start_month", "expected a month number from 1 to 12")
    if s.general.renewal_grace_days < 0:
        fail("general.renewal_grace_days", "expected 0 or more days")
    if s.general.language not in ("ja", "en"):
        fail("general.language", "expected 'ja' or 'en'")
    if s.display.amount_unit_ja not in AMOUNT_UNITS:
        fail("display.amount_unit_ja", f"expected one of {', '.join(AMOUNT_UNITS)}")
    if s.display.amount_unit_en not in AMOUNT_UNITS or s.display.amount_unit_en == "man":
        fail("display.amount_unit_en", "expected one of yen, thousand, million ('man' is a "
             "Japanese unit)")
    if s.snapshots.keep < 1:
        fail("snapshots.keep", "expected at least 1")
    if s.import_.max_errors < 1:
        fail("import.max_errors", "expected at least 1")
    if s.import_.upload_max_mb < 1:
        fail("import.upload_max_mb", "expected at least 1")
    if s.import_.raw_rows_max < 0:
        fail("import.raw_rows_max", "expected 0 or more")
    if not s.import_.max_amount_yen > 0:
        fail("import.max_amount_yen", "expected a positive amount")
    if s.import_.max_count < 1:
        fail("import.max_count", "expected at least 1")
    if s.import_.date_order not in ("", "mdy", "dmy"):
        fail("import.date_order", 'expected "mdy", "dmy" or "" (read from each file)')
    if s.import_.reader_memory_mb < 128:
        fail("import.reader_memory_mb", "expected at least 128")
    if s.import_.reader_timeout_seconds <= 0:
        fail("import.reader_timeout_seconds", "expected a positive number of seconds")
    for table in s.import_.mapping:
        if table not in CANONICAL_TABLES:
            fail(f"import.mapping.{table}", f"expected one of {', '.join(CANONICAL_TABLES)}")

    h = s.health
    for name in h.weights:
        if name not in HEALTH_COMPONENTS:
            fail(f"health.weights.{name}", f"expected one of {', '.join(HEALTH_COMPONENTS)}")
        if h.weights[name] < 0:
            fail(f"health.weights.{name}", "expected a weight of 0 or more")
    if sum(h.weights.values()) <= 0:
        fail("health.weights", "expected at least one positive weight")
    for section, table in (("thresholds", h.thresholds), ("onboarding_thresholds",
                                                          h.onboarding_thresholds)):
        for name, points in table.items():
            key = f"health.{section}.{name}"
            if name not in HEALTH_COMPONENTS:
                fail(key, f"expected one of {', '.join(HEALTH_COMPONENTS)}")
            if not points or any(len(p) != 2 for p in points):
                fail(key, "expected a list of [input, score] pairs")
            xs = [p[0] for p in points]
            if xs != sorted(xs) or len(set(xs)) != len(xs):
                fail(key, "expected inputs in strictly increasing order")
            if any(not 0 <= p[1] <= 100 for p in points):
                fail(key, "expected scores from 0 to 100")
    for name in HEALTH_COMPONENTS:
        if name not in h.thresholds:
            fail(f"health.thresholds.{name}", "missing: every component needs thresholds")
    if set(h.bands) != {"healthy", "caution", "warning"}:
        fail("health.bands", "expected exactly the keys healthy, caution and warning")
    if not h.bands["healthy"] > h.bands["caution"] > h.bands["warning"]:
        fail("health.bands", "expected healthy > caution > warning")
    if h.conversion_basis not in ("viewers", "registrants"):
        fail("health.conversion_basis", "expected 'viewers' or 'registrants'")

    g = s.segments
    if set(g.tier_min_points) != {"high", "mid"} or g.tier_min_points["high"] <= g.tier_min_points["mid"]:
        fail("segments.tier_min_points", "expected keys high and mid with high > mid")
    for tier in ATTRIBUTE_TIERS:
        row = g.matrix.get(tier)
        if row is None:
            fail(f"segments.matrix.{tier}", "missing row")
        for band in BANDS:
            if row.get(band) not in SEGMENTS:
                fail(f"segments.matrix.{tier}.{band}", "expected one of S, A, B, C")
    for phase in g.phase_points:
        if phase not in ("onboarding", "adoption", "mature"):
            fail(f"segments.phase_points.{phase}", "expected onboarding, adoption or mature")

    for name, target in s.targets.items():
        key = f"targets.{name}"
        if target.metric not in TARGET_BASES:
            fail(f"{key}.metric", f"expected one of {', '.join(TARGET_BASES)}")
        if target.basis not in TARGET_BASES[target.metric]:
            fail(f"{key}.basis", f"expected for {target.metric} one of "
                                 f"{', '.join(TARGET_BASES[target.metric])}")
        if target.direction not in TARGET_DIRECTIONS:
            fail(f"{key}.direction", "expected 'at_least' or 'at_most'")
        if not math.isfinite(target.value) or target.value < 0:
            fail(f"{key}.value", "expected a number of 0 or more (rates as fractions: 1.10)")
    if s.samples.small_below < 1:
        fail("samples.small_below", "expected at least 1")
    for band in s.signals.renewal_at_risk_bands:
        if band not in BANDS:
            fail("signals.renewal_at_risk_bands", f"expected bands among {', '.join(BANDS)}")
    _check_renewals(s, fail)
    if s.alerts.mode not in ("each", "digest"):
        fail("alerts.mode", "expected 'each' or 'digest'")
    if s.alerts.max_attempts < 1:
        fail("alerts.max_attempts", "expected at least 1")
    _check_health_extras(s, fail)
    _check_backtest(s.backtest, fail)
    _check_salesforce(s.salesforce, fail)
    _check_reports(s.reports, fail)
    for i, card in enumerate(s.metabase.cards):
        if card.table not in CANONICAL_TABLES:
            fail(f"metabase.cards[{i}].table", f"expected one of {', '.join(CANONICAL_TABLES)}")
        if card.id < 1:
            fail(f"metabase.cards[{i}].id", "expected the card's id (a number from 1 up)")
        if card.format not in ("csv", "json", "xlsx"):
            fail(f"metabase.cards[{i}].format", 'expected "csv", "json" or "xlsx"')
        columns = _table_columns(card.table)
        for header, column in card.mapping.items():
            if column not in columns:
                fail(f"metabase.cards[{i}].mapping.{header}",
                     f"expected a column of {card.table}: {', '.join(columns)}")


def _check_backtest(b: "Backtest", fail) -> None:
    if not 7 <= b.horizon_days <= 3650:
        fail("backtest.horizon_days", "expected 7 to 3650 days")
    if b.min_history_days < 0:
        fail("backtest.min_history_days", "expected 0 or more days")
    if b.lead_weeks < 1:
        fail("backtest.lead_weeks", "expected at least 1 week")
    if b.min_churned_accounts < 1:
        fail("backtest.min_churned_accounts", "expected at least 1")
    if not 0.5 <= b.confidence < 1:
        fail("backtest.confidence", "expected a share from 0.5 up to (not including) 1, "
                                    "like 0.9")
    if any(f <= 0 or f == 1 for f in b.weight_factors) or \
            len(set(b.weight_factors)) != len(b.weight_factors):
        fail("backtest.weight_factors", "expected distinct factors above 0 other than 1, "
                                        "like [0.5, 2.0]")
RENEWAL_BUCKETS = (*BANDS, "unscored", "notice_given")


def _check_renewals(s: "Settings", fail) -> None:
    r = s.renewals
    for name in ("notice_days_default", "radar_days", "reminder_days_min", "forecast_lead_days"):
        if getattr(r, name) < 0:
            fail(f"renewals.{name}", "expected 0 or more days")
    if r.reminder_days_max < r.reminder_days_min:
        fail("renewals.reminder_days_max", "expected at least renewals.reminder_days_min")
    if r.forecast_min_renewals < 1:
        fail("renewals.forecast_min_renewals", "expected at least 1")
    if r.history_quarters < 1:
        fail("renewals.history_quarters", "expected at least 1")
    for bucket in r.default_probabilities:
        if bucket not in RENEWAL_BUCKETS:
            fail(f"renewals.default_probabilities.{bucket}",
                 f"expected one of {', '.join(RENEWAL_BUCKETS)}")
        if not 0 <= r.default_probabilities[bucket] <= 1:
            fail(f"renewals.default_probabilities.{bucket}", "expected a share from 0 to 1")
    for bucket in RENEWAL_BUCKETS:
        if bucket not in r.default_probabilities:
            fail(f"renewals.default_probabilities.{bucket}",
                 "missing: every band, unscored and notice_given need a value")
    if s.signals.notice_deadline_days < 0:
        fail("signals.notice_deadline_days", "expected 0 or more days")


def _check_reports(r: "Reports", fail) -> None:
    for name in ("onboarding_kickoff_lead_days", "deliveries_fall_min_previous",
                 "campaign_quiet_days", "campaign_min_burst", "renewal_proposal_days",
                 "no_meeting_days"):
        if getattr(r, name) < 0:
            fail(f"reports.{name}", "expected 0 or more")
    for name in ("deliveries_fall_ratio", "near_limit_ratio", "low_conversion_rate"):
        if not 0 <= getattr(r, name) <= 1:
            fail(f"reports.{name}", "expected a share from 0 to 1")
    if r.growth_ratio <= 1:
        fail("reports.growth_ratio", "expected a multiple above 1")
    if r.health_drop_points <= 0:
        fail("reports.health_drop_points", "expected more than 0 points")
    if not 1 <= r.pace_min_days <= 92:
        fail("reports.pace_min_days", "expected 1 to 92 days")
    for name in ("deck_font_latin", "deck_font_east_asian"):
        if not getattr(r, name).strip():
            fail(f"reports.{name}", "expected a font name")
    if r.qbr_template and Path(r.qbr_template).suffix.lower() not in (".pptx", ".potx"):
        fail("reports.qbr_template", "expected a PowerPoint file ending in .pptx or .potx")
    limits = r.plan_delivery_limits
    if any(len(p) != 2 or p[0] < 0 or p[1] <= 0 for p in limits):
        fail("reports.plan_delivery_limits",
             "expected [MRR at least, deliveries per month] pairs with deliveries above 0")
    if [p[0] for p in limits] != sorted({p[0] for p in limits}):
        fail("reports.plan_delivery_limits", "expected MRR tiers in strictly increasing order")


_SF_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SF_PATH = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")


def _table_columns(table: str) -> list[str]:
    return TABLES[table].column_names


def _check_health_extras(s: "Settings", fail) -> None:
    """Windows, day counts and delays the health, signal and alert code relies on."""
    h = s.health
    if h.onboarding_days < 0:
        fail("health.onboarding_days", "expected 0 or more days")
    for name in ("deliveries_days", "logins_days", "touchpoints_days", "meetings_days",
                 "conversion_days"):
        if getattr(h.windows, name) < 1:
            fail(f"health.windows.{name}", "expected at least 1 day")
    for i, row in enumerate(s.segments.arr_points):
        if len(row) != 2 or row[0] < 0:
            fail(f"segments.arr_points[{i}]", "expected [ARR at least (yen, 0 or more), points]")
    try:
        zoneinfo.ZoneInfo(s.general.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        fail("general.timezone", "expected a time zone name like Asia/Tokyo")
    sig = s.signals
    for name in ("no_login_days", "deliveries_window_days", "no_contact_days",
                 "renewal_at_risk_days"):
        if getattr(sig, name) < 1:
            fail(f"signals.{name}", "expected at least 1 day")
    if not 0 <= sig.deliveries_drop_ratio <= 1:
        fail("signals.deliveries_drop_ratio", "expected a share from 0 to 1, like 0.5")
    if sig.deliveries_min_previous < 0:
        fail("signals.deliveries_min_previous", "expected 0 or more")
    a = s.alerts
    if a.cooldown_days < 0:
        fail("alerts.cooldown_days", "expected 0 or more days")
    if a.backoff_seconds < 0:
        fail("alerts.backoff_seconds", "expected 0 or more seconds")
    if a.timeout_seconds <= 0:
        fail("alerts.timeout_seconds", "expected more than 0 seconds")


def _check_salesforce_push(p: "SalesforcePush", fail) -> None:
    key = "salesforce.push"
    for table, known in (("account_fields", PUSH_ACCOUNT_VALUES),
                         ("usage_fields", PUSH_USAGE_VALUES)):
        for value, name in getattr(p, table).items():
            if value not in known:
                fail(f"{key}.{table}.{value}", f"expected one of {', '.join(known)}")
            if name and not _SF_NAME.fullmatch(name):
                fail(f"{key}.{table}.{value}", "expected a field API name like CS_Segment__c")
    for name in ("usage_object", "usage_key_field", "task_key_field"):
        if getattr(p, name) and not _SF_NAME.fullmatch(getattr(p, name)):
            fail(f"{key}.{name}", "expected a Salesforce API name like CS_Key__c")
    if p.usage_object:
        for value in ("account", "week_start"):
            if not p.usage_fields.get(value):
                fail(f"{key}.usage_fields.{value}",
                     "missing: a usage row needs its account and week (or set usage_object = "
                     "\"\" to write no weekly usage)")
        if not p.usage_key_field:
            fail(f"{key}.usage_key_field", "missing: rows are upserted by this external ID")
    if p.tasks and not p.task_key_field:
        fail(f"{key}.task_key_field", "missing: Tasks are upserted by this external ID (or set "
                                      "tasks = false)")
    if not p.task_status.strip():
        fail(f"{key}.task_status", "expected the status of a completed task, like Completed")
    if not 0 <= p.usage_weeks <= 520:
        fail(f"{key}.usage_weeks", "expected 0 to 520 weeks")
    if p.bulk_threshold < 1:
        fail(f"{key}.bulk_threshold", "expected at least 1 record")
    if p.max_errors_shown < 1:
        fail(f"{key}.max_errors_shown", "expected at least 1")


def _check_salesforce(sf: "Salesforce", fail) -> None:
    _check_salesforce_push(sf.push, fail)

    if not re.fullmatch(r"\d+\.\d", sf.api_version):
        fail("salesforce.api_version", "expected a version like 59.0 (without a leading v)")
    if sf.max_retries < 0:
        fail("salesforce.max_retries", "expected 0 or more")
    if sf.backoff_seconds < 0 or sf.bulk_poll_seconds < 0:
        fail("salesforce.backoff_seconds" if sf.backoff_seconds < 0
             else "salesforce.bulk_poll_seconds", "expected 0 or more seconds")
    if sf.timeout_seconds <= 0:
        fail("salesforce.timeout_seconds", "expected more than 0 seconds")
    try:
        zoneinfo.ZoneInfo(sf.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        fail("salesforce.timezone", "expected a time zone name like Asia/Tokyo")
    for subtype, kind in sf.task_type_map.items():
        if kind not in ACTIVITY_TYPES:
            fail(f"salesforce.task_type_map.{subtype}", f"expected one of {', '.join(ACTIVITY_TYPES)}")
    for name, obj in sf.objects.items():
        key = f"salesforce.objects.{name}"
        if obj.table not in CANONICAL_TABLES:
            fail(f"{key}.table", f"expected one of {', '.join(CANONICAL_TABLES)}")
        if not _SF_NAME.fullmatch(obj.object):
            fail(f"{key}.object", "expected a Salesforce object API name like Account or Plan__c")
        table = TABLES[obj.table]
        for column, path in {**obj.fields, **obj.constants}.items():
            if column not in table.column_names:
                section = "fields" if column in obj.fields else "constants"
                fail(f"{key}.{section}.{column}",
                     f"expected a column of {obj.table}: {', '.join(table.column_names)}")
        for column, path in obj.fields.items():
            if path and not _SF_PATH.fullmatch(path):
                fail(f"{key}.fields.{column}",
                     "expected a field API name like Amount__c or a path like Owner.Name")
        for path in obj.keep:
            if not _SF_PATH.fullmatch(path):
                fail(f"{key}.keep.{path}",
                     "expected a field API name like Status or a path like Account.Type")
        for column, path in obj.timed.items():
            if column not in table.column_names or table.column(column).kind != "date":
                dates = [c.name for c in table.columns if c.kind == "date"]
                fail(f"{key}.timed.{column}",
                     f"expected a date column of {obj.table}: {', '.join(dates)}")
            if path and not _SF_PATH.fullmatch(path):
                fail(f"{key}.timed.{column}",
                     "expected a date-time field API name like ActivityDateTime")
        if obj.all_day and not _SF_PATH.fullmatch(obj.all_day):
            fail(f"{key}.all_day", "expected a checkbox field API name like IsAllDayEvent")
        if obj.enabled:
            mapped = {c for c, p in obj.fields.items() if p} | set(obj.constants)
            for column in table.key:
                if column not in mapped:
                    fail(f"{key}.fields.{column}",
                         f"missing: the key column {column} of {obj.table} needs a field")


# --------------------------------------------------------------------------- documentation


def iter_settings(cls=Settings, prefix: str = ""):
    """Yield (key, default, doc) for every leaf setting, in file order."""
    instance = cls()
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal"):
            continue
        key = f"{prefix}{_toml_name(f)}"
        value = getattr(instance, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            yield from iter_settings(type(value), key + ".")
        else:
            yield key, value, f.metadata.get("doc", "")


def defaults_toml() -> str:
    """The default configuration as commented TOML (what `config --defaults` prints)."""
    lines = ["# CS Analytics — default settings. Copy what you change into cs_analytics.toml.", ""]
    section = None
    for key, value, doc in iter_settings():
        head, _, name = key.rpartition(".")
        if not head and isinstance(value, dict):  # a top-level table of tables ([targets.*])
            section = key
            lines += ["", f"# {doc}", *_table_of_tables(key, value)]
            continue
        if head != section:
            section = head
            lines += ["", f"[{head}]"]
        lines.append(f"# {doc}")
        lines.append(f"{_toml_key(name)} = {_toml_value(value)}" if value is not None
                     else f"# {name} = (unset)")
    return "\n".join(lines).strip() + "\n"


def _table_of_tables(key: str, tables: dict) -> list[str]:
    """`[key.name]` sections, one per entry, each field with its documentation once."""
    lines = []
    documented = False
    for name, entry in tables.items():
        lines += ["", f"[{key}.{_toml_key(name)}]"]
        for f in dataclasses.fields(entry):
            if not documented:
                lines.append(f"# {f.name}: {f.metadata.get('doc', '')}")
            lines.append(f"{_toml_key(f.name)} = {_toml_value(getattr(entry, f.name))}")
        documented = True
    return lines


def _toml_key(name: str) -> str:
    return name if name.replace("_", "").isalnum() and name.isascii() else f'"{name}"'


def _toml_value(value) -> str:
    if dataclasses.is_dataclass(value):
        value = {_toml_name(f): getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)  # pragma: no cover


def configuration_markdown() -> str:
    """docs/configuration.md: how settings are found, then every default with its meaning."""
    return (
        "# Configuration\n\n"
        "Generated from `cs_analytics/config.py` by `python -m cs_analytics config --docs`; "
        "a test fails when it is out of date.\n\n"
        "Settings are read from `cs_analytics.toml` at the repository root, or from the file named "
        "by `CS_ANALYTICS_CONFIG`. Every key is optional; a missing key takes the default below. "
        "Unknown keys and wrong types are errors naming the key (`python -m cs_analytics config` "
        "checks a file). The data directory is `data/`, or `CS_ANALYTICS_HOME`.\n\n"
        "Secrets are never read from this file: Salesforce (`SF_*`), Metabase "
        "(`METABASE_API_KEY`) and Slack (`SLACK_WEBHOOK_URL`) credentials come from the "
        "environment or `.streamlit/secrets.toml`.\n\n"
        "## Defaults\n\n```toml\n" + defaults_toml() + "```\n\n"
        + _table_keys_markdown(SalesforceObject, "[salesforce.objects.NAME]",
                               "Keys of one Salesforce object pulled into a canonical table; the "
                               "defaults of each object are in `salesforce.objects` above."))


def _table_keys_markdown(cls, table: str, intro: str) -> str:
    """The keys of a settings table that appears as a dict value (one per name), with the
    value each takes when a new entry does not set it."""
    instance = cls()
    rows = [f"| `{_toml_name(f)}` | `{_toml_value(getattr(instance, f.name))}` | "
            f"{f.metadata.get('doc', '')} |" for f in dataclasses.fields(cls)]
    return (f"## `{table}`\n\n{intro}\n\n| key | when not set | meaning |\n|---|---|---|\n"
            + "\n".join(rows) + "\n")
