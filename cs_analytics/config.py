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
import os
import tomllib
import re
import types
import typing
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

from cs_analytics.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_ENV = "CS_ANALYTICS_CONFIG"
HOME_ENV = "CS_ANALYTICS_HOME"

HEALTH_COMPONENTS = ("deliveries", "logins", "touchpoints", "meetings", "conversion", "renewal")
BANDS = ("healthy", "caution", "warning", "danger")
ATTRIBUTE_TIERS = ("high", "mid", "low")
SEGMENTS = ("S", "A", "B", "C")
CANONICAL_TABLES = ("users", "accounts", "contracts", "activities", "usage")


def _doc(text: str, default, **kwargs):
    """A dataclass field with its documentation kept beside its default."""
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: _copy(default), metadata={"doc": text}, **kwargs)
    return field(default=default, metadata={"doc": text}, **kwargs)


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
        "'man' (万円), 'thousand' (千円), 'million' (百万円) or 'yen'. Tables, hovers and "
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


@dataclass(frozen=True)
class Targets:
    """The CS strategy's goals, drawn as target lines and compared in KPI cards."""

    two_year_churn_max: float = _doc(
        "Target two-year churn rate (the strategy's churn rate), at most.", 0.10)
    nrr_min: float = _doc("Target net revenue retention, at least.", 1.10)
    grr_min: float = _doc("Target gross revenue retention, at least.", 0.90)


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
        "renewal_at_risk: health bands that count as at risk.", ["warning", "danger"])


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
        "contracts": {"table": "contracts", "object": "Contract", "where": "",
                      "fields": {"contract_id": "Id", "account_id": "AccountId",
                                 "start_date": "StartDate", "end_date": "EndDate",
                                 "status": "Status", "amount": "Amount__c"}},
        "tasks": {"table": "activities", "object": "Task", "where": "",
                  "fields": {"activity_id": "Id", "account_id": "AccountId",
                             "owner_id": "OwnerId", "date": "ActivityDate",
                             "type": "TaskSubtype", "subject": "Subject"}},
        "events": {"table": "activities", "object": "Event", "where": "",
                   "fields": {"activity_id": "Id", "account_id": "AccountId",
                              "owner_id": "OwnerId", "date": "ActivityDate",
                              "subject": "Subject"},
                   "constants": {"type": "meeting"}},
    }


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
                         "change; `fields` and `constants` merge key by key, and a field set "
                         "to \"\" is left out."})


@dataclass(frozen=True)
class MetabaseCard:
    """A saved question pulled through the Metabase API."""

    id: int = _doc("Card (saved question) id.", 0)
    table: str = _doc("Canonical table the card's rows fill.", "usage")
    mapping: dict[str, str] = _doc("Column display name → canonical column.", {})


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


@dataclass(frozen=True)
class Settings:
    """All settings. Every section and key is optional in the file."""

    general: General = field(default_factory=General)
    display: Display = field(default_factory=Display)
    snapshots: Snapshots = field(default_factory=Snapshots)
    import_: Import = field(default_factory=Import, metadata={"toml": "import"})
    targets: Targets = field(default_factory=Targets)
    health: Health = field(default_factory=Health)
    segments: Segments = field(default_factory=Segments)
    signals: Signals = field(default_factory=Signals)
    alerts: Alerts = field(default_factory=Alerts)
    salesforce: Salesforce = field(default_factory=Salesforce)
    metabase: Metabase = field(default_factory=Metabase)
    access: Access = field(default_factory=Access)
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
            values[f.name] = _convert(hints[f.name], raw[name], key)
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
            if key in ("fields", "constants") and isinstance(value, dict):
                base[key] = {**base.get(key, {}), **value}
            else:
                base[key] = value
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

    for band in s.signals.renewal_at_risk_bands:
        if band not in BANDS:
            fail("signals.renewal_at_risk_bands", f"expected bands among {', '.join(BANDS)}")
    if s.alerts.mode not in ("each", "digest"):
        fail("alerts.mode", "expected 'each' or 'digest'")
    if s.alerts.max_attempts < 1:
        fail("alerts.max_attempts", "expected at least 1")
    _check_health_extras(s, fail)
    _check_salesforce(s.salesforce, fail)
    _check_reports(s.reports, fail)
    for i, card in enumerate(s.metabase.cards):
        if card.table not in CANONICAL_TABLES:
            fail(f"metabase.cards[{i}].table", f"expected one of {', '.join(CANONICAL_TABLES)}")
        if card.id < 1:
            fail(f"metabase.cards[{i}].id", "expected the card's id (a number from 1 up)")
        columns = _table_columns(card.table)
        for header, column in card.mapping.items():
            if column not in columns:
                fail(f"metabase.cards[{i}].mapping.{header}",
                     f"expected a column of {card.table}: {', '.join(columns)}")


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
    limits = r.plan_delivery_limits
    if any(len(p) != 2 or p[0] < 0 or p[1] <= 0 for p in limits):
        fail("reports.plan_delivery_limits",
             "expected [MRR at least, deliveries per month] pairs with deliveries above 0")
    if [p[0] for p in limits] != sorted({p[0] for p in limits}):
        fail("reports.plan_delivery_limits", "expected MRR tiers in strictly increasing order")


_SF_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SF_PATH = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")


def _table_columns(table: str) -> list[str]:
    from cs_analytics.contract import TABLES

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


def _check_salesforce(sf: "Salesforce", fail) -> None:
    from cs_analytics.contract import ACTIVITY_TYPES, TABLES

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
        if head != section:
            section = head
            lines += ["", f"[{head}]"]
        lines.append(f"# {doc}")
        lines.append(f"{_toml_key(name)} = {_toml_value(value)}" if value is not None
                     else f"# {name} = (unset)")
    return "\n".join(lines).strip() + "\n"


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
        "## Defaults\n\n```toml\n" + defaults_toml() + "```\n")
