"""The importer's typed read (clean UTF-8 CSVs read by DuckDB straight into typed columns) gives
exactly what the text path gives: the same rows, and for anything wrong or unusual the same
problems and warnings, word for word. Every case runs through both paths (`typed_read=False` is
the text path) and is compared; the clean cases also check that the typed read was used."""

from __future__ import annotations

import datetime as dt
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from cs_analytics.config import settings_from_dict
from cs_analytics.errors import ValidationFailed
from cs_analytics.ingest import imports
from cs_analytics.ingest.files import typed_csv, utf8_encoding
from cs_analytics.ingest.imports import import_files, read_and_validate
from cs_analytics.warehouse.store import Store

AS_OF = dt.date(2025, 6, 30)
SETTINGS = settings_from_dict({"general": {"as_of": AS_OF}})
WHOLE = "a whole number of 0 or more"
DATE = "a date like 2026-04-01 (YYYY-MM-DD or YYYY/MM/DD)"
USERS = "user_id,name\nu1,Tanaka\n"
ACCOUNTS = "account_id,name,owner_id\nA1,Acme,u1\nA2,Beta,u1\n"
HEADER = "account_id,date,deliveries,logins,viewers"
CANONICAL = ("users", "accounts", "contracts", "activities", "usage")


def write(folder: Path, name: str, text: str | bytes, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def outcome(v) -> dict:
    """Everything a caller can see of a validation, `_row` of the typed rows aside (the typed
    read counts records; no message is made from it)."""
    rows = {}
    if v.ok:
        for table, typed in v.typed.items():
            cursor = v.con.execute(f'SELECT * EXCLUDE (_row) FROM "{typed}" ORDER BY _file, _row')
            rows[table] = cursor.fetchall()
    return {"problems": [str(p) for p in v.problems], "total": v.total_problems,
            "warnings": [str(w) for w in v.warnings], "rows": rows,
            "files": [(f.name, f.table, f.rows, f.format, f.encoding, f.delimiter, f.columns)
                      for f in v.files],
            "identical_duplicates": v.identical_duplicates}


def both_paths(folder: Path, files: dict[str, str | bytes], settings=SETTINGS, **kwargs):
    """(outcome, validation flags) of the typed read, and the outcome of the text path."""
    paths = [write(folder / "in", name, text) for name, text in files.items()]
    store = Store(folder / "data")
    with read_and_validate(settings, store, paths, typed_read=False, **kwargs) as text:
        assert not any(f.typed for f in text.files)
        expected = outcome(text)
    with read_and_validate(settings, store, paths, **kwargs) as typed:
        got = outcome(typed)
        how = {"typed": [f.typed is not None for f in typed.files],
               "again": typed.read_again_as_text}
    assert got == expected
    return got, how


def usage(*rows: str, header: str = HEADER) -> str:
    return header + "\n" + "".join(r + "\n" for r in rows)


CLEAN_ROWS = ("A1,2025-04-01,1,2,3", "A1,2025-04-02,0,0,", "A2,2025-04-01,12,345,6789")


# ---------------------------------------------------------------------------- clean files


def test_a_clean_canonical_file_takes_the_typed_read(tmp_path):
    got, how = both_paths(tmp_path, {"users.csv": USERS, "accounts.csv": ACCOUNTS,
                                     "usage.csv": usage(*CLEAN_ROWS)})
    assert how == {"typed": [True, True, True], "again": False}
    assert got["problems"] == [] and got["warnings"] == []
    assert [r[:9] for r in got["rows"]["usage"]] == [  # then the `!column`s, all NULL
        (2, "A1", dt.date(2025, 4, 1), 1, 2, 3, None, None, None),
        (2, "A1", dt.date(2025, 4, 2), 0, 0, None, None, None, None),
        (2, "A2", dt.date(2025, 4, 1), 12, 345, 6789, None, None, None)]


def test_every_table_with_enums_bools_and_amounts(tmp_path):
    files = {
        "users.csv": "user_id,name,role,active,capacity,email\nu1,田中,manager,true,25,t@x\n"
                     "u2,佐藤,メンバー,いいえ,,\n",
        "accounts.csv": "取引先ID,取引先名,担当者ID,フェーズ,作成日\nA1,㈱髙島屋①,u1,定着,2024-01-31\n"
                        "A2,\"Beta, Inc.\",u2,,\n",
        "contracts.csv": "contract_id,account_id,start_date,end_date,amount,mrr,type\n"
                         "C1,A1,2024-04-15,2025-04-14,1200000,,新規\n"
                         "C2,A2,2025-04-01,2026-03-31,\"1,200,000.5\",,renewal\n"
                         "C3,A2,2025-04-01,2026-03-31,,100000,\n",
        "activities.csv": "activity_id,account_id,date,type,subject\n"
                          "X1,A1,2025-04-01,商談,\"定例\nMTG\"\nX2,A2,2025-04-02,call,\n",
    }
    got, how = both_paths(tmp_path, files)
    assert how == {"typed": [True, True, True, True], "again": False}
    assert got["rows"]["contracts"][1][5] == 1_200_000.5
    assert [r[4] for r in got["rows"]["users"]] == ["manager", "member"]


def test_accepted_spellings_give_the_same_values_on_both_paths(tmp_path):
    # each of these is read by the text path; the typed read leaves the file to it
    for i, row in enumerate(["A1,2025/4/1,1,2,3", "A1,2025-04-01,\"1,234\",2,3",
                             "A1,2025-04-01,１２,2,3", "A1,2025-04-01, 5 ,2,3",
                             "A1,2025-03-31T15:00:00Z,1,2,3", "A1,2025-04-01,12.0,2,3",
                             "  A1 ,2025-04-01,1,2,3", "A1,2025-04-01,1,2,\u3000"]):
        got, how = both_paths(tmp_path / str(i), {"users.csv": USERS, "accounts.csv": ACCOUNTS,
                                                  "usage.csv": usage(row)})
        assert got["problems"] == [], row
        assert how["typed"][2] is False or how["again"], row
        assert got["rows"]["usage"][0][1:3] == ("A1", dt.date(2025, 4, 1)), row


def test_leading_zeros_and_long_digit_runs(tmp_path):
    settings = settings_from_dict({"import": {"max_count": 9223372036854775807}})
    got, how = both_paths(tmp_path, {"usage.csv": usage("A1,2025-04-01,007,0000000000000000000042,"
                                                        "9223372036854775807")}, settings)
    assert got["rows"]["usage"][0][3:6] == (7, 42, 9223372036854775807)
    assert how["typed"] == [True]


# ---------------------------------------------------------------------------- one bad cell


@pytest.mark.parametrize("row,message", [
    ("A1,2025-04-01,12.5,2,3", f'usage.csv:3:deliveries: "12.5" is not a whole number; '
                               f"expected {WHOLE}"),
    ("A1,2025-04-01,+5,2,3", f'usage.csv:3:deliveries: "+5" is not a whole number; '
                             f"expected {WHOLE}"),
    ("A1,2025-04-01,1e3,2,3", f'usage.csv:3:deliveries: "1e3" is in scientific notation, '
                              f"which Metabase rounds; expected {WHOLE} (set the column's style "
                              "to Normal in Metabase)"),
    ("A1,2025-04-01,1_000,2,3", f'usage.csv:3:deliveries: "1_000" is not a whole number; '
                                f"expected {WHOLE}"),
    ("A1,2025-04-01,0x10,2,3", f'usage.csv:3:deliveries: "0x10" is not a whole number; '
                               f"expected {WHOLE}"),
    ("A1,2025-04-01,5.,2,3", f'usage.csv:3:deliveries: "5." is not a whole number; '
                             f"expected {WHOLE}"),
    ("A1,2025-04-01,1,-1,3", f'usage.csv:3:logins: "-1" is negative; expected {WHOLE}'),
    ("A1,2025-04-01,1,2,99999999999999999999", 'usage.csv:3:viewers: "99999999999999999999" is '
                                               "above the limit of 1,000,000,000 (setting "
                                               f"import.max_count); expected {WHOLE}"),
    ("A1,2025-04-01,1,2,9223372036854775808", 'usage.csv:3:viewers: "9223372036854775808" is '
                                              "above the limit of 1,000,000,000 (setting "
                                              f"import.max_count); expected {WHOLE}"),
    ("A1,2025-04-01,1,2,1000000001", 'usage.csv:3:viewers: "1000000001" is above the limit of '
                                     f"1,000,000,000 (setting import.max_count); expected {WHOLE}"),
    ("A1,2025-02-30,1,2,3", f'usage.csv:3:date: "2025-02-30" is not a date; expected {DATE}'),
    ("A1,2205-03-31,1,2,3", 'usage.csv:3:date: "2205-03-31" is outside the accepted range; '
                            "expected a date between 1900-01-01 and 2099-12-31"),
    ("A1,0999-01-01,1,2,3", 'usage.csv:3:date: "0999-01-01" is outside the accepted range; '
                            "expected a date between 1900-01-01 and 2099-12-31"),
    ("A1,999-01-01,1,2,3", f'usage.csv:3:date: "999-01-01" is not a date; expected {DATE}'),
    ("A1,2025-04-01,1,,3", f"usage.csv:3:logins: is empty; expected {WHOLE}"),
    (",2025-04-01,1,2,3", "usage.csv:3:account_id: is empty; expected a value (the account_id "
                          "is required)"),
    ("\u3000,2025-04-01,1,2,3", "usage.csv:3:account_id: is empty; expected a value (the "
                                "account_id is required)"),
    ("A1,2025-04-01,1,2,3,4", "usage.csv:3: has 6 values but the header has 5 columns; expected "
                              "at most 5 values separated by commas (quote values that contain "
                              "the separator)"),
])
def test_one_bad_cell_gives_the_text_paths_exact_message(tmp_path, row, message):
    got, how = both_paths(tmp_path, {"users.csv": USERS, "accounts.csv": ACCOUNTS,
                                     "usage.csv": usage("A2,2025-04-01,1,2,3", row,
                                                        "A2,2025-04-02,1,2,3")})
    assert got["problems"] == [message]
    assert how["again"] or how["typed"][2:] != [True]  # not kept from the typed read


def test_a_short_row_is_padded_on_both_paths(tmp_path):
    got, how = both_paths(tmp_path, {"usage.csv": usage("A1,2025-04-01,1,2",
                                                        "A1,2025-04-02,1,2,3")})
    assert got["problems"] == []
    assert [r[5] for r in got["rows"]["usage"]] == [None, 3]
    assert how["typed"] == [False]


def test_row_numbers_after_blank_lines_come_from_the_text_path(tmp_path):
    text = usage("A1,2025-04-01,1,2,3", "", "", "A1,2025-04-02,1,2,3", "A1,2025-04-03,x,2,3")
    got, _ = both_paths(tmp_path, {"usage.csv": text})
    assert got["problems"] == [f'usage.csv:6:deliveries: "x" is not a whole number; '
                               f"expected {WHOLE}"]
    # the same with a value the typed read takes: the finding is the duplicate key
    text = usage("A1,2025-04-01,1,2,3", "", "A1,2025-04-02,1,2,3", "A1,2025-04-01,9,2,3")
    got, how = both_paths(tmp_path / "dup", {"usage.csv": text})
    assert got["problems"] == [
        'usage.csv:5:account_id + date: account_id + date "A1 + 2025-04-01" is also on row 2 '
        "with different values; expected each account_id + date once"]
    assert how == {"typed": [False], "again": True}


def test_all_empty_rows_are_skipped_on_both_paths(tmp_path):
    got, how = both_paths(tmp_path, {"usage.csv": usage("A1,2025-04-01,1,2,3", ",,,,",
                                                        "A1,2025-04-02,1,2,3")})
    assert got["problems"] == [] and len(got["rows"]["usage"]) == 2
    assert how["typed"] == [False]  # an empty required value: left to the text path


# ---------------------------------------------------------------------------- keys, references


def test_duplicates_in_one_file_and_across_files(tmp_path):
    first = usage("A1,2025-04-01,1,2,3", "A1,2025-04-02,1,2,3", "A1,2025-04-01,1,2,3")
    second = usage("A1,2025-04-02,1,2,3", "A2,2025-04-02,1,2,3")
    got, how = both_paths(tmp_path, {"u1.csv": first, "u2.csv": second})
    assert got["warnings"] == [
        'u1.csv:account_id: 3 rows for 1 account_ids not in accounts ("A1"); they were loaded '
        "but count for no known account",
        'u1.csv:4: repeats row 2 exactly (account_id + date "A1 + 2025-04-01"); loaded once',
        'u2.csv:account_id: 2 rows for 2 account_ids not in accounts ("A1", "A2"); they were '
        "loaded but count for no known account",
        'u2.csv:2: repeats u1.csv row 3 exactly (account_id + date "A1 + 2025-04-02"); loaded '
        "once"]
    assert how == {"typed": [False, False], "again": True}


def test_a_duplicate_between_a_typed_file_and_a_cp932_file(tmp_path):
    # the typed read counts records, so after the blank line it would say row 3 for row 4
    got, how = both_paths(tmp_path, {
        "utf8.csv": usage("A1,2025-04-01,1,2,3", "", "A1,2025-04-02,1,2,3"),
        "sjis.csv": "顧客ID,日付,配信数,ログイン数,視聴者数\nA1,2025-04-02,1,2,3\n".encode("cp932")})
    assert got["warnings"][-1] == (
        'sjis.csv:2: repeats utf8.csv row 4 exactly (account_id + date "A1 + 2025-04-02"); '
        "loaded once")
    assert how == {"typed": [False, False], "again": True}


def test_unknown_accounts_warning_keeps_the_typed_read(tmp_path):
    rows = [f"T{i % 7},2025-04-{i + 1:02d},1,1,1" for i in range(20)] + ["A1,2025-04-01,1,1,1"]
    got, how = both_paths(tmp_path, {"users.csv": USERS, "accounts.csv": ACCOUNTS,
                                     "usage.csv": usage(*rows)})
    assert got["warnings"] == [
        'usage.csv:account_id: 20 rows for 7 account_ids not in accounts ("T0", "T1", "T2", '
        '"T3", "T4", …); they were loaded but count for no known account']
    assert how == {"typed": [True, True, True], "again": False}


def test_unknown_references_and_contract_warnings(tmp_path):
    contracts = ("contract_id,account_id,start_date,end_date,amount\n"
                 "C1,A9,2025-04-01,2026-03-31,1200\nC2,A1,2025-04-02,2025-04-20,1000\n")
    got, how = both_paths(tmp_path, {"users.csv": USERS, "accounts.csv": ACCOUNTS + "A3,G,u7\n",
                                     "contracts.csv": contracts})
    assert got["problems"] == [
        'accounts.csv:4:owner_id: "u7" is not a known user_id; expected the user_id of one of '
        "the users in this import or in the current data",
        'contracts.csv:2:account_id: "A9" is not a known account_id; expected the account_id of '
        "one of the accounts in this import or in the current data"]
    assert how["again"]
    got, how = both_paths(tmp_path / "terms", {"users.csv": USERS, "accounts.csv": ACCOUNTS,
                                               "contracts.csv": contracts.replace("A9", "A2")})
    assert got["warnings"][0].startswith('contracts.csv:3: contract "C2" (2025-04-02 → '
                                         "2025-04-20) covers no month-end")
    assert how["again"]


@pytest.mark.parametrize("limit", [imports.DAY_BITS_MAX_BYTES, 0])
@pytest.mark.parametrize("span", [2000, 40000])
def test_duplicate_pre_check_with_and_without_day_bits(tmp_path, monkeypatch, limit, span):
    monkeypatch.setattr(imports, "DAY_BITS_MAX_BYTES", limit)
    rng = random.Random(span)
    days = [dt.date(1990, 1, 1) + dt.timedelta(days=rng.randrange(span)) for _ in range(300)]
    rows = [f"A{rng.randrange(5)},{d.isoformat()},1,1,1" for d in days]
    got, how = both_paths(tmp_path, {"usage.csv": usage(*rows)})
    keys = [tuple(r.split(",")[:2]) for r in rows]
    repeats = len(keys) - len(set(keys))
    assert got["identical_duplicates"].get("usage", 0) == repeats
    assert (span, repeats > 0, how["again"]) in ((2000, True, True), (40000, False, False))


# ---------------------------------------------------------------------------- import_files


def snapshot_tables(store: Store) -> dict:
    snap = store.open_current()
    return {t: snap.rows(f'SELECT * FROM "{t}" ORDER BY ALL') for t in CANONICAL} | {
        t: snap.rows(f'SELECT * FROM "{t}" ORDER BY ALL')
        for t in ("raw_import_usage", "raw_import_files") if snap.has_table(t)}


def import_both(tmp_path, batches: list[list[tuple[str, str | bytes]]], **kwargs):
    """The same imports, one after the other, into a typed-read store and a text-path store."""
    results = {}
    for typed in (True, False):
        store = Store(tmp_path / f"data-{typed}")
        changes = []
        for n, batch in enumerate(batches):
            paths = [write(tmp_path / f"in-{n}", name, text) for name, text in batch]
            result = import_files(SETTINGS, store, paths, typed_read=typed, **kwargs)
            changes.append(({t: vars(c) for t, c in result.tables.items()},
                            [str(w) for w in result.warnings],
                            [f.typed for f in result.files]))
        results[typed] = (snapshot_tables(store), changes)
    assert results[True][0] == results[False][0]
    assert [c[:2] for c in results[True][1]] == [c[:2] for c in results[False][1]]
    return results[True]


def test_import_reads_a_clean_file_straight_into_the_canonical_table(tmp_path):
    messages = []
    store = Store(tmp_path / "data")
    path = write(tmp_path, "usage.csv", usage(*CLEAN_ROWS))
    result = import_files(SETTINGS, store, [path], progress=messages.append)
    assert [f.typed for f in result.files] == ["usage"]  # the canonical table itself
    assert "usage.csv: 3 rows of usage (CSV, utf-8, comma-separated, typed read)" in messages
    assert set(result.timings) == {"open", "read_and_validate", "merge", "ingest", "publish"}
    assert result.timings["ingest"] >= result.timings["read_and_validate"]
    tables, changes = import_both(tmp_path / "both", [[("users.csv", USERS),
                                                       ("accounts.csv", ACCOUNTS),
                                                       ("usage.csv", usage(*CLEAN_ROWS))]])
    assert changes[0][2] == ["users", "accounts", "usage"]
    assert tables["raw_import_usage"][0] == ("usage.csv", 2, "A1", "2025-04-01", "1", "2", "3")


def test_identical_duplicates_after_a_direct_read_leave_no_rows_behind(tmp_path):
    text = usage("A1,2025-04-01,1,2,3", "A1,2025-04-01,1,2,3", "A1,2025-04-02,1,2,3")
    tables, changes = import_both(tmp_path, [[("users.csv", USERS), ("accounts.csv", ACCOUNTS),
                                              ("usage.csv", text)]])
    assert len(tables["usage"]) == 2
    assert changes[0][0]["usage"]["rows"] == 2
    assert changes[0][2] == [None, None, None]  # read again as text


def test_merging_into_current_data_and_several_files_of_one_table(tmp_path):
    first = usage(*CLEAN_ROWS)
    update = usage("A1,2025-04-02,5,5,5", "A2,2025-04-03,1,1,1")
    sjis = ("顧客ID,日付,配信数,ログイン数\nA2,2025-04-04,１,2\n").encode("cp932")
    tables, changes = import_both(tmp_path, [
        [("users.csv", USERS), ("accounts.csv", ACCOUNTS), ("usage.csv", first)],
        [("usage.csv", first)],                                   # unchanged
        [("update.csv", update), ("more.csv", usage("A1,2025-05-01,1,1,1")),
         ("sjis.csv", sjis)],                                     # typed, typed, text
    ])
    assert [c[0]["usage"]["unchanged"] for c in changes[1:]] == [3, 0]
    assert (changes[2][0]["usage"]["inserted"], changes[2][0]["usage"]["updated"]) == (3, 1)
    assert changes[2][2] == ["imp_read_0", "imp_read_1", None]  # not empty: temporary tables
    assert len(tables["usage"]) == 6


def test_replace_and_several_files_into_an_empty_table(tmp_path):
    tables, changes = import_both(tmp_path, [
        [("users.csv", USERS), ("accounts.csv", ACCOUNTS)],
        [("a.csv", usage(*CLEAN_ROWS)), ("b.csv", usage("A2,2025-04-09,1,1,1"))],
        [("c.csv", usage("A2,2025-04-10,1,1,1"))],
    ], replace=True)
    assert changes[1][2] == ["usage", "imp_read_1"]
    assert changes[1][0]["usage"]["replaced"] and changes[1][0]["usage"]["rows"] == 4
    assert changes[2][0]["usage"]["removed"] == 4
    assert len(tables["usage"]) == 1


def test_replacing_a_referenced_table_together_with_the_tables_pointing_to_it(tmp_path):
    # users and accounts replaced in one import (this used to fail with a NameError)
    tables, changes = import_both(tmp_path, [
        [("users.csv", USERS), ("accounts.csv", ACCOUNTS)],
        [("users.csv", "user_id,name\nu2,Sato\n"), ("accounts.csv", "account_id,name,owner_id\n"
                                                                       "A1,Acme,u2\n")],
    ], replace=True)
    assert tables["users"] == [("u2", "Sato", None, None, None, None, None)]
    assert changes[1][0]["accounts"]["removed"] == 1


def test_a_failed_import_after_a_direct_read_publishes_nothing(tmp_path):
    store = Store(tmp_path / "data")
    bad = write(tmp_path, "usage.csv", usage(*CLEAN_ROWS, "A1,2025-04-09,1,2,x"))
    with pytest.raises(ValidationFailed) as info:
        import_files(SETTINGS, store, [bad])
    assert [str(p) for p in info.value.problems] == [
        f'usage.csv:5:viewers: "x" is not a whole number; expected {WHOLE}']
    assert not store.has_snapshot()


def test_generated_usage_invariants_on_both_paths(tmp_path):
    rng = random.Random(5)
    accounts = [f"A{i:03d}" for i in range(60)]
    start = dt.date(2024, 1, 1)
    rows = {(a, start + dt.timedelta(days=d)): [rng.randint(0, 400) for _ in range(3)]
            for a in accounts for d in rng.sample(range(500), 200)}
    lines = [f"{a},{d.isoformat()},{v[0]},{v[1]},{v[2]}" for (a, d), v in rows.items()]
    rng.shuffle(lines)
    files = [("users.csv", USERS),
             ("accounts.csv", "account_id,name,owner_id\n" +
              "".join(f"{a},{a},u1\n" for a in accounts[:50])),
             ("usage.csv", usage(*lines))]
    tables, changes = import_both(tmp_path, [files])
    assert changes[0][2][2] == "usage"
    assert len(tables["usage"]) == len(rows) == 12000
    assert sum(r[2] + r[3] + r[4] for r in tables["usage"]) == \
        sum(sum(v) for v in rows.values())
    assert changes[0][1] == [f"usage.csv:account_id: {sum(1 for a, _ in rows if a >= 'A050'):,} "
                             f'rows for 10 account_ids not in accounts ("A050", "A051", "A052", '
                             '"A053", "A054", …); they were loaded but count for no known account']


# ---------------------------------------------------------------------------- random input


CELLS = {
    "account_id": ["A1", "A2", "B7", " A1", "A1 ", "", "\u3000A2", "a,b", '"q"', "\t", "Ａ1"],
    "date": ["2025-04-01", "2025-04-02", "2025-4-3", "2025/04/01", "2025-02-30", "2025-04-01Z",
             "2025-03-31T15:00:00Z", "", " 2025-04-01", "1899-12-31", "2100-01-01", "20250401",
             "2025-04-01 10:00", "x"],
    "count": ["0", "1", "7", "42", "007", "12.0", "12.5", "+5", "-1", "1e3", "1_000", " 5", "",
              "1,234", "５", "0x10", "99999999999999999999", "x", ".5", "5."],
}


def render(cell: str, sep: str) -> str:
    if any(ch in cell for ch in (sep, '"', "\n")) or cell.strip() != cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


@hsettings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(st.sampled_from(CELLS["account_id"]),
                               st.sampled_from(CELLS["date"]),
                               st.sampled_from(CELLS["count"]), st.sampled_from(CELLS["count"]),
                               st.sampled_from(CELLS["count"])), min_size=1, max_size=12),
       blank=st.sampled_from([None, 0, 3]), sep=st.sampled_from([",", ";", "\t"]),
       bom=st.booleans())
def test_random_usage_files_give_the_same_outcome_on_both_paths(rows, blank, sep, bom):
    lines = [sep.join(["account_id", "date", "deliveries", "logins", "viewers"])]
    lines += [sep.join(render(c, sep) for c in row) for row in rows]
    if blank is not None:
        lines.insert(min(blank, len(lines)), "")
    text = ("\ufeff" if bom else "") + "\n".join(lines) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        both_paths(Path(tmp), {"users.csv": USERS, "accounts.csv": ACCOUNTS, "usage.csv": text})


# ---------------------------------------------------------------------------- files.py


def test_typed_csv_is_only_for_utf8_csv_with_good_headers(tmp_path):
    assert typed_csv(write(tmp_path, "u.csv", usage(*CLEAN_ROWS))).staged.table == "usage"
    assert typed_csv(write(tmp_path, "bom.csv", "\ufeff" + usage(*CLEAN_ROWS))) \
        .staged.encoding == "utf-8-sig"
    assert typed_csv(write(tmp_path, "s.csv", "顧客ID,日付,配信数,ログイン数\n", "cp932")) is None
    assert typed_csv(write(tmp_path, "w.csv", usage(*CLEAN_ROWS), "utf-16")) is None
    assert typed_csv(write(tmp_path, "j.json", '[{"user_id": "u1", "name": "A"}]')) is None
    assert typed_csv(write(tmp_path, "k.csv", "foo,bar\n1,2\n")) is None
    assert typed_csv(write(tmp_path, "m.csv", "account_id,date\nA1,2025-04-01\n")) is None
    assert utf8_encoding(write(tmp_path, "late.csv", b"a,b\n" + b"x" * 100 + b"\x85\n")) is None


OTHER_CELLS = {
    "amount": ["1200000", "1,200,000", "¥600000", "1200000.5", "-5", "12abc", "", " 7 ", "１２",
               "1e3", "+5", "0", "3.", "1,2,3"],
    "enum": ["new", "renewal", "Upsell", "新規", " 更新 ", "foo", "", "ＮＥＷ"],
    "bool": ["true", "FALSE", "1", "0", "はい", "maybe", "", " yes "],
    "int": ["25", "0", "", "-3", "2.0", "x", "030"],
    "date": ["2025-04-01", "2026-03-31", "2025/4/1", "2025-04-31", "", "2026-03-31T23:00:00Z"],
}


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contracts=st.lists(st.tuples(st.sampled_from(["C1", "C2", "C3"]),
                                    st.sampled_from(["A1", "A2", "A9", ""]),
                                    st.sampled_from(OTHER_CELLS["date"]),
                                    st.sampled_from(OTHER_CELLS["date"]),
                                    st.sampled_from(OTHER_CELLS["amount"]),
                                    st.sampled_from(OTHER_CELLS["amount"]),
                                    st.sampled_from(OTHER_CELLS["enum"])), max_size=6),
       users=st.lists(st.tuples(st.sampled_from(["u1", "u2", " u3"]),
                                st.sampled_from(["A", "", "B"]),
                                st.sampled_from(OTHER_CELLS["bool"]),
                                st.sampled_from(OTHER_CELLS["int"])), min_size=1, max_size=4))
def test_random_contracts_and_users_give_the_same_outcome_on_both_paths(contracts, users):
    files = {
        "users.csv": "user_id,name,active,capacity\n" + "".join(
            ",".join(render(c, ",") for c in row) + "\n" for row in users),
        "accounts.csv": "account_id,name,owner_id\nA1,Acme,u1\nA2,Beta,u2\n",
        "contracts.csv": "contract_id,account_id,start_date,end_date,amount,mrr,type\n" + "".join(
            ",".join(render(c, ",") for c in row) + "\n" for row in contracts),
    }
    with tempfile.TemporaryDirectory() as tmp:
        both_paths(Path(tmp), files)
