"""File formats, encodings, header mapping and kind inference of the importer (no publishing:
`read_and_validate` stages and checks in a private database)."""

from __future__ import annotations

import codecs
import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest

from cs_analytics.config import settings_from_dict
from cs_analytics.ingest.files import detect_delimiter, decode_text, sniff_format, FileRejected
from cs_analytics.ingest.imports import read_and_validate
from cs_analytics.warehouse.store import Store

SETTINGS = settings_from_dict({})
ACCOUNT_NAMES = ["㈱髙島屋①", '株式会社 "Quote"', "back\\slash", "<b>HTML</b> & co",
                 "=1+1", "+81 3", "-minus", "@at", "  padded  name  "]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def validate(tmp_path, *paths, **kwargs):
    return read_and_validate(kwargs.pop("settings", SETTINGS), Store(tmp_path / "data"),
                             list(paths), **kwargs)


def staged_rows(v, file_index: int = 0) -> list[dict]:
    f = v.files[file_index]
    cursor = v.con.execute(f'SELECT * FROM "{f.staging}" ORDER BY _row')
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def typed_rows(v, table: str) -> list[dict]:
    cursor = v.con.execute(f'SELECT * FROM "{v.typed[table]}" ORDER BY _file, _row')
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def accounts_csv(names=ACCOUNT_NAMES) -> str:
    lines = ["取引先ID,取引先名,担当者ID,業種"]
    for i, name in enumerate(names):
        quoted = '"' + name.replace('"', '""') + '"'
        lines.append(f"A{i + 1},{quoted},u1,金融")
    return "\r\n".join(lines) + "\r\n"


# ---------------------------------------------------------------------------- encodings


def test_cp932_file_with_kabushiki_maru_numbers_and_itaiji(tmp_path):
    path = write(tmp_path / "accounts.csv", accounts_csv(), "cp932")
    users = write(tmp_path / "users.csv", "ユーザーID,氏名\r\nu1,髙橋①\r\n", "cp932")
    with pytest.raises(UnicodeEncodeError):
        accounts_csv().encode("shift_jis")  # why cp932: strict Shift-JIS cannot say ㈱ ① 髙
    with validate(tmp_path, path, users) as v:
        assert typed_rows(v, "users")[0]["name"] == "髙橋①"
        assert v.files[0].encoding == "cp932"
        assert v.files[0].table == "accounts"
        assert [r["name"] for r in typed_rows(v, "accounts")] == \
            [n.strip() for n in ACCOUNT_NAMES]
        assert [r["_row"] for r in typed_rows(v, "accounts")] == list(range(2, 11))
        assert v.problems == []


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"),
                                               ("utf-16", "utf-16")])
def test_utf8_with_and_without_bom_and_utf16(tmp_path, encoding, expected):
    path = write(tmp_path / "accounts.csv", accounts_csv(), encoding)
    with validate(tmp_path, path) as v:
        assert v.files[0].encoding == expected
        rows = typed_rows(v, "accounts")
        assert [r["name"] for r in rows] == [n.strip() for n in ACCOUNT_NAMES]
        assert rows[0]["account_id"] == "A1"  # the BOM is not part of the first header


def test_hostile_names_keep_their_exact_text(tmp_path):
    path = write(tmp_path / "accounts.csv", accounts_csv())
    with validate(tmp_path, path) as v:
        names = [r["name"] for r in typed_rows(v, "accounts")]
    assert names == ["㈱髙島屋①", '株式会社 "Quote"', "back\\slash", "<b>HTML</b> & co",
                     "=1+1", "+81 3", "-minus", "@at", "padded  name"]


def test_neither_utf8_nor_cp932_names_the_byte_position(tmp_path):
    data = "account_id,name,owner_id\nA1,ok,u1\n".encode() + b"A2,bad\x85\x40,u1\n"
    path = tmp_path / "accounts.csv"
    path.write_bytes(data)
    position = data.index(b"\x85") + 1
    with validate(tmp_path, path) as v:
        assert [str(p) for p in v.problems] == [
            f"accounts.csv: is not UTF-8 or CP932 (Shift-JIS) text: the byte at position "
            f"{position} (line 3) cannot be decoded; expected a CSV saved as "
            "UTF-8 or CP932 (Excel: 'CSV UTF-8')"]


def test_decode_text_streams_over_chunk_boundaries(tmp_path, monkeypatch):
    from cs_analytics.ingest import files

    monkeypatch.setattr(files, "CHUNK", 7)  # split multi-byte characters between reads
    text = accounts_csv()
    for encoding in ("utf-8", "cp932"):
        path = write(tmp_path / f"{encoding}.csv", text, encoding)
        decoded = decode_text(path, path.name, tmp_path)
        try:
            assert decoded.encoding == encoding
            assert decoded.path.read_bytes().decode("utf-8") == text
            assert not decoded.has_inner_blank_line
        finally:
            decoded.cleanup()


# ---------------------------------------------------------------------------- CSV layout


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_delimiters(tmp_path, sep):
    text = sep.join(["account_id", "name", "owner_id"]) + "\n" + \
        sep.join(["A1", '"a, b; c"', "u1"]) + "\n"
    with validate(tmp_path, write(tmp_path / "a.csv", text), kind="accounts") as v:
        assert v.files[0].delimiter == sep
        assert typed_rows(v, "accounts")[0]["name"] == "a, b; c"


def test_detect_delimiter_ignores_quoted_separators():
    assert detect_delimiter('"a;b;c",x,y') == ","
    assert detect_delimiter("a\tb,c\td") == "\t"
    assert detect_delimiter("single") == ","


def test_row_numbers_count_blank_lines_and_multiline_values(tmp_path):
    text = ("activity_id,account_id,date,type,subject\n"
            "X1,A1,2025-04-01,meeting,\"line one\n\nline three\"\n"
            "\n"
            "X2,A1,2025-04-02,call,plain\n"
            ",,,,\n"
            "X3,A1,2025-13-01,email,late\n\n\n")
    with validate(tmp_path, write(tmp_path / "activities.csv", text)) as v:
        rows = typed_rows(v, "activities")
        assert [(r["activity_id"], r["_row"]) for r in rows] == [("X1", 2), ("X2", 4), ("X3", 6)]
        assert rows[0]["subject"] == "line one\n\nline three"
        assert [str(p) for p in v.problems if p.column == "date"] == [
            'activities.csv:6:date: "2025-13-01" is not a date; expected a date like 2026-04-01 '
            "(YYYY-MM-DD or YYYY/MM/DD)"]


def test_rows_without_blank_lines_use_the_fast_path(tmp_path):
    text = "user_id,name\nu1,A\nu2,\"multi\nline\"\nu3,C\n"
    with validate(tmp_path, write(tmp_path / "users.csv", text)) as v:
        assert [(r["user_id"], r["_row"]) for r in typed_rows(v, "users")] == \
            [("u1", 2), ("u2", 3), ("u3", 4)]


def test_short_rows_are_padded_and_long_rows_are_problems(tmp_path):
    text = "user_id,name,email\nu1,A\nu2,B,b@x,extra\nu3,C,c@x\nu4,D,d@x,1,2\n"
    with validate(tmp_path, write(tmp_path / "users.csv", text)) as v:
        assert [str(p) for p in v.problems] == [
            "users.csv:3: has 4 values but the header has 3 columns; expected at most 3 values "
            "separated by commas (quote values that contain the separator)",
            "users.csv:5: has 5 values but the header has 3 columns; expected at most 3 values "
            "separated by commas (quote values that contain the separator)"]


def test_unclosed_quote_is_a_problem_not_a_crash(tmp_path):
    text = 'user_id,name\nu1,"never closed\nu2,B\n'
    with validate(tmp_path, write(tmp_path / "users.csv", text)) as v:
        assert len(v.problems) == 1
        assert v.problems[0].file == "users.csv"
        assert "could not be read as CSV" in v.problems[0].message


# ---------------------------------------------------------------------------- XLSX and JSON


def test_xlsx_query_result_sheet_with_real_dates(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active.append(["not", "this", "sheet"])
    ws = wb.create_sheet("Query result")
    ws.append(["契約ID", "取引先ID", "契約開始日", "契約終了日", "金額", "月額"])
    ws.append(["C1", "A1", dt.date(2024, 4, 15), dt.datetime(2025, 4, 14), 1_200_000, None])
    ws.append([None] * 6)
    ws.append([1001, "A1", dt.datetime(2025, 4, 15, 9, 30), dt.date(2026, 4, 14), 1500.0, 125.5])
    path = tmp_path / "contracts.xlsx"
    wb.save(path)
    with validate(tmp_path, path) as v:
        assert v.files[0].sheet == "Query result"
        raw = staged_rows(v)
        assert raw[0]["start_date"] == "2024-04-15" and raw[0]["end_date"] == "2025-04-14"
        assert raw[0]["amount"] == "1200000" and raw[1]["amount"] == "1500"
        assert raw[1]["contract_id"] == "1001"
        rows = typed_rows(v, "contracts")
        assert [r["_row"] for r in rows] == [2, 4]
        assert rows[1]["start_date"] == dt.date(2025, 4, 15)
        assert rows[1]["mrr"] == 125.5
        assert [p.column for p in v.problems] == ["取引先ID", "取引先ID"]  # A1 is unknown here


def test_xlsx_first_sheet_when_no_query_result(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["user_id", "name", "active"])
    wb.active.append(["u1", "Tanaka", True])
    wb.create_sheet("Other").append(["x"])
    path = tmp_path / "users.xlsx"
    wb.save(path)
    with validate(tmp_path, path) as v:
        assert v.files[0].sheet == "Sheet"
        assert typed_rows(v, "users")[0]["active"] is True


def test_json_array_like_metabase(tmp_path):
    records = [{"Account ID": "A1", "Date": "2025-04-01T00:00:00+09:00", "Deliveries": 3,
                "Logins": 12.0, "Viewers": None},
               {"Account ID": "A1", "Date": "2025-04-01T15:30:00Z", "Deliveries": 0,
                "Logins": 1, "Viewers": 5}]
    path = write(tmp_path / "usage.json", json.dumps(records))
    with validate(tmp_path, path) as v:
        f = v.files[0]
        assert (f.format, f.table) == ("json", "usage")
        rows = typed_rows(v, "usage")
        # 15:30 UTC is already the next day in Tokyo
        assert [(r["_row"], r["date"], r["logins"]) for r in rows] == \
            [(2, dt.date(2025, 4, 1), 12), (3, dt.date(2025, 4, 2), 1)]
        assert [str(w) for w in v.warnings] == [
            'usage.json:Account ID: 2 rows for 1 account_ids not in accounts ("A1"); they were '
            "loaded but count for no known account"]


def test_json_lines(tmp_path):
    path = write(tmp_path / "users.jsonl",
                 '{"user_id": "u1", "name": "A"}\n\n{"user_id": "u2", "name": "B"}\n')
    with validate(tmp_path, path) as v:
        assert [(r["user_id"], r["_row"]) for r in typed_rows(v, "users")] == \
            [("u1", 2), ("u2", 3)]


@pytest.mark.parametrize("text,message", [
    ('{"user_id": 1', "is not valid JSON: Expecting ',' delimiter at line 1 column 14; expected "
                      'an array of objects like [{"account_id": "A1", …}]'),
    ('[1, 2]', 'record 1 is int "1"; expected every record to be an object'),
    ('"text"', 'has the extension .json but does not contain JSON; expected an array of objects '
               'like [{"account_id": "A1", …}]'),
])
def test_broken_json(tmp_path, text, message):
    with validate(tmp_path, write(tmp_path / "users.json", text)) as v:
        assert [p.message for p in v.problems] == [message]


# ---------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("name,data,message", [
    ("report.pdf", b"%PDF-1.4 ...", "is a PDF document, not a CSV, XLSX or JSON file"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1", "is an old Excel .xls workbook (or an encrypted "
                                             "workbook); save it as .xlsx or CSV, not a CSV, "
                                             "XLSX or JSON file"),
    ("data.csv", b"PK\x03\x04rest", "has the extension .csv but is a ZIP archive (an XLSX "
                                    "workbook?); expected a CSV, XLSX or JSON file"),
    ("data.xlsx", b"a,b\n1,2\n", "has the extension .xlsx but is not an Excel workbook; "
                                 "expected an .xlsx file saved by Excel, Metabase or Google "
                                 "Sheets"),
    ("data.csv", b"a,b\x00\x01\x02", "is a binary file, not a CSV, XLSX or JSON file"),
    ("login.csv", b"<!DOCTYPE html><html>", "is an HTML or XML page, not a data export (a "
                                            "failed download or a login page?); expected a "
                                            "CSV, XLSX or JSON file"),
    ("empty.csv", b"", "is empty; expected a header row and data rows"),
    ("broken.xlsx", b"PK\x03\x04garbage", "is not a readable XLSX workbook"),
])
def test_refused_before_parsing(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with validate(tmp_path, path) as v:
        assert len(v.problems) == 1 and v.problems[0].row is None
        assert v.problems[0].message.startswith(message)
        assert str(v.problems[0]).startswith(f"{name}: ")


def test_size_limit(tmp_path):
    path = write(tmp_path / "big.csv", "user_id,name\n" + "u1,x\n" * 300_000)
    settings = settings_from_dict({"import": {"upload_max_mb": 1}})
    with pytest.raises(FileRejected) as info:
        sniff_format(path, "big.csv", 1)
    assert str(info.value) == ("big.csv: is 1.4 MB; files larger than 1 MB are not accepted "
                               "(setting import.upload_max_mb)")
    with validate(tmp_path, path, settings=settings) as v:
        assert [p.message for p in v.problems] == [info.value.problems[0].message]


def test_display_names_are_used_in_messages(tmp_path):
    path = write(tmp_path / "upload-7f3a.tmp", "user_id,name\nu1,\n")
    with validate(tmp_path, path, display_names=["メンバー一覧.csv"]) as v:
        assert [str(p) for p in v.problems] == [
            "メンバー一覧.csv:2:name: is empty; expected a value (the name is required)"]


# ---------------------------------------------------------------------------- headers and kinds


def test_japanese_headers_of_the_spec(tmp_path):
    usage = write(tmp_path / "usage.csv", "顧客ID,日付,配信数,ログイン数,視聴者数,申込者数,"
                                          "コンバージョン数\nA1,2025-04-01,1,2,3,4,5\n")
    activities = write(tmp_path / "acts.csv", "活動ID,取引先ID,活動日,種別,件名\n"
                                              "X1,A1,2025-04-01,商談,定例\n")
    with validate(tmp_path, usage, activities) as v:
        assert [f.table for f in v.files] == ["usage", "activities"]
        u = typed_rows(v, "usage")[0]
        assert (u["deliveries"], u["logins"], u["viewers"], u["registrants"],
                u["conversions"]) == (1, 2, 3, 4, 5)
        assert typed_rows(v, "activities")[0]["type"] == "meeting"


def test_config_mapping_comes_first(tmp_path):
    settings = settings_from_dict({"import": {"mapping": {
        "accounts": {"会社コード": "account_id", "営業担当": "owner_id", "名前": "industry"},
    }}})
    path = write(tmp_path / "a.csv", "会社コード,会社名,営業担当,名前\nA1,Acme,u1,製造\n")
    with validate(tmp_path, path, settings=settings) as v:
        row = typed_rows(v, "accounts")[0]
        assert (row["account_id"], row["name"], row["owner_id"], row["industry"]) == \
            ("A1", "Acme", "u1", "製造")


@pytest.mark.parametrize("header,kind", [
    ("user_id,name,email", "users"),
    ("account_id,name,owner_id", "accounts"),
    ("contract_id,account_id,start_date,end_date,amount,name,owner_id", "contracts"),
    ("activity_id,account_id,date,type,name,owner_id", "activities"),
    ("account_id,date,deliveries,logins,name,owner_id", "usage"),
])
def test_kind_inference(tmp_path, header, kind):
    with validate(tmp_path, write(tmp_path / "f.csv", header + "\n")) as v:
        assert v.files[0].table == kind


def test_kind_unknown_lists_the_headers(tmp_path):
    with validate(tmp_path, write(tmp_path / "f.csv", "foo,取引先名\n1,2\n")) as v:
        assert [str(p) for p in v.problems] == [
            'f.csv:1: cannot tell which table this file is for from its columns ("foo", '
            '"取引先名"); expected the columns of one of users (user_id, name), accounts '
            "(account_id, name, owner_id), contracts (contract_id, …), activities (activity_id, "
            "…), usage (account_id, date, deliveries or logins), or give the kind (--kind)"]


def test_kind_ambiguous(tmp_path):
    with validate(tmp_path, write(tmp_path / "f.csv", "contract_id,activity_id\n")) as v:
        assert v.problems[0].message.startswith(
            'its columns ("contract_id", "activity_id") fit several tables (activities, '
            "contracts); expected the kind to be given (--kind)")


def test_unknown_columns_are_a_warning_and_duplicates_an_error(tmp_path):
    ok = write(tmp_path / "users.csv", "user_id,name,備考,\nu1,A,memo,\n")
    dup = write(tmp_path / "accounts.csv", "account_id,取引先名,会社名,owner_id\n")
    with validate(tmp_path, ok, dup) as v:
        assert [str(w) for w in v.warnings] == [
            'users.csv:1: columns not part of users were ignored: "備考"']
        assert [str(p) for p in v.problems] == [
            'accounts.csv:1:会社名: "会社名" and "取引先名" both mean name; expected one column '
            "per field (remove one, or map it elsewhere in [import.mapping])"]


def test_sniff_format_by_content_for_unknown_extensions(tmp_path):
    assert sniff_format(write(tmp_path / "x", '[{"a": 1}]'), "x", 10) == "json"
    assert sniff_format(write(tmp_path / "y.txt", "a,b\n"), "y.txt", 10) == "csv"


# ---------------------------------------------------------------------------- hostile input

import csv as _csv  # noqa: E402
import io as _io  # noqa: E402
import tempfile  # noqa: E402

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st  # noqa: E402

from cs_analytics.ingest.files import WHITESPACE  # noqa: E402


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=3000),
       name=st.sampled_from(["f.csv", "f.json", "f.xlsx", "f", "f.txt"]))
def test_random_bytes_yield_problems_or_rows_never_a_crash(data, name):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        with validate(Path(tmp), path) as v:
            assert all(p.file == name and p.message for p in v.problems)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(st.text(alphabet=st.characters(exclude_characters="\x00"),
                                      max_size=15), min_size=3, max_size=3), max_size=25),
       sep=st.sampled_from([",", ";", "\t"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp932"]))
def test_random_text_round_trips_exactly(rows, sep, encoding):
    buffer = _io.StringIO()
    writer = _csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    writer.writerow(["user_id", "name", "email"])
    writer.writerows(rows)
    try:
        payload = buffer.getvalue().encode(encoding)
    except UnicodeEncodeError:
        return  # not every character exists in CP932
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "users.csv"
        path.write_bytes(payload)
        with validate(Path(tmp), path, kind="users") as v:
            if not v.files:
                assert v.problems  # e.g. a value that makes the header ambiguous
                return
            expected = [[c.strip(WHITESPACE) or None for c in r] for r in rows]
            expected = [r for r in expected if any(r)]
            got = [[r["user_id"], r["name"], r["email"]] for r in typed_rows(v, "users")]
            assert got == expected
