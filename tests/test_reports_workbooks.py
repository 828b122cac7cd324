"""The KPI report and QBR pack workbooks: opened with openpyxl and compared with the metrics API,
plus formats, charts, print setup, the formula-injection guard, empty data and the CLI."""

import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner

from cs_analytics import cli
from cs_analytics.config import settings_from_dict
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import activity, churn, periods, revenue, usage
from cs_analytics.outputs.reports import (kpi_report_data, kpi_report_workbook, qbr_data,
                                          qbr_workbook)
from cs_analytics.outputs.reports.excel import PERCENT, YEN
from cs_analytics.userdata import commentary
from cs_analytics.warehouse.store import Store
from tests.conftest import contract
from tests.test_reports_metrics import ACCOUNTS, ACTIVITIES, CONTRACTS, USAGE, USERS

SETTINGS = settings_from_dict({})
HYPERLINK = '=HYPERLINK("http://x","y")'

# The small snapshot of test_reports_metrics plus two contracts due in 2025Q3: A7 (nothing
# following, never contacted: at risk) and A8 (renewal already signed), and churn reasons for
# 2025Q2's churns.
EXTRA_ACCOUNTS = [
    {"account_id": "A7", "name": "+cmd", "owner_id": "u1"},
    {"account_id": "A8", "name": "@SUM(A1)", "owner_id": "u2"},
]
EXTRA_CONTRACTS = [
    contract("c7", "A7", "2024-09-01", "2025-08-31", mrr=60_000),
    contract("c8", "A8", "2024-08-01", "2025-07-31", mrr=25_000),
    contract("c9", "A8", "2025-08-01", "2026-07-31", mrr=25_000),
]
KPI_ACCOUNTS = [dict(a, churn_reason=HYPERLINK) if a["account_id"] == "A6" else a
                for a in ACCOUNTS] + EXTRA_ACCOUNTS
KPI_CONTRACTS = [dict(c, churn_reason="施策終了・中止") if c["contract_id"] == "c4" else c
                 for c in CONTRACTS] + EXTRA_CONTRACTS
KPI_SHEETS_JA = ["サマリー", "MRRブリッジ", "NRR・GRR", "チャーン", "ヘルス分布", "活動実績",
                 "オンボーディング", "更新予定", "アクションプラン", "週次振り返り"]
KPI_SHEETS_EN = ["Summary", "MRR bridge", "NRR & GRR", "Churn", "Health", "Activity",
                 "Onboarding", "Renewals", "Action plans", "Weekly reviews"]
QBR_SHEETS_JA = ["概要", "契約・MRR", "利用状況", "ヘルス推移", "接点", "シグナル"]
QBR_SHEETS_EN = ["Overview", "Contracts & MRR", "Usage", "Health trend", "Contacts", "Signals"]


@pytest.fixture
def snap(make_snapshot):
    return make_snapshot(users=USERS, accounts=KPI_ACCOUNTS, contracts=KPI_CONTRACTS,
                         activities=ACTIVITIES, usage=USAGE, as_of="2025-06-30")


@pytest.fixture
def userdata(make_snapshot, snap):
    store = Store(make_snapshot.home)
    con = store.userdata_db()
    con.execute("INSERT INTO weekly_reviews (team, week_start, results, ksf, ksf_actions, kff, "
                "kff_actions, author, updated_at) VALUES ('all', '2025-04-07', ?, 'KSF', "
                "'-1+2', 'KFF', '@SUM(A1)', 'u1', '2025-04-08T00:00:00')", (HYPERLINK,))
    plans = [("2025-04-07", "2025-04-30", "+cmd 定例化"), ("2025-03-31", "2025-05-15", "期日が当期"),
             ("2025-01-06", "2025-02-01", "前四半期の計画")]
    for week, due, text in plans:
        con.execute("INSERT INTO action_plans (team, week_start, due_date, description, owner, "
                    "author, created_at) VALUES ('all', ?, ?, ?, '佐藤', 'u1', "
                    "'2025-04-08T00:00:00')", (week, due, text))
    yield con
    con.close()


def load(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def row_of(ws, label, column: int = 1) -> int:
    for row in range(1, ws.max_row + 1):
        if ws.cell(row, column).value == label:
            return row
    raise AssertionError(f"{label!r} not found in column {column} of {ws.title}")


def rows_of(ws, label, column: int = 1) -> list[int]:
    return [row for row in range(1, ws.max_row + 1) if ws.cell(row, column).value == label]


def value_after(ws, start: int, label: str):
    """Column B of the first row labelled `label` at or after row `start`."""
    return ws.cell(next(r for r in rows_of(ws, label) if r >= start), 2).value


def all_sheet_xml(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [z.read(n).decode("utf-8") for n in z.namelist()
                if n.startswith("xl/worksheets/sheet")]


def assert_no_formulas_and_printable(data: bytes) -> None:
    for xml in all_sheet_xml(data):
        assert "<f>" not in xml and "<f " not in xml, "a workbook cell holds a formula"
    for ws in load(data).worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4, ws.title
        assert 10 <= int(ws.page_setup.scale) <= 100, ws.title  # one page wide, set here
        assert not ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.freeze_panes is not None, f"{ws.title} has no frozen header"
        # no sheet-wide title rows: a print title is only ever one table's header row
        titles = ws.print_title_rows
        if titles:
            first, last = (int(n) for n in titles.replace("$", "").split(":"))
            assert first == last and ws.cell(first, 1).fill.fgColor.rgb.endswith("305496"), (
                ws.title, titles)
        texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
        assert not [v for v in texts if any(e in v for e in "🟢🟡🟠🔴✅⚠")], (
            f"{ws.title}: emoji print as boxes")


# ---------------------------------------------------------------------------- KPI report


def test_kpi_workbook_summary_equals_the_metrics_api(snap, userdata):
    quarter = periods.parse_quarter("2025Q2")
    data = kpi_report_workbook(snap, SETTINGS, "2025Q2", userdata=userdata)
    wb = load(data)
    assert wb.sheetnames == KPI_SHEETS_JA
    ws = wb["サマリー"]
    generated = [c.value for row in ws.iter_rows() for c in row
                 if isinstance(c.value, str) and c.value.startswith("作成: CS Analytics")]
    assert generated and generated[0].endswith(" JST")  # in the configured zone, labelled
    kpis = revenue.kpis(snap, quarter)
    previous = revenue.kpis(snap, periods.parse_quarter("2025Q1"))
    year_ago = revenue.kpis(snap, periods.parse_quarter("2024Q2"))
    expect = {"MRR（期末）": "mrr", "ARR（期末）": "arr", "顧客数（期末）": "customers",
              "NRR（売上継続率）": "nrr", "GRR（グロス売上継続率）": "grr",
              "ロゴチャーン率（四半期）": "logo_churn_rate", "新規MRR": "new", "解約MRR": "churn",
              "クイックレシオ": "quick_ratio"}
    for label, key in expect.items():
        r = row_of(ws, label)
        assert ws.cell(r, 2).value == pytest.approx(kpis[key], abs=1e-6), label
        for column, compared in ((3, previous), (5, year_ago)):
            if compared[key] is None:
                assert ws.cell(r, column).value is None, label
            else:
                assert ws.cell(r, column).value == pytest.approx(compared[key], abs=1e-6), label
    head = row_of(ws, "指標")
    assert [ws.cell(head, c).value for c in range(2, 10)] == [
        "当四半期 2025Q2", "前四半期 2025Q1", "前四半期比", "前年同期 2024Q2", "前年同期比",
        "目標（判定の基準）", "判定", "備考"]
    # hand-computed: MRR at 2025-06-30 = A1 100k + A2 50k + A3 30k + A5 40k + A7 60k + A8 25k
    mrr_row = row_of(ws, "MRR（期末）")
    assert ws.cell(mrr_row, 2).value == 305_000
    assert ws.cell(mrr_row, 2).number_format == YEN
    assert ws.cell(mrr_row, 4).value == 305_000 - previous["mrr"]
    assert ws.cell(mrr_row, 6).value == 305_000 - year_ago["mrr"]
    # The quarter's NRR carries no target: the annual one is judged on the TTM row.
    nrr_row = row_of(ws, "NRR（売上継続率）")
    assert ws.cell(nrr_row, 2).number_format == PERCENT
    assert ws.cell(nrr_row, 2).data_type == "n"
    assert ws.cell(nrr_row, 7).value is None and ws.cell(nrr_row, 8).value is None
    assert ws.cell(nrr_row, 4).value == pytest.approx((kpis["nrr"] - previous["nrr"]) * 100)
    ttm = revenue.kpis(snap, periods.ttm(dt.date(2025, 6, 1)))
    ttm_row = row_of(ws, "NRR（直近12か月・TTM 2025-06）")
    assert ws.cell(ttm_row, 2).value == pytest.approx(ttm["nrr"])
    assert ws.cell(ttm_row, 7).value == "110% 以上（直近12か月で判定）"
    assert ws.cell(ttm_row, 8).value == ("達成" if ttm["nrr"] >= 1.10 else "未達")
    churn_row = row_of(ws, "2年以内チャーン率")
    assert ws.cell(churn_row, 7).value == "10% 以下（2年以内チャーン率で判定）"
    assert ws.cell(churn_row, 2).value == kpis["two_year_churn_rate"]  # None: no eligible cohort
    assert ws.cell(churn_row, 9).value.startswith("0社中0社")
    assert ws.freeze_panes == f"A{head + 1}"
    # band names as text, in the band's colour
    healthy = ws.cell(row_of(ws, "ヘルス 良好（期末）"), 1)
    assert healthy.font.color.rgb.endswith("2E7D32")
    assert_no_formulas_and_printable(data)


def test_kpi_summary_prints_the_commentary_with_author_and_local_time(snap, make_snapshot):
    store = Store(make_snapshot.home)
    commentary.save_commentary(store, "2025Q2", "大型顧客2社の縮小が主因。\n=対策: 定例化", "佐藤")
    con = store.userdata_db()
    con.execute("UPDATE kpi_commentary SET created_at = '2025-07-01T01:30:00+00:00'")
    try:
        report = kpi_report_data(snap, SETTINGS, "2025Q2", userdata=con)
        ws = load(kpi_report_workbook(snap, SETTINGS, "2025Q2", userdata=con))["サマリー"]
    finally:
        con.close()
    assert report.commentary["author"] == "佐藤"
    r = row_of(ws, "記入: 佐藤（2025-07-01 10:30 JST）")    # UTC 01:30 in Asia/Tokyo
    body = ws.cell(r + 1, 1)
    assert body.value == "大型顧客2社の縮小が主因。\n=対策: 定例化" and body.data_type == "s"
    assert ws.row_dimensions[r + 1].height >= 2 * 18      # two lines, printed whole
    stamp = next(ws.cell(i, 1).value for i in range(1, 10)
                 if str(ws.cell(i, 1).value).startswith("作成"))
    assert stamp.endswith("JST")


def test_kpi_bridge_sheet_reconciles_and_has_charts(snap):
    quarter = periods.parse_quarter("2025Q2")
    wb = load(kpi_report_workbook(snap, SETTINGS, quarter))
    ws = wb["MRRブリッジ"]
    totals = revenue.movement_totals(snap, quarter)
    start = row_of(ws, "期首MRR")
    amounts = [ws.cell(r, 2).value for r in range(start, start + 7)]
    assert amounts[0] == pytest.approx(totals["start_mrr"])
    assert amounts[1:6] == pytest.approx([totals[m] for m in revenue.MOVEMENTS])
    assert amounts[6] == pytest.approx(totals["mrr"])
    assert amounts[0] + sum(amounts[1:6]) == pytest.approx(amounts[6], abs=1e-6)
    # hand-computed: A5 new 40k in June; A4 and A6 churn (-20k, -10k) in June
    assert totals["new"] == 40_000 and totals["churn"] == -30_000
    assert ws.cell(start + 1, 3).value == 1  # one new customer
    kinds = [type(c).__name__ for c in ws._charts]
    assert kinds == ["BarChart", "BarChart", "LineChart"]  # waterfall, movements, MRR
    assert ws._charts[0].grouping == "stacked"
    quarters = row_of(ws, "2025Q2") - 3
    assert [ws.cell(quarters + i, 1).value for i in range(4)] == [
        "2024Q3", "2024Q4", "2025Q1", "2025Q2"]


def test_kpi_retention_and_churn_sheets(snap):
    wb = load(kpi_report_workbook(snap, SETTINGS, "2025Q2"))
    ws = wb["NRR・GRR"]
    trend = revenue.period_metrics(snap, [periods.parse_quarter("2025Q2")]).iloc[0]
    r = row_of(ws, "2025Q2")
    assert ws.cell(r, 6).value == pytest.approx(trend["nrr"])
    assert ws.cell(r, 7).value == pytest.approx(trend["grr"])
    # No target column or line on the quarterly table: the annual target is a TTM one.
    assert ws.cell(row_of(ws, "四半期"), 8).value is None and ws.cell(r, 8).value is None
    ttm_head = row_of(ws, "月")
    assert [ws.cell(ttm_head, c).value for c in (4, 5, 6, 7)] == ["NRR", "GRR", "NRR目標",
                                                                  "GRR目標"]
    assert ws.cell(ttm_head + 12, 1).value == "2025-06"
    assert ws.cell(ttm_head + 12, 6).value == pytest.approx(1.10)
    assert len(ws._charts) == 2
    ws = wb["チャーン"]
    reasons = churn.churn_reasons(snap, periods.parse_quarter("2025Q2"))
    assert sorted(reasons["reason"]) == sorted(["施策終了・中止", HYPERLINK])
    r = row_of(ws, HYPERLINK)  # a churn reason from source data, kept as text
    assert ws.cell(r, 1).data_type == "s" and ws.cell(r, 2).value == 1
    assert ws.cell(r, 4).value == pytest.approx(10_000)
    churned_row = row_of(ws, "A4")
    assert ws.cell(churned_row, 2).value == "短期㈱" and ws.cell(churned_row, 6).value == "施策終了・中止"
    assert len(ws._charts) == 3
    # the churned accounts — a list as long as the data — close the sheet: its header is the
    # only row a print title may repeat
    assert churned_row - 1 == max(r for r in range(1, ws.max_row + 1)
                                  if ws.cell(r, 1).value == "顧客ID")


def test_kpi_activity_renewals_and_plans(snap, userdata):
    data = kpi_report_workbook(snap, SETTINGS, "2025Q2", userdata=userdata)
    wb = load(data)
    ws = wb["活動実績"]
    expected = activity.activity_by_owner(snap, dt.date(2025, 4, 1), dt.date(2025, 6, 30),
                                          SETTINGS)
    for row in expected.to_dict("records"):
        r = row_of(ws, row["owner_name"])
        assert [ws.cell(r, c).value for c in range(2, 11)] == [
            row[k] for k in ("accounts", "meetings", "emails", "calls", "emails_calls", "other",
                             "accounts_no_contact", "onboarding_due", "onboarding_completed")]
    total = row_of(ws, "合計")
    assert ws.cell(total, 2).value == int(expected["accounts"].sum())
    assert len(ws._charts) == 1
    ws = wb["オンボーディング"]
    assert ws.cell(row_of(ws, "A3"), 8).value == "はい"  # onboarding completed
    ws = wb["更新予定"]
    # hand-computed, as of 2025-06-30. 2025Q2 first: c4 (A4, 20k) and c6 (A6, 10k) ended May
    # 31 with nothing following and no MRR in June: both lost.
    due_rows = rows_of(ws, "更新対象 契約数")
    assert [ws.cell(r, 2).value for r in due_rows] == [2, 2]
    this, following = due_rows
    assert value_after(ws, this, "解約 ARR") == pytest.approx(360_000)
    assert value_after(ws, this, "更新率（締結済み ÷ 判定済み、ARR）") == 0
    # then 2025Q3: c7 (A7, 60k, nothing following, never contacted: at risk) and c8 (A8,
    # 25k, c9 signed)
    assert value_after(ws, following, "更新対象 ARR") == pytest.approx(1_020_000)
    assert value_after(ws, following, "締結済み ARR") == pytest.approx(300_000)
    assert value_after(ws, following, "未確定 ARR（リスクを含む）") == pytest.approx(720_000)
    assert value_after(ws, following, "リスク ARR") == pytest.approx(720_000)
    r = row_of(ws, "A7", column=2)
    assert ws.cell(r, 3).value == "+cmd" and ws.cell(r, 3).data_type == "s"
    assert ws.cell(r, 8).value == 720_000 and ws.cell(r, 1).value == "リスク"
    assert ws.cell(r, 10).value == "ヘルス警戒・危険, リスクシグナル"   # no usage, no contact
    assert ws.cell(r, 6).is_date and ws.cell(r, 6).value == dt.datetime(2025, 8, 31)
    assert ws.cell(row_of(ws, "A8", column=2), 1).value == "締結済み"
    assert [ws.cell(row_of(ws, a, column=2), 1).value for a in ("A4", "A6")] == ["解約", "解約"]
    ws = wb["アクションプラン"]
    assert ws.cell(row_of(ws, "+cmd 定例化", 4), 6).value == "未完了"
    row_of(ws, "期日が当期", 4)  # written the week before the quarter, due inside it
    with pytest.raises(AssertionError):
        row_of(ws, "前四半期の計画", 4)
    ws = wb["週次振り返り"]
    review = row_of(ws, "all")
    assert [ws.cell(review, c).value for c in (3, 5, 7)] == [HYPERLINK, "-1+2", "@SUM(A1)"]
    assert all(ws.cell(review, c).data_type == "s" for c in (3, 5, 7))
    assert_no_formulas_and_printable(data)


def test_kpi_workbook_in_english(snap):
    wb = load(kpi_report_workbook(snap, SETTINGS, "2025Q2", lang="en"))
    assert wb.sheetnames == KPI_SHEETS_EN
    ws = wb["Summary"]
    assert ws["A1"].value == "Quarterly KPI report 2025Q2"
    assert ws.cell(row_of(ws, "NRR (net revenue retention)"), 7).value is None
    assert ws.cell(row_of(ws, "NRR (trailing 12 months, TTM 2025-06)"), 7).value == (
        "at least 110% (judged on the trailing 12 months)")


def test_kpi_report_for_a_quarter_without_activity(snap):
    """2024Q1: every account existed but nothing happened: no movements but the base, no
    activities, no churn, no health history yet."""
    data = kpi_report_workbook(snap, SETTINGS, "2024Q1")
    wb = load(data)
    assert wb.sheetnames == KPI_SHEETS_JA
    ws = wb["チャーン"]
    assert ws.cell(row_of(ws, "解約理由") + 1, 1).value == "（該当なし）"
    ws = wb["活動実績"]
    total = row_of(ws, "合計")
    assert [ws.cell(total, c).value for c in range(3, 8)] == [0, 0, 0, 0, 0]
    assert_no_formulas_and_printable(data)


def test_kpi_report_on_a_snapshot_with_contracts_only(make_snapshot):
    snap = make_snapshot(contracts=[contract("c1", "A1", "2025-01-01", "2025-12-31", mrr=10)],
                         as_of="2025-02-15")
    report = kpi_report_data(snap, SETTINGS, "2025Q1")
    assert report.is_partial and report.end_day == dt.date(2025, 2, 15)
    data = kpi_report_workbook(snap, SETTINGS, "2025Q1", lang="en")
    ws = load(data)["Summary"]
    assert "to date" in ws["A2"].value
    assert ws["A3"].value == ("Compared with: previous quarter 2024Q4 to date (46 of 92 days, "
                              "to 2024-11-15), a year ago 2024Q1 to date (46 of 91 days, to "
                              "2024-02-15)")
    assert ws.cell(row_of(ws, "MRR (end of quarter)"), 2).value == 10
    assert_no_formulas_and_printable(data)


def test_kpi_quarter_errors(snap):
    with pytest.raises(CsAnalyticsError, match="2025Q3 has not started yet"):
        kpi_report_data(snap, SETTINGS, "2025Q3")
    with pytest.raises(CsAnalyticsError, match="expected a fiscal quarter like 2026Q1"):
        kpi_report_data(snap, SETTINGS, "2025-Q5")


def test_kpi_quarter_follows_the_fiscal_year(make_snapshot):
    snap = make_snapshot(contracts=[contract("c1", "A1", "2025-01-01", "2025-12-31", mrr=10)],
                         as_of="2025-06-30", config={"general": {"fiscal_year_start_month": 4}})
    report = kpi_report_data(snap, SETTINGS, "2025Q1")  # April–June 2025
    assert report.quarter.start_date == dt.date(2025, 4, 1)
    assert report.previous_quarter.label == "2024Q4"


# ---------------------------------------------------------------------------- QBR pack


def test_qbr_workbook_overview_and_usage_equal_the_metrics_api(snap):
    data = qbr_workbook(snap, SETTINGS, "A1")
    wb = load(data)
    assert wb.sheetnames == QBR_SHEETS_JA
    ws = wb["概要"]
    assert ws["A1"].value == f"QBR資料 {HYPERLINK}" and ws["A1"].data_type == "s"
    name = ws.cell(row_of(ws, "顧客名"), 2)
    assert name.value == HYPERLINK and name.data_type == "s"
    assert ws.cell(row_of(ws, "MRR（現在）"), 2).value == 100_000
    assert ws.cell(row_of(ws, "MRR（現在）"), 2).number_format == YEN
    assert ws.cell(row_of(ws, "現契約の終了日"), 2).value == dt.datetime(2025, 12, 31)
    assert ws.cell(row_of(ws, "最終接点"), 2).value == dt.datetime(2025, 6, 1)
    topics = [ws.cell(r, 2).value for r in range(row_of(ws, "優先度") + 1, ws.max_row + 1)]
    assert "定例レビューの設定" in topics  # last meeting 81 days before as_of
    ws = wb["利用状況"]
    expected = usage.quarter_usage(snap, "A1", snap.as_of, SETTINGS)
    assert expected["period"].tolist() == ["2024Q3", "2024Q4", "2025Q1", "2025Q2"]
    first = row_of(ws, "2024Q3")
    header = [ws.cell(first - 1, c).value for c in range(1, 10)]
    assert header == ["四半期", "集計期間", "配信数", "前年同期", "前年同期の配信数", "前年同期比",
                      "見込み（日割り）", "前年の四半期全体", "見込みの前年比"]
    for i, row in enumerate(expected.to_dict("records")):
        assert ws.cell(first + i, 1).value == row["period"]
        assert ws.cell(first + i, 3).value == row["deliveries"]
        assert ws.cell(first + i, 4).value == row["year_ago_period"]
        assert ws.cell(first + i, 5).value is None  # usage starts 2025-01: no year ago
        assert ws.cell(first + i, 7).value is None  # complete quarters have no pace
    assert ws.cell(first + 3, 3).value == 3
    assert ws.cell(first, 2).value == "07-01〜09-30（92日中92日）"
    rows = [r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "2025Q1"]
    assert len(rows) == 2, "the quarter is in the deliveries table and the outcomes table"
    rate = ws.cell(rows[1], 8)
    assert rate.value == pytest.approx(0.15) and rate.number_format == PERCENT
    assert [type(c).__name__ for c in ws._charts] == ["BarChart", "BarChart", "LineChart"]
    assert_no_formulas_and_printable(data)


def test_qbr_health_contacts_and_signals_sheets(snap):
    pack = qbr_data(snap, SETTINGS, "A3")
    wb = load(qbr_workbook(snap, SETTINGS, "A3"))
    ws = wb["ヘルス推移"]
    current = snap.query("SELECT * FROM fct_health_current WHERE account_id = 'A3'").iloc[0]
    r = row_of(ws, "配信数")
    assert ws.cell(r, 2).value == "直近90日"
    assert ws.cell(r, 4).value == pytest.approx(current["deliveries_score"])
    assert ws.cell(r, 6).value == pytest.approx(current["deliveries_contribution"])
    assert ws.cell(row_of(ws, "ヘルススコア"), 2).value == pytest.approx(current["score"])
    assert len(ws._charts) == 1
    ws = wb["接点"]
    assert ws.cell(row_of(ws, "2025Q1"), 2).value == 1  # the kickoff meeting of 2025-03-01
    ws = wb["シグナル"]
    signals = list(pack.signals["signal"])
    assert "no_login_60d" in signals
    r = row_of(ws, "60日以上ログインなし")
    assert "2025-04-20" in ws.cell(r, 3).value
    assert [tp.rule for tp in pack.talking_points][:1] == ["health"]


def test_qbr_notes_from_the_user_data_store(snap, userdata):
    userdata.execute("INSERT INTO notes (account_id, author, body, created_at) VALUES "
                     "('A1', '佐藤', ?, '2025-06-20T09:30:00+00:00')", (HYPERLINK,))
    userdata.execute("INSERT INTO notes (account_id, author, body, created_at) VALUES "
                     "('A2', '佐藤', 'other account', '2025-06-21T09:30:00+00:00')")
    pack = qbr_data(snap, SETTINGS, "A1", userdata=userdata)
    assert pack.notes["body"].tolist() == [HYPERLINK]
    data = qbr_workbook(snap, SETTINGS, "A1", userdata=userdata)
    ws = load(data)["接点"]
    r = row_of(ws, "佐藤", 2)
    assert ws.cell(r, 3).value == HYPERLINK and ws.cell(r, 3).data_type == "s"
    assert ws.cell(r, 1).value == dt.datetime(2025, 6, 20, 18, 30)  # 09:30 UTC, in Tokyo
    assert ws.cell(r, 1).number_format == "yyyy-mm-dd hh:mm"
    generated = [c.value for row in load(data).worksheets[0].iter_rows() for c in row
                 if isinstance(c.value, str) and c.value.startswith("作成: CS Analytics")]
    assert generated and generated[0].endswith(" JST")  # the zone the sheet's times are in
    assert_no_formulas_and_printable(data)
    assert qbr_data(snap, SETTINGS, "A1").notes.empty


def test_qbr_for_an_account_without_usage(snap):
    pack = qbr_data(snap, SETTINGS, "A2")
    assert not pack.has_usage
    assert "no_usage" in [tp.rule for tp in pack.talking_points]
    data = qbr_workbook(snap, SETTINGS, "A2", lang="en")
    wb = load(data)
    assert wb.sheetnames == QBR_SHEETS_EN
    ws = wb["Usage"]
    row_of(ws, "No usage data for this account (check that the Metabase export includes it).")
    assert ws._charts == []
    assert ws.cell(row_of(ws, "Quarter") + 1, 3).value is None  # no data, not zero
    assert_no_formulas_and_printable(data)


def test_qbr_for_a_former_customer(snap):
    pack = qbr_data(snap, SETTINGS, "A6")
    assert pack.health is None and pack.renewal["status"] == "none"
    assert [tp.rule for tp in pack.talking_points] == ["winback", "no_usage"]
    wb = load(qbr_workbook(snap, SETTINGS, "A6"))
    ws = wb["概要"]
    assert ws.cell(row_of(ws, "更新状況"), 2).value == "現在有効な契約なし"


def test_qbr_unknown_account(snap):
    with pytest.raises(CsAnalyticsError, match="account 'nope' is not in the current snapshot"):
        qbr_data(snap, SETTINGS, "nope")


# ---------------------------------------------------------------------------- CLI


def run(args, home):
    return CliRunner().invoke(cli.main, args, env={"CS_ANALYTICS_HOME": str(home)})


def test_cli_report_kpi_and_qbr(snap, make_snapshot, tmp_path):
    out = tmp_path / "kpi.xlsx"
    result = run(["report", "kpi", "--quarter", "2025Q2", "--out", str(out), "--lang", "en"],
                 make_snapshot.home)
    assert result.exit_code == 0, result.output
    assert load(out.read_bytes()).sheetnames == KPI_SHEETS_EN
    out = tmp_path / "qbr.xlsx"
    result = run(["report", "qbr", "--account", "A1", "--out", str(out)], make_snapshot.home)
    assert result.exit_code == 0, result.output
    assert load(out.read_bytes()).sheetnames == QBR_SHEETS_JA
    assert not list(tmp_path.glob(".*.tmp*"))


@pytest.mark.parametrize("args, message", [
    (["report", "kpi", "--quarter", "2030Q1", "--out", "{tmp}/x.xlsx"],
     "quarter 2030Q1 has not started yet"),
    (["report", "kpi", "--quarter", "Q1", "--out", "{tmp}/x.xlsx"],
     "expected a fiscal quarter like 2026Q1"),
    (["report", "kpi", "--quarter", "2025Q2", "--out", "{tmp}/x.csv"],
     "expected a file name ending in .xlsx"),
    (["report", "qbr", "--account", "nope", "--out", "{tmp}/x.xlsx"],
     "account 'nope' is not in the current snapshot"),
    (["report", "qbr", "--account", "A1", "--out", "{tmp}/missing/x.xlsx"], "does not exist"),
])
def test_cli_report_errors_are_one_line(snap, make_snapshot, tmp_path, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = run(args, make_snapshot.home)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.xlsx").exists()


def test_cli_report_without_snapshot(tmp_path):
    result = run(["report", "kpi", "--quarter", "2025Q2", "--out", str(tmp_path / "x.xlsx")],
                 tmp_path / "empty")
    assert result.exit_code == 1 and "no snapshot published" in result.output
