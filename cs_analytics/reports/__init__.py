"""Management reports as Excel workbooks: the quarterly KPI report (kpi.py) and the QBR pack
(qbr.py), with the talking-point rules (talking_points.py), the Excel layer (excel.py) and the
Japanese/English labels (labels.py). docs/reports.md describes every sheet and rule.

Pages and the CLI call `kpi_report_data` / `qbr_data` for what they show on screen and
`kpi_report_workbook` / `qbr_workbook` for the download; both read the same data object.
"""

from cs_analytics.reports.kpi import KpiReport, kpi_report_data, kpi_report_workbook
from cs_analytics.reports.qbr import QbrPack, qbr_data, qbr_workbook
from cs_analytics.reports.talking_points import AccountFacts, TalkingPoint, talking_points

__all__ = ["KpiReport", "kpi_report_data", "kpi_report_workbook", "QbrPack", "qbr_data",
           "qbr_workbook", "AccountFacts", "TalkingPoint", "talking_points"]
