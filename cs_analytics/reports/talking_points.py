"""Suggested QBR talking points: documented rules over one account's facts (usage, contacts,
renewal, health, signals, churn reasons). docs/reports.md describes every rule; thresholds are
in [reports] of the configuration.

The rules read facts computed by the metrics API (`AccountFacts`, assembled by qbr.py); they
compare those facts with thresholds and never compute a metric themselves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cs_analytics.config import Settings
from cs_analytics.reports.labels import band_label, component_label, t

HIGH, MEDIUM, OPPORTUNITY, INFO = 1, 2, 3, 4
EPS = 1e-9  # a ratio at its threshold counts as reaching it (floating-point products)


@dataclass(frozen=True)
class AccountFacts:
    """What the talking-point rules look at, for one account at `as_of`.

    usage: `metrics.usage.account_usage_summary`; contact: `metrics.activity.contact_summary`;
    health values from the health metrics (None without a score); renewal from the account's
    current contract.
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
    last_contract_end: dt.date | None = None
    open_signals: tuple[str, ...] = ()
    churn_reasons: tuple[str, ...] = field(default=())
    # The company's churns whose reason means a campaign ended (metrics.churn.reason_share over
    # the trailing twelve months): churned, total, share, period — the figure the campaign
    # talking point quotes. None: not computed, and the point quotes no figure.
    campaign_churns: dict | None = None

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
    suggestion: str  # what to propose in the QBR


def _yen(value: float) -> str:
    return f"¥{value:,.0f}"


def _date(value: dt.date | None) -> str:
    return value.isoformat() if value else "—"


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
    """Usage stopped after an event burst: no delivery in the quiet window after at least
    campaign_min_burst deliveries in the 90 days before it."""
    u = facts.usage
    return bool(u.get("has_usage")) and u["deliveries_quiet"] == 0 and (
        u["deliveries_before_quiet"] >= settings.reports.campaign_min_burst)


def talking_points(facts: AccountFacts, settings: Settings, lang: str = "ja") -> list[TalkingPoint]:
    """Every rule that fires, highest priority first (docs/reports.md lists the rules)."""
    r = settings.reports
    u = facts.usage
    points: list[TalkingPoint] = []

    def add(rule: str, priority: int, **values):
        points.append(TalkingPoint(rule, priority, t(f"tp.{rule}.topic", lang, **values),
                                   t(f"tp.{rule}.evidence", lang, **values),
                                   t(f"tp.{rule}.suggestion", lang, **values)))

    active = facts.mrr > 0  # rules about the running relationship need a current customer
    if not active:
        add("winback", HIGH, end=_date(facts.last_contract_end))
    days = facts.days_to_renewal
    if (active and days is not None and 0 <= days <= r.renewal_proposal_days
            and not facts.following_signed):
        add("renewal", HIGH, end=_date(facts.contract_end), days=days,
            arr=_yen(12 * facts.mrr))

    dropped = (facts.score is not None and facts.score_4w is not None
               and facts.score_4w - facts.score >= r.health_drop_points)
    if active and (facts.band in ("warning", "danger") or dropped):
        add("health", HIGH, band=band_label(facts.band, lang),
            score=f"{facts.score:.0f}" if facts.score is not None else "—",
            score_4w=f"{facts.score_4w:.0f}" if facts.score_4w is not None else "—",
            detractor=component_label(facts.top_detractor, lang) if facts.top_detractor
            else "—")

    reasons = [x for x in facts.churn_reasons if x and x.strip() in r.campaign_churn_reasons]
    stopped = campaign_stopped(facts, settings)
    if reasons or stopped:
        if stopped:
            evidence = t("tp.campaign.stopped", lang, quiet=r.campaign_quiet_days,
                         burst=u["deliveries_before_quiet"],
                         last=_date(u.get("last_delivery_date")))
        else:
            evidence = t("tp.campaign.reason", lang, reason=reasons[0])
        add("campaign", HIGH, evidence=evidence, share_line=_campaign_share(facts, settings,
                                                                             lang))

    falling = (u.get("has_usage") and u["deliveries_previous"] >= r.deliveries_fall_min_previous
               and u["deliveries_recent"] <= r.deliveries_fall_ratio * u["deliveries_previous"] + EPS)
    if active and (falling or "deliveries_drop_50" in facts.open_signals) and not stopped:
        add("deliveries", MEDIUM, recent=u.get("deliveries_recent") or 0,
            previous=u.get("deliveries_previous") or 0)

    if active and "no_login_60d" in facts.open_signals:
        add("logins", MEDIUM, last=_date(u.get("last_login_date")),
            days=settings.signals.no_login_days)

    since_meeting = facts.contact.get("days_since_meeting")
    customer_days = facts.customer_days
    if active and since_meeting is not None and since_meeting >= r.no_meeting_days:
        add("meeting", MEDIUM, last=_date(facts.contact.get("last_meeting_date")),
            days=since_meeting)
    elif active and since_meeting is None and customer_days is not None and (
            customer_days >= r.no_meeting_days):
        add("meeting_never", MEDIUM, days=customer_days)

    if active and customer_days is not None and 0 <= customer_days < settings.health.onboarding_days:
        add("onboarding", MEDIUM, days=customer_days, total=settings.health.onboarding_days)

    limit = plan_limit(settings, facts.mrr)
    monthly = u.get("monthly_deliveries_recent")
    if active and limit and monthly is not None and monthly >= r.near_limit_ratio * limit - EPS:
        add("upsell", OPPORTUNITY, monthly=f"{monthly:.1f}", limit=f"{limit:g}",
            share=f"{monthly / limit:.0%}")

    growing = (u.get("has_usage") and u["deliveries_previous"] >= r.deliveries_fall_min_previous
               and u["deliveries_recent"] >= r.growth_ratio * u["deliveries_previous"] - EPS)
    if active and growing and facts.band == "healthy":
        add("growth", OPPORTUNITY, recent=u["deliveries_recent"], previous=u["deliveries_previous"])

    rate = u.get("conversion_rate_recent")
    if (active and rate is not None and u.get("viewers_recent")
            and rate < r.low_conversion_rate - EPS):
        add("conversion", OPPORTUNITY, rate=f"{rate:.1%}", target=f"{r.low_conversion_rate:.0%}")

    if not u.get("has_usage"):
        add("no_usage", INFO)

    if active and u.get("has_usage") and not [p for p in points if p.priority <= OPPORTUNITY]:
        add("steady", INFO)
    points.sort(key=lambda p: p.priority)
    return points
