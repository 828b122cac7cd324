"""The quarterly KPI report for management (四半期KPIレポート): `kpi_report_data` gathers every
number from the metrics API (the KPI report page shows the same object on screen) and
`kpi_report_workbook` renders it as an Excel workbook. docs/reports.md describes each sheet.

No number is computed here: values come from metrics/revenue.py, churn.py, health.py,
activity.py; this module picks periods, compares values with targets and lays them out.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field

import pandas as pd

from cs_analytics import clock
from cs_analytics.config import BANDS, Settings
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import activity as activity_metrics
from cs_analytics.metrics import churn as churn_metrics
from cs_analytics.metrics import periods as P
from cs_analytics.metrics import revenue
from cs_analytics.metrics.base import fiscal_year_start_month
from cs_analytics.metrics.periods import Period
from cs_analytics.reports import health_view
from cs_analytics.reports.excel import Column, ReportWorkbook
from cs_analytics.reports.labels import band_label, t, value_label

BRIDGE_QUARTERS = 4
RETENTION_QUARTERS = 8
TTM_MONTHS = 12
MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn")


@dataclass
class KpiReport:
    """Everything the KPI report shows, for one fiscal quarter (partial when it contains as_of)."""

    lang: str
    quarter: Period
    previous_quarter: Period
    next_quarter: Period
    as_of: dt.date
    end_day: dt.date
    is_partial: bool
    is_demo: bool
    targets: dict
    kpis: dict
    previous_kpis: dict
    headline: pd.DataFrame
    bridge: dict
    bridge_quarters: pd.DataFrame
    retention_quarters: pd.DataFrame
    retention_ttm: pd.DataFrame
    logo_churn: pd.DataFrame
    two_year: dict
    two_year_trend: pd.DataFrame
    two_year_cohorts: pd.DataFrame
    churn_reasons: pd.DataFrame
    churned_accounts: pd.DataFrame
    health_start_day: dt.date | None
    health_end_day: dt.date | None
    health_distribution: pd.DataFrame
    health_by_owner: pd.DataFrame
    activity: pd.DataFrame
    onboarding: pd.DataFrame
    renewals: pd.DataFrame
    renewal_summary: dict
    onboarding_days: int
    no_contact_days: int
    weekly_reviews: pd.DataFrame = field(default_factory=pd.DataFrame)
    action_plans: pd.DataFrame = field(default_factory=pd.DataFrame)
    timezone: str = "Asia/Tokyo"  # general.timezone: the zone the "generated" time is given in

    @property
    def title(self) -> str:
        return t("kpi.title", self.lang, quarter=self.quarter.label)


# ---------------------------------------------------------------------------- data


def resolve_quarter(snap, quarter: str | Period) -> Period:
    """'2026Q1' (fiscal, from the snapshot's fiscal_year_start_month) → Period, refusing a
    quarter that starts after the snapshot's data as-of date."""
    fsm = fiscal_year_start_month(snap)
    period = quarter if isinstance(quarter, Period) else P.parse_quarter(quarter, fsm)
    if period.kind != "quarter":
        raise CsAnalyticsError(f"period {period.label}: expected a fiscal quarter like 2026Q1")
    if period.first_month > P.month_start(snap.as_of):
        raise CsAnalyticsError(
            f"quarter {period.label} has not started yet: the data is as of "
            f"{snap.as_of.isoformat()}")
    return period


def kpi_report_data(snap, settings: Settings, quarter: str | Period, lang: str = "ja",
                    userdata: sqlite3.Connection | None = None) -> KpiReport:
    """The KPI report of a fiscal quarter ('2026Q1'), from the metrics API.

    `userdata` (Store.userdata_db()) supplies the weekly reviews and action plans; without it
    those tables are empty.
    """
    fsm = fiscal_year_start_month(snap)
    quarter = resolve_quarter(snap, quarter)
    as_of = snap.as_of
    previous = P.shift(quarter, -1, fsm)
    following = P.shift(quarter, 1, fsm)
    end_day = quarter.end_day(as_of)
    end_month = quarter.end_month(as_of)
    targets = {"nrr": settings.targets.nrr_min, "grr": settings.targets.grr_min,
               "two_year_churn_rate": settings.targets.two_year_churn_max}

    kpis = revenue.kpis(snap, quarter)
    previous_kpis = revenue.kpis(snap, previous)
    bridge = revenue.movement_totals(snap, quarter)
    quarters = [P.shift(quarter, -i, fsm) for i in range(BRIDGE_QUARTERS - 1, -1, -1)]
    bridge_quarters = revenue.movements_by_period(snap, quarters)
    retention_periods = [P.shift(quarter, -i, fsm) for i in range(RETENTION_QUARTERS - 1, -1, -1)]
    retention = revenue.period_metrics(snap, retention_periods)
    retention_quarters = retention[["label", "period_start", "period_end", "base_customers",
                                    "churned_customers", "base_mrr", "base_end_mrr",
                                    "nrr", "grr", "logo_churn_rate", "churn_count", "churn"]]
    ttm_periods = [P.ttm(P.add_months(end_month, -i)) for i in range(TTM_MONTHS - 1, -1, -1)]
    retention_ttm = revenue.period_metrics(snap, ttm_periods)[
        ["label", "end_month", "base_customers", "base_mrr", "nrr", "grr"]]
    two_year = churn_metrics.two_year_churn(snap, month=end_month)
    two_year_trend = churn_metrics.two_year_churn_trend(
        snap, [q.end_month(as_of) for q in quarters])
    two_year_cohorts = churn_metrics.two_year_churn_by_cohort(snap)
    churned = churn_metrics.churned_accounts(snap, quarter)
    reasons = churn_metrics.reasons_of(churned)

    start_day = quarter.start_date
    health = health_view.distribution(snap, start_day, end_day)
    health_by_owner = health_view.by_owner(snap, end_day)

    activity = activity_metrics.activity_by_owner(snap, quarter.start_date, end_day, settings,
                                                  total_label=t("total", lang))
    previous_activity = activity_metrics.activity_by_owner(
        snap, previous.start_date, previous.end_day(as_of), settings, total_label="")
    onboarding = activity_metrics.onboarding_completions(snap, quarter.start_date, end_day,
                                                         settings)
    renewals, renewal_summary = _renewals(snap, following, settings)

    report = KpiReport(
        lang=lang, quarter=quarter, previous_quarter=previous, next_quarter=following,
        as_of=as_of, end_day=end_day, is_partial=end_day < quarter.end_date,
        is_demo=snap.is_demo, targets=targets, kpis=kpis, previous_kpis=previous_kpis,
        headline=pd.DataFrame(), bridge=bridge, bridge_quarters=bridge_quarters,
        retention_quarters=retention_quarters, retention_ttm=retention_ttm,
        logo_churn=retention_quarters[["label", "period_start", "period_end", "base_customers",
                                       "churned_customers", "logo_churn_rate", "churn_count",
                                       "churn"]],
        two_year=two_year, two_year_trend=two_year_trend, two_year_cohorts=two_year_cohorts,
        churn_reasons=reasons, churned_accounts=churned,
        health_start_day=health.start_day, health_end_day=health.end_day,
        health_distribution=health.table, health_by_owner=health_by_owner,
        activity=activity, onboarding=onboarding, renewals=renewals,
        renewal_summary=renewal_summary, onboarding_days=settings.health.onboarding_days,
        timezone=settings.general.timezone,
        no_contact_days=settings.signals.no_contact_days)
    report.headline = _headline(report, activity.iloc[-1].to_dict(),
                                previous_activity.iloc[-1].to_dict(), health)
    report.weekly_reviews = weekly_reviews(userdata, quarter.start_date, end_day)
    report.action_plans = action_plans(userdata, quarter.start_date, end_day)
    return report


def _percent_text(value: float) -> str:
    """110% for 1.1, 10.5% for 0.105: no decimals unless the target has them."""
    points = round(value * 100, 6)
    return f"{points:.0f}%" if points == int(points) else f"{points:g}%"


def _status(value, target: float | None, higher_is_better: bool) -> bool | None:
    if value is None or target is None or pd.isna(value):
        return None
    return value >= target if higher_is_better else value <= target


def _headline(report: KpiReport, activity_now: dict, activity_before: dict,
              health) -> pd.DataFrame:
    """One row per headline KPI: key, label, kind, value, previous, change (rates in points),
    target (text), met (True/False/None)."""
    lang = report.lang
    k, pk = report.kpis, report.previous_kpis
    rows = []

    def add(key, label, kind, value, before, target=None, higher=True):
        change = None
        if value is not None and before is not None and not pd.isna(value) and not pd.isna(before):
            change = (value - before) * 100 if kind == "pct" else value - before
        target_text = None
        if target is not None:
            shown = _percent_text(target) if kind == "pct" else f"{target:g}"
            target_text = t("at_least" if higher else "at_most", lang, value=shown)
        met = _status(value, target, higher)
        rows.append({"key": key, "label": label, "kind": kind, "delta_kind": f"{kind}_delta",
                     "value": value,
                     "previous": before, "change": change, "target": target_text, "met": met,
                     "status": None if met is None else t("met" if met else "missed", lang)})

    add("mrr", t("kpi.mrr", lang), "yen", k["mrr"], pk["mrr"])
    add("arr", t("kpi.arr", lang), "yen", k["arr"], pk["arr"])
    add("customers", t("kpi.customers", lang), "int", k["customers"], pk["customers"])
    add("nrr", t("kpi.nrr", lang), "pct", k["nrr"], pk["nrr"], report.targets["nrr"])
    add("grr", t("kpi.grr", lang), "pct", k["grr"], pk["grr"], report.targets["grr"])
    add("two_year_churn_rate", t("kpi.two_year_churn_rate", lang), "pct",
        k["two_year_churn_rate"], pk["two_year_churn_rate"],
        report.targets["two_year_churn_rate"], higher=False)
    add("logo_churn_rate", t("kpi.logo_churn_rate", lang), "pct", k["logo_churn_rate"],
        pk["logo_churn_rate"])
    for movement in MOVEMENTS:
        add(movement, t(f"kpi.{movement}", lang), "yen", k[movement], pk[movement])
    add("quick_ratio", t("kpi.quick_ratio", lang), "number", k["quick_ratio"], pk["quick_ratio"])
    for band in BANDS:
        add(f"health_{band}", t("kpi.health_band", lang, band=band_label(band, lang)), "int",
            health.end_counts.get(band), health.start_counts.get(band))
    add("meetings", t("kpi.meetings", lang), "int", activity_now["meetings"],
        activity_before["meetings"])
    add("emails_calls", t("kpi.emails_calls", lang), "int", activity_now["emails_calls"],
        activity_before["emails_calls"])
    add("accounts_no_contact", t("kpi.no_contact", lang, days=report.no_contact_days), "int",
        activity_now["accounts_no_contact"], activity_before["accounts_no_contact"])
    add("onboarding_completed", t("kpi.onboarding_completed", lang), "int",
        activity_now["onboarding_completed"], activity_before["onboarding_completed"])
    return pd.DataFrame(rows, dtype="object")  # keeps None (no value) apart from numbers


def _renewals(snap, period: Period, settings: Settings) -> tuple[pd.DataFrame, dict]:
    """Contracts due in `period` (churn.renewals) with a status per contract and the account's
    current health band; the summary sums ARR per status.

    status: renewed / lost (outcome known), signed (a following contract is signed,
    int_contract_mrr.following_signed) or at_risk (nothing following signed yet).
    """
    due = churn_metrics.renewals(snap, period)
    frame = due.contracts.copy()
    ids = [str(c) for c in frame["contract_id"]]
    signed = {}
    if ids:
        signed = dict(snap.rows(
            "SELECT contract_id, following_signed FROM int_contract_mrr "
            "WHERE list_contains(?, contract_id)", [ids]))
    bands = health_view.current_bands(snap, [str(a) for a in frame["account_id"]])
    statuses = []
    for contract_id, renewed in zip(ids, frame["renewed"]):
        if renewed is True:
            statuses.append("renewed")
        elif renewed is False:
            statuses.append("lost")
        else:
            statuses.append("signed" if signed.get(contract_id) else "at_risk")
    frame["status"] = statuses
    frame["band"] = [bands.get(str(a)) for a in frame["account_id"]]
    risky_bands = set(settings.signals.renewal_at_risk_bands)

    def arr(mask):
        return float(frame.loc[mask, "arr"].sum()) if len(frame) else 0.0

    status = frame["status"] if len(frame) else pd.Series(dtype="object")
    at_risk = status == "at_risk"
    summary = {
        "due_count": due.due_count,
        "due_arr": 12 * due.due_mrr,
        "signed_arr": arr(status == "signed"),
        "renewed_arr": 12 * due.renewed_mrr,
        "lost_arr": 12 * due.lost_mrr,
        "at_risk_arr": arr(at_risk),
        "at_risk_red_arr": arr(at_risk & frame["band"].isin(risky_bands)) if len(frame) else 0.0,
        "renewal_rate": due.renewal_rate,
    }
    return frame, summary


REVIEW_COLUMNS = ["team", "week_start", "results", "ksf", "ksf_actions", "kff", "kff_actions",
                  "author", "updated_at"]
PLAN_COLUMNS = ["team", "week_start", "due_date", "description", "owner", "status"]


def weekly_reviews(userdata: sqlite3.Connection | None, first_day: dt.date,
                   last_day: dt.date) -> pd.DataFrame:
    """Weekly reviews whose week (Monday) starts in [first_day, last_day], by team and week."""
    if userdata is None:
        return pd.DataFrame(columns=REVIEW_COLUMNS)
    rows = userdata.execute(
        "SELECT team, week_start, results, ksf, ksf_actions, kff, kff_actions, author, "
        "updated_at FROM weekly_reviews WHERE week_start BETWEEN ? AND ? "
        "ORDER BY team, week_start", (first_day.isoformat(), last_day.isoformat())).fetchall()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=REVIEW_COLUMNS)
    frame["week_start"] = [_iso_date(v) for v in frame["week_start"]]
    return frame


def action_plans(userdata: sqlite3.Connection | None, first_day: dt.date,
                 last_day: dt.date) -> pd.DataFrame:
    """Action plans written in a weekly review of the quarter or due in it, by due date."""
    if userdata is None:
        return pd.DataFrame(columns=PLAN_COLUMNS)
    first, last = first_day.isoformat(), last_day.isoformat()
    rows = userdata.execute(
        "SELECT team, week_start, due_date, description, owner, status FROM action_plans "
        "WHERE week_start BETWEEN ? AND ? OR due_date BETWEEN ? AND ? "
        "ORDER BY coalesce(due_date, week_start), team, id", (first, last, first, last)).fetchall()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=PLAN_COLUMNS)
    for column in ("week_start", "due_date"):
        frame[column] = [_iso_date(v) for v in frame[column]]
    return frame


def _iso_date(value):
    """A stored ISO date → date; anything else is kept as the text the user typed."""
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)


# ---------------------------------------------------------------------------- workbook


def kpi_report_workbook(snap, settings: Settings, quarter: str | Period, lang: str = "ja",
                        userdata: sqlite3.Connection | None = None) -> bytes:
    """The KPI report of a fiscal quarter as .xlsx bytes (see kpi_report_data)."""
    return render_kpi_workbook(kpi_report_data(snap, settings, quarter, lang, userdata))


def render_kpi_workbook(report: KpiReport) -> bytes:
    lang = report.lang
    stamp = clock.zone_text(dt.datetime.now(dt.UTC), report.timezone)
    book = ReportWorkbook(report.title, t("empty", lang),
                          footer=f"{report.title} — {t('as_of', lang, date=report.as_of)}")
    subtitle = [t("period", lang, start=report.quarter.start_date, end=report.end_day)
                + (t("partial", lang, end=report.end_day) if report.is_partial else ""),
                t("as_of", lang, date=report.as_of), t("generated", lang, stamp=stamp)]
    demo = t("demo", lang) if report.is_demo else None

    _summary_sheet(book, report, subtitle, demo)
    _bridge_sheet(book, report, demo)
    _retention_sheet(book, report, demo)
    _churn_sheet(book, report, demo)
    _health_sheet(book, report, demo)
    _activity_sheet(book, report, demo)
    _renewals_sheet(book, report, demo)
    _plans_sheet(book, report, demo)
    return book.to_bytes()


def _sheet(book: ReportWorkbook, report: KpiReport, key: str, demo: str | None):
    lang = report.lang
    sheet = book.sheet(t(f"kpi.sheet.{key}", lang))
    sheet.title(f"{report.title} — {t(f'kpi.sheet.{key}', lang)}", demo_label=demo)
    return sheet


def _summary_sheet(book, report: KpiReport, subtitle, demo):
    lang = report.lang
    sheet = book.sheet(t("kpi.sheet.summary", lang))
    sheet.title(report.title, subtitle, demo_label=demo)
    sheet.heading(t("kpi.headline", lang))
    columns = [Column("label", t("col.metric", lang)),
               Column("value", t("col.current", lang), kind_from="kind"),
               Column("previous", t("col.previous", lang), kind_from="kind"),
               Column("change", t("col.change", lang), kind_from="delta_kind"),
               Column("target", t("col.target", lang)), Column("status", t("col.status", lang))]
    table = sheet.table(columns, report.headline, freeze=True)
    for i, met in enumerate(report.headline["met"] if len(report.headline) else []):
        if met is not None and not pd.isna(met):
            sheet.mark(table, "value", i, bool(met))
            sheet.mark(table, "status", i, bool(met))
    sheet.note(t("kpi.delta_note", lang))


def _bridge_steps(report: KpiReport) -> list[dict]:
    """The quarter's bridge as rows: start MRR, each movement (signed), end MRR."""
    lang, b = report.lang, report.bridge
    rows = [{"item": t("kpi.bridge.start", lang), "amount": b["start_mrr"], "count": None,
             "kind": "yen", "role": "total"}]
    for movement in MOVEMENTS:
        rows.append({"item": t(f"kpi.{movement}", lang), "amount": b[movement],
                     "count": b[f"{movement}_count"], "kind": "yen_delta", "role": "delta"})
    rows.append({"item": t("kpi.bridge.end", lang), "amount": b["mrr"], "count": None,
                 "kind": "yen", "role": "total"})
    return rows


def _bridge_sheet(book, report: KpiReport, demo):
    lang = report.lang
    sheet = _sheet(book, report, "bridge", demo)
    sheet.heading(t("kpi.bridge.quarter", lang, quarter=report.quarter.label))
    steps = _bridge_steps(report)
    sheet.table([Column("item", t("col.item", lang)),
                 Column("amount", t("col.amount", lang), kind_from="kind"),
                 Column("count", t("col.count", lang), "int")], steps, freeze=True)
    sheet.note(t("kpi.bridge.check", lang))
    sheet.waterfall_chart([(s["item"], s["amount"], s["role"]) for s in steps],
                          t("kpi.bridge.chart", lang, quarter=report.quarter.label),
                          {"category": t("col.item", lang), "base": t("kpi.series.base", lang),
                           "total": t("kpi.series.total", lang),
                           "increase": t("kpi.series.increase", lang),
                           "decrease": t("kpi.series.decrease", lang)})
    sheet.heading(t("kpi.bridge.quarters", lang))
    columns = [Column("label", t("col.quarter", lang)),
               Column("start_mrr", t("kpi.col.start_mrr", lang), "yen"),
               *(Column(m, t(f"kpi.{m}", lang), "yen_delta") for m in MOVEMENTS),
               Column("mrr", t("kpi.col.end_mrr", lang), "yen"),
               Column("customers", t("col.customers", lang), "int")]
    table = sheet.table(columns, report.bridge_quarters)
    sheet.bar_chart(table, "label", list(MOVEMENTS), t("kpi.bridge.chart_quarters", lang),
                    stacked=True)
    sheet.line_chart(table, "label", ["mrr"], t("kpi.bridge.chart_mrr", lang), kind="yen")


def _with_targets(frame: pd.DataFrame, **targets) -> pd.DataFrame:
    frame = frame.copy()
    for name, value in targets.items():
        frame[name] = value
    return frame


def _retention_sheet(book, report: KpiReport, demo):
    lang = report.lang
    sheet = _sheet(book, report, "retention", demo)
    sheet.heading(t("kpi.retention.quarterly", lang))
    quarterly = _with_targets(report.retention_quarters, nrr_target=report.targets["nrr"],
                              grr_target=report.targets["grr"])
    columns = [Column("label", t("col.quarter", lang)),
               Column("base_customers", t("kpi.col.base_customers", lang), "int"),
               Column("churned_customers", t("kpi.col.churned_customers", lang), "int"),
               Column("base_mrr", t("kpi.col.base_mrr", lang), "yen"),
               Column("base_end_mrr", t("kpi.col.base_end_mrr", lang), "yen"),
               Column("nrr", "NRR", "pct"), Column("grr", "GRR", "pct"),
               Column("nrr_target", t("kpi.col.nrr_target", lang), "pct"),
               Column("grr_target", t("kpi.col.grr_target", lang), "pct")]
    table = sheet.table(columns, quarterly, freeze=True)
    sheet.line_chart(table, "label", ["nrr", "grr"], t("kpi.retention.chart", lang),
                     targets=["nrr_target", "grr_target"])
    sheet.heading(t("kpi.retention.ttm", lang))
    ttm = _with_targets(report.retention_ttm, nrr_target=report.targets["nrr"],
                        grr_target=report.targets["grr"])
    ttm["month"] = [f"{m:%Y-%m}" for m in pd.to_datetime(ttm["end_month"])]
    columns = [Column("month", t("col.month", lang)),
               Column("base_customers", t("kpi.col.base_customers", lang), "int"),
               Column("base_mrr", t("kpi.col.base_mrr", lang), "yen"),
               Column("nrr", "NRR", "pct"), Column("grr", "GRR", "pct"),
               Column("nrr_target", t("kpi.col.nrr_target", lang), "pct"),
               Column("grr_target", t("kpi.col.grr_target", lang), "pct")]
    table = sheet.table(columns, ttm)
    sheet.line_chart(table, "month", ["nrr", "grr"], t("kpi.retention.chart_ttm", lang),
                     targets=["nrr_target", "grr_target"])


def _churn_sheet(book, report: KpiReport, demo):
    lang = report.lang
    sheet = _sheet(book, report, "churn", demo)
    sheet.freeze_title()
    two = report.two_year
    target = report.targets["two_year_churn_rate"]
    sheet.heading(t("kpi.churn.two_year", lang))
    met = _status(two["rate"], target, higher_is_better=False)
    sheet.key_values([
        (t("kpi.two_year_churn_rate", lang), two["rate"], "pct"),
        (t("col.target", lang), target, "pct"),
        (t("col.status", lang), None if met is None else t("met" if met else "missed", lang),
         "text"),
        (t("col.customers", lang), two["customers"], "int"),
        (t("kpi.col.churned", lang), two["churned"], "int")])
    sheet.note(t("kpi.churn.two_year_note", lang, month=f"{two['month']:%Y-%m}",
                 first=f"{two['cohort_first_month']:%Y-%m}",
                 last=f"{two['cohort_last_month']:%Y-%m}"))
    sheet.heading(t("kpi.churn.two_year_trend", lang))
    trend = _with_targets(report.two_year_trend, target=target)
    trend["label"] = [f"{m:%Y-%m}" for m in pd.to_datetime(trend["month"])]
    table = sheet.table([Column("label", t("col.month", lang)),
                         Column("customers", t("col.customers", lang), "int"),
                         Column("churned", t("kpi.col.churned", lang), "int"),
                         Column("rate", t("kpi.col.rate", lang), "pct"),
                         Column("target", t("kpi.col.churn_target", lang), "pct")], trend)
    sheet.line_chart(table, "label", ["rate"], t("kpi.churn.two_year_trend", lang),
                     targets=["target"])
    sheet.heading(t("kpi.churn.logo", lang))
    table = sheet.table([Column("label", t("col.quarter", lang)),
                         Column("base_customers", t("kpi.col.base_customers", lang), "int"),
                         Column("churned_customers", t("kpi.col.churned_customers", lang), "int"),
                         Column("logo_churn_rate", t("kpi.logo_churn_rate", lang), "pct"),
                         Column("churn_count", t("kpi.col.churned", lang), "int"),
                         Column("churn", t("kpi.churn", lang), "yen_delta")], report.logo_churn)
    sheet.bar_chart(table, "label", ["logo_churn_rate"], t("kpi.churn.logo_chart", lang),
                    kind="pct")
    sheet.heading(t("kpi.churn.reasons", lang, quarter=report.quarter.label))
    reasons = report.churn_reasons.copy()
    reasons["reason"] = [r if isinstance(r, str) and r else t("kpi.reason.none", lang)
                         for r in reasons["reason"]]
    table = sheet.table([Column("reason", t("kpi.col.reason", lang)),
                         Column("churned", t("col.count", lang), "int"),
                         Column("share", t("col.share", lang), "pct"),
                         Column("churned_mrr", t("kpi.col.churned_mrr", lang), "yen"),
                         Column("mrr_share", t("kpi.col.mrr_share", lang), "pct")], reasons)
    sheet.bar_chart(table, "reason", ["churned"], t("kpi.churn.reasons_chart", lang), kind="int",
                    horizontal=True)
    sheet.heading(t("kpi.churn.accounts", lang, quarter=report.quarter.label))
    churned = report.churned_accounts.copy()
    churned["month_label"] = [f"{m:%Y-%m}" for m in pd.to_datetime(churned["month"])]
    churned["reason"] = [r if isinstance(r, str) and r else t("kpi.reason.none", lang)
                         for r in churned["reason"]]
    sheet.table([Column("account_id", t("col.account_id", lang)),
                 Column("name", t("col.account", lang)),
                 Column("owner_name", t("col.owner", lang)),
                 Column("month_label", t("kpi.col.churn_month", lang)),
                 Column("churned_mrr", t("kpi.col.churned_mrr", lang), "yen"),
                 Column("reason", t("kpi.col.reason", lang))], churned)
    sheet.heading(t("kpi.churn.cohorts", lang))
    sheet.table([Column("cohort", t("kpi.col.cohort", lang)),
                 Column("customers", t("col.customers", lang), "int"),
                 Column("eligible", t("kpi.col.eligible", lang), "int"),
                 Column("churned", t("kpi.col.churned", lang), "int"),
                 Column("rate", t("kpi.col.rate", lang), "pct"),
                 Column("churned_to_date", t("kpi.col.churned_to_date", lang), "int")],
                report.two_year_cohorts)


def _health_sheet(book, report: KpiReport, demo):
    lang = report.lang
    sheet = _sheet(book, report, "health", demo)
    sheet.heading(t("kpi.health.distribution", lang))
    start = report.health_start_day or report.quarter.start_date
    end = report.health_end_day or report.end_day
    frame = report.health_distribution.copy()
    frame["band_label"] = [band_label(b, lang) for b in frame["band"]]
    columns = [Column("band_label", t("col.band", lang)),
               Column("start", t("kpi.health.start", lang, date=start), "int"),
               Column("end", t("kpi.health.end", lang, date=end), "int"),
               Column("change", t("kpi.col.change", lang), "int_delta"),
               Column("start_share", t("col.share", lang) + " " + t("kpi.col.start_count", lang),
                      "pct"),
               Column("end_share", t("col.share", lang) + " " + t("kpi.col.end_count", lang),
                      "pct")]
    table = sheet.table(columns, frame, freeze=True)
    if report.health_start_day is None:
        sheet.note(t("kpi.health.none", lang) + f" ({start})")
    if report.health_end_day is None:
        sheet.note(t("kpi.health.none", lang) + f" ({end})")
    sheet.note(t("kpi.health.note", lang))
    sheet.bar_chart(table, "band_label", ["start", "end"], t("kpi.health.chart", lang),
                    kind="int")
    sheet.heading(t("kpi.health.by_owner", lang))
    owners = report.health_by_owner
    columns = [Column("owner_name", t("col.owner", lang)),
               *(Column(b, band_label(b, lang), "int") for b in BANDS),
               Column("accounts", t("kpi.col.accounts", lang), "int")]
    sheet.table(columns, owners)


def _activity_sheet(book, report: KpiReport, demo):
    lang = report.lang
    sheet = _sheet(book, report, "activity", demo)
    sheet.heading(t("kpi.activity.owners", lang))
    columns = [Column("owner_name", t("col.owner", lang)),
               Column("accounts", t("kpi.col.accounts", lang), "int"),
               Column("meetings", t("kpi.col.meetings", lang), "int"),
               Column("emails", t("kpi.col.emails", lang), "int"),
               Column("calls", t("kpi.col.calls", lang), "int"),
               Column("emails_calls", t("kpi.col.emails_calls", lang), "int"),
               Column("other", t("kpi.col.other", lang), "int"),
               Column("accounts_no_contact",
                      t("kpi.col.no_contact", lang, days=report.no_contact_days), "int"),
               Column("onboarding_due", t("kpi.col.onboarding_due", lang), "int"),
               Column("onboarding_completed", t("kpi.col.onboarding_completed", lang), "int")]
    table = sheet.table(columns, report.activity, freeze=True)
    if table.rows > 1:  # the chart leaves out the total row
        sheet.bar_chart(table.without_last_row(), "owner_name", ["meetings", "emails_calls"],
                        t("kpi.activity.chart", lang), kind="int", stacked=True)
    sheet.heading(t("kpi.activity.onboarding", lang,
                    days=report.onboarding_days))
    onboarding = report.onboarding.copy()
    onboarding["completed_label"] = [t("yes" if c else "no", lang)
                                     for c in onboarding["completed"]]
    owner_names = dict(zip(report.activity["owner_id"], report.activity["owner_name"]))
    onboarding["owner_name"] = [owner_names.get(o, o) for o in onboarding["owner_id"]]
    sheet.table([Column("account_id", t("col.account_id", lang)),
                 Column("name", t("col.account", lang)),
                 Column("owner_name", t("col.owner", lang)),
                 Column("onboarding_start", t("kpi.col.onboarding_start", lang), "date"),
                 Column("completion_day", t("kpi.col.completion_day", lang), "date"),
                 Column("kickoff_date", t("kpi.col.kickoff", lang), "date"),
                 Column("first_delivery_date", t("kpi.col.first_delivery", lang), "date"),
                 Column("completed_label", t("kpi.col.completed", lang))], onboarding)
    sheet.note(t("kpi.activity.note", lang, days=report.no_contact_days,
                 onboarding=report.onboarding_days))


def _renewals_sheet(book, report: KpiReport, demo):
    lang = report.lang
    sheet = _sheet(book, report, "renewals", demo)
    sheet.freeze_title()
    s = report.renewal_summary
    sheet.heading(t("kpi.renewals.summary", lang) + f" — {report.next_quarter.label}")
    sheet.key_values([
        (t("kpi.renewals.due", lang), s["due_count"], "int"),
        (t("kpi.renewals.due_arr", lang), s["due_arr"], "yen"),
        (t("kpi.renewals.signed_arr", lang), s["signed_arr"], "yen"),
        (t("kpi.renewals.renewed_arr", lang), s["renewed_arr"], "yen"),
        (t("kpi.renewals.lost_arr", lang), s["lost_arr"], "yen"),
        (t("kpi.renewals.at_risk_arr", lang), s["at_risk_arr"], "yen"),
        (t("kpi.renewals.at_risk_red", lang), s["at_risk_red_arr"], "yen")])
    sheet.note(t("kpi.renewals.note", lang, as_of=report.as_of))
    sheet.heading(t("kpi.renewals.title", lang, quarter=report.next_quarter.label))
    frame = report.renewals.copy()
    frame["status_label"] = [t(f"renewal.{v}", lang) for v in frame["status"]]
    frame["band_label"] = [band_label(b, lang) if isinstance(b, str) else None
                           for b in frame["band"]]
    sheet.table([Column("account_id", t("col.account_id", lang)),
                 Column("name", t("col.account", lang)),
                 Column("owner_name", t("col.owner", lang)),
                 Column("contract_id", t("qbr.col.contract_id", lang)),
                 Column("end_date", t("kpi.col.end_date", lang), "date"),
                 Column("mrr", t("col.mrr", lang), "yen"),
                 Column("arr", t("col.arr", lang), "yen"),
                 Column("status_label", t("kpi.col.renewal_status", lang)),
                 Column("band_label", t("col.band", lang))], frame, freeze=True)


def _plans_sheet(book, report: KpiReport, demo):
    lang = report.lang
    sheet = _sheet(book, report, "plans", demo)
    sheet.heading(t("kpi.plans.actions", lang, quarter=report.quarter.label))
    plans = report.action_plans.copy()
    plans["status_label"] = [value_label("plan", v, lang) for v in plans["status"]]
    sheet.table([Column("due_date", t("kpi.col.due_date", lang), "date"),
                 Column("team", t("kpi.col.team", lang)),
                 Column("week_start", t("kpi.col.week", lang), "date"),
                 Column("description", t("kpi.col.description", lang), "wrap"),
                 Column("owner", t("kpi.col.plan_owner", lang)),
                 Column("status_label", t("kpi.col.plan_status", lang))], plans, freeze=True)
    sheet.heading(t("kpi.plans.reviews", lang, quarter=report.quarter.label))
    sheet.table([Column("team", t("kpi.col.team", lang)),
                 Column("week_start", t("kpi.col.week", lang), "date"),
                 Column("results", t("kpi.col.results", lang), "wrap"),
                 Column("ksf", t("kpi.col.ksf", lang), "wrap"),
                 Column("ksf_actions", t("kpi.col.ksf_actions", lang), "wrap"),
                 Column("kff", t("kpi.col.kff", lang), "wrap"),
                 Column("kff_actions", t("kpi.col.kff_actions", lang), "wrap")],
                report.weekly_reviews)
