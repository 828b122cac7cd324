"""The QBR pack of one account (QBR準備): `qbr_data` gathers the account's facts from the metrics
API (the QBR page shows the same object on screen) and `qbr_workbook` renders it as an Excel
workbook. docs/reports.md describes each sheet and each talking-point rule.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

import pandas as pd

from cs_analytics import clock
from cs_analytics.config import HEALTH_COMPONENTS, Settings
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import accounts as account_metrics
from cs_analytics.metrics import activity as activity_metrics
from cs_analytics.metrics import churn as churn_metrics
from cs_analytics.metrics import health_summary
from cs_analytics.metrics import periods as P
from cs_analytics.metrics import usage as usage_metrics
from cs_analytics.metrics.base import fiscal_year_start_month
from cs_analytics.outputs.reports import evidence as ev
from cs_analytics.outputs.reports.excel import Column, ReportWorkbook
from cs_analytics.outputs.reports.labels import (band_label, component_label, contract_status_label,
                                                 signal_label, t, value_label)
from cs_analytics.outputs.reports.talking_points import AccountFacts, TalkingPoint, talking_points

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
    quarter_usage: pd.DataFrame
    usage_summary: dict
    health_trend: pd.DataFrame
    activity_quarters: pd.DataFrame
    contact_counts: dict
    recent_activities: pd.DataFrame
    contact: dict
    renewal: dict
    signals: pd.DataFrame
    talking_points: list[TalkingPoint]
    notes: pd.DataFrame
    facts: AccountFacts  # what the talking points were drawn from
    settings: Settings | None = None  # times are shown in settings.general.timezone

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
        ranges.append((quarter_label(q.label, P.is_complete(q, as_of), last,
                                     P.days_elapsed(q, as_of), P.days_in(q), lang),
                       q.start_date, last))
    return ranges


def quarter_label(label: str, complete: bool, last: dt.date, days: int, total: int,
                  lang: str) -> str:
    """"2026Q4" for a complete quarter; "2026Q4 to date (to 12-07, 68 of 92 days)" for one
    that has not ended."""
    if complete:
        return label
    return t("qbr.quarter_to_date", lang, quarter=label, end=f"{last:%m-%d}", days=days,
             total=total)


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
    quarter_usage = usage_metrics.quarter_usage(snap, account_id, as_of, settings)
    usage_quarters = usage_metrics.usage_by_period(snap, quarters, [account_id], settings)
    usage_summary = usage_metrics.account_usage_summary(snap, account_id, as_of, settings)
    contact = activity_metrics.contact_summary(snap, account_id, as_of)
    signals = health_summary.current_signals(snap, account_id=account_id)
    first_day = quarters[0][1]
    contact_counts = activity_metrics.activity_by_period(
        snap, [("since", first_day, as_of)], [account_id]).iloc[0].to_dict()
    contact_counts = {"first_day": first_day, **{k: int(contact_counts[k]) for k in (
        "meetings", "emails", "calls", "other", "contacts")}}

    renewal = _renewal(health, profile["mrr"])
    reasons = [profile.get("churn_reason")] + [r for r in contracts["churn_reason"]]
    components = health_summary.account_components(health)
    detractor = (health or {}).get("top_detractor")
    detractor_rows = components[components["component"] == detractor] if detractor else []
    facts = AccountFacts(
        as_of=as_of, mrr=float(profile["mrr"] or 0.0), usage=usage_summary, contact=contact,
        onboarding_start=(health or {}).get("first_start_date") or profile.get("first_start_date"),
        contract_end=renewal["contract_end"], following_signed=renewal["following_signed"],
        last_contract_end=profile.get("last_end_date"),
        band=(health or {}).get("band"), score=(health or {}).get("score"),
        score_4w=(health or {}).get("score_4w_before"), top_detractor=detractor,
        detractor_value=(float(detractor_rows["value"].iloc[0])
                         if len(detractor_rows) and pd.notna(detractor_rows["value"].iloc[0])
                         else None),
        open_signals=tuple(str(s) for s in signals["signal"]),
        churn_reasons=tuple(str(r) for r in reasons if isinstance(r, str) and r.strip()),
        quarters=tuple(quarter_usage.to_dict("records")), contact_counts=contact_counts,
        campaign_churns=campaign_churns(snap, settings))
    return QbrPack(
        lang=lang, account_id=account_id, as_of=as_of, is_demo=snap.is_demo, profile=profile,
        segment=health_summary.account_segment(snap, account_id), health=health,
        components=components, contracts=contracts, mrr_history=history,
        usage_quarters=usage_quarters, quarter_usage=quarter_usage, usage_summary=usage_summary,
        health_trend=health_summary.account_history(snap, account_id,
                                                    as_of - dt.timedelta(weeks=HEALTH_WEEKS)),
        activity_quarters=activity_metrics.activity_by_period(snap, quarters, [account_id]),
        contact_counts=contact_counts,
        recent_activities=activity_metrics.account_activities(
            snap, account_id, as_of - dt.timedelta(days=RECENT_ACTIVITY_DAYS), as_of,
            limit=RECENT_ACTIVITY_LIMIT),
        contact=contact, renewal=renewal, signals=signals,
        talking_points=talking_points(facts, settings, lang),
        notes=account_notes(userdata, account_id, settings), facts=facts, settings=settings)


NOTE_COLUMNS = ["created_at", "author", "body"]


def account_notes(userdata: sqlite3.Connection | None, account_id: str, settings: Settings,
                  limit: int = NOTES_LIMIT) -> pd.DataFrame:
    """The account's notes from the user-data store, newest first: created_at (a datetime in
    the configured time zone), author, body."""
    if userdata is None:
        return pd.DataFrame(columns=NOTE_COLUMNS)
    rows = userdata.execute(
        "SELECT created_at, author, body FROM notes WHERE account_id = ? "
        "ORDER BY created_at DESC, id DESC LIMIT ?", (account_id, limit)).fetchall()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=NOTE_COLUMNS)
    frame["created_at"] = [_timestamp(v, settings) for v in frame["created_at"]]
    return frame


def campaign_churns(snap, settings: Settings) -> dict:
    """The company's churns of the trailing twelve months whose reason means a campaign ended
    (`reports.campaign_churn_reasons`): churned, total, share, period — what the campaign
    talking point quotes."""
    period = P.ttm(P.month_start(snap.as_of))
    counted = churn_metrics.reason_share(churn_metrics.churn_reasons(snap, period),
                                         settings.reports.campaign_churn_reasons)
    return {**counted, "period": period.label}


def _timestamp(value, settings: Settings):
    """A stored UTC moment → naive datetime in the configured zone (Excel has no time zones);
    anything else is kept as the text."""
    try:
        return clock.local(str(value), settings).replace(tzinfo=None)
    except ValueError:
        return str(value)


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
    stamp = clock.local_text(dt.datetime.now(dt.UTC), pack.settings or Settings())
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
    return book.titled_sheet(t(f"qbr.sheet.{key}", pack.lang), demo)


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
    sheet.heading(t("qbr.window", lang))
    u = pack.usage_summary
    sheet.key_values([
        (ev.window_text(u, lang, "recent").capitalize(), u.get("deliveries_recent"), "int"),
        (ev.window_text(u, lang, "previous").capitalize(), u.get("deliveries_previous"), "int"),
        (t("qbr.last_delivery", lang), u.get("last_delivery_date"), "date")])
    sheet.note(t("qbr.window_note", lang, days=u["window_days"]))
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
    contracts["status_label"] = [contract_status_label(v, lang) for v in contracts["status"]]
    sheet.table([Column("contract_id", t("qbr.col.contract_id", lang)),
                 Column("start_date", t("qbr.col.start_date", lang), "date"),
                 Column("end_date", t("qbr.col.end_date", lang), "date"),
                 Column("type_label", t("qbr.col.contract_type", lang)),
                 Column("status_label", t("qbr.col.status", lang)),
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
    quarters = pack.quarter_usage.copy()
    records = quarters.to_dict("records")
    quarters["label"] = [q["period"] if q["complete"] else t("qbr.usage.partial", lang,
                                                              quarter=q["period"])
                         for q in records]
    quarters["range"] = [t("qbr.usage.range", lang, first=f"{q['first_day']:%m-%d}",
                           last=f"{q['last_day']:%m-%d}", days=q["days"],
                           total=q["days_in_period"]) for q in records]
    quarters["year_ago_label"] = [
        q["year_ago_period"] if q["complete"] else
        t("qbr.usage.year_ago_to", lang, quarter=q["year_ago_period"],
          end=f"{q['year_ago_last_day']:%m-%d}") for q in records]
    for key in ("deliveries_pace", "deliveries_year_ago_full", "deliveries_pace_change"):
        # a pace only means something for the quarter that has not ended
        quarters[key] = [None if q["complete"] else q[key] for q in records]
    deliveries = sheet.table([
        Column("label", t("col.quarter", lang)),
        Column("range", t("qbr.col.range", lang)),
        Column("deliveries", t("qbr.col.deliveries", lang), "int"),
        Column("year_ago_label", t("qbr.col.year_ago_period", lang)),
        Column("deliveries_year_ago", t("qbr.col.year_ago", lang), "int"),
        Column("deliveries_change", t("qbr.col.yoy", lang), "pct_change"),
        Column("deliveries_pace", t("qbr.col.pace", lang), "number"),
        Column("deliveries_year_ago_full", t("qbr.col.year_ago_full", lang), "int"),
        Column("deliveries_pace_change", t("qbr.col.pace_yoy", lang), "pct_change")],
        quarters, freeze=True)
    sheet.note(t("qbr.usage.pace_note", lang,
                 days=(pack.settings or Settings()).reports.pace_min_days))
    if pack.has_usage:
        sheet.bar_chart(deliveries, "label", ["deliveries", "deliveries_year_ago"],
                        t("qbr.usage.chart_deliveries", lang), kind="int")
    sheet.heading(t("qbr.usage.outcomes", lang))
    outcomes = sheet.table([
        Column("label", t("col.quarter", lang)),
        Column("viewers", t("qbr.col.viewers", lang), "int"),
        Column("viewers_year_ago", t("qbr.col.viewers_year_ago", lang), "int"),
        Column("registrants", t("qbr.col.registrants", lang), "int"),
        Column("registrants_year_ago", t("qbr.col.registrants_year_ago", lang), "int"),
        Column("conversions", t("qbr.col.conversions", lang), "int"),
        Column("conversions_year_ago", t("qbr.col.conversions_year_ago", lang), "int"),
        Column("conversion_rate", t("qbr.col.conversion_rate", lang), "pct"),
        Column("conversion_rate_year_ago", t("qbr.col.conversion_rate_year_ago", lang), "pct"),
        Column("logins", t("qbr.col.logins", lang), "int")], quarters)
    if pack.has_usage:
        sheet.bar_chart(outcomes, "label", ["viewers", "registrants"],
                        t("qbr.usage.chart", lang), kind="int")
        sheet.line_chart(outcomes, "label", ["conversion_rate", "conversion_rate_year_ago"],
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
    components["window"] = [component_window(c, (pack.settings or Settings()).health.windows,
                                              lang) for c in components["component"]]
    if h is None:
        sheet.note(t("qbr.health.none", lang))
    sheet.table([Column("component_label", t("qbr.col.component", lang)),
                 Column("window", t("qbr.col.window", lang)),
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


def component_window(component: str, windows, lang: str) -> str:
    """The window a health component's input is measured over (health.windows)."""
    if component == "renewal":
        return t("qbr.window.renewal", lang)
    if component == "logins":
        return t("qbr.window.login_days", lang, days=windows.logins_days)
    days = {"deliveries": windows.deliveries_days, "touchpoints": windows.touchpoints_days,
            "meetings": windows.meetings_days, "conversion": windows.conversion_days}
    return t("qbr.window.days", lang, days=days[component]) if component in days else ""


def signal_evidence(row: dict, lang: str, window_days: int = 90) -> str:
    """One sentence of evidence for an open signal, from the signal mart's columns;
    `window_days` is signals.deliveries_window_days (the deliveries_drop_50 windows)."""
    signal = row["signal"]
    values = {k: ("—" if v is None or (not isinstance(v, str) and pd.isna(v)) else
                  v.date().isoformat() if isinstance(v, pd.Timestamp) else v)
              for k, v in row.items()}
    if signal == "no_login_60d":
        return t("qbr.ev.no_login", lang, last=values["last_login_date"],
                 days=values["days_since_login"])
    if signal == "deliveries_drop_50":
        return t("qbr.ev.deliveries", lang, recent=values["deliveries_last_window"],
                 previous=values["deliveries_previous_window"], days=window_days)
    if signal == "no_contact_60d":
        return t("qbr.ev.no_contact", lang, last=values["last_contact_date"],
                 days=values["days_since_contact"],
                 type=value_label("activity", row.get("last_contact_type"), lang) or "—")
    if signal == "renewal_at_risk":
        return t("qbr.ev.renewal", lang, end=values["contract_end_date"],
                 days=values["days_to_end"], band=band_label(row.get("band"), lang))
    if signal == "notice_deadline_near":
        return t("qbr.ev.notice", lang, contract=values["notice_contract_id"],
                 deadline=values["notice_deadline"], days=values["days_to_notice_deadline"],
                 band=band_label(row.get("band"), lang))
    return t("qbr.ev.health", lang, band=band_label(row.get("band"), lang))


def _signals_sheet(book, pack: QbrPack, demo):
    lang = pack.lang
    sheet = _sheet(book, pack, "signals", demo)
    sheet.heading(t("qbr.signals.open", lang))
    rows = [{"signal": signal_label(r["signal"], lang), "since": r["since"],
             "evidence": signal_evidence(r, lang, pack.usage_summary["window_days"])}
            for r in pack.signals.to_dict("records")]
    sheet.table([Column("signal", t("qbr.col.signal", lang)),
                 Column("since", t("qbr.col.since", lang), "date"),
                 Column("evidence", t("qbr.col.evidence_detail", lang), "wrap")], rows,
                freeze=True)
