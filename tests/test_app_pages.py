"""Every page, in both languages, on demo data, on an empty snapshot and with no snapshot at all:
no exception, the page's title in the right language, the data-as-of banner, and — on the
demo data — what a user sees: KPI values equal to the metrics API's, chart series, table rows."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conftest import build_snapshot, contract

from cs_analytics.app.ui import fmt, widgets
from cs_analytics.app.ui.i18n import translate
from cs_analytics.app.ui.nav import PAGES
from cs_analytics.metrics import churn, periods, renewals, revenue
from cs_analytics.metrics.filters import Filters
from cs_analytics.warehouse.store import Store
from test_app_common import (ACCOUNT_TABS, chart, chart_titles, demo_home,  # noqa: F401
                             empty_home, metric, no_snapshot_home, open_account_tab, run_page,
                             table, table_with, texts, use_home, values)

PAGE_NAMES = [p.name for p in PAGES]
LANGS = ("ja", "en")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", PAGE_NAMES)
def test_page_on_demo_data(page, lang, demo_home, use_home):
    use_home(demo_home)
    at = run_page(page, lang)
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.title][0] == translate(lang, f"{page}.title"
                                                       if page not in TITLE_KEYS
                                                       else TITLE_KEYS[page])
    shown = texts(at)
    assert translate(lang, "frame.demo_label") in shown
    assert translate(lang, "frame.as_of", date=fmt.date(
        Store(demo_home).open_current().as_of, lang)) in shown
    assert not [e for e in at.error], [e.value for e in at.error]
    _every_account_tab(at, page, lang)


def _every_account_tab(at, page: str, lang: str) -> None:
    """The account page runs only its open tab: open each one, no exception, no error."""
    if page != "account" or not at.tabs:
        return
    for tab in ACCOUNT_TABS[1:]:
        open_account_tab(at, tab, lang)
        assert not at.exception, (tab, [e.value for e in at.exception])
        assert not [e for e in at.error], (tab, [e.value for e in at.error])


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", PAGE_NAMES)
def test_page_on_an_empty_snapshot(page, lang, empty_home, use_home):
    use_home(empty_home)
    at = run_page(page, lang)
    assert not at.exception, [e.value for e in at.exception]
    assert not [e for e in at.error], [e.value for e in at.error]
    _every_account_tab(at, page, lang)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", PAGE_NAMES)
def test_page_without_any_snapshot(page, lang, no_snapshot_home, use_home):
    use_home(no_snapshot_home)
    at = run_page(page, lang)
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    if page in ("data", "glossary"):
        assert at.title[0].value == translate(lang, TITLE_KEYS.get(page, f"{page}.title"))
    else:
        assert translate(lang, "common.no_snapshot") in shown


TITLE_KEYS = {"weekly_check": "check.title", "weekly_review": "review.title",
              "kpi_report": "kpi_report.title"}


# ---------------------------------------------------------------------------- values


def _period(snap):
    return periods.period_containing("quarter", snap.as_of, 1)


def test_overview_cards_equal_the_metrics_api(demo_home, use_home):
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    period = _period(snap)
    current = revenue.kpis(snap, period)
    previous = revenue.kpis(snap, periods.previous(period))
    at = run_page("overview", "en")
    mrr = metric(at, "MRR")
    assert mrr.value == fmt.amount(current["mrr"], "en", "thousand")
    assert mrr.proto.help == fmt.yen(current["mrr"])
    assert metric(at, "Active customers").value == fmt.number(current["customers"])
    assert metric(at, "NRR").value == fmt.pct(current["nrr"])
    assert metric(at, "GRR").value == fmt.pct(current["grr"])
    assert metric(at, "Two-year churn rate").value == fmt.pct(current["two_year_churn_rate"])
    assert metric(at, "NRR").delta == fmt.pct_points(current["nrr"] - previous["nrr"], "en")
    # beside the previous quarter, the same quarter a year ago
    year_ago = revenue.kpis(snap, periods.shift(period, -4))
    change = (current["mrr"] - year_ago["mrr"]) / year_ago["mrr"] * 100
    assert mrr.proto.delta_description == "vs previous"
    assert f"MRR {change:+.1f}%" in texts(at)      # the year-ago line beside the cards
    assert (f"Previous: {periods.previous(period).label}; a year ago: "
            f"{periods.shift(period, -4).label}") in metric(at, "NRR").proto.help
    # the quarter's NRR is not judged on the annual target; its TTM value is
    ttm = revenue.kpis(snap, periods.ttm(period.last_month))
    nrr_help = metric(at, "NRR").proto.help
    assert "The period's own value is not judged" in nrr_help
    assert f"trailing 12 months (TTM {period.last_month:%Y-%m}) {fmt.pct(ttm['nrr'])} (target ≥ 110.0%)" in nrr_help
    two_year = metric(at, "Two-year churn rate").proto
    headline = churn.two_year_churn(snap, month=period.last_month)
    assert two_year.delta_description.startswith(
        f"{headline['churned']} of {headline['customers']}")
    low, high = headline["ci90"]
    assert f"90% interval {fmt.pct(low)}–{fmt.pct(high)}" in two_year.help
    bridge = revenue.movement_totals(snap, period)
    waterfall = chart(at, f"MRR bridge ({period.label})")["data"][0]
    assert waterfall["type"] == "waterfall"
    assert waterfall["y"][0] == pytest.approx(bridge["start_mrr"], abs=1e-6)
    assert waterfall["y"][-1] == pytest.approx(bridge["mrr"], abs=1e-6)
    assert waterfall["y"][1] == pytest.approx(bridge["new"], abs=1e-6)
    trend = chart(at, "MRR trend")["data"][0]
    assert len(trend["x"]) == len(values(trend["y"])) > 12
    movements = table(at, "overview_movements")
    assert list(movements["Movement"]) == ["New", "Reactivation", "Expansion", "Contraction",
                                           "Churn"]
    assert list(movements["Accounts"]) == [bridge[f"{m}_count"] for m in
                                           ("new", "reactivation", "expansion", "contraction",
                                            "churn")]


def test_overview_names_the_accounts_behind_each_movement(demo_home, use_home):
    from cs_analytics.metrics import contributors

    use_home(demo_home)
    snap = Store(demo_home).open_current()
    period = _period(snap)
    expected = contributors.top_contributors(snap, period, top=3)
    at = run_page("overview", "en")
    shown = table(at, "overview_movers")
    assert list(shown["Account"]) == list(expected["name"])
    assert list(shown["Share of the movement"]) == pytest.approx(
        [100 * v for v in expected["share"]])
    assert list(shown["Owner"]) == list(expected["owner_name"])


def test_revenue_charts_have_targets_and_series(demo_home, use_home):
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    at = run_page("revenue", "ja")
    # The annual NRR target is a TTM target: a line on the TTM chart, none on the quarterly.
    quarterly = chart(at, "四半期ごとの NRR・GRR")
    assert [trace["name"] for trace in quarterly["data"]] == ["NRR", "GRR"]
    ttm = chart(at, "直近12ヶ月の NRR・GRR（月次）")
    assert [trace["name"] for trace in ttm["data"]] == ["NRR", "GRR", "NRR目標 110.0%"]
    assert set(values(ttm["data"][2]["y"])) == {1.1}
    expected = revenue.retention_trend(snap, "quarter", 8)
    assert values(quarterly["data"][0]["y"]) == pytest.approx(
        [float(v) for v in expected["nrr"]], abs=1e-9, nan_ok=True)
    assert "ネットMRR継続率" in chart_titles(at)
    heatmap = chart(at, "ネットMRR継続率")["data"][0]
    assert heatmap["type"] == "heatmap"


def test_a_quarterly_target_draws_its_line_on_the_quarterly_chart(demo_home, use_home,
                                                                  tmp_path, monkeypatch):
    config = tmp_path / "targets.toml"
    config.write_text('[targets.nrr_quarter]\nmetric = "nrr"\nvalue = 1.02\n'
                      'basis = "quarter"\ndirection = "at_least"\n', encoding="utf-8")
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(config))
    use_home(demo_home)
    at = run_page("revenue", "en")
    quarterly = chart(at, "NRR and GRR by quarter")
    assert [trace["name"] for trace in quarterly["data"]][-1] == "NRR target 102.0%"


def test_churn_page_headline_and_target_line(demo_home, use_home):
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    headline = churn.two_year_churn(snap)
    at = run_page("churn", "en")
    card = metric(at, "Two-year churn rate")
    assert card.value == fmt.pct(headline["rate"])
    # the rate says how many customers it is over, how sure it is, and when that is few
    low, high = headline["ci90"]
    assert card.proto.delta_description.startswith(
        f"{headline['churned']} of {headline['customers']}")
    assert (f"{headline['churned']} of {headline['customers']} customers · 90% interval "
            f"{fmt.pct(low)}–{fmt.pct(high)}") in texts(at)
    assert ("small sample" in card.proto.delta_description) == (headline["customers"] < 30)
    trend = chart(at, "Two-year churn rate by month")
    assert [t["name"] for t in trend["data"]] == ["Two-year churn rate", "Target 10.0%"]
    assert set(values(trend["data"][1]["y"])) == {0.1}       # same basis: the 10% line
    months = churn.two_year_churn_trend(snap)
    assert trend["data"][0]["text"] == [f"n={n}" for n in months["customers"]]
    # quarterly logo churn is another basis: no two-year target line on it
    logo = chart(at, "Logo churn rate")
    assert [trace["name"] for trace in logo["data"]] == ["Logo churn (period)"]
    due = renewals.summary_of(renewals.due_in(snap, _period(snap)))
    assert metric(at, "ARR due").value == fmt.amount(due.due_arr, "en", "thousand")
    assert metric(at, "At-risk ARR").value == fmt.amount(due.at_risk_arr, "en", "thousand")
    assert metric(at, "Pending ARR").value == fmt.amount(due.pending_arr, "en", "thousand")


def test_churn_page_lists_the_renewals_due_when_asked(demo_home, use_home):
    """The contracts behind the renewal cards are read and listed only once their list is
    opened (a click on a row opens the account), and stay listed through a filter change
    until it is closed."""
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    due = renewals.due_in(snap, _period(snap))
    assert len(due) > 0
    at = run_page("churn", "en")
    assert "The contracts due, one per row (click a row to open the account)" in [
        e.label for e in at.expander]
    assert "churn_renewals" not in [d.key for d in at.dataframe]
    at.session_state["churn_renewals_open"] = True
    at.run()
    assert not at.exception
    shown = table(at, "churn_renewals")
    assert list(shown["Account"]) == list(due["name"])
    assert list(shown["ARR"]) == list(due["arr"])
    segment = Filters(segments=("S", "A"))
    at.sidebar.multiselect(key="f_segment").set_value(["S", "A"]).run()
    narrowed = renewals.due_in(snap, _period(snap), segment)
    assert list(table(at, "churn_renewals")["Account"]) == list(narrowed["name"])
    assert metric(at, "ARR due").value == fmt.amount(
        renewals.summary_of(narrowed).due_arr, "en", "thousand")
    at.session_state["churn_renewals_open"] = False
    at.run()
    assert "churn_renewals" not in [d.key for d in at.dataframe]


@pytest.mark.parametrize("lang", LANGS)
def test_tables_show_dates_as_dates_and_missing_values_as_a_dash(lang, demo_home, use_home):
    """The QBR list: its dates are the metric's dates (so the column sorts by date), drawn in
    the page's date format; an account without a QBR yet shows "—", not "None"."""
    from cs_analytics.metrics import accounts

    use_home(demo_home)
    snap = Store(demo_home).open_current()
    quarter = periods.period_containing("quarter", snap.as_of)
    due = accounts.qbr_candidates(snap, quarter.start_date, quarter.end_day(snap.as_of))
    at = run_page("qbr", lang)
    shown = next(d for d in at.dataframe if d.proto.id.endswith("qbr_due"))
    label = translate(lang, "qbr.col.last_qbr")
    assert shown.value[label].tolist() == due["last_qbr_date"].tolist()
    assert due["last_qbr_date"].isna().any() and due["last_qbr_date"].notna().any()
    assert shown.proto.placeholder == fmt.MISSING
    config = json.loads(shown.proto.columns)[label]
    assert config["type_config"] == {**config["type_config"], "type": "date",
                                     "format": widgets.DATE_FORMATS["date"][lang]}


# ---------------------------------------------------------------------------- partial data

AS_OF = dt.date(2026, 3, 31)


def _usage(account_id, first, days, deliveries=1, logins=3):
    return [{"account_id": account_id, "date": first + dt.timedelta(days=i),
             "deliveries": deliveries, "logins": logins, "viewers": 40, "registrants": 60,
             "conversions": 4} for i in range(days)]


def _activities(account_id, dates, kind="meeting"):
    return [{"activity_id": f"{account_id}-{kind}-{d}", "account_id": account_id, "date": d,
             "type": kind, "owner_id": "u1", "subject": "定例MTG"} for d in dates]


SCENARIOS = {
    "single_account": dict(
        contracts=[contract("c1", "A1", "2025-04-01", "2026-03-31", amount=1_200_000)],
        usage=_usage("A1", dt.date(2025, 10, 1), 180),
        activities=_activities("A1", [dt.date(2026, 2, 2), dt.date(2026, 3, 2)])),
    "no_usage": dict(
        contracts=[contract("c1", "A1", "2025-01-01", "2025-12-31", amount=1_200_000),
                   contract("c2", "A1", "2026-01-01", "2026-12-31", amount=1_440_000),
                   contract("c3", "A2", "2025-06-01", "2026-05-31", amount=600_000)],
        activities=_activities("A1", [dt.date(2026, 1, 10)])
        + _activities("A2", [dt.date(2025, 12, 1)], "email")),
    "no_activities": dict(
        contracts=[contract("c1", "A1", "2025-01-01", "2026-12-31", mrr=90_000),
                   contract("c2", "A2", "2024-04-15", "2025-04-14", amount=1_200_000)],
        usage=_usage("A1", dt.date(2025, 6, 1), 300)),
    "brand_new": dict(
        contracts=[contract("c1", "NEW", "2026-03-20", "2027-03-19", amount=2_400_000)],
        accounts=[{"account_id": "NEW", "name": '=HYPERLINK("http://x","新規") <b>㈱テスト</b>',
                   "owner_id": "u1", "industry": "金融"}]),
}
_scenario_homes: dict[str, object] = {}


def _scenario(name: str, tmp_path_factory):
    if name not in _scenario_homes:
        home = tmp_path_factory.mktemp(name)
        build_snapshot(home, as_of=AS_OF, **SCENARIOS[name])
        _scenario_homes[name] = home
    return _scenario_homes[name]


@pytest.fixture
def scenario_home(request, tmp_path_factory):
    return _scenario(request.param, tmp_path_factory)


@pytest.mark.parametrize("scenario_home", list(SCENARIOS), indirect=True)
@pytest.mark.parametrize("page", PAGE_NAMES)
def test_page_on_partial_data(page, scenario_home, use_home):
    use_home(scenario_home)
    at = run_page(page, "ja")
    assert not at.exception, [e.value for e in at.exception]
    assert not [e for e in at.error], [e.value for e in at.error]
    _every_account_tab(at, page, "ja")


@pytest.mark.parametrize("lang", LANGS)
def test_the_account_page_runs_only_its_open_tab(lang, demo_home, use_home):
    """Each section is read and drawn when its tab is open, and the choice holds over reruns
    (another account picked); the overview tab is the one a link opens."""
    use_home(demo_home)
    at = run_page("account", lang)
    assert [t.label for t in at.tabs] == [translate(lang, f"account.tab.{k}")
                                          for k in ACCOUNT_TABS]
    contract = translate(lang, "account.col.contract")
    assert not [d for d in at.dataframe if contract in d.value.columns]
    assert not at.get("plotly_chart")
    open_account_tab(at, "contracts", lang)
    assert table_with(at, contract).shape[0] > 0
    assert len(at.get("plotly_chart")) == 1  # the MRR history, nothing of the other tabs
    first = at.selectbox(key="account_pick").value
    other = Store(demo_home).open_current().scalar(
        "SELECT account_id FROM accounts WHERE account_id <> $first ORDER BY 1 LIMIT 1",
        {"first": first})
    at.selectbox(key="account_pick").set_value(other).run()
    assert at.selectbox(key="account_pick").value == other != first
    assert at.session_state["account_tab"] == translate(lang, "account.tab.contracts")
    assert table_with(at, contract).shape[0] > 0


def test_hostile_account_name_is_shown_as_text(use_home, tmp_path_factory):
    use_home(_scenario("brand_new", tmp_path_factory))
    name = SCENARIOS["brand_new"]["accounts"][0]["name"]
    at = run_page("account", "ja")
    assert at.subheader[0].value == widgets.md_escape(name)
    assert "\\<b\\>" in at.subheader[0].value  # escaped, so markdown shows it literally
    assert not any(getattr(m.proto, "allow_html", False) for m in at.markdown)
