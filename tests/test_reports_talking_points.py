"""QBR talking-point rules (reports/talking_points.py): each rule at its boundary, on facts
written by hand, and docs/reports.md documenting every rule."""

import dataclasses
import datetime as dt
import re

import pytest

from cs_analytics.config import REPO_ROOT, settings_from_dict
from cs_analytics.outputs.reports.labels import LABELS
from cs_analytics.outputs.reports.talking_points import AccountFacts, plan_limit, talking_points

AS_OF = dt.date(2026, 3, 31)
SETTINGS = settings_from_dict({})
RULES = ("winback", "renewal", "health", "campaign", "deliveries", "logins", "meeting",
         "meeting_never", "onboarding", "upsell", "growth", "conversion", "no_usage", "steady")


def usage(**overrides):
    base = {"has_usage": True, "window_days": 90, "recent_first": AS_OF - dt.timedelta(89),
            "recent_last": AS_OF, "previous_first": AS_OF - dt.timedelta(179),
            "previous_last": AS_OF - dt.timedelta(90), "deliveries_recent": 6,
            "deliveries_previous": 6, "viewers_recent": 300, "monthly_deliveries_recent": 2.0,
            "conversion_rate_recent": 0.12, "last_delivery_date": AS_OF - dt.timedelta(3),
            "days_since_delivery": 3, "last_login_date": AS_OF}
    return {**base, **overrides}


def facts(**overrides) -> AccountFacts:
    """A healthy, steady customer of two years: no rule but 'steady' fires."""
    base = dict(as_of=AS_OF, mrr=50_000.0, usage=usage(),
                contact={"days_since_meeting": 20, "last_meeting_date": AS_OF - dt.timedelta(20),
                         "days_since_contact": 5},
                onboarding_start=dt.date(2024, 4, 1), contract_end=dt.date(2026, 12, 31),
                following_signed=False, band="healthy", score=85.0, score_4w=86.0,
                top_detractor="meetings")
    base.update(overrides)
    return AccountFacts(**base)


def rules(f, settings=SETTINGS, lang="ja"):
    return [p.rule for p in talking_points(f, settings, lang)]


def test_a_steady_customer_gets_the_steady_point_only():
    assert rules(facts()) == ["steady"]


@pytest.mark.parametrize("days, fires", [(90, True), (91, False), (0, True), (-1, False)])
def test_renewal_within_90_days(days, fires):
    f = facts(contract_end=AS_OF + dt.timedelta(days))
    assert ("renewal" in rules(f)) is fires
    assert "renewal" not in rules(dataclasses.replace(f, following_signed=True))


def test_renewal_point_names_the_date_and_arr():
    point = talking_points(facts(contract_end=dt.date(2026, 5, 15)), SETTINGS)[0]
    assert point.rule == "renewal" and point.priority == 1
    assert point.evidence == "契約終了日 2026-05-15（あと45日）、後続契約は未締結。ARR ¥600,000。"


@pytest.mark.parametrize("band, score, score_4w, fires", [
    ("warning", 40.0, 42.0, True), ("danger", 10.0, 12.0, True), ("caution", 60.0, 74.0, False),
    ("caution", 60.0, 75.0, True), ("healthy", 80.0, None, False)])
def test_health_band_or_drop(band, score, score_4w, fires):
    assert ("health" in rules(facts(band=band, score=score, score_4w=score_4w))) is fires


@pytest.mark.parametrize("since, recent, previous, fires", [
    (45, 1, 4, True),    # quiet for campaign_quiet_days after 5 deliveries in the two windows
    (44, 1, 4, False),   # the last delivery is one day too recent
    (45, 1, 3, False),   # 4 deliveries are no burst
    (120, 0, 5, True)])
def test_campaign_ended_from_usage_stopping_after_a_burst(since, recent, previous, fires):
    stopped = usage(days_since_delivery=since, last_delivery_date=AS_OF - dt.timedelta(since),
                    deliveries_recent=recent, deliveries_previous=previous)
    got = rules(facts(usage=stopped))
    assert ("campaign" in got) is fires
    if fires:
        assert got[0] == "campaign"
        assert "deliveries" not in got, "the campaign point replaces the falling-deliveries one"


def test_campaign_evidence_names_the_one_delivery_window():
    stopped = usage(days_since_delivery=63, last_delivery_date=dt.date(2026, 1, 27),
                    deliveries_recent=7, deliveries_previous=66)
    point = next(p for p in talking_points(facts(usage=stopped), SETTINGS)
                 if p.rule == "campaign")
    assert point.evidence == (
        "最終配信 2026-01-27（63日前）。直近90日（2026-01-01〜2026-03-31）の配信 7件、"
        "その前の90日（2025-10-03〜2025-12-31） 66件。イベント終了後に利用が止まっています。")


def test_campaign_ended_from_a_recorded_churn_reason_and_suggestion_text():
    counted = {"churned": 5, "total": 8, "share": 0.625, "period": "TTM 2026-12"}
    points = talking_points(facts(churn_reasons=("施策終了・中止",), campaign_churns=counted),
                            SETTINGS)
    campaign = next(p for p in points if p.rule == "campaign")
    assert "施策終了・中止" in campaign.evidence
    for use in ("社内研修", "採用説明会", "IR説明会", "8件のうち5件（62.5%）"):
        assert use in campaign.suggestion
    assert "74%" not in campaign.suggestion
    # without churns to count, the suggestion quotes no figure
    quiet = talking_points(facts(churn_reasons=("施策終了・中止",), campaign_churns={
        "churned": 0, "total": 0, "share": None, "period": "TTM 2026-12"}), SETTINGS)
    text = next(p for p in quiet if p.rule == "campaign").suggestion
    assert "%" not in text and text.startswith("イベント以外の用途")
    assert "campaign" not in rules(facts(churn_reasons=("予算削減",)))
    english = talking_points(facts(churn_reasons=("施策終了・中止",), campaign_churns=counted),
                             SETTINGS, "en")
    suggestion = next(p for p in english if p.rule == "campaign").suggestion
    assert "internal training" in suggestion and "5 of the 8 churns" in suggestion


@pytest.mark.parametrize("recent, previous, fires", [(6, 8, True), (7, 8, False), (0, 2, False)])
def test_deliveries_falling(recent, previous, fires):
    # 6 / 8 = 0.75 is at the ratio; the 90 days before need at least 3 deliveries
    assert ("deliveries" in rules(facts(usage=usage(deliveries_recent=recent,
                                                    deliveries_previous=previous)))) is fires


def test_deliveries_drop_signal_also_triggers_the_adoption_plan():
    assert "deliveries" in rules(facts(open_signals=("deliveries_drop_50",)))


def test_no_login_signal():
    assert "logins" in rules(facts(open_signals=("no_login_60d",)))


@pytest.mark.parametrize("days, fires", [(59, False), (60, True)])
def test_no_meeting_for_60_days(days, fires):
    contact = {"days_since_meeting": days, "last_meeting_date": AS_OF - dt.timedelta(days)}
    assert ("meeting" in rules(facts(contact=contact))) is fires


def test_never_met_counts_from_the_first_contract():
    never = {"days_since_meeting": None, "last_meeting_date": None}
    assert "meeting_never" in rules(facts(contact=never))
    recent_start = facts(contact=never, onboarding_start=AS_OF - dt.timedelta(30))
    got = rules(recent_start)
    assert "meeting_never" not in got and "onboarding" in got


@pytest.mark.parametrize("days, fires", [(89, True), (90, False)])
def test_onboarding_window(days, fires):
    assert ("onboarding" in rules(facts(onboarding_start=AS_OF - dt.timedelta(days)))) is fires


def test_plan_limit_tiers():
    assert plan_limit(SETTINGS, 30_000) == 8
    assert plan_limit(SETTINGS, 100_000) == 15
    assert plan_limit(SETTINGS, 99_999.99) == 8
    assert plan_limit(SETTINGS, 1_000_000) == 60
    assert plan_limit(settings_from_dict({"reports": {"plan_delivery_limits": []}}), 10) is None


@pytest.mark.parametrize("monthly, fires", [(6.4, True), (6.39, False)])
def test_upsell_near_the_plan_limit(monthly, fires):
    # MRR ¥50,000 → 8 deliveries a month included; 80% of that is 6.4
    assert ("upsell" in rules(facts(usage=usage(monthly_deliveries_recent=monthly)))) is fires


def test_growth_needs_healthy_health():
    growing = usage(deliveries_recent=9, deliveries_previous=6)
    assert "growth" in rules(facts(usage=growing))
    assert "growth" not in rules(facts(usage=growing, band="caution", score=60.0, score_4w=61.0))
    assert "growth" not in rules(facts(usage=usage(deliveries_recent=8, deliveries_previous=6)))


@pytest.mark.parametrize("rate, fires", [(0.049, True), (0.05, False), (None, False)])
def test_low_conversion(rate, fires):
    assert ("conversion" in rules(facts(usage=usage(conversion_rate_recent=rate)))) is fires


def test_no_usage_data():
    none = usage(has_usage=False, deliveries_recent=None, deliveries_previous=None,
                 viewers_recent=None, monthly_deliveries_recent=None,
                 conversion_rate_recent=None, last_delivery_date=None, days_since_delivery=None,
                 last_login_date=None)
    assert rules(facts(usage=none)) == ["no_usage"]


def test_former_customer_gets_win_back_and_no_relationship_rules():
    f = facts(mrr=0.0, contract_end=None, band=None, score=None, score_4w=None,
              last_contract_end=dt.date(2025, 12, 31),
              contact={"days_since_meeting": 200, "last_meeting_date": dt.date(2025, 9, 12)},
              churn_reasons=("施策終了・中止",))
    assert rules(f) == ["winback", "campaign"]


def test_priorities_are_sorted_and_thresholds_come_from_settings():
    f = facts(contract_end=AS_OF + dt.timedelta(100),
              usage=usage(monthly_deliveries_recent=7.0, conversion_rate_recent=0.04))
    points = talking_points(f, SETTINGS)
    assert [p.priority for p in points] == sorted(p.priority for p in points)
    assert [p.rule for p in points] == ["upsell", "conversion"]
    custom = settings_from_dict({"reports": {"renewal_proposal_days": 120,
                                             "low_conversion_rate": 0.03}})
    assert [p.rule for p in talking_points(f, custom)] == ["renewal", "upsell"]


def test_every_rule_has_labels_and_is_documented():
    doc = (REPO_ROOT / "docs" / "reports.md").read_text(encoding="utf-8")
    for rule in RULES:
        for part in ("topic", "evidence", "suggestion"):
            assert f"tp.{rule}.{part}" in LABELS, (rule, part)
        assert re.search(rf"`{rule}`", doc), f"docs/reports.md does not describe rule {rule}"
    documented = set(re.findall(r"^\| `(\w+)` \|", doc, re.M))
    assert set(RULES) <= documented
