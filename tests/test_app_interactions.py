"""Clicking through the app (AppTest): filters kept in the URL, the language switch, the three
drill-down paths down to the account page, and the forms that write user data (weekly review,
action plans, alerts, notes, manual assessment) and the Data page's upload and refresh."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cs_analytics.app.ui import fmt
from cs_analytics.metrics import (health, health_summary, periods, renewals, revenue, signals,
                                  team)
from cs_analytics.metrics.filters import Filters
from cs_analytics.userdata import alert_actions, assessments, notes, reviews
from cs_analytics.warehouse.store import Store
from test_app_common import (chart, demo_home, make_app, metric,  # noqa: F401
                             open_account_tab, run_page, select_row, table, table_with, texts,
                             use_home, values)


@pytest.fixture
def own_demo_home(demo_home, tmp_path) -> Path:
    """A private copy of the demo data directory, for tests that write user data."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copytree(demo_home / "snapshots", home / "snapshots")
    shutil.copy(demo_home / "CURRENT", home / "CURRENT")
    return home


# ---------------------------------------------------------------------------- filters


def test_filters_come_from_the_url_and_drive_the_numbers(demo_home, use_home):
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    owner = team.owner_summary(snap).sort_values("accounts").iloc[-1]["owner_id"]
    month = periods.add_months(periods.month_start(snap.as_of), -1)
    at = make_app("en", {"period": "month", "p": f"{month:%Y-%m}", "owner": owner})
    at.run()
    assert not at.exception
    assert at.sidebar.radio(key="f_period_kind").value == "month"
    assert at.sidebar.selectbox(key="f_period").value == f"{month:%Y-%m}"
    assert at.sidebar.multiselect(key="f_owner").value == [owner]
    expected = revenue.kpis(snap, periods.month_period(month), Filters(owner_ids=(owner,)))
    assert metric(at, "MRR").proto.help == fmt.yen(expected["mrr"])
    assert metric(at, "Active customers").value == fmt.number(expected["customers"])
    everyone = revenue.kpis(snap, periods.month_period(month))
    assert expected["customers"] < everyone["customers"]


def test_changing_a_filter_rewrites_the_url(demo_home, use_home):
    use_home(demo_home)
    at = make_app("ja")
    at.run()
    assert "period" not in at.query_params  # defaults stay out of the URL
    at.sidebar.radio(key="f_period_kind").set_value("ttm").run()
    at.sidebar.multiselect(key="f_segment").set_value(["S", "A"]).run()
    assert param(at, "period") == ["ttm"]
    assert param(at, "segment") == ["S", "A"]
    snap = Store(demo_home).open_current()
    expected = revenue.kpis(snap, periods.ttm(periods.month_start(snap.as_of)),
                            Filters(segments=("S", "A")))
    assert metric(at, "アクティブ顧客数").value == fmt.number(expected["customers"])
    at.switch_page("pages/revenue.py").run()  # the filters follow to another page
    assert at.sidebar.multiselect(key="f_segment").value == ["S", "A"]
    assert param(at, "segment") == ["S", "A"]


def test_an_unknown_filter_value_in_the_url_falls_back(demo_home, use_home):
    use_home(demo_home)
    at = make_app("ja", {"period": "decade", "p": "1999Q9", "segment": ["Z", "S"]})
    at.run()
    assert not at.exception
    assert at.sidebar.radio(key="f_period_kind").value == "quarter"
    assert at.sidebar.multiselect(key="f_segment").value == ["S"]


def test_language_switch(demo_home, use_home):
    use_home(demo_home)
    at = make_app("ja")
    at.run()
    assert at.title[0].value == "経営サマリー"
    at.sidebar.radio(key="lang").set_value("en").run()
    assert at.title[0].value == "Overview"
    assert param(at, "lang") == ["en"]
    assert "Data as of" in texts(at)


# ---------------------------------------------------------------------------- drill-downs


def test_overview_movement_to_revenue_accounts_to_account_page(demo_home, use_home):
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    period = periods.period_containing("quarter", snap.as_of)
    bridge = revenue.movement_totals(snap, period)
    movement = next(m for m in ("expansion", "new", "churn", "contraction")
                    if bridge[f"{m}_count"])
    row = ["new", "reactivation", "expansion", "contraction", "churn"].index(movement)
    at = run_page("overview", "en")
    select_row(at, "overview_movements", row)
    assert not at.exception
    assert at.title[0].value == "MRR & NRR"
    assert param(at, "movement") == [movement]
    behind = revenue.movement_accounts(snap, period, movement)
    shown = table(at, f"revenue_accounts_{movement}")
    assert list(shown["Account"]) == list(behind["name"])
    assert sum(shown["Change (MRR)"]) == pytest.approx(bridge[movement], abs=1e-6)
    select_row(at, f"revenue_accounts_{movement}", 0)
    assert at.title[0].value == "Account"
    assert param(at, "account_id") == [behind["account_id"].iloc[0]]
    assert at.subheader[0].value.replace("\\", "") == behind["name"].iloc[0]


def test_renewals_page_figures_lists_and_drill_down(demo_home, use_home):
    """The Renewals page shows the metrics API's figures and lists, each list in its own tab
    (read when its tab is open; the radar's and the reminders' counts shown before); choosing
    a quarter lists its contracts (kept in the URL) and a row opens the account's karte."""
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    quarters = renewals.quarters_from(snap, 0, 4)
    due = renewals.contracts_due(snap, **renewals.span(quarters))
    now = renewals.summary_of(renewals.due_in_list(due, quarters[0]))
    at = run_page("renewals", "en")
    for label, value in (("ARR due", now.due_arr), ("Pending ARR", now.pending_arr),
                         ("At-risk ARR", now.at_risk_arr),
                         ("Expected renewing ARR", now.expected_arr)):
        assert metric(at, label).value == fmt.amount(value, "en", "thousand"), label
    by_quarter = table_with(at, "Quarter", "At-risk ARR", "Forecast low")
    assert list(by_quarter["Quarter"]) == [q.label for q in quarters]
    expected = renewals.by_quarter_of(due, quarters)
    assert list(by_quarter["At-risk ARR"]) == pytest.approx(list(expected["at_risk_arr"]))
    radar = renewals.notice_radar(snap, 60)
    reminders = renewals.reminders(snap, 55, 65)
    assert len(radar) > 0 and len(reminders) > 0
    assert (f"Notice deadlines in the next 60 days: {len(radar):,} · renewal reminders "
            f"(ending in 55–65 days): {len(reminders):,}") in texts(at)
    assert [tab.label for tab in at.tabs] == ["Contracts due by quarter",
                                              "Notice-deadline radar", "Renewal reminders"]
    shown = [d.key for d in at.dataframe]
    assert "renewals_radar" not in shown and "renewals_reminders" not in shown
    assert "Past renewal rate" in texts(at) and "Configured default" in texts(at)
    at.session_state["renewals_list"] = "Notice-deadline radar"
    at.run()
    assert list(table(at, "renewals_radar")["Account"]) == list(radar["name"])
    assert "renewals_contracts" not in [d.key for d in at.dataframe]
    at.session_state["renewals_list"] = "Renewal reminders"
    at.run()
    assert list(table(at, "renewals_reminders")["Contract"]) == list(reminders["contract_id"])
    assert "CSV for the mail tool" in [b.label for b in at.get("download_button")]
    at.session_state["renewals_list"] = "Contracts due by quarter"
    at.run()
    listed = table(at, "renewals_contracts")
    first = renewals.due_in(snap, quarters[0])
    assert list(listed["Contract"]) == list(first["contract_id"])
    at.segmented_control(key="renewals_quarter").set_value(quarters[1].label).run()
    second = renewals.due_in(snap, quarters[1])
    assert list(table(at, "renewals_contracts")["Contract"]) == list(second["contract_id"])
    assert param(at, "renewal_quarter") == [quarters[1].label]
    select_row(at, "renewals_contracts", 0)
    assert at.title[0].value == "Account"
    assert param(at, "account_id") == [second["account_id"].iloc[0]]


def test_team_owner_portfolio_to_account_page(demo_home, use_home):
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    owners = team.owner_summary(snap)
    at = run_page("team", "ja")
    assert list(table(at, "team_owners")["担当社数"]) == list(owners["accounts"])
    index = int(owners["accounts"].idxmax())
    select_row(at, "team_owners", index)
    owner_id = owners["owner_id"].iloc[index]
    portfolio = team.portfolio(snap, owner_id)
    shown = table(at, f"team_portfolio_{owner_id}")
    assert list(shown["顧客名"]) == list(portfolio["name"])
    assert param(at, "team_owner") == [owner_id]
    select_row(at, f"team_portfolio_{owner_id}", 1)
    assert at.title[0].value == "顧客カルテ"
    assert param(at, "account_id") == [portfolio["account_id"].iloc[1]]


def test_health_band_to_accounts_to_account_page(demo_home, use_home):
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    bands = health_summary.band_distribution(snap)
    band_index = int(bands["accounts"].idxmax())
    band = bands["band"].iloc[band_index]
    at = run_page("health", "en")
    select_row(at, "health_bands", band_index)
    in_band = health_summary.accounts_in_band(snap, band)
    shown = table(at, f"health_band_{band}")
    assert list(shown["Account"]) == list(in_band["name"])
    assert list(shown["Health score"]) == pytest.approx(list(in_band["score"]))
    select_row(at, f"health_band_{band}", 0)
    assert at.title[0].value == "Account"
    assert param(at, "account_id") == [in_band["account_id"].iloc[0]]


def test_the_grouping_and_cohort_radios_choose_what_is_shown(demo_home, use_home):
    """The health page's grouping and the revenue page's cohort metric: their results are
    started before the radio is drawn, with the radio's value, so a change must show the new
    choice — on its first run after the change and on a later filter change."""
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    at = run_page("health", "en")
    for grouping in ("segment", "industry", "owner"):
        at.radio(key="health_group_by").set_value(grouping).run()
        assert not at.exception
        expected = health_summary.band_counts_by(snap, grouping)
        shown = chart(at, f"Health bands by {grouping}")
        assert values(shown["data"][0]["y"]) == [str(g) for g in expected["group"]]
        assert sum(sum(values(trace["x"])) for trace in shown["data"]) == \
            expected["accounts"].sum()
    at.sidebar.multiselect(key="f_segment").set_value(["S", "A"]).run()
    expected = health_summary.band_counts_by(snap, "owner", Filters(segments=("S", "A")))
    assert values(chart(at, "Health bands by owner")["data"][0]["y"]) == list(expected["group"])

    at = run_page("revenue", "en")
    for metric_name, title in (("logo", "Logo retention"), ("mrr", "Net MRR retention")):
        at.radio(key="revenue_cohort_metric").set_value(metric_name).run()
        assert not at.exception
        expected = revenue.cohort_table(snap, "quarter", metric_name)
        assert values(chart(at, title)["data"][0]["y"]) == list(expected["cohort"])
        shown = table_with(at, "+0", "+1")
        assert list(shown["+1"]) == pytest.approx(list(expected["+1"] * 100), nan_ok=True)


def test_an_open_drill_down_follows_a_filter_change(demo_home, use_home):
    """A drill-down held in the URL (an owner's portfolio, a band's accounts, the accounts
    behind a movement) is started with the page's own queries; after a filter change it shows
    the filtered rows, as the page's own tables do."""
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    narrow = Filters(segments=("S", "A"))
    period = periods.period_containing("quarter", snap.as_of)
    owner = team.owner_summary(snap).sort_values("accounts").iloc[-1]["owner_id"]
    band = health_summary.band_distribution(snap).sort_values("accounts").iloc[-1]["band"]
    bridge = revenue.movement_totals(snap, period)
    movement = max(("new", "expansion", "contraction", "churn"),
                   key=lambda m: bridge[f"{m}_count"])
    cases = (
        ("team", {"team_owner": owner}, f"team_portfolio_{owner}",
         lambda f: team.portfolio(snap, owner, f)),
        ("health", {"band": band}, f"health_band_{band}",
         lambda f: health_summary.accounts_in_band(snap, band, f)),
        ("revenue", {"movement": movement}, f"revenue_accounts_{movement}",
         lambda f: revenue.movement_accounts(snap, period, movement, f)),
    )
    for page, query, key, expected in cases:
        at = make_app("en", query)
        at.run()
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception
        assert list(table(at, key)["Account"]) == list(expected(None)["name"])
        at.sidebar.multiselect(key="f_segment").set_value(["S", "A"]).run()
        assert not at.exception
        filtered = list(expected(narrow)["name"])
        assert list(table(at, key)["Account"]) == filtered
        assert 0 < len(filtered) < len(expected(None))



def test_the_lists_restricted_to_the_filtered_accounts_follow_a_filter_change(demo_home,
                                                                              use_home):
    """The Monday check's lists, the churned accounts and the QBR list are the company's lists
    held per account and restricted to the filtered accounts: after each filter change — owner,
    segment, back to none — each table shows the rows the filtered query gives, in order."""
    from cs_analytics.metrics import accounts, churn

    use_home(demo_home)
    snap = Store(demo_home).open_current()
    quarter = periods.period_containing("quarter", snap.as_of)
    ttm = periods.period_containing("ttm", snap.as_of)  # the churn page's, for more churns
    owner = team.owner_summary(snap).sort_values("accounts").iloc[-1]["owner_id"]
    cases = (
        ("weekly_check", "check_at_risk",
         lambda f: team.portfolio(snap, None, f, ("warning", "danger"))),
        ("weekly_check", "check_no_contact",
         lambda f: signals.signals_on(snap, None, ("no_contact_60d",), f)),
        ("churn", "churn_accounts", lambda f: churn.churned_accounts(snap, ttm, f)),
        ("qbr", "qbr_due", lambda f: accounts.qbr_candidates(
            snap, quarter.start_date, quarter.end_day(snap.as_of), f)),
    )
    industry = snap.query("SELECT industry FROM accounts GROUP BY industry "
                          "ORDER BY count(*) DESC, industry LIMIT 1")["industry"][0]

    def shown(at, key) -> list[str]:
        keys = [d.key for d in at.dataframe]
        return list(table(at, key)["Account"]) if key in keys else []  # none: no table

    for page, key, expected in cases:
        at = make_app("en")
        at.run()
        at.switch_page(f"pages/{page}.py").run()
        if page == "churn":
            at.sidebar.radio(key="f_period_kind").set_value("ttm").run()
        assert not at.exception
        everyone = list(expected(None)["name"])
        assert shown(at, key) == everyone
        narrowed = []
        for widget, value, filters in (
                ("f_owner", [owner], Filters(owner_ids=(owner,))),
                ("f_owner", [], None),
                ("f_segment", ["S", "A"], Filters(segments=("S", "A"))),
                ("f_segment", [], None),
                ("f_industry", [industry], Filters(industries=(industry,)))):
            at.sidebar.multiselect(key=widget).set_value(value).run()
            assert not at.exception
            rows = list(expected(filters)["name"])
            assert shown(at, key) == rows, (page, key, filters)
            narrowed.append(0 < len(rows) < len(everyone))
        assert any(narrowed), (page, key)  # a filter kept some rows and left some out


def test_account_page_follows_the_url_and_the_picker(demo_home, use_home):
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    listed = pd.DataFrame(snap.query("SELECT account_id, name FROM accounts ORDER BY 1"))
    first, second = listed.iloc[0], listed.iloc[1]
    at = run_page("account", "en", {"account_id": second["account_id"]})
    assert at.selectbox(key="account_pick").value == second["account_id"]
    at.selectbox(key="account_pick").set_value(first["account_id"]).run()
    assert param(at, "account_id") == [first["account_id"]]
    assert at.subheader[0].value.replace("\\", "") == first["name"]


# ---------------------------------------------------------------------------- user data


def test_weekly_review_is_saved_and_shown_next_to_the_weeks_numbers(own_demo_home, use_home):
    use_home(own_demo_home)
    store = Store(own_demo_home)
    snap = store.open_current()
    at = run_page("weekly_review", "ja")
    # the page opens on the last week that has ended, not on the days of the current one
    week = reviews.last_complete_week(snap.as_of)
    assert at.selectbox(key="review_week").value == week
    numbers = team.week_numbers(snap, team.team_owner_ids(snap, "all"), week, _settings())
    assert numbers["last_day"] == week + dt.timedelta(days=6)
    assert metric(at, "MTG").value == fmt.number(numbers["meetings"])
    at.text_area(key=f"review_results_all_{week}").set_value("更新 3件・解約 0件")
    at.text_area(key=f"review_ksf_all_{week}").set_value("=定例MTGの徹底")
    at.button[0].click().run()  # the review form's submit button
    assert not at.exception
    saved = reviews.get_review(store, "all", week)
    assert saved["results"] == "更新 3件・解約 0件" and saved["ksf"] == "=定例MTGの徹底"
    at.text_input(key="plan_description").set_value("QBR資料の準備")
    at.date_input(key="plan_due").set_value(week + dt.timedelta(days=4))
    at.button[1].click().run()
    plans = reviews.action_plans(store, "all", week=week)
    assert list(plans["description"]) == ["QBR資料の準備"]
    assert plans["due_date"].iloc[0] == week + dt.timedelta(days=4)
    assert "QBR資料の準備" in list(table(at, f"review_plans_all_{week}")["内容"])


def test_acknowledging_an_alert_removes_it_from_the_open_ones(own_demo_home, use_home):
    use_home(own_demo_home)
    store = Store(own_demo_home)
    at = run_page("weekly_check", "en")
    before = int(metric(at, "Open alerts").value)
    assert before > 0
    alerts = table(at, "check_alerts")
    select_row(at, "check_alerts", 0)
    next(b for b in at.button if b.label == "Acknowledge").click().run()
    assert not at.exception
    assert int(metric(at, "Open alerts").value) == before - 1
    recorded = alert_actions.actions(store)
    assert list(recorded["action"]) == ["acknowledge"]
    assert recorded["account_id"].iloc[0] in set(
        signals.signals_on(store.open_current())["account_id"])
    assert len(alerts) == len(table(at, "check_alerts"))  # still listed, as acknowledged
    # The overview counts the open alerts from the signals' keys: the same count.
    assert int(metric(run_page("overview", "en"), "Open alerts").value) == before - 1


def test_notes_and_manual_assessment_on_the_account_page(own_demo_home, use_home):
    use_home(own_demo_home)
    store = Store(own_demo_home)
    at = run_page("account", "ja")
    account_id = at.selectbox(key="account_pick").value
    open_account_tab(at, "notes")
    at.text_area(key="account_note_body").set_value("<b>次回QBRで研修用途を提案</b>")
    next(b for b in at.button if b.label == "メモを追加").click().run()
    assert list(notes.notes(store, account_id)["body"]) == ["<b>次回QBRで研修用途を提案</b>"]
    assert "<b>次回QBRで研修用途を提案</b>" in list(table_with(at, "メモ")["メモ"])
    open_account_tab(at, "health")
    at.selectbox(key="assessment_band").set_value("warning")
    at.text_input(key="assessment_comment").set_value("担当者退職の可能性")
    next(b for b in at.button if b.label == "評価を記録").click().run()
    assert not at.exception
    current = assessments.current_assessments(store)[account_id]
    assert current.band == "warning" and current.comment == "担当者退職の可能性"
    open_account_tab(at, "overview")  # shown beside the computed score
    assert any("手動評価: 🟠 警戒" in i.value for i in at.info)


# ---------------------------------------------------------------------------- data page


def test_upload_with_errors_lists_every_problem_and_publishes_nothing(own_demo_home, use_home,
                                                                      tmp_path):
    use_home(own_demo_home)
    store = Store(own_demo_home)
    pointer = store.pointer.read_text()
    at = run_page("data", "en")
    bad = ("contract_id,account_id,start_date,end_date,amount\n"
           "C1,A00001,2026/13/01,2027-01-01,100000\n"
           "C2,A00001,2026-01-01,2025-01-01,abc\n").encode()
    at.file_uploader(key="upload_files").upload("bad contracts.csv", bad, "text/csv")
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception
    assert any("Nothing was imported" in e.value for e in at.error)
    problems = table_with(at, "File", "Row", "Column", "Problem")
    assert set(problems["File"]) == {"bad contracts.csv"}
    assert len(problems) >= 3 and {2, 3} <= set(problems["Row"])
    assert store.pointer.read_text() == pointer


@pytest.mark.parametrize("lang,summary,message", [
    ("ja", "ファイルにエラーがあるため、何も取り込んでいません", '"abc" は金額ではありません。'),
    ("en", "Nothing was imported because the files have errors", '"abc" is not an amount;'),
])
def test_upload_problems_are_in_the_ui_language_and_names_stay_text(own_demo_home, use_home,
                                                                    lang, summary, message):
    """Import and validation messages in the page's language (issue 21, item 9); a file name
    with markdown in it is shown as typed, in the message and in the table."""
    use_home(own_demo_home)
    at = run_page("data", lang)
    bad = ("contract_id,account_id,start_date,end_date,amount\n"
           "C2,A00001,2026-01-01,2026-12-31,abc\n").encode()
    name = "**bold** [x](http://evil) contracts.csv"
    at.file_uploader(key="upload_files").upload(name, bad, "text/csv")
    next(b for b in at.button if b.label in ("Import", "取り込む")).click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(summary in e for e in errors), errors
    from cs_analytics.app.ui.widgets import md_escape

    assert any(md_escape(name) in e for e in errors), errors  # markdown shown as typed
    problems = table_with(at, *(("ファイル", "行", "列", "内容") if lang == "ja"
                                else ("File", "Row", "Column", "Problem")))
    assert set(problems.iloc[:, 0]) == {name}
    assert any(text.startswith(message) for text in problems.iloc[:, 3]), list(problems.iloc[:, 3])


def test_refresh_button_runs_the_cli_and_publishes(own_demo_home, use_home):
    use_home(own_demo_home)
    store = Store(own_demo_home)
    before = store.current_file().id
    at = run_page("data", "en")
    at.button(key="refresh_button").click().run(timeout=300)
    assert not at.exception
    assert any("new snapshot" in s.value for s in at.success), [e.value for e in at.error]
    assert store.current_file().id != before
    assert store.open_current().is_demo


def param(at, key: str) -> list[str]:
    """A URL parameter's values as a list (AppTest gives one value as a plain string)."""
    value = at.query_params.get(key)
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _settings():
    from cs_analytics.config import Settings

    return Settings()


AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test",
        "client_id": "test", "client_secret": "test",
        "server_metadata_url": "https://login.example.com/.well-known/openid-configuration"}


def test_login_is_required_when_auth_is_configured(demo_home, use_home):
    use_home(demo_home)
    at = make_app("en")
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception
    assert at.title[0].value == "CS Analytics"
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.dataframe and not at.metric  # nothing of the data before signing in
    member = Store(demo_home).open_current().scalar(
        "SELECT email FROM users WHERE role = 'member' ORDER BY user_id LIMIT 1")
    at.user = {"is_logged_in": True, "email": member, "name": "Member"}
    at.run()
    assert at.title[0].value == "Overview"
    at.switch_page("pages/data.py").run()
    shown = texts(at)
    assert "Only managers and executives can import or refresh data." in shown
    assert "runs open" not in shown  # the open-access notice is for the no-login setup only
    assert not at.file_uploader


def test_a_valid_upload_is_published_and_replaces_the_demo_data(own_demo_home, use_home):
    use_home(own_demo_home)
    store = Store(own_demo_home)
    at = run_page("data", "ja")
    users = "ユーザーID,名前\nU1,山田 太郎\n".encode("cp932")
    accounts_csv = ("取引先ID,取引先名,担当者ID,業種\nA1,㈱サンプル,U1,金融\n"
                    "A2,=HYPERLINK(\"http://x\"),U1,製造\n").encode("cp932")
    uploader = at.file_uploader(key="upload_files")
    uploader.upload("users.csv", users, "text/csv").upload("取引先.csv", accounts_csv, "text/csv")
    next(b for b in at.button if b.label == "取り込む").click().run(timeout=120)
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("取り込みました" in s.value for s in at.success)
    snap = store.open_current()
    assert not snap.is_demo
    names = dict(snap.rows("SELECT account_id, name FROM accounts"))
    assert names == {"A1": "㈱サンプル", "A2": '=HYPERLINK("http://x")'}
    at.switch_page("pages/overview.py").run()
    assert "デモデータ" not in texts(at)


# ---------------------------------------------------------------------------- KPI report page


@pytest.fixture
def mid_quarter_home(tmp_path):
    """A small company as of 2025-05-10: 2025Q2 has run 40 of 91 days."""
    from conftest import build_snapshot, contract

    home = tmp_path / "mid"
    build_snapshot(home, contracts=[
        contract("a1", "a1", "2024-01-01", "2025-12-31", mrr=100_000),
        contract("a2", "a2", "2024-01-01", "2025-02-20", mrr=50_000),
        contract("a3", "a3", "2025-02-15", "2025-12-31", mrr=30_000),
        contract("a4", "a4", "2025-04-05", "2025-12-31", mrr=20_000),
    ], as_of="2025-05-10")
    return home


def test_kpi_page_opens_on_the_last_complete_quarter_and_says_when_one_is_to_date(
        mid_quarter_home, use_home):
    use_home(mid_quarter_home)
    at = run_page("kpi_report", "en")
    assert not at.exception
    picker = at.selectbox(key="kpi_quarter")
    assert picker.value == "2025Q1"                      # complete: what management reads
    assert picker.options[0] == "2025Q2 (to date: 40 of 91 days)"
    headline = table_with(at, "KPI", "Target (basis)")
    assert list(headline.columns)[1:4] == ["This quarter 2025Q1", "Previous quarter 2024Q4",
                                           "Change vs previous"]
    assert "A year ago 2024Q1" in headline.columns
    picker.set_value("2025Q2").run()
    shown = texts(at)
    assert "to date: 40 of 91 days" in shown
    # compared like for like: the previous quarter up to Feb 10, a year ago up to May 10, 2024
    assert ("The period is to date, so the previous period and a year ago are compared up to "
            "the same day (2025Q1 to Feb 10, 2025; 2024Q2 to May 10, 2024).") in shown
    headline = table_with(at, "KPI", "Target (basis)")
    assert "Previous quarter 2025Q1 to date (41 of 90 days, to 2025-02-10)" in headline.columns
    mrr = headline[headline["KPI"] == "MRR (end of quarter)"].iloc[0]
    # on Feb 10 a2 still ran and a3 had not started: ¥150,000, not the quarter end's ¥130,000
    assert mrr["Previous quarter 2025Q1 to date (41 of 90 days, to 2025-02-10)"] == "¥150,000"


def test_kpi_commentary_is_saved_with_its_author_and_shown_to_the_next_reader(
        mid_quarter_home, use_home):
    use_home(mid_quarter_home)
    at = run_page("kpi_report", "ja")
    at.text_area(key="kpi_commentary_text_2025Q1").set_value("縮小2社が主因。")
    submit = next(b for b in at.get("form_submit_button")
                  if b.label == "コメントを保存")
    submit.click().run()
    assert not at.exception
    saved = Store(mid_quarter_home).userdata_db().execute(
        "SELECT quarter, body, author FROM kpi_commentary").fetchall()
    assert [tuple(r) for r in saved] == [("2025Q1", "縮小2社が主因。", "local")]
    again = run_page("kpi_report", "ja")
    assert "縮小2社が主因。" in texts(again)
    assert "記入: local（" in texts(again)
