"""The quarterly KPI report for management (四半期KPIレポート): `kpi_report_data` gathers every
number from the metrics API (the KPI report page shows the same object on screen) and
`kpi_report_workbook` renders it as an Excel workbook. docs/reports.md describes each sheet.

No number is computed here: values come from metrics/comparisons.py (the quarter with its
previous and year-ago quarters like for like, targets on their basis), revenue.py, churn.py,
contributors.py, health.py and activity.py; this module picks periods and lays them out.
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
from cs_analytics.metrics import comparisons, contributors, kpis
from cs_analytics.metrics import periods as P
from cs_analytics.metrics import renewals as renewal_metrics
from cs_analytics.metrics import revenue
from cs_analytics.metrics import targets as target_rules
from cs_analytics.metrics.base import fiscal_year_start_month
from cs_analytics.metrics.periods import Period
from cs_analytics.outputs.reports import health_view
from cs_analytics.outputs.reports.excel import BAND_COLOURS, UNITS, Column, ReportWorkbook
from cs_analytics.outputs.reports.labels import band_label, t, value_label
from cs_analytics.userdata import commentary

BRIDGE_QUARTERS = 4
RETENTION_QUARTERS = 8
TTM_MONTHS = 12
MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn")
COMPARED = ("previous", "year_ago")
# The workbook's cell kind of each kind of KPI (metrics/kpis.py).
CELL_KINDS = {"yen": "yen", "count": "int", "rate": "pct", "ratio": "number"}


@dataclass
class KpiReport:
    """Everything the KPI report shows, for one fiscal quarter (to date when it contains
    as_of). `comparison` is `comparisons.compare` of the quarter: its previous quarter and the
    same quarter a year ago, each measured like for like, and the targets judged on their
    basis."""

    lang: str
    settings: Settings
    quarter: Period
    previous_quarter: Period
    next_quarter: Period
    as_of: dt.date
    end_day: dt.date
    is_partial: bool
    is_demo: bool
    comparison: dict
    kpis: dict
    previous_kpis: dict
    year_ago_kpis: dict
    headline: pd.DataFrame
    bridge: dict
    bridge_quarters: pd.DataFrame
    contributors: pd.DataFrame
    retention_quarters: pd.DataFrame
    retention_ttm: pd.DataFrame
    target_lines: dict
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
    renewals: pd.DataFrame          # due in the quarter (renewals.due_in), by status
    renewal_summary: dict           # renewals.summary_of(renewals).as_dict()
    next_renewals: pd.DataFrame     # due in the next quarter
    next_renewal_summary: dict
    onboarding_days: int
    no_contact_days: int
    weekly_reviews: pd.DataFrame = field(default_factory=pd.DataFrame)
    action_plans: pd.DataFrame = field(default_factory=pd.DataFrame)
    commentary: dict | None = None

    @property
    def title(self) -> str:
        return t("kpi.title", self.lang, quarter=self.quarter.label)

    @property
    def days_elapsed(self) -> int:
        return self.comparison["current"]["days_elapsed"]

    @property
    def days_in_quarter(self) -> int:
        return self.comparison["current"]["days_in_period"]

    def period_text(self, name: str = "current") -> str:
        """'2026Q4', or for a quarter to date '2026Q4 (to date: 68 of 92 days, to 2026-12-07)' —
        the quarter, its previous or its year-ago quarter as measured."""
        measure = self.comparison[name]
        if measure["complete"]:
            return measure["label"]
        return t("kpi.to_date", self.lang, label=measure["label"],
                 days=measure["days_elapsed"], total=measure["days_in_period"],
                 end=measure["period"].end_day(measure["as_of"]))


# ---------------------------------------------------------------------------- data


def default_quarter(snap) -> Period:
    """The last complete fiscal quarter on the snapshot's data as-of date (the report a
    management meeting reads; the current quarter is chosen explicitly and said to be to
    date)."""
    return P.last_complete("quarter", snap.as_of, fiscal_year_start_month(snap))


def resolve_quarter(snap, quarter: str | Period | None) -> Period:
    """'2026Q1' (fiscal, from the snapshot's fiscal_year_start_month) → Period, refusing a
    quarter that starts after the snapshot's data as-of date; None → `default_quarter`."""
    if quarter is None:
        return default_quarter(snap)
    fsm = fiscal_year_start_month(snap)
    period = quarter if isinstance(quarter, Period) else P.parse_quarter(quarter, fsm)
    if period.kind != "quarter":
        raise CsAnalyticsError(f"period {period.label}: expected a fiscal quarter like 2026Q1")
    if period.first_month > P.month_start(snap.as_of):
        raise CsAnalyticsError(
            f"quarter {period.label} has not started yet: the data is as of "
            f"{snap.as_of.isoformat()}")
    return period


def kpi_report_data(snap, settings: Settings, quarter: str | Period | None = None,
                    lang: str = "ja", userdata: sqlite3.Connection | None = None) -> KpiReport:
    """The KPI report of a fiscal quarter ('2026Q1'; default: the last complete one), from the
    metrics API.

    `userdata` (Store.userdata_db()) supplies the commentary, weekly reviews and action plans;
    without it those are empty.
    """
    fsm = fiscal_year_start_month(snap)
    quarter = resolve_quarter(snap, quarter)
    as_of = snap.as_of
    following = P.shift(quarter, 1, fsm)
    end_day = quarter.end_day(as_of)
    end_month = quarter.end_month(as_of)

    comparison = comparisons.compare(snap, quarter, None, as_of, settings)
    current = comparison["current"]
    previous = comparison["previous"]["period"]
    bridge = current["bridge"]
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
    two_year_trend = churn_metrics.two_year_churn_trend(
        snap, [q.end_month(as_of) for q in quarters])
    two_year_cohorts = churn_metrics.two_year_churn_by_cohort(snap)
    churned = churn_metrics.churned_accounts(snap, quarter)
    reasons = churn_metrics.reasons_of(churned)

    health = health_view.distribution(snap, quarter.start_date, end_day)
    health_by_owner = health_view.by_owner(snap, end_day)
    activity = activity_metrics.activity_by_owner(snap, quarter.start_date, end_day, settings,
                                                  total_label=t("total", lang))
    compared_activity, compared_bands = {}, {}
    for name in COMPARED:
        measure = comparison[name]
        last = measure["period"].end_day(measure["as_of"])
        compared_activity[name] = activity_metrics.activity_by_owner(
            snap, measure["period"].start_date, last, settings, total_label="").iloc[-1]
        compared_bands[name] = health_view.band_counts(
            snap, health_view.snapshot_day_on_or_before(snap, last))
    onboarding = activity_metrics.onboarding_completions(snap, quarter.start_date, end_day,
                                                         settings)
    renewals = renewal_metrics.due_in(snap, quarter)
    next_renewals = renewal_metrics.due_in(snap, following)

    report = KpiReport(
        lang=lang, settings=settings, quarter=quarter, previous_quarter=previous,
        next_quarter=following, as_of=as_of, end_day=end_day,
        is_partial=not current["complete"], is_demo=snap.is_demo, comparison=comparison,
        kpis=current["kpis"], previous_kpis=comparison["previous"]["kpis"],
        year_ago_kpis=comparison["year_ago"]["kpis"],
        headline=pd.DataFrame(), bridge=bridge, bridge_quarters=bridge_quarters,
        contributors=contributors.top_contributors(snap, quarter),
        retention_quarters=retention_quarters, retention_ttm=retention_ttm,
        target_lines={f"{metric}_{basis}": target_rules.line_value(settings.targets, metric,
                                                                   basis)
                      for metric in ("nrr", "grr", "logo_churn_rate", "two_year_churn_rate")
                      for basis in ("quarter", "ttm", "two_year")},
        logo_churn=retention_quarters[["label", "period_start", "period_end", "base_customers",
                                       "churned_customers", "logo_churn_rate", "churn_count",
                                       "churn"]],
        two_year=current["two_year"], two_year_trend=two_year_trend,
        two_year_cohorts=two_year_cohorts, churn_reasons=reasons, churned_accounts=churned,
        health_start_day=health.start_day, health_end_day=health.end_day,
        health_distribution=health.table, health_by_owner=health_by_owner,
        activity=activity, onboarding=onboarding, renewals=renewals,
        renewal_summary=renewal_metrics.summary_of(renewals).as_dict(),
        next_renewals=next_renewals,
        next_renewal_summary=renewal_metrics.summary_of(next_renewals).as_dict(),
        onboarding_days=settings.health.onboarding_days,
        no_contact_days=settings.signals.no_contact_days)
    report.headline = _headline(report, activity.iloc[-1], compared_activity,
                                health.end_counts, compared_bands)
    attach_user_data(report, userdata)
    return report


def attach_user_data(report: KpiReport, userdata: sqlite3.Connection | None) -> None:
    """The user-entered parts of the report, read now: the quarter's commentary, its weekly
    reviews and its action plans."""
    report.commentary = commentary.latest(userdata, report.quarter.label)
    report.weekly_reviews = weekly_reviews(userdata, report.quarter.start_date, report.end_day)
    report.action_plans = action_plans(userdata, report.quarter.start_date, report.end_day)


def _percent_text(value: float) -> str:
    """110% for 1.1, 10.5% for 0.105: no decimals unless the target has them."""
    points = round(value * 100, 6)
    return f"{points:.0f}%" if points == int(points) else f"{points:g}%"


def target_text(target: dict, lang: str) -> str:
    """'110% 以上（直近12か月で判定）': a judged target (`targets.judge` row) with its basis."""
    shown = (f"{target['value']:g}" if target["metric"] == "quick_ratio"
             else _percent_text(target["value"]))
    goal = t("at_least" if target["direction"] == "at_least" else "at_most", lang, value=shown)
    return t("kpi.target_on", lang, goal=goal, basis=t(f"kpi.basis.{target['basis']}", lang))


def _change(value, before, kind: str):
    """value − before (rates in percentage points); None when either is missing."""
    if value is None or before is None or pd.isna(value) or pd.isna(before):
        return None
    return (value - before) * 100 if kind == "pct" else value - before


def _headline(report: KpiReport, activity_now, compared_activity: dict, bands_now: dict,
              compared_bands: dict) -> pd.DataFrame:
    """One row per headline KPI: key, label, kind, value, previous, change, year_ago,
    year_change (rates in points), target (text with its basis), met (True/False/None),
    status, note. A target is shown only on the row of its basis: the quarter's NRR carries
    none unless a quarterly target is configured; the annual one sits on the TTM row."""
    lang, c = report.lang, report.comparison
    judged = {}
    for row in c["targets"]:
        if not row["applies"]:
            continue
        key = {"ttm": f"{row['metric']}_ttm", "two_year": row["metric"]}.get(row["basis"],
                                                                           row["metric"])
        judged.setdefault(key, row)
    rows = []

    def add(key, label, kind, value, previous, year_ago, note=None):
        target = judged.get(key)
        met = None if target is None else target["met"]
        rows.append({
            "key": key, "label": label, "kind": kind, "delta_kind": f"{kind}_delta",
            "value": value, "previous": previous, "change": _change(value, previous, kind),
            "year_ago": year_ago, "year_change": _change(value, year_ago, kind),
            "target": None if target is None else target_text(target, lang),
            "met": met, "status": None if met is None else t("met" if met else "missed", lang),
            "note": note})

    def kpi(key):
        return [c[name]["kpis"][key] for name in ("current", *COMPARED)]

    def ttm(key):
        return [c[name]["ttm"]["kpis"][key] for name in ("current", *COMPARED)]

    ttm_label = c["current"]["ttm"]["label"]
    for key in kpis.REPORT_ROWS:  # the KPI registry's rows, in its order
        note = (two_year_note(c, lang) if key == "two_year_churn_rate" else
                None if key not in ("nrr", "grr") or key in judged else
                t("kpi.note.period_value", lang))
        add(key, t(f"kpi.{key}", lang), CELL_KINDS[kpis.kpi(key).kind], *kpi(key), note=note)
        if key in ("nrr", "grr"):  # the annual view beside the quarter's
            add(f"{key}_ttm", t(f"kpi.{key}_ttm", lang, label=ttm_label), "pct", *ttm(key))
        if key == "logo_churn_rate":
            for metric in ("logo_churn_rate", "gross_mrr_churn", "net_mrr_churn", "quick_ratio"):
                if f"{metric}_ttm" in judged:  # a TTM target of another KPI gets its TTM row
                    add(f"{metric}_ttm", t("kpi.ttm_of", lang, kpi=t(f"kpi.{metric}", lang),
                                           label=ttm_label),
                        CELL_KINDS[kpis.kpi(metric).kind], *ttm(metric))
    for band in BANDS:
        add(f"health_{band}", t("kpi.health_band", lang, band=band_label(band, lang)), "int",
            bands_now.get(band), *(compared_bands[name].get(band) for name in COMPARED))
    for key, label in (("meetings", t("kpi.meetings", lang)),
                       ("emails_calls", t("kpi.emails_calls", lang)),
                       ("accounts_no_contact", t("kpi.no_contact", lang,
                                                 days=report.no_contact_days)),
                       ("onboarding_completed", t("kpi.onboarding_completed", lang))):
        add(key, label, "int", activity_now[key],
            *(compared_activity[name][key] for name in COMPARED))
    return pd.DataFrame(rows, dtype="object")  # keeps None (no value) apart from numbers


def two_year_note(comparison: dict, lang: str) -> str:
    """'3 of 18 customers (90% interval 6.9%–35.2%), small sample; previous quarter 9 of 40,
    a year ago 24 of 109 — other customers': the two-year churn rate's group, how sure it is
    and, when the groups differ, that a change is partly a change of customers."""
    two = comparison["current"]["two_year"]
    text = t("kpi.two_year.group", lang, churned=two["churned"], customers=two["customers"])
    if two["ci90"] is not None:
        text += t("kpi.two_year.interval", lang, low=f"{two['ci90'][0] * 100:.1f}%",
                  high=f"{two['ci90'][1] * 100:.1f}%")
    if two["small_sample"]:
        text += t("kpi.two_year.small", lang)
    others = [t(f"kpi.two_year.{name}", lang, churned=comparison[name]["two_year"]["churned"],
                customers=comparison[name]["two_year"]["customers"])
              for name in COMPARED
              if comparisons.group_changed(two, comparison[name]["two_year"])]
    if others:
        text += t("kpi.two_year.others", lang, groups=("、" if lang == "ja" else ", ").join(others))
    return text


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


def kpi_report_workbook(snap, settings: Settings, quarter: str | Period | None = None,
                        lang: str = "ja", userdata: sqlite3.Connection | None = None,
                        unit: str = "yen") -> bytes:
    """The KPI report of a fiscal quarter as .xlsx bytes (see kpi_report_data), amounts in
    `unit`: "yen", "man" (万円) or "million" (百万円)."""
    return render_kpi_workbook(kpi_report_data(snap, settings, quarter, lang, userdata), unit)


def render_kpi_workbook(report: KpiReport, unit: str = "yen") -> bytes:
    if unit not in UNITS:
        raise CsAnalyticsError(f"amount unit '{unit}': expected one of {', '.join(UNITS)}")
    lang = report.lang
    stamp = clock.local_text(dt.datetime.now(dt.UTC), report.settings)
    demo = t("demo", lang) if report.is_demo else None
    book = ReportWorkbook(report.title, t("empty", lang),
                          footer=f"{report.title} — {t('as_of', lang, date=report.as_of)}",
                          unit=UNITS[unit], lang=lang,
                          header=f"{report.title}{' — ' + demo if demo else ''}")
    subtitle = [t("period", lang, start=report.quarter.start_date, end=report.end_day)
                + (t("partial", lang, end=report.end_day) if report.is_partial else ""),
                t("kpi.compared", lang, previous=report.period_text("previous"),
                  year_ago=report.period_text("year_ago")),
                t("as_of", lang, date=report.as_of), t("generated", lang, stamp=stamp),
                t(f"kpi.unit.{unit}", lang)]

    _summary_sheet(book, report, subtitle, demo)
    _bridge_sheet(book, report, demo, unit)
    _retention_sheet(book, report, demo)
    _churn_sheet(book, report, demo)
    _health_sheet(book, report, demo)
    _activity_sheet(book, report, demo)
    _onboarding_sheet(book, report, demo)
    _renewals_sheet(book, report, demo)
    _plans_sheet(book, report, demo)
    _reviews_sheet(book, report, demo)
    return book.to_bytes()


def _sheet(book: ReportWorkbook, report: KpiReport, key: str, demo: str | None):
    return book.titled_sheet(t(f"kpi.sheet.{key}", report.lang), demo)


def headline_columns(report: KpiReport) -> dict[str, str]:
    """The headline table's column titles, naming what each comparison measured: '2026Q3
    (to date: 69 of 92 days, to 2026-09-07)' when the quarter is to date."""
    lang = report.lang
    return {"value": t("col.current_of", lang, period=report.period_text("current")),
            "previous": t("col.previous_of", lang, period=report.period_text("previous")),
            "change": t("col.change", lang),
            "year_ago": t("col.year_ago_of", lang, period=report.period_text("year_ago")),
            "year_change": t("col.year_change", lang)}


def _summary_sheet(book, report: KpiReport, subtitle, demo):
    lang = report.lang
    sheet = book.sheet(t("kpi.sheet.summary", lang))
    sheet.title(report.title, subtitle, demo_label=demo)
    sheet.heading(t("kpi.headline", lang))
    heads = headline_columns(report)
    columns = [Column("label", t("col.metric", lang)),
               Column("value", heads["value"], kind_from="kind"),
               Column("previous", heads["previous"], kind_from="kind"),
               Column("change", heads["change"], kind_from="delta_kind"),
               Column("year_ago", heads["year_ago"], kind_from="kind"),
               Column("year_change", heads["year_change"], kind_from="delta_kind"),
               Column("target", t("col.target_basis", lang)),
               Column("status", t("col.status", lang)),
               Column("note", t("col.note", lang), "wrap")]
    rows = report.headline.to_dict("records")
    for row in rows:
        if row["key"].startswith("health_"):
            row["label_colour"] = BAND_COLOURS[row["key"].removeprefix("health_")]
    columns[0] = Column("label", t("col.metric", lang), colour_from="label_colour")
    table = sheet.table(columns, rows, freeze=True)
    for i, row in enumerate(rows):
        met = row["met"]
        if met is not None and not pd.isna(met):
            sheet.mark(table, "value", i, bool(met))
            sheet.mark(table, "status", i, bool(met))
    sheet.note(t("kpi.delta_note", lang))
    sheet.note(t("kpi.basis_note", lang))
    if report.is_partial:
        sheet.note(t("kpi.like_for_like_note", lang))
    sheet.heading(t("kpi.commentary", lang, quarter=report.quarter.label))
    note = report.commentary
    if note:
        sheet.note(t("kpi.commentary_by", lang, author=note["author"],
                     at=clock.local_text(note["written_at"], report.settings)))
        sheet.paragraph(note["body"], columns=len(columns))
    else:
        sheet.note(t("kpi.commentary_none", lang))


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


def rounding_note(report: KpiReport, unit: str) -> str | None:
    """For amounts shown in 万円 or 百万円: the bridge in displayed figures — start + the
    movements as shown against the end as shown — and the difference rounding makes, so a
    reader adding up the rounded column finds the total explained."""
    if unit == "yen":
        return None
    shown = UNITS[unit]
    b = report.bridge

    def rounded(value):
        return round(value / shown.divisor, shown.decimals)

    parts = [rounded(b["start_mrr"]), *(rounded(b[m]) for m in MOVEMENTS)]
    end = rounded(b["mrr"])
    difference = round(end - sum(parts), shown.decimals) + 0.0  # no "-0"
    return t("kpi.rounding_note", report.lang, unit=t(f"kpi.unit_name.{unit}", report.lang),
             start=f"{parts[0]:,.{shown.decimals}f}",
             moves=f"{sum(parts[1:]):+,.{shown.decimals}f}",
             total=f"{sum(parts):,.{shown.decimals}f}", end=f"{end:,.{shown.decimals}f}",
             difference=f"{difference:+,.{shown.decimals}f}")


def contributor_rows(report: KpiReport) -> list[dict]:
    """The top accounts behind each movement, translated for a table: movement name, rank,
    account, owner, amount, share, cumulative share, reason."""
    lang = report.lang
    rows = []
    for row in report.contributors.to_dict("records"):
        reason = row["reason"] if isinstance(row["reason"], str) and row["reason"] else None
        rows.append({**row, "movement_label": value_label("movement", row["movement"], lang),
                     "reason": reason or (t("kpi.reason.none", lang)
                                          if row["movement"] in ("contraction", "churn")
                                          else None),
                     "of_accounts": t("kpi.of_accounts", lang, rank=row["rank"],
                                      accounts=row["accounts"])})
    return rows


def _bridge_sheet(book, report: KpiReport, demo, unit: str):
    lang = report.lang
    sheet = _sheet(book, report, "bridge", demo)
    sheet.heading(t("kpi.bridge.quarter", lang, quarter=report.period_text()))
    steps = _bridge_steps(report)
    sheet.table([Column("item", t("col.item", lang)),
                 Column("amount", t("col.amount", lang), kind_from="kind"),
                 Column("count", t("col.count", lang), "int")], steps, freeze=True)
    sheet.note(t("kpi.bridge.check", lang))
    note = rounding_note(report, unit)
    if note:
        sheet.note(note)
    sheet.waterfall_chart([(s["item"], s["amount"], s["role"]) for s in steps],
                          t("kpi.bridge.chart", lang, quarter=report.quarter.label),
                          {"category": t("col.item", lang), "base": t("kpi.series.base", lang),
                           "total": t("kpi.series.total", lang),
                           "increase": t("kpi.series.increase", lang),
                           "decrease": t("kpi.series.decrease", lang)})
    sheet.heading(t("kpi.contributors", lang, quarter=report.quarter.label))
    sheet.table([Column("movement_label", t("col.movement", lang)),
                 Column("of_accounts", t("kpi.col.rank", lang)),
                 Column("account_id", t("col.account_id", lang)),
                 Column("name", t("col.account", lang)),
                 Column("owner_name", t("col.owner", lang)),
                 Column("amount", t("col.amount", lang), "yen_delta"),
                 Column("share", t("kpi.col.share_of_movement", lang), "pct"),
                 Column("cumulative_share", t("kpi.col.cumulative_share", lang), "pct"),
                 Column("reason", t("kpi.col.reason", lang))], contributor_rows(report))
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
    """`frame` with a column per target value that is configured (None: left out)."""
    frame = frame.copy()
    for name, value in targets.items():
        if value is not None:
            frame[name] = value
    return frame


def _target_columns(lang: str, **targets) -> list[Column]:
    return [Column(name, t(f"kpi.col.{name}", lang), "pct")
            for name, value in targets.items() if value is not None]


def _retention_sheet(book, report: KpiReport, demo):
    lang = report.lang
    lines = report.target_lines
    sheet = _sheet(book, report, "retention", demo)
    sheet.heading(t("kpi.retention.quarterly", lang))
    quarter_targets = {"nrr_target": lines["nrr_quarter"], "grr_target": lines["grr_quarter"]}
    quarterly = _with_targets(report.retention_quarters, **quarter_targets)
    columns = [Column("label", t("col.quarter", lang)),
               Column("base_customers", t("kpi.col.base_customers", lang), "int"),
               Column("churned_customers", t("kpi.col.churned_customers", lang), "int"),
               Column("base_mrr", t("kpi.col.base_mrr", lang), "yen"),
               Column("base_end_mrr", t("kpi.col.base_end_mrr", lang), "yen"),
               Column("nrr", "NRR", "pct"), Column("grr", "GRR", "pct"),
               *_target_columns(lang, **quarter_targets)]
    table = sheet.table(columns, quarterly, freeze=True)
    sheet.note(t("kpi.retention.quarter_note", lang))
    sheet.line_chart(table, "label", ["nrr", "grr"], t("kpi.retention.chart", lang),
                     targets=[k for k, v in quarter_targets.items() if v is not None])
    sheet.heading(t("kpi.retention.ttm", lang))
    ttm_targets = {"nrr_target": lines["nrr_ttm"], "grr_target": lines["grr_ttm"]}
    ttm = _with_targets(report.retention_ttm, **ttm_targets)
    ttm["month"] = [f"{m:%Y-%m}" for m in pd.to_datetime(ttm["end_month"])]
    columns = [Column("month", t("col.month", lang)),
               Column("base_customers", t("kpi.col.base_customers", lang), "int"),
               Column("base_mrr", t("kpi.col.base_mrr", lang), "yen"),
               Column("nrr", "NRR", "pct"), Column("grr", "GRR", "pct"),
               *_target_columns(lang, **ttm_targets)]
    table = sheet.table(columns, ttm)
    sheet.line_chart(table, "month", ["nrr", "grr"], t("kpi.retention.chart_ttm", lang),
                     targets=[k for k, v in ttm_targets.items() if v is not None])


def two_year_rows(report: KpiReport) -> pd.DataFrame:
    """The two-year churn trend with each point's group: label "2026-03 (n=40)"."""
    trend = report.two_year_trend.copy()
    trend["month_label"] = [f"{m:%Y-%m}" for m in pd.to_datetime(trend["month"])]
    trend["label"] = [f"{m} (n={n})" for m, n in zip(trend["month_label"], trend["customers"])]
    return trend


def _churn_sheet(book, report: KpiReport, demo):
    lang = report.lang
    sheet = _sheet(book, report, "churn", demo)
    sheet.freeze_title()
    two = report.two_year
    target = target_rules.for_metric(report.comparison["targets"], "two_year_churn_rate",
                                     "two_year")
    sheet.heading(t("kpi.churn.two_year", lang))
    ci = two["ci90"]
    sheet.key_values([
        (t("kpi.two_year_churn_rate", lang), two["rate"], "pct"),
        (t("kpi.col.churned", lang), two["churned"], "int"),
        (t("col.customers", lang), two["customers"], "int"),
        (t("kpi.col.ci_low", lang), None if ci is None else ci[0], "pct"),
        (t("kpi.col.ci_high", lang), None if ci is None else ci[1], "pct"),
        (t("kpi.col.sample", lang), t("kpi.sample.small" if two["small_sample"]
                                      else "kpi.sample.ok", lang,
                                      n=report.settings.samples.small_below), "text"),
        (t("col.target", lang), None if target is None else target_text(target, lang), "text"),
        (t("col.status", lang), None if target is None or target["met"] is None
         else t("met" if target["met"] else "missed", lang), "text")])
    sheet.note(t("kpi.churn.two_year_note", lang, month=f"{two['month']:%Y-%m}",
                 first=f"{two['cohort_first_month']:%Y-%m}",
                 last=f"{two['cohort_last_month']:%Y-%m}"))
    sheet.note(two_year_note(report.comparison, lang))
    sheet.heading(t("kpi.churn.two_year_trend", lang))
    trend = _with_targets(two_year_rows(report), target=report.target_lines[
        "two_year_churn_rate_two_year"])
    table = sheet.table([Column("month_label", t("col.month", lang)),
                         Column("customers", t("col.customers", lang), "int"),
                         Column("churned", t("kpi.col.churned", lang), "int"),
                         Column("rate", t("kpi.col.rate", lang), "pct"),
                         *([Column("target", t("kpi.col.churn_target", lang), "pct")]
                           if "target" in trend else []),
                         Column("label", t("kpi.col.point", lang))], trend)
    sheet.line_chart(table, "label", ["rate"], t("kpi.churn.two_year_trend", lang),
                     targets=["target"] if "target" in trend else [])
    sheet.heading(t("kpi.churn.logo", lang))
    logo_target = report.target_lines["logo_churn_rate_quarter"]
    logo = _with_targets(report.logo_churn, target=logo_target)
    table = sheet.table([Column("label", t("col.quarter", lang)),
                         Column("base_customers", t("kpi.col.base_customers", lang), "int"),
                         Column("churned_customers", t("kpi.col.churned_customers", lang), "int"),
                         Column("logo_churn_rate", t("kpi.logo_churn_rate", lang), "pct"),
                         Column("churn_count", t("kpi.col.churned", lang), "int"),
                         Column("churn", t("kpi.churn", lang), "yen_delta"),
                         *([Column("target", t("kpi.col.logo_target", lang), "pct")]
                           if logo_target is not None else [])], logo)
    sheet.note(t("kpi.churn.logo_note", lang))
    if logo_target is None:
        sheet.bar_chart(table, "label", ["logo_churn_rate"], t("kpi.churn.logo_chart", lang),
                        kind="pct")
    else:
        sheet.line_chart(table, "label", ["logo_churn_rate"], t("kpi.churn.logo_chart", lang),
                         targets=["target"])
    sheet.heading(t("kpi.churn.reasons", lang, quarter=report.period_text()))
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
    sheet.heading(t("kpi.churn.cohorts", lang))
    sheet.table([Column("cohort", t("kpi.col.cohort", lang)),
                 Column("customers", t("col.customers", lang), "int"),
                 Column("eligible", t("kpi.col.eligible", lang), "int"),
                 Column("churned", t("kpi.col.churned", lang), "int"),
                 Column("rate", t("kpi.col.rate", lang), "pct"),
                 Column("churned_to_date", t("kpi.col.churned_to_date", lang), "int")],
                report.two_year_cohorts)
    sheet.heading(t("kpi.churn.accounts", lang, quarter=report.period_text()))
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


def _health_sheet(book, report: KpiReport, demo):
    lang = report.lang
    sheet = _sheet(book, report, "health", demo)
    sheet.heading(t("kpi.health.distribution", lang))
    start = report.health_start_day or report.quarter.start_date
    end = report.health_end_day or report.end_day
    frame = report.health_distribution.copy()
    frame["band_label"] = [band_label(b, lang) for b in frame["band"]]
    frame["band_colour"] = [BAND_COLOURS.get(b) for b in frame["band"]]
    columns = [Column("band_label", t("col.band", lang), colour_from="band_colour"),
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
               *(Column(b, band_label(b, lang), "int", header_fill=BAND_COLOURS[b])
                 for b in BANDS),
               Column("accounts", t("kpi.col.accounts", lang), "int")]
    sheet.table(columns, owners)


def _activity_sheet(book, report: KpiReport, demo):
    lang = report.lang
    sheet = _sheet(book, report, "activity", demo)
    sheet.note(t("kpi.activity.note", lang, days=report.no_contact_days,
                 onboarding=report.onboarding_days))
    sheet.heading(t("kpi.activity.owners", lang))
    chart_at = sheet.chart_slot() if len(report.activity) > 1 else None
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
    if chart_at is not None:  # the chart (above the table) leaves out the total row
        sheet.bar_chart(table.without_last_row(), "owner_name", ["meetings", "emails_calls"],
                        t("kpi.activity.chart", lang), kind="int", stacked=True, at=chart_at)


def _onboarding_sheet(book, report: KpiReport, demo):
    lang = report.lang
    sheet = _sheet(book, report, "onboarding", demo)
    sheet.note(t("kpi.activity.note", lang, days=report.no_contact_days,
                 onboarding=report.onboarding_days))
    sheet.heading(t("kpi.activity.onboarding", lang, days=report.onboarding_days))
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
                 Column("completed_label", t("kpi.col.completed", lang))], onboarding,
                freeze=True)


def _renewals_sheet(book, report: KpiReport, demo):
    """This quarter's renewals by status, then the next quarter's: the summary (pending and
    at-risk ARR apart) and the contracts, at risk first."""
    lang = report.lang
    sheet = _sheet(book, report, "renewals", demo)
    sheet.freeze_title()
    for quarter, frame, s in ((report.quarter, report.renewals, report.renewal_summary),
                              (report.next_quarter, report.next_renewals,
                               report.next_renewal_summary)):
        sheet.heading(t("kpi.renewals.summary", lang, quarter=quarter.label))
        sheet.key_values([
            (t("kpi.renewals.due", lang), s["due_count"], "int"),
            (t("kpi.renewals.due_arr", lang), s["due_arr"], "yen"),
            (t("kpi.renewals.signed_arr", lang), s["signed_arr"], "yen"),
            (t("kpi.renewals.auto_renew_arr", lang), s["auto_renew_arr"], "yen"),
            (t("kpi.renewals.lost_arr", lang), s["lost_arr"], "yen"),
            (t("kpi.renewals.pending_arr", lang), s["pending_arr"], "yen"),
            (t("kpi.renewals.at_risk_arr", lang), s["at_risk_arr"], "yen"),
            (t("kpi.renewals.renewal_rate", lang), s["renewal_rate"], "pct"),
            (t("kpi.renewals.forecast_arr", lang), s["forecast_arr"], "yen"),
            (t("kpi.renewals.forecast_low", lang), s["forecast_low"], "yen"),
            (t("kpi.renewals.forecast_high", lang), s["forecast_high"], "yen"),
            (t("kpi.renewals.expected_rate", lang), s["expected_rate"], "pct")])
        sheet.note(t("kpi.renewals.note", lang, as_of=report.as_of))
        sheet.heading(t("kpi.renewals.title", lang, quarter=quarter.label))
        rows = frame.copy()
        rows["status_label"] = [t(f"renewal.{v}", lang) for v in rows["status"]]
        rows["band_label"] = [band_label(b, lang) if isinstance(b, str) else None
                              for b in rows["band"]]
        rows["risk_label"] = [", ".join(t(f"renewal.risk.{r}", lang) for r in v.split(","))
                              if isinstance(v, str) and v else None
                              for v in rows["risk_reasons"]]
        sheet.table([Column("status_label", t("kpi.col.renewal_status", lang)),
                     Column("account_id", t("col.account_id", lang)),
                     Column("name", t("col.account", lang)),
                     Column("owner_name", t("col.owner", lang)),
                     Column("contract_id", t("qbr.col.contract_id", lang)),
                     Column("end_date", t("kpi.col.end_date", lang), "date"),
                     Column("notice_deadline", t("kpi.col.notice_deadline", lang), "date"),
                     Column("arr", t("col.arr", lang), "yen"),
                     Column("band_label", t("col.band", lang)),
                     Column("risk_label", t("kpi.col.risk", lang)),
                     Column("p_renew", t("kpi.col.p_renew", lang), "pct")], rows)


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


def _reviews_sheet(book, report: KpiReport, demo):
    lang = report.lang
    sheet = _sheet(book, report, "reviews", demo)
    sheet.heading(t("kpi.plans.reviews", lang, quarter=report.quarter.label))
    sheet.table([Column("team", t("kpi.col.team", lang)),
                 Column("week_start", t("kpi.col.week", lang), "date"),
                 Column("results", t("kpi.col.results", lang), "wrap"),
                 Column("ksf", t("kpi.col.ksf", lang), "wrap"),
                 Column("ksf_actions", t("kpi.col.ksf_actions", lang), "wrap"),
                 Column("kff", t("kpi.col.kff", lang), "wrap"),
                 Column("kff_actions", t("kpi.col.kff_actions", lang), "wrap")],
                report.weekly_reviews, freeze=True)
