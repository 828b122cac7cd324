"""Reports: the quarterly KPI report (kpi.py) and the internal QBR pack (qbr.py) as Excel
workbooks, with the talking-point rules (talking_points.py) and the Excel layer (excel.py); the
customer QBR deck as PowerPoint (qbr_deck.py: its content, qbr_slides.py: its slides, slides.py:
the PowerPoint layer, text_fit.py: text measurement); the Japanese/English labels (labels.py).
docs/reports.md describes every sheet, slide and rule.

Pages and the CLI call `kpi_report_data` / `qbr_data` for what they show on screen and
`kpi_report_workbook` / `qbr_workbook` / `qbr_slides.qbr_deck` for the download; all read the
same data.
"""

from cs_analytics.outputs.reports.kpi import KpiReport, kpi_report_data, kpi_report_workbook
from cs_analytics.outputs.reports.qbr import QbrPack, qbr_data, qbr_workbook
from cs_analytics.outputs.reports.talking_points import AccountFacts, TalkingPoint, talking_points

__all__ = ["KpiReport", "kpi_report_data", "kpi_report_workbook", "QbrPack", "qbr_data",
           "qbr_workbook", "AccountFacts", "TalkingPoint", "talking_points"]
