"""The report objects the KPI report and QBR pages show (cs_analytics.outputs.reports), cached per
snapshot, with the user-entered parts (commentary, weekly reviews, action plans) read fresh
each run."""

from __future__ import annotations

import copy

import pandas as pd

from cs_analytics.app.ui import data, shape
from cs_analytics.config import Settings
from cs_analytics.outputs.reports import kpi, qbr
from cs_analytics.warehouse.store import Snapshot, Store


def kpi_report(snap: Snapshot, settings: Settings, quarter: str, lang: str,
               store: Store) -> kpi.KpiReport:
    """The quarter's KPI report; numbers cached per snapshot, the commentary, reviews and
    plans current."""
    # The shared report, copied before this run attaches the user-entered parts to it.
    report = copy.copy(data.call_shared(kpi.kpi_report_data, snap, settings, quarter, lang))
    con = store.userdata_db(readonly=True)
    try:
        kpi.attach_user_data(report, con)
    finally:
        con.close()
    return report


def kpi_headline(snap: Snapshot, settings: Settings, quarter: str, lang: str) -> pd.DataFrame:
    """The quarter's headline as the page shows it (`shape.headline_rows`), made once per
    report and shared like the report: the caller must not change it."""
    return data.call_shared(_kpi_headline, snap, settings, quarter, lang)


def _kpi_headline(snap: Snapshot, settings: Settings, quarter: str, lang: str) -> pd.DataFrame:
    report = data.call_shared(kpi.kpi_report_data, snap, settings, quarter, lang)
    return shape.headline_rows(report.headline, lang)


def qbr_pack(snap: Snapshot, settings: Settings, account_id: str, lang: str) -> qbr.QbrPack:
    return data.call_shared(qbr.qbr_data, snap, settings, account_id, lang)  # read only
