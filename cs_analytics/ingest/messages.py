"""What the importer tells a user, in English and Japanese: each problem is a catalogue key and
its values (`Text`), rendered in the language of whoever reads it — the CLI in English, the Data
page in the UI's language — and every name or value from a file is made printable first, so a
file name with a line break or an escape sequence cannot rewrite a terminal or a page.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

LANGUAGES = ("en", "ja")


def printable(text) -> str:
    """Text from outside (a file name, a header, a value) with every control character shown as
    an escape (`\\n`, `\\x1b`) and backslashes doubled: one line that cannot move a cursor."""
    out = []
    for ch in str(text):
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch.isprintable() or ch in "\u3000":
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


def terminal_safe(text) -> str:
    """`text` with control characters (line breaks, escape sequences, C1 codes) shown as
    escapes, everything else — backslashes included — as it is: for lines printed by the
    CLI, which may carry names from files."""
    return "".join(ch if ch.isprintable() or ch in "\u3000" else printable(ch) for ch in str(text))


def show_value(value, limit: int = 60) -> str:
    """A value quoted for a one-line message, control characters escaped, long text cut."""
    text = printable(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return f'"{text}"'


@dataclass(frozen=True)
class Text:
    """A message: a key of `MESSAGES` and the values its templates take (str, int, float, or
    another Text / Choices rendered in the same language)."""

    key: str
    values: tuple = ()

    def render(self, lang: str = "en") -> str:
        lang = lang if lang in LANGUAGES else "en"
        template = MESSAGES[self.key][lang]
        values = {name: (v.render(lang) if isinstance(v, (Text, Choices)) else v)
                  for name, v in self.values}
        return template.format(**values)

    def __str__(self) -> str:
        return self.render("en")

    def to_json(self) -> dict:
        return {"key": self.key, "values": {
            name: (v.to_json() if isinstance(v, (Text, Choices)) else v)
            for name, v in self.values}}

    @staticmethod
    def from_json(data: dict) -> "Text":
        values = []
        for name, v in data["values"].items():
            if isinstance(v, dict) and "items" in v:
                v = Choices(tuple(v["items"]), v["word"])
            elif isinstance(v, dict):
                v = Text.from_json(v)
            values.append((name, v))
        return Text(data["key"], tuple(values))


def placeholders_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def msg(key: str, **values) -> Text:
    """The message `key` with its values (checked against the catalogue when rendered)."""
    if key not in MESSAGES:
        raise KeyError(key)
    return Text(key, tuple(values.items()))


@dataclass(frozen=True)
class Choices:
    """Items listed in a message: "a, b or c" / "a、b または c" (word "or"), "a, b and c"
    ("and"), "a / b" ("/") or "a, b" ("," — a plain list)."""

    items: tuple
    word: str = "or"

    def render(self, lang: str = "en") -> str:
        items = [str(i) for i in self.items]
        if self.word == "/":
            return " / ".join(items)
        if self.word == ",":
            return ("、" if lang == "ja" else ", ").join(items)
        if len(items) < 2:
            return "".join(items)
        if lang == "ja":
            joined = "、".join(items[:-1])
            return f"{joined} {'または' if self.word == 'or' else 'と'} {items[-1]}"
        return f"{', '.join(items[:-1])} {self.word} {items[-1]}"

    def to_json(self) -> dict:
        return {"items": list(self.items), "word": self.word}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, where a spreadsheet user would look for it: the file
    as named by the user, the row as a spreadsheet counts it (header = row 1), the column as
    headed in the file, and what was wrong and expected."""

    file: str
    row: int | None
    column: str | None
    text: Text

    def __post_init__(self):
        if isinstance(self.text, str):
            object.__setattr__(self, "text", msg("plain", text=self.text))

    @property
    def message(self) -> str:
        return self.text.render("en")

    def localized(self, lang: str) -> str:
        """The message alone, in `lang`."""
        return self.text.render(lang)

    def where(self) -> str:
        """file:row:column, printable."""
        where = printable(self.file)
        if self.row is not None:
            where += f":{self.row}"
        if self.column is not None:
            where += f":{printable(self.column)}"
        return where

    def line(self, lang: str = "en") -> str:
        return f"{self.where()}: {self.text.render(lang)}"

    def __str__(self) -> str:
        return self.line("en")

    def to_json(self) -> dict:
        return {"file": self.file, "row": self.row, "column": self.column,
                "text": self.text.to_json()}

    @staticmethod
    def from_json(data: dict) -> "Problem":
        return Problem(data["file"], data["row"], data["column"], Text.from_json(data["text"]))


class FileRejected(Exception):
    """A file that cannot be staged at all (format, encoding, headers); carries its problems."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def reject(name: str, text: Text, row: int | None = None,
           column: str | None = None) -> FileRejected:
    return FileRejected([Problem(name, row, column, text)])


# Each message: English and Japanese templates with the same placeholders (a test checks).
# Values shown in quotes come from `show_value`; names of settings stay in English.
MESSAGES: dict[str, dict[str, str]] = {
    "plain": {"en": "{text}", "ja": "{text}"},

    # -- what a valid value looks like (used inside other messages)
    "expected.text": {"en": "text", "ja": "文字列"},
    "expected.date": {"en": "a date like 2026-04-01 (YYYY-MM-DD or YYYY/MM/DD)",
                      "ja": "2026-04-01 のような日付（YYYY-MM-DD または YYYY/MM/DD）"},
    "expected.amount": {"en": "an amount in yen of 0 or more, like 120000 or 1,200,000",
                        "ja": "0 以上の円の金額（例: 120000、1,200,000）"},
    "expected.count": {"en": "a whole number of 0 or more", "ja": "0 以上の整数"},
    "expected.bool": {"en": "true or false", "ja": "true または false"},
    "expected.enum": {"en": "one of {choices}", "ja": "{choices} のいずれか"},

    # -- the file as a whole
    "file.too_large": {
        "en": "is {size} MB; files larger than {max_mb} MB are not accepted (setting "
              "import.upload_max_mb)",
        "ja": "{size} MB あります。{max_mb} MB を超えるファイルは取り込めません（設定 "
              "import.upload_max_mb）"},
    "file.empty": {"en": "is empty; expected a header row and data rows",
                   "ja": "空のファイルです。見出し行とデータ行が必要です"},
    "file.not_regular": {
        "en": "is not a regular file (a device, a folder or a pipe); expected a CSV, XLSX or "
              "JSON file",
        "ja": "通常のファイルではありません（デバイス・フォルダー・パイプ）。CSV、XLSX または JSON "
              "ファイルが必要です"},
    "file.not_found": {"en": "file not found", "ja": "ファイルが見つかりません"},
    "file.magic": {"en": "is {what}, not a CSV, XLSX or JSON file",
                   "ja": "{what}です。CSV、XLSX、JSON ファイルではありません"},
    "what.xls_or_encrypted": {"en": "an old Excel .xls workbook (or an encrypted workbook); save "
                                    "it as .xlsx or CSV",
                              "ja": "古い Excel の .xls ブック（または暗号化されたブック）。.xlsx "
                                    "または CSV で保存し直してください"},
    "what.pdf": {"en": "a PDF document", "ja": "PDF 文書"},
    "what.gzip": {"en": "a gzip archive", "ja": "gzip 圧縮ファイル"},
    "what.png": {"en": "a PNG image", "ja": "PNG 画像"},
    "what.jpeg": {"en": "a JPEG image", "ja": "JPEG 画像"},
    "what.gif": {"en": "a GIF image", "ja": "GIF 画像"},
    "what.7z": {"en": "a 7-Zip archive", "ja": "7-Zip 圧縮ファイル"},
    "what.rar": {"en": "a RAR archive", "ja": "RAR 圧縮ファイル"},
    "what.rtf": {"en": "an RTF document", "ja": "RTF 文書"},
    "what.sqlite": {"en": "an SQLite database", "ja": "SQLite データベース"},
    "file.zip_with_text_ext": {
        "en": "has the extension {ext} but is a ZIP archive (an XLSX workbook?); expected a "
              "CSV, XLSX or JSON file",
        "ja": "拡張子は {ext} ですが ZIP 形式（XLSX ブック？）です。CSV、XLSX または JSON "
              "ファイルが必要です"},
    "file.xlsx_not_zip": {
        "en": "has the extension {ext} but is not an Excel workbook; expected an .xlsx file "
              "saved by Excel, Metabase or Google Sheets",
        "ja": "拡張子は {ext} ですが Excel ブックではありません。Excel・Metabase・Google "
              "スプレッドシートで保存した .xlsx ファイルが必要です"},
    "file.xls": {"en": "is an old Excel .xls workbook; save it as .xlsx or CSV",
                 "ja": "古い Excel の .xls ブックです。.xlsx または CSV で保存し直してください"},
    "file.binary": {"en": "is a binary file, not a CSV, XLSX or JSON file",
                    "ja": "バイナリファイルです。CSV、XLSX、JSON ファイルではありません"},
    "file.html": {
        "en": "is an HTML or XML page, not a data export (a failed download or a login page?); "
              "expected a CSV, XLSX or JSON file",
        "ja": "HTML または XML のページで、データのエクスポートではありません（ダウンロードの失敗か"
              "ログイン画面？）。CSV、XLSX または JSON ファイルが必要です"},
    "file.json_ext_not_json": {
        "en": "has the extension {ext} but does not contain JSON; expected an array of objects "
              "like [{{\"account_id\": \"A1\", …}}]",
        "ja": "拡張子は {ext} ですが JSON ではありません。[{{\"account_id\": \"A1\", …}}] のような"
              "オブジェクトの配列が必要です"},
    "file.nul": {
        "en": "contains a NUL byte at position {pos:,} (line {line:,}); expected text — a CSV "
              "saved by Excel or Metabase never contains one",
        "ja": "{pos:,} バイト目（{line:,} 行目）に NUL バイトがあります。テキストが必要です（Excel "
              "や Metabase が保存した CSV には含まれません）"},
    "file.not_text": {
        "en": "is not {expected} text: the byte at position {pos:,} (line {line:,}) cannot be "
              "decoded; expected a CSV saved as UTF-8 or CP932 (Excel: 'CSV UTF-8')",
        "ja": "{expected} のテキストではありません: {pos:,} バイト目（{line:,} 行目）を読めません。"
              "UTF-8 または CP932 で保存した CSV が必要です（Excel では「CSV UTF-8」）"},
    "encoding.utf8": {"en": "UTF-8", "ja": "UTF-8"},
    "encoding.utf8_or_cp932": {"en": "UTF-8 or CP932 (Shift-JIS)",
                               "ja": "UTF-8 または CP932（Shift-JIS）"},
    "encoding.utf16": {"en": "UTF-16", "ja": "UTF-16"},
    "file.unreadable": {
        "en": "could not be read: {reason}",
        "ja": "読み込めませんでした: {reason}"},
    "reader.memory": {
        "en": "reading it needed more than the {mb:,} MB of memory a file may use (setting "
              "import.reader_memory_mb); expected a smaller workbook — export large data as CSV",
        "ja": "読み込みにファイル 1 つあたりの上限 {mb:,} MB（設定 import.reader_memory_mb）を"
              "超えるメモリが必要でした。もっと小さなブックが必要です（大きなデータは CSV で"
              "エクスポートしてください）"},
    "reader.timeout": {
        "en": "reading it took longer than {seconds:,} seconds (setting "
              "import.reader_timeout_seconds); expected a smaller file — export large data as CSV",
        "ja": "読み込みが {seconds:,} 秒（設定 import.reader_timeout_seconds）を超えました。"
              "もっと小さなファイルが必要です（大きなデータは CSV でエクスポートしてください）"},
    "reader.crashed": {
        "en": "the reader stopped unexpectedly ({detail}); expected an .xlsx or JSON file saved "
              "by Excel, Metabase or Google Sheets",
        "ja": "読み込み処理が異常終了しました（{detail}）。Excel・Metabase・Google "
              "スプレッドシートで保存した .xlsx または JSON ファイルが必要です"},

    # -- CSV structure
    "csv.header_too_long": {
        "en": "has a header row longer than {mb} MB; expected a header row of column names",
        "ja": "見出し行が {mb} MB を超えています。列名の見出し行が必要です"},
    "csv.no_header": {"en": "has no header in its first row; expected column names in row 1",
                      "ja": "1 行目に見出しがありません。1 行目に列名が必要です"},
    "csv.header_unclosed_quote": {
        "en": "has a header row with an unclosed quote; expected column names in row 1",
        "ja": "見出し行に閉じていない引用符があります。1 行目に列名が必要です"},
    "csv.unreadable_near": {
        "en": "could not be read as CSV near row {row}: {detail}; expected comma, tab or "
              "semicolon separated values with \"double quotes\" around values that contain them",
        "ja": "{row} 行目付近を CSV として読めません: {detail}。カンマ・タブ・セミコロン区切りで、"
              "区切り文字を含む値は \"二重引用符\" で囲んだ値が必要です"},
    "csv.too_many_values": {
        "en": "has {n} values but the header has {width} columns; expected at most {width} "
              "values separated by {separator} (quote values that contain the separator)",
        "ja": "値が {n} 個ありますが、見出しは {width} 列です。{separator}区切りで {width} 個以下の"
              "値が必要です（区切り文字を含む値は引用符で囲んでください）"},
    "csv.bad_quotes": {
        "en": "could not be read as CSV: {detail}; expected \"double quotes\" to be closed and "
              "doubled (\"\") inside values",
        "ja": "CSV として読めません: {detail}。\"二重引用符\" は閉じ、値の中では (\"\") と二重に"
              "する必要があります"},
    "csv.malformed": {
        "en": "could not be read as CSV: {reason}; expected comma, tab or semicolon separated "
              "values with \"double quotes\" around values that contain them",
        "ja": "CSV として読めません: {reason}。カンマ・タブ・セミコロン区切りで、区切り文字を含む値"
              "は \"二重引用符\" で囲んだ値が必要です"},
    "csv.reason.malformed": {"en": "the line is malformed", "ja": "行の形式が正しくありません"},
    "csv.reason.unclosed": {"en": "a quoted value is never closed",
                            "ja": "引用符で始まる値が閉じていません"},
    "csv.reason.too_long": {"en": "the line is too long", "ja": "行が長すぎます"},
    "csv.reason.width": {"en": "the line does not have {width} values",
                         "ja": "行の値が {width} 個ではありません"},
    "csv.line_too_long": {
        "en": "is {size} MB long; expected rows of at most {max_mb} MB (no value of any table "
              "is that long — is a quote left open?)",
        "ja": "1 行が {size} MB あります。1 行は {max_mb} MB までです（どの表の値もそこまで長く"
              "なりません。引用符が閉じていないのでは？）"},
    "separator.commas": {"en": "commas", "ja": "カンマ"},
    "separator.tabs": {"en": "tabs", "ja": "タブ"},
    "separator.semicolons": {"en": "semicolons", "ja": "セミコロン"},

    # -- headers and kind
    "kind.unknown": {
        "en": "cannot tell which table this file is for from its columns ({shown}); expected "
              "the columns of one of users (user_id, name), accounts (account_id, name, "
              "owner_id), contracts (contract_id, …), activities (activity_id, …), usage "
              "(account_id, date, deliveries or logins), or give the kind (--kind)",
        "ja": "列（{shown}）からどの表のファイルか判断できません。users (user_id, name)、accounts "
              "(account_id, name, owner_id)、contracts (contract_id, …)、activities "
              "(activity_id, …)、usage (account_id, date, deliveries または logins) のいずれかの"
              "列が必要です。または種類を指定してください（--kind）"},
    "kind.none": {"en": "none", "ja": "なし"},
    "kind.ambiguous": {
        "en": "its columns ({shown}) fit several tables ({tables}); expected the kind to be "
              "given (--kind)",
        "ja": "列（{shown}）が複数の表（{tables}）に当てはまります。種類の指定が必要です（--kind）"},
    "header.more_columns": {"en": "{shown}, … ({n} columns)", "ja": "{shown}、…（{n} 列）"},
    "header.duplicate": {
        "en": "{second} and {first} both mean {canonical}; expected one column per field "
              "(remove one, or map it elsewhere in [import.mapping])",
        "ja": "{second} と {first} はどちらも {canonical} を表します。1 項目につき 1 列が必要です"
              "（どちらかを削除するか、[import.mapping] で別の列に割り当ててください）"},
    "header.missing": {"en": "column is missing; expected a column named {names}",
                       "ja": "列がありません。{names} という名前の列が必要です"},
    "header.missing_with_mapping": {
        "en": "column is missing; expected a column named {names} (if {header} is that "
              "column, add under [import.mapping.{table}] in cs_analytics.toml: {lines})",
        "ja": "列がありません。{names} という名前の列が必要です（{header} がその列なら、"
              "cs_analytics.toml の [import.mapping.{table}] に次を追加してください: {lines}）"},
    "header.amount_and_mrr_missing": {
        "en": "columns amount and mrr are both missing; expected amount (total for the term, "
              "{amount}) or mrr ({mrr})",
        "ja": "amount と mrr の列がどちらもありません。amount（契約期間の総額、{amount}）または "
              "mrr（{mrr}）が必要です"},
    "header.ignored": {"en": "columns not part of {table} were ignored: {shown}{more}",
                       "ja": "{table} にない列は無視しました: {shown}{more}"},
    "header.ignored_more": {"en": " and {n:,} more", "ja": " ほか {n:,} 列"},

    # -- XLSX
    "xlsx.unreadable": {
        "en": "is not a readable XLSX workbook ({detail}); expected an .xlsx file saved by "
              "Excel, Metabase or Google Sheets",
        "ja": "XLSX ブックとして読めません（{detail}）。Excel・Metabase・Google スプレッドシートで"
              "保存した .xlsx ファイルが必要です"},
    "xlsx.no_sheets": {
        "en": "has no sheets; expected a sheet named 'Query result' or data on the first sheet",
        "ja": "シートがありません。「Query result」という名前のシートか、最初のシートにデータが"
              "必要です"},
    "xlsx.empty_sheet": {"en": "sheet {sheet} is empty; expected a header row and data rows",
                         "ja": "シート {sheet} は空です。見出し行とデータ行が必要です"},
    "xlsx.unpacked_too_large": {
        "en": "sheet {sheet} unpacks to more than {max_mb:,} MB; expected a workbook of at most "
              "{max_mb:,} MB unpacked per sheet ({ratio} × import.upload_max_mb) — export large "
              "data as CSV",
        "ja": "シート {sheet} は展開すると {max_mb:,} MB を超えます。展開後 1 シート {max_mb:,} MB "
              "（import.upload_max_mb の {ratio} 倍）までのブックが必要です（大きなデータは CSV で"
              "エクスポートしてください）"},
    "xlsx.too_many_cells": {
        "en": "sheet {sheet} spans {rows:,} rows × {columns:,} columns (up to cell {cell}), "
              "{cells:,} cells; expected at most {max_cells:,} cells ({per_mb:,} per MB of "
              "import.upload_max_mb) — export large data as CSV",
        "ja": "シート {sheet} は {rows:,} 行 × {columns:,} 列（セル {cell} まで）、{cells:,} "
              "セルあります。{max_cells:,} セル（import.upload_max_mb 1 MB あたり {per_mb:,}）"
              "までが必要です（大きなデータは CSV でエクスポートしてください）"},
    "xlsx.bad_cell_reference": {
        "en": "sheet {sheet} has an invalid cell reference {ref}; expected references like A1 "
              "up to XFD1048576",
        "ja": "シート {sheet} に不正なセル参照 {ref} があります。A1 から XFD1048576 までの"
              "参照が必要です"},

    # -- JSON
    "json.invalid": {
        "en": "is not valid JSON: {detail} at line {line} column {column}; expected an array of "
              "objects like [{{\"account_id\": \"A1\", …}}]",
        "ja": "JSON として正しくありません: {line} 行 {column} 文字目で {detail}。"
              "[{{\"account_id\": \"A1\", …}}] のようなオブジェクトの配列が必要です"},
    "json.too_deep": {"en": "is JSON nested too deeply; expected an array of flat objects",
                      "ja": "JSON の入れ子が深すぎます。平らなオブジェクトの配列が必要です"},
    "json.not_array": {
        "en": "is JSON but not an array; expected an array of objects like "
              "[{{\"account_id\": \"A1\", …}}]",
        "ja": "JSON ですが配列ではありません。[{{\"account_id\": \"A1\", …}}] のような"
              "オブジェクトの配列が必要です"},
    "json.record_not_object": {
        "en": "record {n} is {kind} {value}; expected every record to be an object",
        "ja": "{n} 件目のレコードは {kind} {value} です。すべてのレコードがオブジェクトである"
              "必要があります"},
    "json.line_invalid": {
        "en": "line {line} is not valid JSON: {detail} at column {column}; expected one object "
              "per line",
        "ja": "{line} 行目が JSON として正しくありません（{column} 文字目で {detail}）。"
              "1 行に 1 つのオブジェクトが必要です"},
    "json.record_too_large": {
        "en": "record {n} is longer than {max_mb} MB; expected records of at most {max_mb} MB",
        "ja": "{n} 件目のレコードが {max_mb} MB を超えています。1 レコード {max_mb} MB までが"
              "必要です"},

    # -- values
    "value.not_date": {"en": "{value} is not a date; expected {expected}",
                       "ja": "{value} は日付ではありません。{expected}が必要です"},
    "value.bad_time": {
        "en": "{value} has a time of day that does not exist ({time}); expected {expected}, "
              "with a time from 00:00 to 23:59 if any",
        "ja": "{value} の時刻（{time}）は存在しません。{expected}が必要です（時刻を付けるなら "
              "00:00〜23:59）"},
    "value.date_range": {
        "en": "{value} is outside the accepted range; expected a date between {first} and "
              "{last}",
        "ja": "{value} は受け付ける範囲外です。{first} から {last} までの日付が必要です"},
    "value.date_not_day": {
        "en": "{value} is a {unit}, not a day; expected {expected} (group the Metabase question "
              "by day or week)",
        "ja": "{value} は{unit}で、日付ではありません。{expected}が必要です（Metabase の質問を"
              "日または週でグループ化してください）"},
    "unit.month": {"en": "month", "ja": "月"},
    "unit.quarter": {"en": "quarter", "ja": "四半期"},
    "unit.year": {"en": "year", "ja": "年"},
    "unit.week_number": {"en": "week number", "ja": "週番号"},
    "value.negative": {"en": "{value} is negative; expected {expected}",
                       "ja": "{value} は負の数です。{expected}が必要です"},
    "value.not_whole": {"en": "{value} is not a whole number; expected {expected}",
                        "ja": "{value} は整数ではありません。{expected}が必要です"},
    "value.too_large": {"en": "{value} is too large; expected {expected}",
                        "ja": "{value} は大きすぎます。{expected}が必要です"},
    "value.above_bound": {
        "en": "{value} is above the limit of {limit} (setting {setting}); expected {expected}",
        "ja": "{value} は上限 {limit}（設定 {setting}）を超えています。{expected}が必要です"},
    "value.scientific": {
        "en": "{value} is in scientific notation, which Metabase rounds; expected {expected} "
              "(set the column's style to Normal in Metabase)",
        "ja": "{value} は指数表記で、Metabase が丸めた値です。{expected}が必要です（Metabase で列の"
              "スタイルを「標準」にしてください）"},
    "value.percent_not_whole": {
        "en": "{value} is a percentage ({number}), not a whole number; expected {expected}",
        "ja": "{value} はパーセント（{number}）で、整数ではありません。{expected}が必要です"},
    "value.not_amount": {"en": "{value} is not an amount; expected {expected}",
                         "ja": "{value} は金額ではありません。{expected}が必要です"},
    "value.not_bool": {"en": "{value} is not true or false; expected {true} or {false}",
                       "ja": "{value} は true / false ではありません。{true} または {false} が"
                             "必要です"},
    "value.not_enum": {"en": "{value} is not a known {column}; expected {expected}{also}",
                       "ja": "{value} は {column} として使えない値です。{expected}が必要です"
                             "{also}"},
    "value.enum_also": {"en": " (or {aliases})", "ja": "（または {aliases}）"},
    "value.empty": {"en": "is empty; expected {expected}", "ja": "空です。{expected}が必要です"},
    "value.required": {"en": "a value (the {column} is required)",
                       "ja": "値（{column} は必須です）"},
    "value.amount_and_mrr_empty": {
        "en": "amount and mrr are both empty; expected the contract's total amount for the "
              "term or its monthly mrr",
        "ja": "amount と mrr がどちらも空です。契約期間の総額か月額 mrr が必要です"},
    "value.end_before_start": {
        "en": "{end} is before start_date {start}; expected an end date on or after the start "
              "date",
        "ja": "{end} は start_date {start} より前です。開始日以降の終了日が必要です"},
    "value.too_many_digits": {
        "en": "{value} has {digits:,} digits; expected {expected}",
        "ja": "{value} は {digits:,} 桁あります。{expected}が必要です"},

    # -- day/month order (numeric Metabase date styles)
    "dates.ambiguous": {
        "en": "dates like {example} can be read as {mdy} or {dmy}, and no date in the file has "
              "a day above 12; expected the order to be set: import.date_order = \"mdy\" "
              "(month first, Metabase's M/D/YYYY) or \"dmy\" (day first, D/M/YYYY) in "
              "cs_analytics.toml",
        "ja": "{example} のような日付は {mdy} とも {dmy} とも読め、13 日以降の日付がないため順序が"
              "決まりません。cs_analytics.toml で import.date_order = \"mdy\"（月が先: Metabase の "
              "M/D/YYYY）または \"dmy\"（日が先: D/M/YYYY）を設定してください"},
    "dates.mixed": {
        "en": "dates in this file are written both month first ({mdy_example}, row {mdy_row}) "
              "and day first ({dmy_example}, row {dmy_row}); expected one order (setting "
              "import.date_order)",
        "ja": "このファイルの日付には月が先のもの（{mdy_example}、{mdy_row} 行目）と日が先のもの"
              "（{dmy_example}、{dmy_row} 行目）が混在しています。順序は 1 つにしてください（設定 "
              "import.date_order）"},
    "dates.against_setting": {
        "en": "{value} cannot be a date in the order import.date_order = \"{order}\"; expected "
              "{expected}",
        "ja": "{value} は import.date_order = \"{order}\" の順序では日付になりません。"
              "{expected}が必要です"},

    # -- across rows and files
    "dup.repeat": {"en": "repeats {first} exactly ({key_name} {value}); loaded once",
                   "ja": "{first} とまったく同じ行です（{key_name} {value}）。1 行として取り込みました"},
    "dup.conflict": {
        "en": "{key_name} {value} is also on {first} with different values; expected each "
              "{key_name} once",
        "ja": "{key_name} {value} は {first} にも異なる値であります。{key_name} は 1 回だけ"
              "にしてください"},
    "dup.row": {"en": "row {row}", "ja": "{row} 行目"},
    "dup.file_row": {"en": "{file} row {row}", "ja": "{file} の {row} 行目"},
    "ref.unknown": {
        "en": "{value} is not a known {column}; expected the {column} of one of the {table} in "
              "this import or in the current data",
        "ja": "{value} は既知の {column} ではありません。この取り込みか現在のデータにある {table} の "
              "{column} が必要です"},
    "ref.unknown_usage": {
        "en": "{rows:,} rows for {keys:,} {column}s not in {table} ({examples}); they were "
              "loaded but count for no known account",
        "ja": "{table} にない {column} {keys:,} 件の行が {rows:,} 行あります（{examples}）。"
              "取り込みましたが、どの既知の顧客にも数えません"},
    "ref.replace_strands": {
        "en": "replacing {table} would leave {count:,} {other} of the current data pointing to "
              "{table} that are no longer there ({shown}); expected those {column}s in the "
              "file, or {other} imported too with replace",
        "ja": "{table} を置き換えると、現在のデータの {other} {count:,} 件がなくなる {table} を"
              "指すことになります（{shown}）。ファイルにそれらの {column} を含めるか、{other} も"
              "置き換えで取り込んでください"},
    "contract.no_month_end": {
        "en": "contract {contract} ({start} → {end}) covers no month-end, so it has no MRR; "
              "give its mrr or a term that includes the last day of a month",
        "ja": "契約 {contract}（{start} → {end}）は月末を含まないため MRR がありません。mrr を"
              "指定するか、月末日を含む期間にしてください"},
    "warnings.more": {"en": "… and {n:,} more warnings", "ja": "… ほか {n:,} 件の警告"},

    # -- the import as a whole
    "import.failed": {
        "en": "{n:,} problems in {files}; nothing was imported",
        "ja": "{files} に {n:,} 件の問題があるため、何も取り込んでいません"},
    "import.failed_one": {
        "en": "1 problem in {files}; nothing was imported",
        "ja": "{files} に 1 件の問題があるため、何も取り込んでいません"},
    "import.failed_more": {
        "en": "… and {more:,} more; {n:,} problems in {files}; nothing was imported",
        "ja": "… ほか {more:,} 件。{files} に {n:,} 件の問題があるため、何も取り込んでいません"},
    "import.no_files": {"en": "no files to import; give at least one CSV, XLSX or JSON file",
                        "ja": "取り込むファイルがありません。CSV、XLSX または JSON ファイルを 1 つ"
                              "以上指定してください"},
}
