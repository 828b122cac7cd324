"""What the customer sees in their QBR deck — and nothing else. `qbr_deck_data` reads the
internal QBR pack (reports/qbr.py) and keeps only what is the customer's own: their contracts,
their usage and outcomes against their own past, highlights and a value story from those
figures, next quarter's plan phrased for them, questions and next steps. Health scores, bands,
signals, segments, churn statistics and CS notes never enter a `QbrDeck`, so the renderer
(reports/qbr_slides.py) cannot show them.

Every figure comes from the metrics API (usage.quarter_usage, usage.usage_totals); this module
picks, compares with thresholds of zero (up or down) and phrases.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from cs_analytics.config import Settings
from cs_analytics.metrics import periods as P
from cs_analytics.metrics import usage as usage_metrics
from cs_analytics.metrics.base import fiscal_year_start_month
from cs_analytics.outputs.reports import evidence as ev
from cs_analytics.outputs.reports.labels import t
from cs_analytics.outputs.reports.qbr import QbrPack, qbr_data

# The 60-minute agenda (the strategy's QBR template): (minutes, section key). Sections are
# the deck's slides in order; the minutes add up to 60.
AGENDA = (
    (5, "opening"),
    (5, "contract"),
    (10, "usage"),
    (10, "outcomes"),
    (5, "highlights"),
    (15, "plan"),
    (10, "next_steps"),
)
AGENDA_MINUTES = 60
MAX_CONTRACTS_ON_TIMELINE = 6
MAX_HIGHLIGHTS = 4

# The internal talking-point rules (reports/talking_points.py) and the plan item each becomes
# for the customer; 'health' is internal and becomes the item of its top detractor instead.
PLAN_OF_RULE = {
    "renewal": "renewal", "campaign": "other_uses", "deliveries": "delivery_plan",
    "logins": "training", "meeting": "regular_review", "meeting_never": "regular_review",
    "onboarding": "onboarding", "upsell": "capacity", "growth": "expand",
    "conversion": "conversion", "winback": "restart", "no_usage": "usage_review",
    "steady": "goals",
}
PLAN_OF_DETRACTOR = {
    "deliveries": "delivery_plan", "logins": "training", "touchpoints": "regular_review",
    "meetings": "regular_review", "conversion": "conversion", "renewal": "renewal",
}
# Who does a next step: "us" (the CS team), "you" (the customer) or "both", and when.
NEXT_STEPS = {
    "renewal": ("us", "renewal"), "other_uses": ("us", "week"), "delivery_plan": ("both", "two_weeks"),
    "training": ("us", "two_weeks"), "regular_review": ("both", "today"),
    "onboarding": ("both", "two_weeks"), "capacity": ("us", "week"), "expand": ("you", "next_review"),
    "conversion": ("us", "week"), "restart": ("us", "two_weeks"),
    "usage_review": ("you", "next_review"), "goals": ("both", "today"),
}
RENEWAL_PROPOSAL_LEAD_DAYS = 60  # the renewal plan is proposed this long before the end


@dataclass(frozen=True)
class PlanItem:
    key: str
    title: str
    body: str
    basis: str  # the customer's own figures behind it ("" when none)


@dataclass(frozen=True)
class NextStep:
    action: str
    owner: str
    when: str


@dataclass
class QbrDeck:
    """The customer-facing QBR of one account at the snapshot's as-of date."""

    lang: str
    account_id: str  # names the file; never shown on a slide
    customer: str
    owner: str | None
    as_of: dt.date
    quarter: str
    first_day: dt.date
    is_demo: bool
    customer_since: dt.date | None
    contracts: list[dict]
    renewal: dict
    quarters: list[dict]
    has_usage: bool
    totals: dict
    totals_year_before: dict | None
    since: dict
    pace_min_days: int
    conversion_basis: str
    next_quarter: str
    next_first: dt.date
    next_last: dt.date
    highlights: list[str] = field(default_factory=list)
    value_story: str = ""
    plan: list[PlanItem] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    next_steps: list[NextStep] = field(default_factory=list)

    @property
    def current(self) -> dict | None:
        return self.quarters[-1] if self.quarters else None

    @property
    def baseline(self) -> dict | None:
        """The latest complete quarter with usage: what next quarter's goals start from."""
        done = _complete(self)
        return done[-1] if done else None

    def agenda(self) -> list[tuple[str, int, str]]:
        """(time range, minutes, title) of each agenda item."""
        items, start = [], 0
        for minutes, key in AGENDA:
            end = start + minutes
            items.append((f"{start // 60}:{start % 60:02d}–{end // 60}:{end % 60:02d}", minutes,
                          t(f"deck.agenda.{key}", self.lang)))
            start = end
        return items


CUSTOMER_QUARTER_KEYS = (
    "period", "first_day", "last_day", "days", "days_in_period", "complete", "year_ago_period",
    "year_ago_last_day", "has_usage", "conversion_rate", "conversion_rate_year_ago",
    "conversion_rate_year_ago_full") + tuple(
    f"{m}{suffix}" for m in ("deliveries", "viewers", "registrants", "conversions")
    for suffix in ("", "_year_ago", "_change", "_pace", "_year_ago_full", "_pace_change"))


def qbr_deck_data(snap, settings: Settings, account_id: str, lang: str = "ja",
                  pack: QbrPack | None = None) -> QbrDeck:
    """The customer deck's content for one account (from its QBR pack, built here unless
    given)."""
    pack = pack or qbr_data(snap, settings, account_id, lang)
    as_of = pack.as_of
    quarters = [{k: q[k] for k in CUSTOMER_QUARTER_KEYS}
                for q in pack.quarter_usage.to_dict("records")]
    first_day = quarters[0]["first_day"]
    since_start = pack.profile.get("first_start_date")
    comparable = usage_metrics.comparable_from(snap, account_id)
    totals = usage_metrics.usage_totals(snap, account_id, first_day, as_of, settings)
    year_before = None
    if comparable is not None and P.shift_day(first_day, -12) >= comparable:
        year_before = usage_metrics.usage_totals(snap, account_id, P.shift_day(first_day, -12),
                                                 P.shift_day(as_of, -12), settings)
    # the value story counts from the first contract, or from the usage export's first day
    # when the export starts later (and says which)
    starts = [d for d in (since_start, usage_metrics.usage_first_date(snap)) if d is not None]
    since_first = min(max(starts), as_of) if starts else first_day
    since = usage_metrics.usage_totals(snap, account_id, since_first, as_of, settings)
    since["from_start"] = since_start is not None and since_first == since_start
    fsm = fiscal_year_start_month(snap)
    following = P.shift(P.period_containing("quarter", as_of, fsm), 1, fsm)
    deck = QbrDeck(
        lang=lang, account_id=account_id, customer=pack.profile["name"],
        owner=pack.profile.get("owner_name"), as_of=as_of, quarter=quarters[-1]["period"],
        first_day=first_day, is_demo=pack.is_demo, customer_since=since_start,
        contracts=_contracts(pack), renewal=_renewal(pack), quarters=quarters,
        has_usage=pack.has_usage, totals=totals, totals_year_before=year_before, since=since,
        pace_min_days=settings.reports.pace_min_days,
        conversion_basis=settings.health.conversion_basis, next_quarter=following.label,
        next_first=following.start_date, next_last=following.end_date)
    deck.highlights = highlights(deck)
    deck.value_story = value_story(deck)
    deck.plan = plan(deck, pack)
    deck.questions = questions(deck)
    deck.next_steps = next_steps(deck)
    return deck


def _contracts(pack: QbrPack) -> list[dict]:
    """The customer's contract terms, oldest first: start, end, kind (their words), amount,
    state past / current / next."""
    rows = []
    for c in pack.contracts.sort_values(["start_date", "contract_id"]).to_dict("records"):
        start = pd.Timestamp(c["start_date"]).date()
        end = pd.Timestamp(c["end_date"]).date()
        state = "next" if start > pack.as_of else "current" if bool(c["active"]) else (
            "past" if end < pack.as_of else "current")
        amount = c["amount"] if c["amount"] is not None and not pd.isna(c["amount"]) else None
        rows.append({"start": start, "end": end, "state": state, "amount": amount,
                     "kind": t(f"deck.contract.{c['type']}", pack.lang)
                     if isinstance(c["type"], str) and c["type"] in ("new", "renewal", "upsell")
                     else t("deck.contract.other", pack.lang)})
    return rows


def _renewal(pack: QbrPack) -> dict:
    r = pack.renewal
    upcoming = [c for c in pack.contracts.to_dict("records")
                if pd.Timestamp(c["start_date"]).date() > pack.as_of and c["mrr"]
                and not pd.isna(c["mrr"])]
    upcoming.sort(key=lambda c: c["start_date"])
    following = upcoming[0] if upcoming and r["following_signed"] else None
    return {"end": r["contract_end"], "days": r["days_to_renewal"],
            "signed": bool(r["following_signed"]),
            "next_start": pd.Timestamp(following["start_date"]).date() if following else None,
            "next_end": pd.Timestamp(following["end_date"]).date() if following else None}


# ---------------------------------------------------------------------------- the story


def _complete(deck: QbrDeck) -> list[dict]:
    return [q for q in deck.quarters if q["complete"] and q["has_usage"]]


def highlights(deck: QbrDeck) -> list[str]:
    """Up to MAX_HIGHLIGHTS sentences from the customer's figures: what grew first (against
    the same quarter a year before, or the four quarters against the four before), then facts
    that hold whatever the trend (best quarter, viewers per delivery)."""
    lang = deck.lang
    if not deck.has_usage:
        return []
    good: list[str] = []
    facts: list[str] = []
    grown = [q for q in _complete(deck) if q["deliveries_change"] is not None
             and q["deliveries_change"] > 0]
    if grown:
        q = max(grown, key=lambda q: (q["deliveries_change"], q["period"]))
        good.append(t("deck.hl.deliveries_yoy", lang, quarter=q["period"],
                      change=ev.signed_percent(q["deliveries_change"]),
                      value=ev.count(q["deliveries"]), before=ev.count(q["deliveries_year_ago"])))
    current = deck.current
    if current and not current["complete"] and current["deliveries_pace_change"] is not None \
            and current["deliveries_pace_change"] > 0:
        good.append(t("deck.hl.pace", lang, quarter=current["period"],
                      pace=ev.count(current["deliveries_pace"]),
                      before=ev.count(current["deliveries_year_ago_full"]),
                      year_ago=current["year_ago_period"]))
    now, before = deck.totals, deck.totals_year_before
    for measure in ("viewers", "registrants", "conversions"):
        change = usage_metrics.relative_change(now[measure], before[measure]) if before else None
        if change is not None and change > 0:
            good.append(t(f"deck.hl.{measure}_up", lang, value=ev.count(now[measure]),
                          change=ev.signed_percent(change),
                          first=ev.long_date(deck.first_day, lang)))
    rate, rate_before = now["conversion_rate"], before["conversion_rate"] if before else None
    if rate is not None and rate_before is not None and rate > rate_before:
        good.append(t("deck.hl.rate_up", lang, rate=ev.percent(rate),
                      before=ev.percent(rate_before)))
    best = ev.best_quarter(deck.quarters, "viewers")
    if best is not None:
        facts.append(t("deck.hl.best_viewers", lang, quarter=best["period"],
                       value=ev.count(best["viewers"])))
    if now["viewers_per_delivery"] is not None:
        facts.append(t("deck.hl.per_delivery", lang, value=ev.count(now["viewers_per_delivery"]),
                       first=ev.long_date(deck.first_day, lang)))
    if now["viewers"] and not any("viewers" in h for h in good):
        facts.append(t("deck.hl.viewers", lang, value=ev.count(now["viewers"]),
                       first=ev.long_date(deck.first_day, lang)))
    return (good + facts)[:MAX_HIGHLIGHTS]


def value_story(deck: QbrDeck) -> str:
    """One sentence of what the service has delivered for them so far."""
    lang, s = deck.lang, deck.since
    if not s["has_usage"] or not s["deliveries"]:
        return t("deck.story.none", lang)
    start = (t("deck.story.from_start", lang, date=ev.long_date(s["first_day"], lang))
             if s["from_start"] else t("deck.story.since", lang,
                                       date=ev.long_date(s["first_day"], lang)))
    key = "deck.story.full" if s["conversions"] else "deck.story.no_conversions"
    return t(key, lang, start=start, deliveries=ev.count(s["deliveries"]),
             viewers=ev.count(s["viewers"]), conversions=ev.count(s["conversions"]))


def plan(deck: QbrDeck, pack: QbrPack) -> list[PlanItem]:
    """Next quarter's plan: each talking point the pack found, in the customer's words and with
    their own figures; internal rules become the item they lead to."""
    keys: list[str] = []
    facts = pack.facts
    for point in pack.talking_points:
        if point.rule == "health":
            key = PLAN_OF_DETRACTOR.get(facts.top_detractor or "")
        else:
            key = PLAN_OF_RULE.get(point.rule)
        if key and key not in keys:
            keys.append(key)
    if not keys or keys == ["usage_review"] and facts.mrr > 0:
        keys.append("goals")
    return [_plan_item(deck, pack, key) for key in keys]


def _plan_item(deck: QbrDeck, pack: QbrPack, key: str) -> PlanItem:
    lang, u, facts = deck.lang, pack.usage_summary, pack.facts
    values = {"end": ev.long_date(deck.renewal["end"], lang)}
    current = deck.current
    best = ev.best_quarter(deck.quarters)
    values.update({
        "best": best["period"] if best else "—",
        "best_value": ev.count(best["deliveries"]) if best else "—",
        "recent": ev.count(u.get("deliveries_recent")),
        "previous": ev.count(u.get("deliveries_previous")),
        "days": u.get("window_days"),
        "monthly": f"{u['monthly_deliveries_recent']:.1f}" if u.get(
            "monthly_deliveries_recent") is not None else "—",
        "rate": ev.percent(u.get("conversion_rate_recent")),
        "last_meeting": ev.long_date(facts.contact.get("last_meeting_date"), lang),
        "customer_days": facts.customer_days,
        "quarter": current["period"] if current else "—",
        "pace": ev.count(current["deliveries_pace"]) if current else "—",
        "results": ev.quarter_results(deck.quarters, lang),
        "grew": ev.grew_and_fell(deck.quarters, lang),
    })
    basis = _basis(deck, pack, key, values)
    return PlanItem(key, t(f"deck.plan.{key}.title", lang, **values),
                    t(f"deck.plan.{key}.body", lang, **values),
                    basis if basis is not None else t(f"deck.plan.{key}.basis", lang, **values))


def _basis(deck: QbrDeck, pack: QbrPack, key: str, values: dict) -> str | None:
    """The customer's own figures behind an item, or "" when there are none to show; None
    means the item's basis sentence (deck.plan.<key>.basis) applies."""
    u, lang = pack.usage_summary, deck.lang
    if key in ("delivery_plan", "capacity", "expand") and not u.get("has_usage"):
        return ""
    if key in ("renewal", "goals", "restart"):
        return values["results"]
    if key == "other_uses":
        return t("deck.plan.other_uses.basis", lang, **values) if values["best"] != "—" else ""
    if key == "expand":
        return values["grew"]
    if key == "conversion" and u.get("conversion_rate_recent") is None:
        return ""
    if key == "regular_review" and pack.facts.contact.get("last_meeting_date") is None:
        return ""
    if key in ("training", "usage_review"):
        return ""
    return None


def questions(deck: QbrDeck) -> list[str]:
    """What to ask the customer: one question per plan item, then the general one."""
    asked = [t(f"deck.question.{item.key}", deck.lang) for item in deck.plan]
    return asked + [t("deck.question.general", deck.lang)]


def next_steps(deck: QbrDeck) -> list[NextStep]:
    """Who does what by when after the QBR: one step per plan item, then the minutes."""
    lang = deck.lang
    steps = []
    for item in deck.plan:
        who, when = NEXT_STEPS[item.key]
        if when == "renewal":
            end = deck.renewal["end"]
            due = end - dt.timedelta(days=RENEWAL_PROPOSAL_LEAD_DAYS) if end else None
            when_text = (t("deck.when.by", lang, date=ev.long_date(due, lang))
                         if due and due > deck.as_of + dt.timedelta(days=14)
                         else t("deck.when.two_weeks", lang))
        else:
            when_text = t(f"deck.when.{when}", lang)
        steps.append(NextStep(t(f"deck.step.{item.key}", lang),
                              _owner_text(deck, who), when_text))
    steps.append(NextStep(t("deck.step.minutes", lang), _owner_text(deck, "us"),
                          t("deck.when.two_days", lang)))
    return steps


def _owner_text(deck: QbrDeck, who: str) -> str:
    if who == "us" and deck.owner:
        return t("deck.who.us_named", deck.lang, name=deck.owner)
    return t(f"deck.who.{who}", deck.lang)
