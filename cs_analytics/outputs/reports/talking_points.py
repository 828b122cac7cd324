"""Suggested QBR talking points: documented rules over one account's facts (usage, contacts,
renewal, health, signals, churn reasons). docs/reports.md describes every rule; thresholds are
in [reports] of the configuration.

The rules read facts computed by the metrics API (`AccountFacts`, assembled by qbr.py); they
compare those facts with thresholds and never compute a metric themselves. Evidence and
suggestions quote the account's own figures (reports/evidence.py): two accounts never get the
same sentence unless their facts are the same.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cs_analytics.config import Settings
from cs_analytics.outputs.reports import evidence as ev
from cs_analytics.outputs.reports.labels import band_label, component_label, t

HIGH, MEDIUM, OPPORTUNITY, INFO = 1, 2, 3, 4
EPS = 1e-9  # a ratio at its threshold counts as reaching it (floating-point products)


@dataclass(frozen=True)
class AccountFacts:
    """What the talking-point rules look at, for one account at `as_of`.

    usage: `metrics.usage.account_usage_summary` (one named delivery window); contact:
    `metrics.activity.contact_summary`; quarters: `metrics.usage.quarter_usage` rows, oldest
    first; contact_counts: meetings, emails and calls since first_day (the first quarter shown);
    health values from the health metrics (None without a score; detractor_value is the top
    detractor's input).
    """

    as_of: dt.date
    mrr: float
    usage: dict
    contact: dict
    onboarding_start: dt.date | None = None
    contract_end: dt.date | None = None
    following_signed: bool = False
    band: str | None = None
    score: float | None = None
    score_4w: float | None = None
    top_detractor: str | None = None
    detractor_value: float | None = None
    last_contract_end: dt.date | None = None
    open_signals: tuple[str, ...] = ()
    churn_reasons: tuple[str, ...] = field(default=())
    # The company's churns whose reason means a campaign ended (metrics.churn.reason_share over
    # the trailing twelve months): churned, total, share, period — the figure the campaign
    # talking point quotes. None: not computed, and the point quotes no figure.
    campaign_churns: dict | None = None
    quarters: tuple[dict, ...] = ()
    contact_counts: dict | None = None

    @property
    def days_to_renewal(self) -> int | None:
        return None if self.contract_end is None else (self.contract_end - self.as_of).days

    @property
    def customer_days(self) -> int | None:
        return None if self.onboarding_start is None else (self.as_of - self.onboarding_start).days


@dataclass(frozen=True)
class TalkingPoint:
    rule: str        # rule id, as in docs/reports.md
    priority: int    # 1 high, 2 medium, 3 opportunity, 4 information
    topic: str       # translated one-line title
    evidence: str    # the facts that triggered the rule, with numbers
    suggestion: str  # what to propose in the QBR, drawn from the account's own figures


def _campaign_share(facts: AccountFacts, settings: Settings, lang: str) -> str:
    """'直近12か月（TTM 2026-12）の解約11件のうち8件（72.7%）の理由が「施策終了・中止」。' from the
    data, or nothing when there were no churns to count."""
    counted = facts.campaign_churns
    if not counted or not counted.get("total"):
        return ""
    return t("tp.campaign.share", lang, period=counted["period"], total=counted["total"],
             churned=counted["churned"], share=f"{counted['share']:.1%}",
             reason="・".join(settings.reports.campaign_churn_reasons) if lang == "ja"
             else " / ".join(settings.reports.campaign_churn_reasons))


def plan_limit(settings: Settings, mrr: float) -> float | None:
    """Deliveries per month included in the plan for this MRR (reports.plan_delivery_limits)."""
    limit = None
    for threshold, deliveries in settings.reports.plan_delivery_limits:
        if mrr >= threshold:
            limit = deliveries
    return limit


def campaign_stopped(facts: AccountFacts, settings: Settings) -> bool:
    """Usage stopped after an event burst: the last delivery is at least campaign_quiet_days
    old, after at least campaign_min_burst deliveries in the named window and the one before
    it (so nothing in the quiet days)."""
    u = facts.usage
    since = u.get("days_since_delivery")
    return bool(u.get("has_usage")) and since is not None and (
        since >= settings.reports.campaign_quiet_days) and (
        u["deliveries_recent"] + u["deliveries_previous"] >= settings.reports.campaign_min_burst)


def detractor_text(facts: AccountFacts, settings: Settings, lang: str) -> str:
    """The top detractor with its own input: "Meetings (1 in the last 90 days)"."""
    if not facts.top_detractor:
        return "—"
    name = component_label(facts.top_detractor, lang)
    value = facts.detractor_value
    if value is None:
        return name
    windows = settings.health.windows
    days = {"deliveries": windows.deliveries_days, "logins": windows.logins_days,
            "touchpoints": windows.touchpoints_days, "meetings": windows.meetings_days,
            "conversion": windows.conversion_days}.get(facts.top_detractor)
    shown = ev.percent(value) if facts.top_detractor == "conversion" else ev.count(value)
    key = f"tp.detractor.{facts.top_detractor}"
    return t(key, lang, name=name, value=shown, days=days)


def _results(facts: AccountFacts, lang: str) -> str:
    """This account's results in one or two sentences, or a request to hear them."""
    return ev.quarter_results(facts.quarters, lang) or t("tp.results_unknown", lang)


def talking_points(facts: AccountFacts, settings: Settings, lang: str = "ja") -> list[TalkingPoint]:
    """Every rule that fires, highest priority first (docs/reports.md lists the rules)."""
    r = settings.reports
    u = facts.usage
    quarters = facts.quarters
    best = ev.best_quarter(quarters)
    best_text = (t("tp.best_quarter", lang, quarter=best["period"],
                   deliveries=ev.count(best["deliveries"])) if best else "")
    trend = ev.grew_and_fell(quarters, lang)
    points: list[TalkingPoint] = []

    def add(rule: str, priority: int, **values):
        points.append(TalkingPoint(rule, priority, t(f"tp.{rule}.topic", lang, **values),
                                   t(f"tp.{rule}.evidence", lang, **values),
                                   t(f"tp.{rule}.suggestion", lang, **values)))

    active = facts.mrr > 0  # rules about the running relationship need a current customer
    if not active:
        add("winback", HIGH, end=ev.iso(facts.last_contract_end), results=_results(facts, lang),
            best=best_text)
    days = facts.days_to_renewal
    if (active and days is not None and 0 <= days <= r.renewal_proposal_days
            and not facts.following_signed):
        add("renewal", HIGH, end=ev.iso(facts.contract_end), days=days,
            arr=ev.yen(12 * facts.mrr), results=_results(facts, lang),
            trend=trend or t("tp.no_trend", lang))

    dropped = (facts.score is not None and facts.score_4w is not None
               and facts.score_4w - facts.score >= r.health_drop_points)
    if active and (facts.band in ("warning", "danger") or dropped):
        add("health", HIGH, band=band_label(facts.band, lang),
            score=f"{facts.score:.0f}" if facts.score is not None else "—",
            score_4w=f"{facts.score_4w:.0f}" if facts.score_4w is not None else "—",
            detractor=detractor_text(facts, settings, lang))

    reasons = [x for x in facts.churn_reasons if x and x.strip() in r.campaign_churn_reasons]
    stopped = campaign_stopped(facts, settings)
    if reasons or stopped:
        if stopped:
            evidence = t("tp.campaign.stopped", lang, last=ev.iso(u["last_delivery_date"]),
                         since=u["days_since_delivery"], windows=ev.delivery_windows(u, lang))
        else:
            evidence = t("tp.campaign.reason", lang, reason=reasons[0])
        add("campaign", HIGH, evidence=evidence,
            share_line=_campaign_share(facts, settings, lang), best=best_text)

    falling = (u.get("has_usage") and u["deliveries_previous"] >= r.deliveries_fall_min_previous
               and u["deliveries_recent"] <= r.deliveries_fall_ratio * u["deliveries_previous"] + EPS)
    if active and (falling or "deliveries_drop_50" in facts.open_signals) and not stopped:
        add("deliveries", MEDIUM, windows=ev.delivery_windows(u, lang) if u.get("has_usage")
            else "—", trend=trend or t("tp.no_trend", lang), best=best_text)

    if active and "no_login_60d" in facts.open_signals:
        last = u.get("last_login_date")
        add("logins", MEDIUM, last=ev.iso(last),
            days=(facts.as_of - last).days if last else settings.signals.no_login_days)

    since_meeting = facts.contact.get("days_since_meeting")
    customer_days = facts.customer_days
    contacts = ev.contact_counts(facts.contact_counts, lang)
    if active and since_meeting is not None and since_meeting >= r.no_meeting_days:
        add("meeting", MEDIUM, last=ev.iso(facts.contact.get("last_meeting_date")),
            days=since_meeting, contacts=contacts)
    elif active and since_meeting is None and customer_days is not None and (
            customer_days >= r.no_meeting_days):
        add("meeting_never", MEDIUM, days=customer_days, contacts=contacts)

    if active and customer_days is not None and 0 <= customer_days < settings.health.onboarding_days:
        last = u.get("last_delivery_date")
        add("onboarding", MEDIUM, days=customer_days, total=settings.health.onboarding_days,
            delivered=(t("tp.onboarding.delivered", lang, last=ev.iso(last)) if last
                       else t("tp.onboarding.not_delivered", lang)))

    limit = plan_limit(settings, facts.mrr)
    monthly = u.get("monthly_deliveries_recent")
    if active and limit and monthly is not None and monthly >= r.near_limit_ratio * limit - EPS:
        add("upsell", OPPORTUNITY, monthly=f"{monthly:.1f}", limit=f"{limit:g}",
            share=f"{monthly / limit:.0%}", window=ev.window_text(u, lang),
            results=_results(facts, lang))

    growing = (u.get("has_usage") and u["deliveries_previous"] >= r.deliveries_fall_min_previous
               and u["deliveries_recent"] >= r.growth_ratio * u["deliveries_previous"] - EPS)
    if active and growing and facts.band == "healthy":
        add("growth", OPPORTUNITY, windows=ev.delivery_windows(u, lang),
            trend=trend or t("tp.no_trend", lang), best=best_text)

    rate = u.get("conversion_rate_recent")
    if (active and rate is not None and u.get("viewers_recent")
            and rate < r.low_conversion_rate - EPS):
        add("conversion", OPPORTUNITY, rate=ev.percent(rate), window=ev.window_text(u, lang),
            target=f"{r.low_conversion_rate:.0%}", viewers=ev.count(u.get("viewers_recent")))

    if not u.get("has_usage"):
        add("no_usage", INFO)

    if active and u.get("has_usage") and not [p for p in points if p.priority <= OPPORTUNITY]:
        add("steady", INFO, results=_results(facts, lang), trend=trend or t("tp.no_trend", lang))
    points.sort(key=lambda p: p.priority)
    return points
