"""The QBR pack of one account (QBR準備): `qbr_data` gathers the account's facts from the metrics
API (the QBR page shows the same object on screen) and `qbr_workbook` renders it as an Excel
workbook. docs/reports.md describes each sheet and each talking-point rule.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import zoneinfo
from dataclasses import dataclass

import pandas as pd

from cs_analytics import clock
from cs_analytics.config import HEALTH_COMPONENTS, Settings
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import accounts as account_metrics
from cs_analytics.metrics import activity as activity_metrics
from cs_analytics.metrics import health_summary
from cs_analytics.metrics import periods as P
from cs_analytics.metrics import usage as usage_metrics
from cs_analytics.metrics.base import fiscal_year_start_month
from cs_analytics.reports.excel import Column, ReportWorkbook
from cs_analytics.reports.labels import (band_label, component_label, signal_label, t,
                                         value_label)
from cs_analytics.reports.talking_points import AccountFacts, TalkingPoint, talking_points

USAGE_QUARTERS = 4
MRR_HISTORY_MONTHS = 24
HEALTH_WEEKS = 26
RECENT_ACTIVITY_DAYS = 180
RECENT_ACTIVITY_LIMIT = 50
NOTES_LIMIT = 50


@dataclass
class QbrPack:
    """Everything the QBR pack shows for one account at the snapshot's as-of date."""

    lang: str
    account_id: str
    as_of: dt.date
    is_demo: bool
    profile: dict
    segment: str | None
    health: dict | None
    components: pd.DataFrame
    contracts: pd.DataFrame
    mrr_history: pd.DataFrame
    usage_quarters: pd.DataFrame
    usage_summary: dict
    health_trend: pd.DataFrame
    activity_quarters: pd.DataFrame
    recent_activities: pd.DataFrame
    contact: dict
    renewal: dict
    signals: pd.DataFrame
    talking_points: list[TalkingPoint]
    notes: pd.DataFrame
    timezone: str = "Asia/Tokyo"  # general.timezone: the zone the "generated" time is given in

    @property
    def title(self) -> str:
        return t("qbr.title", self.lang, name=self.profile["name"])

    @property
    def has_usage(self) -> bool:
        return bool(self.usage_summary.get("has_usage"))


def qbr_quarters(snap, as_of: dt.date, n: int = USAGE_QUARTERS,
                 lang: str = "ja") -> list[tuple[str, dt.date, dt.date]]:
    """The last `n` fiscal quarters up to the one containing as_of (that one to as_of), as
    (label, first_day, last_day); a partial quarter's label says to which day."""
    fsm = fiscal_year_start_month(snap)
    ranges = []
    for q in P.last_n("quarter", n, as_of, fsm):
        last = q.end_day(as_of)
        label = q.label if last == q.end_date else t("qbr.quarter_to_date", lang,
                                                     quarter=q.label, end=f"{last:%m-%d}")
        ranges.append((label, q.start_date, last))
    return ranges


def qbr_data(snap, settings: Settings, account_id: str, lang: str = "ja",
             userdata: sqlite3.Connection | None = None) -> QbrPack:
    """The QBR pack of one account, from the metrics API; `userdata` (Store.userdata_db())
    adds the CS members' notes on the account (none without it)."""
    profile = account_metrics.profile(snap, account_id)
    if profile is None:
        raise CsAnalyticsError(
            f"account '{account_id}' is not in the current snapshot (data as of "
            f"{snap.as_of.isoformat()}); check the account ID")
    as_of = snap.as_of
    health = health_summary.account_current(snap, account_id)
    contracts = account_metrics.contracts(snap, account_id)
    history = account_metrics.mrr_history(snap, account_id)
    first_month = P.add_months(P.month_start(as_of), -(MRR_HISTORY_MONTHS - 1))
    history = history[pd.to_datetime(history["month"]).dt.date >= first_month].reset_index(
        drop=True)
    quarters = qbr_quarters(snap, as_of, lang=lang)
    usage_quarters = usage_metrics.usage_by_period(snap, quarters, [account_id], settings)
    usage_summary = usage_metrics.account_usage_summary(snap, account_id, as_of, settings)
    contact = activity_metrics.contact_summary(snap, account_id, as_of)
    signals = health_summary.current_signals(snap, account_id=account_id)

    renewal = _renewal(health, profile["mrr"])
    reasons = [profile.get("churn_reason")] + [r for r in contracts["churn_reason"]]
    facts = AccountFacts(
        as_of=as_of, mrr=float(profile["mrr"] or 0.0), usage=usage_summary, contact=contact,
        onboarding_start=(health or {}).get("first_start_date") or profile.get("first_start_date"),
        contract_end=renewal["contract_end"], following_signed=renewal["following_signed"],
        last_contract_end=profile.get("last_end_date"),
        band=(health or {}).get("band"), score=(health or {}).get("score"),
        score_4w=(health or {}).get("score_4w_before"),
        top_detractor=(health or {}).get("top_detractor"),
        open_signals=tuple(str(s) for s in signals["signal"]),
        churn_reasons=tuple(str(r) for r in reasons if isinstance(r, str) and r.strip()))
    return QbrPack(
        lang=lang, account_id=account_id, as_of=as_of, is_demo=snap.is_demo, profile=profile,
        segment=health_summary.account_segment(snap, account_id), health=health,
        components=health_summary.account_components(health), contracts=contracts,
        mrr_history=history,
        usage_quarters=usage_quarters, usage_summary=usage_summary,
        health_trend=health_summary.account_history(snap, account_id,
                                                    as_of - dt.timedelta(weeks=HEALTH_WEEKS)),
        activity_quarters=activity_metrics.activity_by_period(snap, quarters, [account_id]),
        recent_activities=activity_metrics.account_activities(
            snap, account_id, as_of - dt.timedelta(days=RECENT_ACTIVITY_DAYS), as_of,
            limit=RECENT_ACTIVITY_LIMIT),
        contact=contact, renewal=renewal, signals=signals,
        talking_points=talking_points(facts, settings, lang),
        notes=account_notes(userdata, account_id, timezone=settings.general.timezone),
        timezone=settings.general.timezone)


NOTE_COLUMNS = ["created_at", "author", "body"]


def account_notes(userdata: sqlite3.Connection | None, account_id: str,
                  limit: int = NOTES_LIMIT, timezone: str = "Asia/Tokyo") -> pd.DataFrame:
    """The account's notes from the user-data store, newest first: created_at (a datetime in
    `timezone`, the configured zone), author, body."""
    if userdata is None:
        return pd.DataFrame(columns=NOTE_COLUMNS)
    rows = userdata.execute(
        "SELECT created_at, author, body FROM notes WHERE account_id = ? "
        "ORDER BY created_at DESC, id DESC LIMIT ?", (account_id, limit)).fetchall()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=NOTE_COLUMNS)
    frame["created_at"] = [_timestamp(v, timezone) for v in frame["created_at"]]
    return frame


def _timestamp(value, timezone: str):
    """A stored ISO timestamp (UTC) → naive datetime in `timezone` (Excel has no time zones;
    the sheet's "generated" line names the zone); else the text."""
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zoneinfo.ZoneInfo(timezone)).replace(tzinfo=None)


def _renewal(health: dict | None, mrr) -> dict:
    """The current commitment's end from the health mart (the renewal component's input)."""
    if not health or not mrr:
        return {"contract_end": None, "days_to_renewal": None, "following_signed": False,
                "status": "none"}
    signed = bool(health.get("following_signed"))
    return {"contract_end": health.get("contract_end_date"),
            "days_to_renewal": health.get("days_to_end"), "following_signed": signed,
            "status": "signed" if signed else "open"}


# ---------------------------------------------------------------------------- workbook


def qbr_workbook(snap, settings: Settings, account_id: str, lang: str = "ja",
                 userdata: sqlite3.Connection | None = None) -> bytes:
    """The account's QBR pack as .xlsx bytes (see qbr_data)."""
    return render_qbr_workbook(qbr_data(snap, settings, account_id, lang, userdata))


def render_qbr_workbook(pack: QbrPack) -> bytes:
    lang = pack.lang
    stamp = clock.zone_text(dt.datetime.now(dt.UTC), pack.timezone)
    footer = f"{pack.title} — {t('as_of', lang, date=pack.as_of)}"
    book = ReportWorkbook(pack.title, t("empty", lang), footer=footer)
    demo = t("demo", lang) if pack.is_demo else None
    _overview_sheet(book, pack, [t("as_of", lang, date=pack.as_of),
                                 t("generated", lang, stamp=stamp)], demo)
    _contracts_sheet(book, pack, demo)
    _usage_sheet(book, pack, demo)
    _health_sheet(book, pack, demo)
    _contacts_sheet(book, pack, demo)
    _signals_sheet(book, pack, demo)
    return book.to_bytes()


def _sheet(book, pack: QbrPack, key: str, demo):
    sheet = book.sheet(t(f"qbr.sheet.{key}", pack.lang))
    sheet.title(f"{pack.title} — {t(f'qbr.sheet.{key}', pack.lang)}", demo_label=demo)
    return sheet


def _overview_sheet(book, pack: QbrPack, subtitle, demo):
    lang, p, h, r = pack.lang, pack.profile, pack.health or {}, pack.renewal
    sheet = book.sheet(t("qbr.sheet.overview", lang))
    sheet.title(pack.title, subtitle, demo_label=demo)
    sheet.freeze_title()
    sheet.heading(t("qbr.profile", lang))
    sheet.key_values([
        (t("qbr.name", lang), p["name"], "text"),
        (t("qbr.account_id", lang), p["account_id"], "text"),
        (t("qbr.owner", lang), p.get("owner_name"), "text"),
        (t("qbr.industry", lang), p.get("industry"), "text"),
        (t("qbr.phase", lang), value_label("phase", p.get("phase"), lang), "text"),
        (t("qbr.segment", lang), pack.segment, "text"),
        (t("qbr.health", lang), h.get("score"), "number"),
        (t("qbr.band", lang), band_label(h.get("band"), lang), "text"),
        (t("qbr.mrr", lang), p.get("mrr"), "yen"),
        (t("qbr.arr", lang), p.get("arr"), "yen"),
        (t("qbr.customer_since", lang), h.get("first_start_date") or p.get("first_start_date"),
         "date"),
        (t("qbr.last_contact", lang), pack.contact.get("last_contact_date"), "date"),
        (t("qbr.last_meeting", lang), pack.contact.get("last_meeting_date"), "date"),
        (t("qbr.sf_url", lang), p.get("sf_url"), "text")])
    sheet.heading(t("qbr.renewal", lang))
    sheet.key_values([
        (t("qbr.contract_end", lang), r["contract_end"], "date"),
        (t("qbr.days_to_renewal", lang), r["days_to_renewal"], "int"),
        (t("qbr.renewal_status", lang), t(f"qbr.renewal.{r['status']}", lang), "text")])
    sheet.heading(t("qbr.talking_points", lang))
    rows = [{"priority": t(f"priority.{tp.priority}", lang), "topic": tp.topic,
             "evidence": tp.evidence, "suggestion": tp.suggestion}
            for tp in pack.talking_points]
    sheet.table([Column("priority", t("qbr.col.priority", lang)),
                 Column("topic", t("qbr.col.topic", lang)),
                 Column("evidence", t("qbr.col.evidence", lang), "wrap"),
                 Column("suggestion", t("qbr.col.suggestion", lang), "wrap")], rows)


def _contracts_sheet(book, pack: QbrPack, demo):
    lang = pack.lang
    sheet = _sheet(book, pack, "contracts", demo)
    sheet.heading(t("qbr.contracts", lang))
    contracts = pack.contracts.copy()
    contracts["type_label"] = [value_label("contract_type", v, lang) for v in contracts["type"]]
    contracts["active_label"] = [t("yes" if a else "no", lang) for a in contracts["active"]]
    sheet.table([Column("contract_id", t("qbr.col.contract_id", lang)),
                 Column("start_date", t("qbr.col.start_date", lang), "date"),
                 Column("end_date", t("qbr.col.end_date", lang), "date"),
                 Column("type_label", t("qbr.col.contract_type", lang)),
                 Column("status", t("qbr.col.status", lang)),
                 Column("amount", t("qbr.col.amount", lang), "yen"),
                 Column("mrr", t("col.mrr", lang), "yen"),
                 Column("active_label", t("qbr.col.active", lang)),
                 Column("churn_reason", t("qbr.col.churn_reason", lang))], contracts, freeze=True)
    sheet.heading(t("qbr.mrr_history", lang))
    history = pack.mrr_history.copy()
    history["month_label"] = [f"{m:%Y-%m}" for m in pd.to_datetime(history["month"])]
    history["movement_label"] = [value_label("movement", m, lang) if isinstance(m, str) else None
                                 for m in history["movement"]]
    table = sheet.table([Column("month_label", t("col.month", lang)),
                         Column("mrr", t("col.mrr", lang), "yen"),
                         Column("movement_label", t("qbr.col.movement", lang)),
                         Column("movement_amount", t("qbr.col.movement_amount", lang),
                                "yen_delta")], history)
    sheet.line_chart(table, "month_label", ["mrr"], t("qbr.mrr_chart", lang), kind="yen")


def _usage_sheet(book, pack: QbrPack, demo):
    lang = pack.lang
    sheet = _sheet(book, pack, "usage", demo)
    sheet.heading(t("qbr.usage.quarters", lang))
    if not pack.has_usage:
        sheet.note(t("qbr.usage.none", lang))
    table = sheet.table([Column("period", t("col.quarter", lang)),
                         Column("deliveries", t("qbr.col.deliveries", lang), "int"),
                         Column("viewers", t("qbr.col.viewers", lang), "int"),
                         Column("registrants", t("qbr.col.registrants", lang), "int"),
                         Column("conversions", t("qbr.col.conversions", lang), "int"),
                         Column("conversion_rate", t("qbr.col.conversion_rate", lang), "pct"),
                         Column("logins", t("qbr.col.logins", lang), "int"),
                         Column("last_day", t("qbr.col.period_end", lang), "date")],
                        pack.usage_quarters, freeze=True)
    if pack.has_usage:
        sheet.bar_chart(table, "period", ["deliveries"], t("qbr.usage.chart_deliveries", lang),
                        kind="int")
        sheet.bar_chart(table, "period", ["viewers", "registrants"], t("qbr.usage.chart", lang),
                        kind="int")
        sheet.line_chart(table, "period", ["conversion_rate"],
                         t("qbr.usage.chart_conversion", lang), kind="pct")


def _health_sheet(book, pack: QbrPack, demo):
    lang = pack.lang
    sheet = _sheet(book, pack, "health", demo)
    h = pack.health
    sheet.heading(t("qbr.health.components", lang, date=pack.as_of))
    components = pack.components.copy()
    components["component_label"] = [component_label(c, lang) for c in components["component"]]
    components["value_kind"] = ["pct" if c == "conversion" else "number"
                                for c in components["component"]]
    if h is None:
        sheet.note(t("qbr.health.none", lang))
    sheet.table([Column("component_label", t("qbr.col.component", lang)),
                 Column("value", t("qbr.col.input", lang), "number", kind_from="value_kind"),
                 Column("score", t("qbr.col.component_score", lang), "number"),
                 Column("weight", t("qbr.col.weight", lang), "pct"),
                 Column("contribution", t("qbr.col.contribution", lang), "number")],
                components if h is not None else [], freeze=True)
    if h is not None:
        sheet.key_values([(t("qbr.health", lang), h.get("score"), "number"),
                          (t("qbr.band", lang), band_label(h.get("band"), lang), "text"),
                          (t("qbr.col.top_detractor", lang),
                           component_label(h.get("top_detractor"), lang) or None, "text")])
    sheet.heading(t("qbr.health.trend", lang))
    trend = pack.health_trend.copy()
    trend["band_label"] = [band_label(b, lang) if isinstance(b, str) else None
                           for b in trend["band"]]
    trend["detractor_label"] = [component_label(c, lang) if isinstance(c, str) else None
                                for c in trend["top_detractor"]]
    columns = [Column("snapshot_day", t("qbr.col.snapshot_day", lang), "date"),
               Column("score", t("col.score", lang), "number"),
               Column("band_label", t("col.band", lang)),
               Column("detractor_label", t("qbr.col.top_detractor", lang))]
    columns += [Column(f"{c}_score", component_label(c, lang), "number")
                for c in HEALTH_COMPONENTS if f"{c}_score" in trend.columns]
    table = sheet.table(columns, trend)
    sheet.line_chart(table, "snapshot_day", ["score"], t("qbr.health.chart", lang),
                     kind="number", dates=True)


def _contacts_sheet(book, pack: QbrPack, demo):
    lang = pack.lang
    sheet = _sheet(book, pack, "contacts", demo)
    sheet.heading(t("qbr.contacts.quarters", lang))
    table = sheet.table([Column("period", t("col.quarter", lang)),
                         Column("meetings", t("kpi.col.meetings", lang), "int"),
                         Column("emails", t("kpi.col.emails", lang), "int"),
                         Column("calls", t("kpi.col.calls", lang), "int"),
                         Column("other", t("kpi.col.other", lang), "int"),
                         Column("contacts", t("qbr.col.contacts", lang), "int")],
                        pack.activity_quarters, freeze=True)
    sheet.bar_chart(table, "period", ["meetings", "emails", "calls"],
                    t("qbr.contacts.chart", lang), kind="int", stacked=True)
    sheet.heading(t("qbr.contacts.recent", lang))
    recent = pack.recent_activities.copy()
    recent["type_label"] = [value_label("activity", v, lang) for v in recent["type"]]
    sheet.table([Column("date", t("col.date", lang), "date"),
                 Column("type_label", t("col.type", lang)),
                 Column("owner_name", t("col.owner", lang)),
                 Column("subject", t("col.subject", lang), "wrap")], recent)
    sheet.heading(t("qbr.notes", lang))
    sheet.table([Column("created_at", t("qbr.col.note_at", lang), "date"),
                 Column("author", t("qbr.col.note_author", lang)),
                 Column("body", t("qbr.col.note_body", lang), "wrap")], pack.notes)


def signal_evidence(row: dict, lang: str) -> str:
    """One sentence of evidence for an open signal, from the signal mart's columns."""
    signal = row["signal"]
    values = {k: ("—" if v is None or (not isinstance(v, str) and pd.isna(v)) else
                  v.date().isoformat() if isinstance(v, pd.Timestamp) else v)
              for k, v in row.items()}
    if signal == "no_login_60d":
        return t("qbr.ev.no_login", lang, last=values["last_login_date"],
                 days=values["days_since_login"])
    if signal == "deliveries_drop_50":
        return t("qbr.ev.deliveries", lang, recent=values["deliveries_last_window"],
                 previous=values["deliveries_previous_window"])
    if signal == "no_contact_60d":
        return t("qbr.ev.no_contact", lang, last=values["last_contact_date"],
                 days=values["days_since_contact"],
                 type=value_label("activity", row.get("last_contact_type"), lang) or "—")
    if signal == "renewal_at_risk":
        return t("qbr.ev.renewal", lang, end=values["contract_end_date"],
                 days=values["days_to_end"], band=band_label(row.get("band"), lang))
    return t("qbr.ev.health", lang, band=band_label(row.get("band"), lang))


def _signals_sheet(book, pack: QbrPack, demo):
    lang = pack.lang
    sheet = _sheet(book, pack, "signals", demo)
    sheet.heading(t("qbr.signals.open", lang))
    rows = [{"signal": signal_label(r["signal"], lang), "since": r["since"],
             "evidence": signal_evidence(r, lang)}
            for r in pack.signals.to_dict("records")]
    sheet.table([Column("signal", t("qbr.col.signal", lang)),
                 Column("since", t("qbr.col.since", lang), "date"),
                 Column("evidence", t("qbr.col.evidence_detail", lang), "wrap")], rows,
                freeze=True)
