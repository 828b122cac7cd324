"""The internal QBR pack (Excel) as a CS member prints and reads it: one delivery window named
and used by the talking points, the signal and the pack alike; talking points quoting each
account's own figures; the partial quarter pro-rated and labelled; contract statuses in the
reader's language; wrapped text that prints whole (LibreOffice renders the workbook)."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess

import openpyxl
import pytest

from cs_analytics.config import settings_from_dict
from cs_analytics.outputs.reports import qbr_data, qbr_workbook
from tests.conftest import contract
from tests import deck_render

SETTINGS = settings_from_dict({})
AS_OF = "2025-06-30"


def _weekly(account_id, first, last, deliveries):
    rows, day = [], dt.date.fromisoformat(first)
    while day <= dt.date.fromisoformat(last):
        rows.append({"account_id": account_id, "date": day, "deliveries": deliveries(day),
                     "logins": 2, "viewers": 40, "registrants": 60, "conversions": 4})
        day += dt.timedelta(days=7)
    return rows


USAGE = (_weekly("A1", "2024-01-01", "2025-06-30",
                 lambda d: 3 if d < dt.date(2025, 4, 1) else (1 if d.day < 8 else 0))
         + _weekly("A2", "2024-01-01", "2025-06-30", lambda d: 1))
CONTRACTS = [
    contract("c0", "A1", "2023-07-01", "2024-06-30", mrr=50_000, status="Expired"),
    contract("c1", "A1", "2024-07-01", "2025-07-31", mrr=50_000, status="Activated"),
    contract("c2", "A2", "2024-07-01", "2025-08-31", mrr=80_000, status="Activated"),
]


@pytest.fixture(scope="module")
def snap(tmp_path_factory):
    from tests.conftest import build_snapshot

    return build_snapshot(tmp_path_factory.mktemp("pack"), contracts=CONTRACTS, usage=USAGE,
                          as_of=AS_OF,
                          activities=[{"activity_id": "m1", "account_id": "A1",
                                       "date": "2025-06-01", "type": "meeting"}])


def test_one_delivery_window_for_points_signal_and_pack(snap):
    pack = qbr_data(snap, SETTINGS, "A1")
    u = pack.usage_summary
    assert (u["window_days"], u["recent_first"], u["previous_last"]) == (
        90, dt.date(2025, 4, 2), dt.date(2025, 4, 1))
    signal = pack.signals.set_index("signal").loc["deliveries_drop_50"]
    assert (signal["deliveries_last_window"], signal["deliveries_previous_window"]) == (
        u["deliveries_recent"], u["deliveries_previous"])
    point = next(p for p in pack.talking_points if p.rule == "deliveries")
    window = f"直近90日（2025-04-02〜2025-06-30）の配信 {u['deliveries_recent']}件"
    assert window in point.evidence
    wb = openpyxl.load_workbook(io.BytesIO(qbr_workbook(snap, SETTINGS, "A1")))
    overview = [c.value for row in wb["概要"].iter_rows() for c in row if c.value is not None]
    assert "直近90日（2025-04-02〜2025-06-30）" in overview
    evidence = [c.value for row in wb["シグナル"].iter_rows() for c in row
                if isinstance(c.value, str) and "直近90日の配信数" in c.value]
    assert evidence == [f"直近90日の配信数 {u['deliveries_recent']}件（その前の90日は"
                        f"{u['deliveries_previous']}件）"]


def test_talking_points_quote_each_accounts_own_figures(snap):
    first, second = (qbr_data(snap, SETTINGS, a) for a in ("A1", "A2"))
    renewal = {p.account_id: next(t for t in p.talking_points if t.rule == "renewal")
               for p in (first, second)}
    assert renewal["A1"].suggestion != renewal["A2"].suggestion
    latest = first.quarter_usage.iloc[-1]  # 2025Q2, complete on the as-of date
    assert (f"2025Q2の配信は{latest['deliveries']:,.0f}件（前年同期 "
            f"{latest['deliveries_year_ago']:,.0f}件" in renewal["A1"].suggestion)
    assert "前年同期より" in renewal["A1"].suggestion or "減った四半期" in renewal["A1"].suggestion
    for point in first.talking_points + second.talking_points:
        assert "74%" not in point.suggestion


def test_contract_statuses_in_the_readers_language(snap):
    for lang, expected in (("ja", {"有効", "期限切れ"}), ("en", {"Activated", "Expired"})):
        wb = openpyxl.load_workbook(io.BytesIO(qbr_workbook(snap, SETTINGS, "A1", lang)))
        ws = wb.worksheets[1]
        header = next(r for r in ws.iter_rows(values_only=True) if r[0] in ("契約ID", "Contract ID"))
        column = header.index("ステータス" if lang == "ja" else "Status")
        statuses = {r[column] for r in ws.iter_rows(values_only=True)
                    if r[0] in ("c0", "c1")}
        assert statuses == expected


def test_the_partial_quarter_is_pro_rated_and_labelled(make_snapshot):
    snap = make_snapshot(contracts=CONTRACTS, usage=USAGE, as_of="2025-05-15")
    wb = openpyxl.load_workbook(io.BytesIO(qbr_workbook(snap, SETTINGS, "A2")))
    ws = wb["利用状況"]
    row = next(r for r in ws.iter_rows(values_only=True) if r[0] == "2025Q2 途中経過")
    assert row[1] == "04-01〜05-15（91日中45日）"
    deliveries, pace = row[2], row[6]
    assert pace == pytest.approx(deliveries * 91 / 45)


def test_wrapped_text_gets_rows_tall_enough_to_print(snap, tmp_path):
    """Every wrapped talking point prints whole: its row is as tall as its lines, and the
    workbook rendered by LibreOffice (A4 landscape, fit to width) holds every word of it."""
    data = qbr_workbook(snap, SETTINGS, "A1")
    ws = openpyxl.load_workbook(io.BytesIO(data))["概要"]
    pack = qbr_data(snap, SETTINGS, "A1")
    suggestions = [p.suggestion for p in pack.talking_points]
    rows = [c.row for row in ws.iter_rows() for c in row if c.value in suggestions]
    assert len(rows) == len(suggestions)
    for r in rows:
        assert (ws.row_dimensions[r].height or 0) >= 2 * 15  # two or more 11-point lines
        assert ws.cell(r, 1).alignment.vertical == "top"
    pdf = deck_render.render_pdf(data, tmp_path, "pack", ext="xlsx")
    # -raw keeps each cell's lines together (the layout mode interleaves adjacent cells)
    printed = subprocess.run(["pdftotext", "-raw", str(pdf), "-"],
                             check=True, capture_output=True, text=True).stdout

    def flat(text: str) -> str:  # no spaces or line ends; no emoji (printed out of order)
        return re.sub(r"[\s\U00010000-\U0010FFFF\uFE0F]", "", text)

    for text in suggestions + [p.evidence for p in pack.talking_points]:
        assert flat(text) in flat(printed), text
