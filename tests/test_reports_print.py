"""The KPI workbook as it prints: converted to PDF by LibreOffice (headless, its own profile), its
pages read back with pdftotext, and each table's rows checked to sit under that table's own
header on every page — never under another table's, never headless on a continuation page."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from cs_analytics.config import settings_from_dict
from cs_analytics.outputs.reports import kpi_report_workbook
from tests.conftest import contract

SETTINGS = settings_from_dict({})
CHURNED = 70  # accounts churning in 2025Q2: their list runs over several pages

pytestmark = pytest.mark.skipif(
    not (shutil.which("libreoffice") and shutil.which("pdftotext")),
    reason="needs LibreOffice and pdftotext (poppler-utils)")


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """The ja KPI workbook of 2025Q2 as PDF pages: [(sheet name, lines)]."""
    from tests.conftest import build_snapshot

    home = tmp_path_factory.mktemp("print") / "data"
    contracts = [contract(f"k{i:03d}", f"K{i:03d}", "2024-01-01", "2025-12-31", mrr=50_000)
                 for i in range(30)]
    contracts += [contract(f"c{i:03d}", f"C{i:03d}", "2024-01-01", "2025-05-15", mrr=10_000,
                           churn_reason="施策終了・中止" if i % 2 else "予算削減")
                  for i in range(CHURNED)]
    snap = build_snapshot(home, contracts=contracts, as_of="2025-06-30")
    out = tmp_path_factory.mktemp("pdf")
    xlsx = out / "kpi.xlsx"
    xlsx.write_bytes(kpi_report_workbook(snap, SETTINGS, "2025Q2"))
    subprocess.run(["libreoffice", f"-env:UserInstallation=file://{out / 'profile'}",
                    "--headless", "--convert-to", "pdf", "--outdir", str(out), str(xlsx)],
                   check=True, capture_output=True, timeout=600)
    text = subprocess.run(["pdftotext", "-layout", str(out / "kpi.pdf"), "-"], check=True,
                          capture_output=True, text=True, timeout=120).stdout
    pages = []
    for page in text.split("\f"):
        lines = [line for line in page.splitlines() if line.strip()]
        if lines:
            # the page header: report title on the left, the sheet's name on the right
            pages.append((lines[0].split()[-1], lines[1:]))
    return pages


def sheet_pages(printed, sheet: str) -> list[list[str]]:
    found = [lines for name, lines in printed if name == sheet]
    assert found, f"no page of {sheet}: {sorted({n for n, _ in printed})}"
    return found


def header_of(line: str, headers: dict[str, tuple[str, ...]]) -> str | None:
    """The table whose header this line is (all its column titles in it, in order)."""
    for table, titles in headers.items():
        position = 0
        for title in titles:
            position = line.find(title, position)
            if position < 0:
                break
        else:
            return table
    return None


def check_rows_under_their_header(pages, headers, rows) -> dict[str, int]:
    """On every page, each row line (matching a table's row pattern) has that table's header
    as the nearest known header above it. Returns the pages each table's rows were on."""
    seen: dict[str, int] = {}
    for number, lines in enumerate(pages, start=1):
        current = None
        on_page = set()
        for line in lines:
            table = header_of(line, headers)
            if table:
                current = table
                continue
            for name, pattern in rows.items():
                if pattern.match(line):
                    assert current == name, (
                        f"page {number}: a row of {name} under "
                        f"{current or 'no header'}: {line.strip()!r}")
                    on_page.add(name)
        for name in on_page:
            seen[name] = seen.get(name, 0) + 1
    return seen


def test_ttm_rows_print_under_the_ttm_header_not_the_quarterly_one(printed):
    pages = sheet_pages(printed, "NRR・GRR")
    headers = {"quarterly": ("四半期", "期首顧客数", "うち解約", "NRR", "GRR"),
               "ttm": ("月", "期首顧客数", "期首MRR", "NRR", "GRR", "NRR目標", "GRR目標")}
    rows = {"quarterly": re.compile(r"^\s*20\d\dQ[1-4]\s.*%"),
            "ttm": re.compile(r"^\s*20\d\d-\d\d\s.*%")}
    seen = check_rows_under_their_header(pages, headers, rows)
    assert seen.get("quarterly") and seen.get("ttm")
    # the quarterly table shows no target column: the quarter's NRR is not judged on 110%
    assert not [line for lines in pages for line in lines
                if rows["quarterly"].match(line) and "110.0%" in line]


def test_a_long_list_repeats_its_own_header_on_every_page_it_runs_over(printed):
    pages = sheet_pages(printed, "チャーン")
    headers = {"trend": ("月", "顧客数", "解約", "チャーン率"),
               "logo": ("四半期", "期首顧客数", "うち解約", "ロゴチャーン率"),
               "reasons": ("解約理由", "件数", "割合", "解約MRR"),
               "cohorts": ("開始四半期", "顧客数", "判定対象"),
               "churned": ("顧客ID", "顧客名", "担当者", "解約月", "解約MRR", "解約理由")}
    rows = {"churned": re.compile(r"^\s*C\d{3}\s"),
            "logo": re.compile(r"^\s*20\d\dQ[1-4]\s.*%")}
    seen = check_rows_under_their_header(pages, headers, rows)
    assert seen["churned"] >= 2, "the list of 70 churned accounts spans pages"
    listed = {m.group(1) for lines in pages for line in lines
              if (m := re.match(r"^\s*(C\d{3})\s", line))}
    assert len(listed) == CHURNED          # every row printed, none lost at a page break


def test_every_page_names_its_sheet_and_no_emoji_boxes(printed):
    names = [name for name, _ in printed]
    assert names[0] == "サマリー" and "更新予定" in names
    summary = "\n".join(sheet_pages(printed, "サマリー")[0])
    assert "NRR（直近12か月・TTM 2025-06）" in summary
    assert "110% 以上（直近12か月で判定）" in summary
    health = "\n".join(line for lines in sheet_pages(printed, "ヘルス分布") for line in lines)
    assert "良好" in health and not set("🟢🟡🟠🔴") & set(health)
