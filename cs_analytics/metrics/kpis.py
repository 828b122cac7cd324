"""The KPI registry: each headline KPI of `revenue.kpis` once — its key, its names, how it is
shown, whether a rise is good news and which outputs show it. The KPI cards (ui/cards.py), the
CLI's `metrics` table and JSON (cli.py) and the KPI workbook's headline rows (reports/kpi.py)
read it; a KPI's value is defined by the metrics function that computes its key."""

from __future__ import annotations

from dataclasses import dataclass

# How a value is shown: an amount in yen, a count, a rate (a fraction shown as %, its change in
# points) or a ratio (two decimals).
KINDS = ("yen", "count", "rate", "ratio")


@dataclass(frozen=True)
class Kpi:
    key: str          # the key in `revenue.kpis` and the JSON; label key `kpi.<key>`
    name: str         # the CLI's row name
    ja: str           # the name on pages (Japanese); reports/labels.py may word it for a quarter
    en: str           # … and in English
    kind: str         # one of KINDS
    up_is_good: bool  # a rise is good news: colours a change green (red when it falls)


# Every KPI, in the order of `revenue.kpis` and the JSON (the CLI table shows them all so).
KPIS = (
    Kpi("mrr", "MRR", "MRR", "MRR", "yen", True),
    Kpi("arr", "ARR", "ARR", "ARR", "yen", True),
    Kpi("customers", "customers", "アクティブ顧客数", "Active customers", "count", True),
    Kpi("arpa", "ARPA", "ARPA（顧客あたりMRR）", "ARPA (MRR per customer)", "yen", True),
    Kpi("new", "new", "新規MRR", "New MRR", "yen", True),
    Kpi("expansion", "expansion", "拡大MRR", "Expansion MRR", "yen", True),
    Kpi("contraction", "contraction", "縮小MRR", "Contraction MRR", "yen", False),
    Kpi("churn", "churn", "解約MRR", "Churned MRR", "yen", False),
    Kpi("reactivation", "reactivation", "再開MRR", "Reactivation MRR", "yen", True),
    Kpi("logo_churn_rate", "logo churn rate", "ロゴチャーン率（期間）", "Logo churn (period)",
        "rate", False),
    Kpi("nrr", "NRR", "NRR", "NRR", "rate", True),
    Kpi("grr", "GRR", "GRR", "GRR", "rate", True),
    Kpi("gross_mrr_churn", "gross MRR churn", "グロスMRRチャーン", "Gross MRR churn", "rate",
        False),
    Kpi("net_mrr_churn", "net MRR churn", "ネットMRRチャーン", "Net MRR churn", "rate", False),
    Kpi("quick_ratio", "quick ratio", "クイックレシオ", "Quick ratio", "ratio", True),
    Kpi("two_year_churn_rate", "two-year churn rate", "2年以内チャーン率", "Two-year churn rate",
        "rate", False),
)

# Which outputs show which KPIs, each in its own reading order. The CLI table and JSON show
# every KPI (KPIS order).
CARDS = ("mrr", "arr", "customers", "arpa", "nrr", "grr", "logo_churn_rate",
         "two_year_churn_rate", "quick_ratio")
REPORT_ROWS = ("mrr", "arr", "customers", "arpa", "nrr", "grr", "two_year_churn_rate",
               "logo_churn_rate", "new", "reactivation", "expansion", "contraction", "churn",
               "quick_ratio")

# The keys `revenue.kpis` gives after the KPIs: the period it measured and the data's date.
DATE_KEYS = ("period_start", "period_end", "as_of")

BY_KEY = {k.key: k for k in KPIS}


def kpi(key: str) -> Kpi:
    return BY_KEY[key]


def label(key: str, lang: str) -> str:
    """The KPI's name in `lang` ('ja' or 'en')."""
    found = BY_KEY[key]
    return found.ja if lang == "ja" else found.en
