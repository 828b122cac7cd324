"""Hostile files never take the process down (issue 21, items 5–10): a workbook's real extent is
checked before it is read, XLSX and JSON are read in a child process with a memory cap, zip
bombs are refused by unpacked size and cells, amounts and counts are bounded, no row is dropped
silently, messages name file, row, column and what was expected (escaped, in the UI's
language), and CSV output guards formulas. Each case leaves the published snapshot and the
user-data store byte for byte as they were. The files are generated here (cs_analytics.
reliability builds the full-size ones for `make reliability`)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench import reliability as hostile
from cs_analytics.cli import main
from cs_analytics.config import REPO_ROOT, settings_from_dict
from cs_analytics.errors import BuildFailed, CsAnalyticsError, ValidationFailed
from cs_analytics.ingest import sheets
from cs_analytics.ingest.files import ReadLimits, _child_failure
from cs_analytics.ingest.imports import import_files
from cs_analytics.ingest.messages import MESSAGES, Problem, msg, placeholders_of
from cs_analytics.warehouse.build import open_build
from cs_analytics.warehouse.store import Store, reset_connection_cache

SETTINGS = settings_from_dict({})
# Caps scaled down (they are relative to import.upload_max_mb) so the tests' files stay small.
SMALL = settings_from_dict({"import": {"upload_max_mb": 1}})


def digest(path: Path):
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def published(store: Store):
    current = store.current_file()
    return (digest(store.pointer), current and digest(current.path),
            tuple(sorted(f.path.name for f in store.snapshot_files())),
            digest(store.home / "userdata.sqlite"))


@pytest.fixture
def home(tmp_path):
    """A published snapshot (user U1, account A1) and a note in the user-data store."""
    home = tmp_path / "data"
    store = Store(home)
    (tmp_path / "users.csv").write_text("user_id,name\nU1,佐藤\n", encoding="utf-8")
    (tmp_path / "accounts.csv").write_text("account_id,name,owner_id\nA1,既存の顧客,U1\n",
                                           encoding="utf-8")
    import_files(SETTINGS, store, [tmp_path / "users.csv", tmp_path / "accounts.csv"])
    con = store.userdata_db()
    con.execute("INSERT INTO notes (account_id, author, body, created_at) "
                "VALUES ('A1', 'U1', '大事なメモ', '2026-01-01')")
    con.commit()
    con.close()
    reset_connection_cache()
    return home


def refused(home: Path, path: Path, settings=SETTINGS) -> list[str]:
    """Import `path` in this process; it must be refused with problems naming the file, and
    leave the published data as it was. Returns the problems as the CLI prints them."""
    store = Store(home)
    before = published(store)
    with pytest.raises(ValidationFailed) as info:
        import_files(settings, store, [path])
    reset_connection_cache()
    assert published(store) == before
    for problem in info.value.problems:
        assert problem.file == path.name
    return [str(p) for p in info.value.problems]


def cli(home: Path, *args: str, memory_mb: int = 3000, config: str = "") -> subprocess.CompletedProcess:
    """The CLI in its own process, under an address-space cap so that a native abort or a
    runaway allocation fails this test instead of the machine."""
    (home.parent / "cfg.toml").write_text(config, encoding="utf-8")
    env = {**os.environ, "CS_ANALYTICS_HOME": str(home),
           "CS_ANALYTICS_CONFIG": str(home.parent / "cfg.toml"), "PYTHONPATH": str(REPO_ROOT)}
    limit = memory_mb * 1024 * 1024
    code = ("import resource, runpy, sys; "
            f"resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit})); "
            "sys.argv = ['cs_analytics'] + sys.argv[1:]; "
            "runpy.run_module('cs_analytics', run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, env=env,
                          cwd=REPO_ROOT, timeout=600)


# ---------------------------------------------------------------------------- item 5: extent


def test_a_cell_at_xfd1048576_is_refused_by_its_extent_and_the_process_lives(home, tmp_path):
    path = hostile.xlsx_far_cell(tmp_path / "far.xlsx")
    assert path.stat().st_size < 2000
    store = Store(home)
    before = published(store)
    done = cli(home, "import", str(path))
    assert done.returncode == 2, done.stderr.decode()[-2000:]
    problems = [line for line in done.stderr.decode().splitlines() if not line.startswith("…")]
    assert problems[0] == (
        'far.xlsx: sheet "Query result" spans 1,048,576 rows × 16,384 columns (up to cell '
        "XFD1048576), 17,179,869,184 cells; expected at most 8,000,000 cells (40,000 per MB of "
        "import.upload_max_mb) — export large data as CSV")
    assert published(store) == before


def test_a_dimension_claiming_the_whole_sheet_is_refused(home, tmp_path):
    problems = refused(home, hostile.xlsx_huge_dimension(tmp_path / "dimension.xlsx"))
    assert problems == ['dimension.xlsx: sheet "Query result" spans 1,048,576 rows × 16,384 '
                        "columns (up to cell XFD1048576), 17,179,869,184 cells; expected at "
                        "most 8,000,000 cells (40,000 per MB of import.upload_max_mb) — export "
                        "large data as CSV"]


def test_a_reader_out_of_memory_is_one_message_and_this_process_lives(home, tmp_path):
    """A workbook within its extent whose reader needs more memory than the child may use
    (one long shared string copied into every cell): the child aborts in native code, the
    import is refused naming the file and the setting, and this process carries on."""
    path = hostile.xlsx_shared_string_bomb(tmp_path / "strings.xlsx", cells=20_000)
    settings = settings_from_dict({"import": {"reader_memory_mb": 256}})
    problems = refused(home, path, settings)
    assert problems == [
        "strings.xlsx: could not be read: reading it needed more than the 256 MB of memory a "
        "file may use (setting import.reader_memory_mb); expected a smaller workbook — export "
        "large data as CSV"]


def test_how_a_reader_that_died_is_reported():
    def done(code, stderr=b""):
        return subprocess.CompletedProcess([], code, b"", stderr)

    limits = ReadLimits(memory_mb=700)
    assert str(_child_failure(done(-6, b"memory allocation of 5497558138880 bytes failed"),
                              limits)).startswith("reading it needed more than the 700 MB")
    assert str(_child_failure(done(-11), limits)) == (
        "the reader stopped unexpectedly (signal 11 (SIGSEGV)); expected an .xlsx or JSON file "
        "saved by Excel, Metabase or Google Sheets")
    assert "exit code 1: boom \\x1b[2J" in str(_child_failure(done(1, b"x\nboom \x1b[2J\n"), limits))


# ---------------------------------------------------------------------------- item 6: zip bombs


def test_a_zip_bomb_is_refused_by_cells_before_it_is_read(home, tmp_path):
    path = hostile.xlsx_zip_bomb(tmp_path / "bomb.xlsx", rows=200_000)
    assert path.stat().st_size < 200_000
    problems = refused(home, path, SMALL)
    assert len(problems) == 1 and problems[0].startswith('bomb.xlsx: sheet "Query result" spans ')
    assert problems[0].endswith("cells; expected at most 40,000 cells (40,000 per MB of "
                                "import.upload_max_mb) — export large data as CSV")


def test_a_sheet_that_unpacks_past_its_limit_is_refused(home, tmp_path):
    """Few cells, but XML padded with 20 MB of whitespace: the unpacked size is counted while
    streaming, whatever the ZIP directory claims."""
    padding = " " * (20 * 1024 * 1024)
    path = hostile.write_xlsx(tmp_path / "padded.xlsx", hostile.USERS_HEADER + padding)
    assert refused(home, path, SMALL) == [
        'padded.xlsx: sheet "Query result" unpacks to more than 10 MB; expected a workbook of at '
        "most 10 MB unpacked per sheet (10 × import.upload_max_mb) — export large data as CSV"]


@pytest.mark.parametrize("xml,expected", [
    # every row and cell referenced (Excel, Metabase): exact
    ('<row r="2"><c r="A2"><v>1</v></c><c r="C2"><v>1</v></c></row>'
     '<row r="7"><c r="B7"><v>1</v></c></row>', (7, 3, 3)),
    # none referenced: rows and cells count by position
    ("<row><c><v>1</v></c><c><v>2</v></c><c><v>3</v></c></row>" * 5, (5, 3, 15)),
    # a mixture: bounded from above (rows without a reference counted after the largest)
    ("<row><c><v>1</v></c><c><v>2</v></c><c><v>3</v></c></row>" * 5
     + '<row r="9"><c r="D9"><v>1</v></c></row>', (14, 7, 16)),
])
def test_the_extent_counts_referenced_and_positional_cells(tmp_path, xml, expected):
    path = hostile.write_xlsx(tmp_path / "plain.xlsx", xml)
    sheet, part, strings = sheets._sheet_part(path, "plain.xlsx")
    extent = sheets.measure_sheet(path, "plain.xlsx", sheet, part, strings, 200)
    assert (extent.rows, extent.columns, extent.cells) == expected


@pytest.mark.slow
def test_a_rejected_two_megabyte_bomb_peaks_well_under_a_gigabyte(home, tmp_path):
    """The default caps against a bomb of the issue's size (≈2 MB, 32 million cells):
    refused from its XML, the whole import's peak memory (this CLI and its reader child) stays
    under 1 GB."""
    path = hostile.xlsx_zip_bomb(tmp_path / "bomb.xlsx", rows=4_000_000)
    assert 1_000_000 < path.stat().st_size < 3_000_000
    out = hostile.Scenario(home, tmp_path, tmp_path / "none.toml")
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    outcome = out.cli("import", str(path))
    assert outcome.exit_code == 2
    assert outcome.message.startswith('bomb.xlsx: sheet "Query result" spans ')
    assert "expected at most 8,000,000 cells" in outcome.message
    assert outcome.peak_mb < 1024


# ---------------------------------------------------------------------------- item 7: bounds


def test_a_401_digit_amount_is_refused_and_metrics_json_stays_json(home, tmp_path):
    path = hostile.csv_huge_amount(tmp_path / "contracts.csv")
    problems = refused(home, path)
    assert problems == ['contracts.csv:2:amount: "' + "9" * 60 + '…" is above the limit of '
                        "10,000,000,000,000 (setting import.max_amount_yen); expected an amount "
                        "in yen of 0 or more, like 120000 or 1,200,000"]
    env = {"CS_ANALYTICS_HOME": str(home), "CS_ANALYTICS_CONFIG": str(tmp_path / "no.toml")}
    (tmp_path / "no.toml").write_text("", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path)], env=env)
    assert result.exit_code == 2
    result = CliRunner().invoke(main, ["metrics", "--format", "json"], env=env)
    assert result.exit_code == 0

    def refuse(constant):
        raise AssertionError(f"not JSON: {constant}")

    json.loads(result.stdout, parse_constant=refuse)


def test_amount_and_count_bounds_are_settings(home, tmp_path):
    path = tmp_path / "contracts.csv"
    path.write_text("contract_id,account_id,start_date,end_date,amount\n"
                    "C1,A1,2025-01-01,2025-12-31,\"1,000,001\"\n", encoding="utf-8")
    assert refused(home, path, settings_from_dict({"import": {"max_amount_yen": 1_000_000}})) == [
        'contracts.csv:2:amount: "1,000,001" is above the limit of 1,000,000 (setting '
        "import.max_amount_yen); expected an amount in yen of 0 or more, like 120000 or 1,200,000"]
    usage = tmp_path / "usage.csv"
    usage.write_text("account_id,date,deliveries,logins\nA1,2026-01-05,11,1\n", encoding="utf-8")
    assert refused(home, usage, settings_from_dict({"import": {"max_count": 10}})) == [
        'usage.csv:2:deliveries: "11" is above the limit of 10 (setting import.max_count); '
        "expected a whole number of 0 or more"]


def test_the_build_refuses_non_finite_amounts(tmp_path):
    """Whatever a source delivers, a snapshot with an infinite amount is never published (the
    MRR bridge check cannot see it: inf − inf is NaN)."""
    store = Store(tmp_path / "data")
    with pytest.raises(BuildFailed, match=r"not a finite number: C1 \(amount inf"):
        with open_build(SETTINGS, store, source="test") as build:
            build.con.execute("INSERT INTO users (user_id, name) VALUES ('U1', 'a')")
            build.con.execute("INSERT INTO accounts (account_id, name, owner_id) "
                              "VALUES ('A1', 'b', 'U1')")
            build.con.execute("INSERT INTO contracts (contract_id, account_id, start_date, "
                              "end_date, amount) VALUES ('C1', 'A1', '2025-01-01', '2025-12-31', "
                              "'inf'::DOUBLE)")
            build.publish()
    assert store.current_file() is None


# ---------------------------------------------------------------------------- item 8: no row dropped


def test_a_last_record_longer_than_duckdbs_buffer_is_named_not_dropped(home, tmp_path):
    path = hostile.csv_long_last_record(tmp_path / "users.csv")
    assert refused(home, path) == [
        "users.csv:4: is 33.0 MB long; expected rows of at most 2 MB (no value of any table is "
        "that long — is a quote left open?)"]


def test_a_long_line_in_the_middle_is_named_too(home, tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("user_id,name\nU3," + "y" * (3 * 1024 * 1024) + "\nU4,b\n", encoding="utf-8")
    assert refused(home, path) == [
        "users.csv:2: is 3.0 MB long; expected rows of at most 2 MB (no value of any table is "
        "that long — is a quote left open?)"]


# ---------------------------------------------------------------------------- item 9: messages


def test_a_valid_180k_column_csv_is_imported(home, tmp_path):
    path = hostile.csv_wide(tmp_path / "users.csv")
    result = import_files(SETTINGS, Store(home), [path])
    reset_connection_cache()
    assert result.tables["users"].inserted == 1
    assert [str(w).split(":")[0:2] for w in result.warnings] == [["users.csv", "1"]]
    assert str(result.warnings[0]).endswith(" and 179,978 more")
    snap = Store(home).open_current()
    assert snap.rows("SELECT name FROM users WHERE user_id = 'U7'") == [("Wide",)]
    reset_connection_cache()


def test_a_wide_csv_row_with_too_many_values_is_named(home, tmp_path):
    header = ",".join(["user_id", "name"] + [f"x{i}" for i in range(2500)])
    path = tmp_path / "users.csv"
    path.write_text(header + "\nU7,a" + ",1" * 2500 + "\nU8,b" + ",1" * 2501 + "\n",
                    encoding="utf-8")
    assert refused(home, path) == [
        "users.csv:3: has 2503 values but the header has 2502 columns; expected at most 2502 "
        "values separated by commas (quote values that contain the separator)"]


def test_a_5000_digit_json_integer_is_a_value_problem_with_its_place(home, tmp_path):
    assert refused(home, hostile.json_big_integer(tmp_path / "usage.json")) == [
        'usage.json:2:deliveries: "' + "9" * 60 + '…" is above the limit of 1,000,000,000 '
        "(setting import.max_count); expected a whole number of 0 or more"]


def test_deeply_nested_json_is_refused_by_name(home, tmp_path):
    problems = refused(home, hostile.json_deep(tmp_path / "deep.json"))
    assert problems in (["deep.json: is JSON nested too deeply; expected an array of flat objects"],
                        ['deep.json:2: record 1 is list "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['
                         '[[[[[[[[[[[[[[[[[[[[[[…"; expected every record to be an object'])


def test_an_hour_25_is_a_time_that_does_not_exist(home, tmp_path):
    assert refused(home, hostile.csv_bad_time(tmp_path / "activities.csv")) == [
        'activities.csv:2:date: "2026-01-05T25:00:00" has a time of day that does not exist '
        "(25:00:00); expected a date like 2026-04-01 (YYYY-MM-DD or YYYY/MM/DD), with a time "
        "from 00:00 to 23:59 if any"]


def test_a_nul_byte_after_the_first_8_kb_is_refused_like_one_before(home, tmp_path):
    assert refused(home, hostile.csv_nul_late(tmp_path / "users.csv")) == [
        "users.csv: contains a NUL byte at position 13,703 (line 992); expected text — a CSV "
        "saved by Excel or Metabase never contains one"]
    early = tmp_path / "early.csv"
    early.write_bytes(b"user_id,name\nU1,a\x00b\n")
    assert refused(home, early) == [
        "early.csv: is a binary file, not a CSV, XLSX or JSON file"]


def test_dev_null_is_not_a_regular_file(home, tmp_path):
    store = Store(home)
    before = published(store)
    with pytest.raises(ValidationFailed) as info:
        import_files(SETTINGS, store, [os.devnull], display_names=["/dev/null"])
    reset_connection_cache()
    assert [str(p) for p in info.value.problems] == [
        "/dev/null: is not a regular file (a device, a folder or a pipe); expected a CSV, XLSX "
        "or JSON file"]
    assert published(store) == before
    with pytest.raises(CsAnalyticsError, match="^gone.csv: file not found$"):
        import_files(SETTINGS, store, [tmp_path / "gone.csv"])


def test_names_with_line_breaks_and_escapes_never_reach_the_terminal_raw(home, tmp_path):
    path = hostile.evil_name(tmp_path)
    env = {"CS_ANALYTICS_HOME": str(home), "CS_ANALYTICS_CONFIG": str(tmp_path / "no.toml")}
    (tmp_path / "no.toml").write_text("", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path)], env=env)
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr and "\x1b" not in result.stdout
    lines = result.stderr.splitlines()
    assert 'users\\n\\x1b[31mred\\x1b[0m.csv:2:name: is empty; expected a value (the name is ' \
           "required)" in lines
    assert lines[-1] == "error: 1 problem in users\\n\\x1b[31mred\\x1b[0m.csv; nothing was imported"


# ---------------------------------------------------------------------------- the UI's language


def test_every_message_has_english_and_japanese_with_the_same_placeholders():
    for key, texts in MESSAGES.items():
        assert set(texts) == {"en", "ja"}, key
        assert placeholders_of(texts["en"]) == placeholders_of(texts["ja"]), key


def test_problems_render_in_japanese_with_their_parts(home, tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text("取引先ID,日付,配信数,ログイン数\nA1,2025-13-01,-1,2.5\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        import_files(SETTINGS, Store(home), [path])
    reset_connection_cache()
    assert [p.line("ja") for p in info.value.problems] == [
        'usage.csv:2:日付: "2025-13-01" は日付ではありません。2026-04-01 のような日付'
        "（YYYY-MM-DD または YYYY/MM/DD）が必要です",
        'usage.csv:2:配信数: "-1" は負の数です。0 以上の整数が必要です',
        'usage.csv:2:ログイン数: "2.5" は整数ではありません。0 以上の整数が必要です']
    assert info.value.localized("ja") == "usage.csv に 3 件の問題があるため、何も取り込んでいません"
    assert info.value.localized("en") == str(info.value) == \
        "3 problems in usage.csv; nothing was imported"


def test_the_cli_speaks_the_language_it_is_given(home, tmp_path):
    """The Data page runs refreshes with --lang in the UI's language: the problems of an inbox
    file come back in that language."""
    path = tmp_path / "usage.csv"
    path.write_text("取引先ID,日付,配信数,ログイン数\nA1,2026-01-05,-1,2\n", encoding="utf-8")
    env = {"CS_ANALYTICS_HOME": str(home), "CS_ANALYTICS_CONFIG": str(tmp_path / "no.toml")}
    (tmp_path / "no.toml").write_text("", encoding="utf-8")
    result = CliRunner().invoke(main, ["--lang", "ja", "import", str(path)], env=env)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if not line.startswith("…")]
    assert lines == ['usage.csv:2:配信数: "-1" は負の数です。0 以上の整数が必要です',
                     "error: usage.csv に 1 件の問題があるため、何も取り込んでいません"]


def test_a_problem_survives_the_trip_from_the_reading_child():
    problem = Problem("a.json", 3, "日付", msg("value.not_date", value='"x"',
                                              expected=msg("expected.date")))
    assert Problem.from_json(json.loads(json.dumps(problem.to_json()))) == problem


# ---------------------------------------------------------------------------- item 10: CSV output


@pytest.fixture
def hostile_names_home(tmp_path):
    """A published snapshot whose account names and ids start with = + - @."""
    home = tmp_path / "data"
    (tmp_path / "users.csv").write_text("user_id,name\nU1,佐藤\n", encoding="utf-8")
    rows = ["account_id,name,owner_id", '=A1,"=HYPERLINK(""http://x"",""y"")",U1',
            "+A2,+cmd,U1", "-A3,-1+2,U1", "@A4,@SUM(A1),U1"]
    (tmp_path / "accounts.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "contracts.csv").write_text(
        "contract_id,account_id,start_date,end_date,mrr\n"
        + "".join(f"C{i},{a},2025-01-01,2025-12-31,1000\n"
                  for i, a in enumerate(["=A1", "+A2", "-A3", "@A4"])), encoding="utf-8")
    settings = settings_from_dict({"general": {"as_of": dt.date(2025, 6, 30)}})
    import_files(settings, Store(home), [tmp_path / "users.csv", tmp_path / "accounts.csv",
                                         tmp_path / "contracts.csv"])
    reset_connection_cache()
    (tmp_path / "cfg.toml").write_text('[general]\nas_of = 2025-06-30\n', encoding="utf-8")
    return {"CS_ANALYTICS_HOME": str(home), "CS_ANALYTICS_CONFIG": str(tmp_path / "cfg.toml")}


def test_cli_csv_output_guards_formulas_unless_told_not_to(hostile_names_home):
    env = hostile_names_home
    result = CliRunner().invoke(main, ["movements"], env=env)
    assert result.exit_code == 0, result.output
    ids = {row["account_id"] for row in csv.DictReader(io.StringIO(result.stdout))}
    assert ids == {"'=A1", "'+A2", "'-A3", "'@A4"}
    raw = CliRunner().invoke(main, ["movements", "--no-formula-guard"], env=env)
    assert {row["account_id"] for row in csv.DictReader(io.StringIO(raw.stdout))} == \
        {"=A1", "+A2", "-A3", "@A4"}
    health = CliRunner().invoke(main, ["health"], env=env)
    assert health.exit_code == 0, health.output
    names = {row["name"] for row in csv.DictReader(io.StringIO(health.stdout))}
    assert names == {"'=HYPERLINK(\"http://x\",\"y\")", "'+cmd", "'-1+2", "'@SUM(A1)"}
    for row in csv.DictReader(io.StringIO(health.stdout)):
        assert not row["score"].startswith("'")  # numbers are never touched
    history = CliRunner().invoke(main, ["health", "--history"], env=env)
    assert history.exit_code == 0, history.output
    assert {row["account_id"] for row in csv.DictReader(io.StringIO(history.stdout))} == \
        {"'=A1", "'+A2", "'-A3", "'@A4"}
    due = CliRunner().invoke(main, ["renewals", "--quarter", "2025Q4", "--format", "csv"],
                             env=env)
    assert due.exit_code == 0, due.output
    assert {row["name"] for row in csv.DictReader(io.StringIO(due.stdout))} == names
    raw = CliRunner().invoke(main, ["renewals", "--quarter", "2025Q4", "--format", "csv",
                                    "--no-formula-guard"], env=env)
    assert {row["account_id"] for row in csv.DictReader(io.StringIO(raw.stdout))} == \
        {"=A1", "+A2", "-A3", "@A4"}


# ---------------------------------------------------------------------------- make reliability


def test_the_reliability_script_reports_each_case(tmp_path):
    """`make reliability` on two quick cases: each refused, nothing published or touched, the
    table says so (the full set runs for minutes: `make reliability`)."""
    results = hostile.run(["dev-null", "csv-hour-25"], tmp_path)
    assert [(r["case"], r["exit_code"], r["snapshot_identical"], r["userdata_identical"])
            for r in results] == [("dev-null", 2, True, True), ("csv-hour-25", 2, True, True)]
    assert results[1]["message"].startswith(
        'activities.csv:2:date: "2026-01-05T25:00:00" has a time of day that does not exist')
    assert all(0 < r["peak_mb"] < 1024 for r in results)
    lines = hostile.table(results).splitlines()
    assert lines[0].split()[:7] == ["case", "exit", "peak", "MB", "s", "snapshot", "userdata"]
    assert lines[1].startswith("dev-null") and " same     same " in lines[1]
