"""What a new user would hit in the first week (issue 22), as AppTest sees it: the alert form
belongs to the selected alert, uploading over demo data says what will happen, deltas and
amounts read one way everywhere, times in the configured zone, inputs with no misleading
defaults, and the headline cards in reading order."""

from __future__ import annotations

from cs_analytics.userdata import alert_actions
from cs_analytics.warehouse.store import Store
from test_app_common import (demo_home, metric, open_account_tab, run_page,  # noqa: F401
                             select_row, table, table_with, texts, use_home)
from test_app_interactions import own_demo_home  # noqa: F401

# ---------------------------------------------------------------------------- alerts


def _press(at, label: str):
    return next(b for b in at.button if b.label == label).click().run()


def test_an_alert_comment_belongs_to_the_selected_alert(own_demo_home, use_home):
    use_home(own_demo_home)
    store = Store(own_demo_home)
    at = run_page("weekly_check", "en")
    alerts = table(at, "check_alerts")
    assert len(alerts) >= 2
    select_row(at, "check_alerts", 0)
    comment = next(w for w in at.text_input if w.label == "Comment")
    comment.input("called the customer, campaign restarts in May")
    _press(at, "Acknowledge")
    assert not at.exception
    first = alert_actions.actions(store).iloc[-1]
    assert first["comment"] == "called the customer, campaign restarts in May"
    # Cleared after the action, and a confirmation of what was recorded, by whom.
    shown = texts(at)
    assert "Acknowledged" in shown and "local" in shown
    assert "called the customer, campaign restarts in May" in shown
    assert all(w.value == "" for w in at.text_input if w.label == "Comment")

    select_row(at, "check_alerts", 1)
    assert all(w.value == "" for w in at.text_input if w.label == "Comment")
    _press(at, "Snooze")
    assert not at.exception
    second = alert_actions.actions(store).iloc[-1]
    assert second["action"] == "snooze"
    assert (second["account_id"], second["signal"]) != (first["account_id"], first["signal"])
    assert second["comment"] == ""  # not the first alert's comment
    assert "Snoozed" in texts(at)


# ---------------------------------------------------------------------------- upload over demo


def test_uploading_over_demo_data_says_what_will_happen(own_demo_home, use_home, tmp_path,
                                                       monkeypatch):
    config = tmp_path / "cs_analytics.toml"
    config.write_text("[import]\nupload_max_mb = 50\n", encoding="utf-8")
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(config))
    use_home(own_demo_home)
    store = Store(own_demo_home)
    pointer = store.pointer.read_text()
    demo_account = store.open_current().scalar("SELECT min(account_id) FROM accounts")
    at = run_page("data", "ja")
    # Before the button: the demo data is replaced, and what a first import needs.
    shown = texts(at)
    assert "最初の取り込みでデモデータはすべて置き換えられ" in shown
    assert "顧客（accounts）" in shown and "ユーザー（users）" in shown
    assert not at.checkbox  # no "unticked = add and update" over demo data
    uploader = at.file_uploader(key="upload_files")
    assert uploader.proto.max_upload_size_mb == 50  # the limit the uploader states
    contracts = ("contract_id,account_id,start_date,end_date,amount\n"
                 f"C9001,{demo_account},2026-01-01,2026-12-31,1200000\n").encode()
    uploader.upload("契約.csv", contracts, "text/csv")
    next(b for b in at.button if b.label == "取り込む").click().run(timeout=120)
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("現在のデータはデモデータのため、この取り込みはデモデータを置き換えます" in e
               for e in errors), errors
    assert [s.state for s in at.status] == ["error"]  # not "取り込み中…" for ever
    assert at.status[0].label == "取り込めませんでした"
    assert store.pointer.read_text() == pointer  # nothing published


def test_import_progress_and_history_in_the_uis_language(own_demo_home, use_home):
    use_home(own_demo_home)
    store = Store(own_demo_home)
    at = run_page("data", "ja")
    users = "ユーザーID,名前\nU1,山田 太郎\n".encode("cp932")
    accounts_csv = "取引先ID,取引先名,担当者ID\nA1,㈱サンプル,U1\n".encode("cp932")
    at.file_uploader(key="upload_files").upload("users.csv", users, "text/csv").upload(
        "取引先.csv", accounts_csv, "text/csv")
    next(b for b in at.button if b.label == "取り込む").click().run(timeout=120)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [s.state for s in at.status] == ["complete"]
    progress = [m.value for m in at.status[0].markdown]
    assert progress and all(line.startswith("… ") for line in progress), progress
    assert any("キーと参照を確認中" in line for line in progress)
    log = table_with(at, "行数", "開始")
    assert list(log["行数"]) == ["ユーザー 1、顧客 1、契約 0、活動 0、利用実績 0"]
    assert all(str(v).endswith(" JST") for v in log["開始"])
    assert all(str(v).endswith(" JST") for v in table_with(at, "表示中", "作成日時")["作成日時"])
    assert store.open_current().scalar("SELECT count(*) FROM accounts") == 1


# ---------------------------------------------------------------------------- numbers


def _colour(m) -> str:
    from streamlit.proto.Metric_pb2 import Metric

    return Metric.MetricColor.Name(m.proto.color)


def _direction(m) -> str:
    from streamlit.proto.Metric_pb2 import Metric

    return Metric.MetricDirection.Name(m.proto.direction)


def test_a_change_that_rounds_to_zero_is_zero_in_grey_and_colours_follow_the_metric():
    from cs_analytics.app.ui import cards, widgets

    assert widgets.delta(0.0004, "+0.0pt", up_is_good=False) == {
        "delta": "0.0pt", "delta_color": "off", "delta_arrow": "off"}
    assert widgets.delta(-0.04, "-0.0")["delta"] == "0.0"
    assert widgets.delta(0, "+0万円")["delta_color"] == "off"
    assert widgets.delta(0.012, "+1.2pt", up_is_good=False) == {
        "delta": "+1.2pt", "delta_color": "red", "delta_arrow": "up"}
    assert widgets.delta(-50_000, "-5.0万円") == {
        "delta": "-5.0万円", "delta_color": "red", "delta_arrow": "down"}
    assert widgets.delta(-0.02, "-2.0pt", up_is_good=False)["delta_color"] == "green"
    # more contraction is bad news, more expansion good
    assert widgets.delta(30_000, "+3.0万円",
                         up_is_good=cards.UP_IS_GOOD["contraction"])["delta_color"] == "red"
    assert widgets.delta(30_000, "+3.0万円",
                         up_is_good=cards.UP_IS_GOOD["expansion"])["delta_color"] == "green"
    assert widgets.delta(None, None) == {}


def test_overview_cards_colour_each_change_by_what_it_means(demo_home, use_home):
    from cs_analytics.metrics import comparisons, periods
    from cs_analytics.app.ui import cards

    use_home(demo_home)
    snap = Store(demo_home).open_current()
    period = periods.period_containing("quarter", snap.as_of)
    compared = comparisons.compare(snap, period)
    current, previous = compared["current"]["kpis"], compared["previous"]["kpis"]
    # a two-year churn rate over other customers than the previous one is no better or worse
    # news: its change is shown grey (issue 24)
    regrouped = comparisons.group_changed(compared["current"]["two_year"],
                                          compared["previous"]["two_year"])
    at = run_page("overview", "en")
    labels = {"mrr": "MRR", "arr": "ARR", "customers": "Active customers", "nrr": "NRR",
              "grr": "GRR", "logo_churn_rate": "Logo churn (period)",
              "two_year_churn_rate": "Two-year churn rate", "quick_ratio": "Quick ratio"}
    checked = 0
    for key, label in labels.items():
        m = metric(at, label)
        change = current[key] - previous[key]
        if not any(ch in "123456789" for ch in m.delta):
            assert (_colour(m), _direction(m)) == ("GRAY", "NONE"), (key, m.delta)
            assert not m.delta.startswith(("+", "-")), (key, m.delta)
        elif key == "two_year_churn_rate" and regrouped:
            assert _colour(m) == "GRAY", (key, m.delta)
            assert _direction(m) == ("UP" if change > 0 else "DOWN"), (key, m.delta)
        else:
            good = (change > 0) == cards.UP_IS_GOOD[key]
            assert _colour(m) == ("GREEN" if good else "RED"), (key, m.delta)
            assert _direction(m) == ("UP" if change > 0 else "DOWN"), (key, m.delta)
        checked += 1
    assert checked == 8
    # the demo's customer count did not change this quarter: "0", not a green "+0"
    assert current["customers"] == previous["customers"]
    assert metric(at, "Active customers").delta == "0"


def test_amounts_read_in_one_unit_on_every_card(demo_home, use_home):
    from cs_analytics.metrics import accounts, periods, revenue
    from cs_analytics.app.ui import fmt

    use_home(demo_home)
    snap = Store(demo_home).open_current()
    period = periods.period_containing("quarter", snap.as_of)
    current = revenue.kpis(snap, period)
    at = run_page("overview", "ja")
    assert metric(at, "MRR").value == fmt.amount(current["mrr"], "ja", "man")
    assert metric(at, "ARR").value == fmt.amount(current["arr"], "ja", "man")
    assert metric(at, "ARR").value.endswith("万円") and "億" not in metric(at, "ARR").value
    assert metric(at, "ARR").proto.help == fmt.yen(current["arr"])  # whole yen on hover
    account_id = accounts.account_list(snap)["account_id"].iloc[0]
    at = run_page("account", "ja", {"account_id": account_id})
    profile = accounts.profile(snap, account_id)
    assert metric(at, "MRR").value == fmt.amount(profile["mrr"], "ja", "man")  # not ¥70,000…
    assert metric(at, "ARR").value == fmt.amount(profile["arr"], "ja", "man")  # …beside 84.0万円
    assert metric(at, "MRR").value.endswith("万円")


def test_the_amount_unit_is_configurable(demo_home, use_home, tmp_path, monkeypatch):
    from cs_analytics.metrics import periods, revenue
    from cs_analytics.app.ui import fmt

    config = tmp_path / "cs_analytics.toml"
    config.write_text('[display]\namount_unit_ja = "thousand"\n', encoding="utf-8")
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(config))
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    current = revenue.kpis(snap, periods.period_containing("quarter", snap.as_of))
    at = run_page("overview", "ja")
    assert metric(at, "MRR").value == fmt.amount(current["mrr"], "ja", "thousand")
    assert metric(at, "MRR").value.endswith("千円")
    from test_app_common import chart

    axis = chart(at, "MRRの推移")["layout"]["yaxis"]
    assert all(text.endswith("千円") for text in axis["ticktext"])


def test_headline_cards_keep_their_reading_order_in_rows(demo_home, use_home):
    """A phone stacks each st.columns row's columns one under the other: the cards go in rows
    of four, so they read MRR, ARR, customers, NRR, … down a phone as across a desktop."""
    from cs_analytics.app.ui import cards

    use_home(demo_home)
    at = run_page("overview", "en")
    # AppTest lists elements column by column, as a phone stacks them
    labels = [m.label for m in at.metric][:len(cards.REVENUE_CARDS)]
    assert labels == ["MRR", "ARR", "Active customers", "ARPA (MRR per customer)", "NRR", "GRR",
                      "Logo churn (period)", "Two-year churn rate", "Quick ratio"]


def test_health_score_bars_are_green_when_healthy_red_when_not(demo_home, use_home):
    use_home(demo_home)
    at = run_page("health", "en")
    import json

    configs = [json.loads(d.proto.columns) for d in at.dataframe if d.proto.columns]
    scores = [c["Health score"] for c in configs if "Health score" in c]
    assert scores, "no table with a score column"
    for config in scores:
        assert config["type_config"]["type"] == "progress"
        # "auto": green above the middle of 0–100, red below it (never the theme's red at 94)
        assert config["type_config"]["color"] == "auto"


# ---------------------------------------------------------------------------- account page


def test_account_header_labels_the_stage_and_the_band_card_its_own_change(demo_home, use_home):
    from cs_analytics.metrics import accounts, health_summary
    from cs_analytics.app.ui.widgets import band_label

    use_home(demo_home)
    snap = Store(demo_home).open_current()
    listed = accounts.account_list(snap)
    phased = [a for a in listed["account_id"] if accounts.profile(snap, a).get("phase")]
    changed = [a for a in phased
               if (c := health_summary.account_current(snap, a)) is not None
               and c["band_4w_before"] and c["band_4w_before"] != c["band"]]
    same = [a for a in phased
            if (c := health_summary.account_current(snap, a)) is not None
            and c["band_4w_before"] == c["band"] and c["score_change_4w"]]
    assert changed and same
    at = run_page("account", "ja", {"account_id": changed[0]})
    phase = accounts.profile(snap, changed[0])["phase"]
    stage = {"onboarding": "オンボーディング", "adoption": "活用", "mature": "定着"}[phase]
    assert f"利用フェーズ {stage}" in texts(at)
    current = health_summary.account_current(snap, changed[0])
    band = metric(at, "ヘルス帯")
    assert band.delta == f"4週前は {band_label(current['band_4w_before'], 'ja')}"
    # an unchanged band carries no delta (no score change under it)
    at = run_page("account", "ja", {"account_id": same[0]})
    assert not metric(at, "ヘルス帯").delta


# ---------------------------------------------------------------------------- inputs


def test_a_manual_assessment_has_no_band_until_one_is_chosen(own_demo_home, use_home):
    from cs_analytics.userdata import assessments

    use_home(own_demo_home)
    store = Store(own_demo_home)
    at = run_page("account", "ja")
    account_id = at.selectbox(key="account_pick").value
    open_account_tab(at, "health")
    assert at.selectbox(key="assessment_band").value is None  # not 良好 on a 危険 account
    at.text_input(key="assessment_comment").set_value("様子見")
    next(b for b in at.button if b.label == "評価を記録").click().run()
    assert not at.exception
    assert any("ヘルス帯を選んでください" in e.value for e in at.error)
    assert account_id not in assessments.current_assessments(store)


def test_the_health_inputs_show_their_units(demo_home, use_home):
    from cs_analytics.metrics import accounts, health_summary

    use_home(demo_home)
    snap = Store(demo_home).open_current()
    account_id = next(a for a in accounts.account_list(snap)["account_id"]
                      if health_summary.account_current(snap, a) is not None)
    current = health_summary.account_current(snap, account_id)
    at = run_page("account", "ja", {"account_id": account_id})
    open_account_tab(at, "health")
    components = table_with(at, "要素", "計測値")
    shown = dict(zip(components["要素"], components["計測値"]))
    assert shown["更新"] == f"契約終了まで {current['renewal_value']:,.0f} 日"  # not "83.0"
    assert shown["ログイン"] == f"{current['logins_value']:,.0f} 日（直近30日でログインのあった日）"
    assert shown["配信数"].endswith("回（直近90日の配信）")


def test_an_action_plan_owner_is_chosen_from_the_users(own_demo_home, use_home):
    from cs_analytics.userdata import reviews
    from cs_analytics.metrics import accounts

    use_home(own_demo_home)
    store = Store(own_demo_home)
    snap = store.open_current()
    users = accounts.users(snap)
    at = run_page("weekly_review", "ja")
    owner = at.selectbox(key="plan_owner")
    assert owner.value is None
    assert owner.options == list(users["name"])  # the users' names, not free text
    week = reviews.last_complete_week(snap.as_of)  # the week the page opens on
    at.text_input(key="plan_description").set_value("更新提案の準備")
    owner.set_value(users["user_id"].iloc[1])
    next(b for b in at.button if b.label == "追加").click().run()
    assert not at.exception
    plans = reviews.action_plans(store, "all", week=week)
    assert list(plans["owner"]) == [users["name"].iloc[1]]


# ---------------------------------------------------------------------------- times


def test_times_are_in_the_configured_zone_with_its_label(own_demo_home, use_home):
    from cs_analytics.userdata import notes

    use_home(own_demo_home)
    store = Store(own_demo_home)
    snap = store.open_current()
    account_id = snap.scalar("SELECT min(account_id) FROM accounts")
    notes.add_note(store, account_id, "電話で状況確認", "local")
    written = notes.notes(store, account_id)["created_at"].iloc[0]  # stored in UTC
    at = run_page("account", "ja", {"account_id": account_id})
    banner = next(m.value for m in at.markdown if "データ基準日" in m.value)
    assert "UTC" not in banner and " JST" in banner  # 作成 2026-12-07 05:05 JST
    open_account_tab(at, "notes")
    shown = table_with(at, "メモ", "記入日時")["記入日時"].iloc[0]
    from cs_analytics import clock
    from cs_analytics.config import Settings

    assert shown == clock.local_text(written, Settings()) and shown.endswith(" JST")
