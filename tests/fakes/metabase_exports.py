"""Metabase's exports as its own writers produce them, for tests and the sample folder.

Built from Metabase's source (query_processor/streaming/{csv,json,xlsx}.clj and formatter/
{datetime,impl}.clj): the CSV writer is clojure.data.csv (`,`, `"` quoting only where needed,
`\\n` line ends, UTF-8 without BOM), the JSON writer writes `[\\n` + one compact object per row
joined by `,\\n` + `\\n]` with every formatted value a string, the XLSX writer (Apache POI's
SXSSF) writes a sheet "Query result" with inline strings, numbers, and dates as serial numbers
styled "mmmm d, yyyy". Formatted values follow the column's settings: Java date patterns (the
date style, `date_abbreviate`, `date_separator`, the time style) in the site locale, numbers
with `#,##0` and at most two decimals, percentages × 100, currencies in the header "(¥)" or
inline ("¥1,200", "JPY 1,200", "1,200 Japanese yen").
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAYS_JA = ("月", "火", "水", "木", "金", "土", "日")
# Metabase's date styles (formatter/constants.cljc), as Java patterns after its post-processing
# (D → d, YYYY → yyyy, dddd → EEEE).
DATE_STYLES = {
    "MMMM D, YYYY": "MMMM d, yyyy",
    "D MMMM, YYYY": "d MMMM, yyyy",
    "dddd, MMMM D, YYYY": "EEEE, MMMM d, yyyy",
    "M/D/YYYY": "M/d/yyyy",
    "D/M/YYYY": "d/M/yyyy",
    "YYYY/M/D": "yyyy/M/d",
}
TIME_STYLES = {"h:mm A": "h:mm a", "HH:mm": "HH:mm"}


@dataclass(frozen=True)
class DateSettings:
    """A date column's settings as Metabase reads them (column, then the instance's)."""

    style: str = "MMMM D, YYYY"
    abbreviate: bool = False
    separator: str = "/"
    time_style: str | None = None        # None: a date; else "h:mm A" or "HH:mm"
    time_enabled: str = "minutes"        # minutes | seconds | milliseconds
    locale: str = "en"                   # the site locale: "en" or "ja"

    def pattern(self) -> str:
        pattern = DATE_STYLES[self.style]
        if self.separator != "/":
            pattern = pattern.replace("/", self.separator)
        if self.abbreviate:
            pattern = pattern.replace("MMMM", "MMM").replace("EEEE", "EEE")
        if self.time_style:
            time = TIME_STYLES[self.time_style]
            if self.time_enabled in ("seconds", "milliseconds"):
                time = time.replace("mm", "mm:ss")
            if self.time_enabled == "milliseconds":
                time = time.replace("ss", "ss.SSS")
            pattern += ", " + time
        return pattern


def java_format(moment: dt.datetime, pattern: str, locale: str = "en") -> str:
    """The subset of java.time's DateTimeFormatter that Metabase's date styles use."""
    tokens = ("EEEE", "EEE", "MMMM", "MMM", "yyyy", "HH", "SSS", "mm", "ss", "M", "d", "h", "a")
    out, i = [], 0
    while i < len(pattern):
        token = next((t for t in tokens if pattern.startswith(t, i)), None)
        if token is None:
            out.append(pattern[i])
            i += 1
            continue
        i += len(token)
        if token in ("MMMM", "MMM"):
            if locale == "ja":
                out.append(f"{moment.month}月")
            else:
                name = MONTHS[moment.month - 1]
                out.append(name if token == "MMMM" else name[:3])
        elif token in ("EEEE", "EEE"):
            if locale == "ja":
                day = WEEKDAYS_JA[moment.weekday()]
                out.append(day + "曜日" if token == "EEEE" else day)
            else:
                name = WEEKDAYS[moment.weekday()]
                out.append(name if token == "EEEE" else name[:3])
        elif token == "yyyy":
            out.append(f"{moment.year:04d}")
        elif token == "M":
            out.append(str(moment.month))
        elif token == "d":
            out.append(str(moment.day))
        elif token == "HH":
            out.append(f"{moment.hour:02d}")
        elif token == "h":
            out.append(str(moment.hour % 12 or 12))
        elif token == "mm":
            out.append(f"{moment.minute:02d}")
        elif token == "ss":
            out.append(f"{moment.second:02d}")
        elif token == "SSS":
            out.append(f"{moment.microsecond // 1000:03d}")
        elif token == "a":
            am = moment.hour < 12
            out.append(("午前" if am else "午後") if locale == "ja" else ("AM" if am else "PM"))
    return "".join(out)


def format_date(day: dt.date | dt.datetime, settings: DateSettings = DateSettings(),
                unit: str | None = None) -> str:
    moment = day if isinstance(day, dt.datetime) else dt.datetime.combine(day, dt.time())
    if unit == "day":  # a breakout by day: "EEEE, MMMM d, yyyy" unless a style is set
        style = DateSettings("dddd, MMMM D, YYYY", settings.abbreviate, locale=settings.locale)
        return java_format(moment, style.pattern(), settings.locale)
    if unit == "week":  # a breakout by week: the week's first and last day
        end = moment + dt.timedelta(days=6)
        plain = DateSettings(settings.style, settings.abbreviate, settings.separator,
                             locale=settings.locale)
        return (f"{java_format(moment, plain.pattern(), settings.locale)} - "
                f"{java_format(end, plain.pattern(), settings.locale)}")
    return java_format(moment, settings.pattern(), settings.locale)


def format_number(value: float, *, style: str = "normal", decimals: int | None = None,
                  currency_style: str | None = None, separators: str = ".,") -> str:
    """Metabase's number formatter: `#,##0` with at most two decimals (trailing zeros
    stripped) unless `decimals` is set; percent × 100; currencies inline when
    `currency_style` is given (JPY has no decimals)."""
    if style == "percent":
        value = value * 100
    if currency_style is not None:
        decimals = 0
    digits = 2 if decimals is None else decimals
    text = f"{value:,.{digits}f}"
    if decimals is None and "." in text:
        text = text.rstrip("0").rstrip(".")
    decimal, grouping = separators[0], separators[1:] or ""
    text = text.replace(",", "\0").replace(".", decimal).replace("\0", grouping)
    if style == "percent":
        text += "%"
    if currency_style == "symbol":
        text = "¥" + text
    elif currency_style == "code":
        text = "JPY " + text
    elif currency_style == "name":
        text += " Japanese yen"
    return text


# ---------------------------------------------------------------------------- writers


def csv_bytes(header: list[str], rows: list[list], bom: bool = False) -> bytes:
    """clojure.data.csv: quote a value only when it holds `,` `"` CR or LF; LF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    data = out.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def json_bytes(header: list[str], rows: list[list]) -> bytes:
    """`[\\n{...},\\n{...}\\n]`, each object compact as cheshire writes it."""
    objects = [json.dumps(dict(zip(header, row)), ensure_ascii=False, separators=(",", ":"))
               for row in rows]
    return ("[\n" + ",\n".join(objects) + "\n]").encode("utf-8")


_EPOCH = dt.datetime(1899, 12, 30)


def _serial(value: dt.date | dt.datetime) -> float:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
    delta = moment - _EPOCH
    return delta.days + delta.seconds / 86400


def _column(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def xlsx_bytes(header: list[str], rows: list[list], sheet: str = "Query result") -> bytes:
    """An SXSSF workbook as Metabase writes it: header row with an auto-filter and a frozen
    pane, text as inline strings, numbers as numbers (`#,##0` / `#,##0.##`), dates as serial
    numbers styled "mmmm d, yyyy" (with ", h:mm am/pm" for date-times)."""
    styles = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              '<numFmts count="4"><numFmt numFmtId="164" formatCode="mmmm d, yyyy"/>'
              '<numFmt numFmtId="165" formatCode="mmmm d, yyyy, h:mm am/pm"/>'
              '<numFmt numFmtId="166" formatCode="#,##0"/>'
              '<numFmt numFmtId="167" formatCode="#,##0.##"/></numFmts>'
              '<fonts count="1"><font><sz val="11.0"/><name val="Calibri"/></font></fonts>'
              '<fills count="2"><fill><patternFill patternType="none"/></fill>'
              '<fill><patternFill patternType="darkGray"/></fill></fills>'
              '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
              '</borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
              'borderId="0"/></cellStyleXfs><cellXfs count="5">'
              '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
              '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" '
              'applyNumberFormat="true"/>'
              '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" '
              'applyNumberFormat="true"/>'
              '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" '
              'applyNumberFormat="true"/>'
              '<xf numFmtId="167" fontId="0" fillId="0" borderId="0" xfId="0" '
              'applyNumberFormat="true"/></cellXfs></styleSheet>')

    def cell(ref: str, value) -> str:
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            return f'<c r="{ref}" s="2" t="n"><v>{_serial(value)!r}</v></c>'
        if isinstance(value, dt.date):
            return f'<c r="{ref}" s="1" t="n"><v>{_serial(value)!r}</v></c>'
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            style = 3 if float(value).is_integer() else 4
            return f'<c r="{ref}" s="{style}" t="n"><v>{float(value)!r}</v></c>'
        text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'

    body = []
    for r, values in enumerate([header] + rows, start=1):
        cells = "".join(cell(f"{_column(c)}{r}", v) for c, v in enumerate(values))
        body.append(f'<row r="{r}">{cells}</row>')
    last = f"{_column(len(header) - 1)}1"
    sheet_xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="http://schemas.'
                 'openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1"/><sheetViews>'
                 '<sheetView workbookViewId="0" tabSelected="true"><pane ySplit="1.0" '
                 'topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView>'
                 '</sheetViews><sheetFormatPr defaultRowHeight="15.0"/><sheetData>'
                 + "".join(body) + f'</sheetData><autoFilter ref="A1:{last}"/></worksheet>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        zf = _Fixed(archive)
        zf.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Types xmlns="http://schemas.'
            'openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
            'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'))
        zf.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http:'
            '//schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'))
        zf.writestr("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8"?>\n<workbook xmlns="http://schemas.'
            'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats'
            '.org/officeDocument/2006/relationships"><workbookPr date1904="false"/><sheets>'
            f'<sheet name="{sheet}" r:id="rId3" sheetId="1"/></sheets><definedNames>'
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="true">'
            f"'{sheet}'!$A$1:${_column(len(header) - 1)}$1</definedName></definedNames>"
            '</workbook>'))
        zf.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Target='
            '"styles.xml" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/styles"/><Relationship Id="rId3" Target="worksheets/sheet1.xml" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'worksheet"/></Relationships>'))
        zf.writestr("xl/styles.xml", styles)
        zf.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return buffer.getvalue()


class _Fixed:
    """Writes ZIP members with a fixed time, so the same workbook is the same bytes."""

    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive

    def writestr(self, name: str, data: str) -> None:
        info = zipfile.ZipInfo(name, date_time=(2026, 1, 20, 9, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        self.archive.writestr(info, data)


# ---------------------------------------------------------------------------- a usage question

# Weekly usage of three customers, as a Metabase question over the product's events table
# returns it: one row per account and day. Day 19 shows the order of numeric dates.
USAGE = [
    ("A1", dt.date(2026, 1, 5), 1234, 87),
    ("A2", dt.date(2026, 1, 12), 0, 3),
    ("A3", dt.date(2026, 1, 19), 56, 2185),
]
CANONICAL = [(a, d, deliveries, logins) for a, d, deliveries, logins in USAGE]


def usage_export(kind: str) -> tuple[str, bytes]:
    """(file name, bytes) of the usage question exported in one of Metabase's ways (see
    SAMPLE_KINDS)."""
    header = ["Account ID", "Date", "Deliveries", "Logins"]
    fmt = lambda v: format_number(v)  # noqa: E731 - Metabase's default number formatting
    dated = lambda settings, unit=None: [  # noqa: E731
        [a, format_date(d, settings, unit), fmt(x), fmt(y)] for a, d, x, y in USAGE]
    if kind == "csv-unformatted":
        return "usage.csv", csv_bytes(header, [[a, d.isoformat(), x, y] for a, d, x, y in USAGE])
    if kind == "csv-unformatted-timestamp":
        return "usage.csv", csv_bytes(header, [[a, f"{d.isoformat()}T00:00:00+09:00", x, y]
                                               for a, d, x, y in USAGE])
    if kind == "csv-formatted":
        return "usage.csv", csv_bytes(header, dated(DateSettings()))
    if kind == "csv-formatted-bom":
        return "usage.csv", csv_bytes(header, dated(DateSettings()), bom=True)
    if kind == "csv-formatted-timestamp":
        rows = [[a, format_date(dt.datetime.combine(d, dt.time()),
                                DateSettings(time_style="h:mm A")), fmt(x), fmt(y)]
                for a, d, x, y in USAGE]
        return "usage.csv", csv_bytes(header, rows)
    if kind == "csv-native":
        return "usage.csv", csv_bytes(["account_id", "date", "deliveries", "logins"],
                                      dated(DateSettings()))
    if kind == "csv-summarized":
        rows = [[a, format_date(d, DateSettings(), "day"), fmt(x), fmt(y), fmt(1)]
                for a, d, x, y in USAGE]
        return "usage.csv", csv_bytes(["Account ID", "Date: Day", "Sum of Deliveries",
                                       "Sum of Logins", "Count"], rows)
    if kind == "csv-weekly":
        rows = [[a, format_date(d, DateSettings(), "week"), fmt(x), fmt(y)]
                for a, d, x, y in USAGE]
        return "usage.csv", csv_bytes(["Account ID", "Date: Week", "Sum of Deliveries",
                                       "Sum of Logins"], rows)
    if kind.startswith("csv-style-"):
        settings = STYLE_VARIANTS[kind.removeprefix("csv-style-")]
        return "usage.csv", csv_bytes(header, dated(settings))
    if kind == "json-formatted":
        return "usage.json", json_bytes(header, dated(DateSettings()))
    if kind == "json-unformatted":
        return "usage.json", json_bytes(header, [[a, f"{d.isoformat()}T00:00:00Z", x, y]
                                                 for a, d, x, y in USAGE])
    if kind == "xlsx":
        return "usage.xlsx", xlsx_bytes(header, [[a, d, x, y] for a, d, x, y in USAGE])
    if kind == "xlsx-timestamp":
        return "usage.xlsx", xlsx_bytes(header, [[a, dt.datetime.combine(d, dt.time()), x, y]
                                                 for a, d, x, y in USAGE])
    raise KeyError(kind)


# Every date style with its abbreviated and time-of-day variants, and the Japanese locale.
STYLE_VARIANTS: dict[str, DateSettings] = {}
for _style in DATE_STYLES:
    _key = _style.replace("/", "-").replace(", ", "-").replace(" ", "-")
    STYLE_VARIANTS[_key] = DateSettings(_style)
    if "MMMM" in _style:
        STYLE_VARIANTS[f"{_key}-abbreviated"] = DateSettings(_style, abbreviate=True)
        STYLE_VARIANTS[f"{_key}-ja"] = DateSettings(_style, locale="ja")
    else:
        for _separator in ("-", "."):
            STYLE_VARIANTS[f"{_key}-{'dashes' if _separator == '-' else 'dots'}"] = \
                DateSettings(_style, separator=_separator)
    STYLE_VARIANTS[f"{_key}-12h"] = DateSettings(_style, time_style="h:mm A")
    STYLE_VARIANTS[f"{_key}-24h-seconds"] = DateSettings(_style, time_style="HH:mm",
                                                         time_enabled="seconds")
STYLE_VARIANTS["MMMM-D-YYYY-ja-12h"] = DateSettings(time_style="h:mm A", locale="ja")
STYLE_VARIANTS["dddd-MMMM-D-YYYY-abbreviated-12h-ms"] = DateSettings(
    "dddd, MMMM D, YYYY", abbreviate=True, time_style="h:mm A", time_enabled="milliseconds")

SAMPLE_KINDS = (["csv-unformatted", "csv-unformatted-timestamp", "csv-formatted",
                 "csv-formatted-bom", "csv-formatted-timestamp", "csv-native", "csv-summarized",
                 "csv-weekly", "json-formatted", "json-unformatted", "xlsx", "xlsx-timestamp"]
                + [f"csv-style-{k}" for k in STYLE_VARIANTS])


def write_samples(folder: Path, kinds=SAMPLE_KINDS) -> list[Path]:
    """One file per export kind, named `<kind>.<ext>`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in kinds:
        name, data = usage_export(kind)
        path = folder / f"{kind}{Path(name).suffix}"
        path.write_bytes(data)
        paths.append(path)
    return paths
