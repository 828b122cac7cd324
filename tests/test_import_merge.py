"""Importing publishes once: merge by key, replace, idempotent re-import, nothing published on
error, demo data replaced; and the CLI `import` command's output and exit codes."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import build_snapshot
from cs_analytics.cli import main
from cs_analytics.config import settings_from_dict
from cs_analytics.errors import ValidationFailed
from cs_analytics.ingest.imports import import_files
from cs_analytics.warehouse.store import RefreshLog, Store

AS_OF = dt.date(2025, 6, 30)
SETTINGS = settings_from_dict({"general": {"as_of": AS_OF}})
CANONICAL = ("users", "accounts", "contracts", "activities", "usage")

USERS = "user_id,name,role\nu1,田中,manager\nu2,佐藤,メンバー\n"
ACCOUNTS = ('取引先ID,取引先名,担当者ID,業種\nA1,"㈱髙島屋①",u1,金融\n'
            'A2,"=HYPERLINK(""x"")",u2,医療\nA3,"<b>bold</b> \\ ""q""",u2,製造\n')
CONTRACTS = ("契約ID,取引先ID,契約開始日,契約終了日,金額\n"
             'C1,A1,2024-04-15,2025-04-14,"1,200,000"\n'
             "C2,A2,2025/4/1,2026/3/31,¥600000\n")


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def table(store: Store, name: str, order: str) -> list[tuple]:
    return store.open_current().rows(f'SELECT * FROM "{name}" ORDER BY {order}')


def base_files(tmp_path) -> list[Path]:
    src = tmp_path / "in"
    return [write(src, "users.csv", USERS), write(src, "accounts.csv", ACCOUNTS, "cp932"),
            write(src, "contracts.csv", CONTRACTS)]


def test_import_publishes_once_with_exact_values(tmp_path):
    store = Store(tmp_path / "data")
    result = import_files(SETTINGS, store, base_files(tmp_path))
    assert {t: (c.rows, c.inserted, c.updated, c.unchanged) for t, c in result.tables.items()} == \
        {"users": (2, 2, 0, 0), "accounts": (3, 3, 0, 0), "contracts": (2, 2, 0, 0)}
    assert result.published.as_of == AS_OF
    assert store.current_file().id == result.published.snapshot.id
    assert len(RefreshLog(store).recent()) == 1
    assert table(store, "accounts", "account_id") == [
        ("A1", "㈱髙島屋①", "u1", "金融", None, None, None, None, None),
        ("A2", '=HYPERLINK("x")', "u2", "医療", None, None, None, None, None),
        ("A3", '<b>bold</b> \\ "q"', "u2", "製造", None, None, None, None, None)]
    assert table(store, "contracts", "contract_id") == [
        ("C1", "A1", dt.date(2024, 4, 15), dt.date(2025, 4, 14), 1_200_000.0, None, None, None,
         None, None, None, None),
        ("C2", "A2", dt.date(2025, 4, 1), dt.date(2026, 3, 31), 600_000.0, None, None, None,
         None, None, None, None)]
    assert table(store, "users", "user_id")[1][3] == "member"
    snap = store.open_current()
    assert snap.rows("SELECT _file, _row, contract_id, amount FROM raw_import_contracts "
                     "ORDER BY _row") == [("contracts.csv", 2, "C1", "1,200,000"),
                                          ("contracts.csv", 3, "C2", "¥600000")]
    assert snap.rows('SELECT file, format, encoding, "table", rows FROM raw_import_files') == [
        ("users.csv", "csv", "utf-8", "users", 2), ("accounts.csv", "csv", "cp932", "accounts", 3),
        ("contracts.csv", "csv", "utf-8", "contracts", 2)]
    # the staging tables never reach the snapshot
    assert not [n for n in snap.meta["rows"] if n.startswith("imp_") or n.startswith("_")]
    assert not snap.rows("SELECT table_name FROM information_schema.tables "
                         "WHERE table_name LIKE 'imp%'")


def test_reimporting_the_same_files_changes_nothing(tmp_path):
    store = Store(tmp_path / "data")
    files = base_files(tmp_path)
    import_files(SETTINGS, store, files)
    before = {t: table(store, t, "ALL") for t in CANONICAL}
    again = import_files(SETTINGS, store, files)
    assert {t: (c.inserted, c.updated, c.unchanged) for t, c in again.tables.items()} == \
        {"users": (0, 0, 2), "accounts": (0, 0, 3), "contracts": (0, 0, 2)}
    assert {t: table(store, t, "ALL") for t in CANONICAL} == before


def test_merge_replaces_rows_by_key_and_keeps_other_tables(tmp_path):
    store = Store(tmp_path / "data")
    import_files(SETTINGS, store, base_files(tmp_path))
    update = write(tmp_path / "next", "contracts.xlsx.csv",
                   "contract_id,account_id,start_date,end_date,mrr\n"
                   "C1,A1,2024-04-15,2025-04-14,90000\nC3,A3,2025-05-01,2026-04-30,50000\n")
    result = import_files(SETTINGS, store, [update])
    assert (result.tables["contracts"].inserted, result.tables["contracts"].updated,
            result.tables["contracts"].unchanged) == (1, 1, 0)
    rows = {r[0]: r for r in table(store, "contracts", "contract_id")}
    assert sorted(rows) == ["C1", "C2", "C3"]
    assert rows["C1"][4:6] == (None, 90000.0)  # the new row replaces the old one entirely
    assert rows["C2"][4] == 600_000.0
    assert len(table(store, "accounts", "account_id")) == 3


def test_merge_into_a_snapshot_made_before_the_renewal_columns(tmp_path):
    """A snapshot published before contracts had auto_renew, notice_days and notice_date: the
    next import keeps its rows, with those columns empty, and adds the new file's terms."""
    import duckdb

    store = Store(tmp_path / "data")
    import_files(SETTINGS, store, base_files(tmp_path))
    con = duckdb.connect(str(store.current_file().path))
    for column in ("auto_renew", "notice_days", "notice_date"):
        con.execute(f"ALTER TABLE contracts DROP COLUMN {column}")
    con.close()
    update = write(tmp_path / "next", "contracts.csv",
                   "契約ID,取引先ID,契約開始日,契約終了日,月額,自動更新,解約予告日数,解約通知日\n"
                   "C3,A3,2025-05-01,2026-04-30,50000,true,60,2026-02-01\n")
    import_files(SETTINGS, store, [update])
    rows = {r[0]: r[-3:] for r in table(store, "contracts", "contract_id")}
    assert rows == {"C1": (None, None, None), "C2": (None, None, None),
                    "C3": (True, 60, dt.date(2026, 2, 1))}


def test_replace_replaces_the_whole_table(tmp_path):
    store = Store(tmp_path / "data")
    import_files(SETTINGS, store, base_files(tmp_path))
    users = write(tmp_path / "next", "users.csv", "user_id,name\nu1,田中\nu2,佐藤\nu3,鈴木\n")
    result = import_files(SETTINGS, store, [users], replace=True)
    change = result.tables["users"]
    assert (change.rows, change.inserted, change.updated, change.unchanged, change.removed,
            change.replaced) == (3, 1, 2, 0, 0, True)
    assert [r[3] for r in table(store, "users", "user_id")] == [None, None, None]
    contracts = write(tmp_path / "next", "contracts.csv",
                      "contract_id,account_id,start_date,end_date,mrr\nC9,A3,2025-01-01,"
                      "2025-12-31,1000\n")
    result = import_files(SETTINGS, store, [contracts], replace=True)
    assert result.tables["contracts"].removed == 2
    assert [r[0] for r in table(store, "contracts", "contract_id")] == ["C9"]


def test_nothing_published_on_validation_error(tmp_path):
    store = Store(tmp_path / "data")
    import_files(SETTINGS, store, base_files(tmp_path))
    current = store.current_file()
    pointer = store.pointer.read_bytes()
    content = current.path.read_bytes()
    bad = write(tmp_path / "bad", "contracts.csv",
                "contract_id,account_id,start_date,end_date,amount\nC5,A1,2025-04-01,"
                "2025-13-01,100\nC6,A404,2025-04-01,2026-03-31,100\n")
    good = write(tmp_path / "bad", "users.csv", "user_id,name\nu9,New\n")
    with pytest.raises(ValidationFailed) as info:
        import_files(SETTINGS, store, [good, bad])
    assert [f"{p.file}:{p.row}:{p.column}" for p in info.value.problems] == \
        ["contracts.csv:2:end_date", "contracts.csv:3:account_id"]
    assert store.pointer.read_bytes() == pointer
    assert store.current_file() == current
    assert current.path.read_bytes() == content
    assert [p.name for p in store.snapshot_dir.iterdir() if p.name.startswith(".building")] == []
    last = RefreshLog(store).recent(1)[0]
    assert (last["outcome"], last["error"]) == (
        "failed", "2 problems in contracts.csv; nothing was imported")
    assert [r[0] for r in table(store, "users", "user_id")] == ["u1", "u2"]


def test_import_over_demo_data_starts_from_empty(tmp_path):
    build_snapshot(tmp_path / "data", accounts=[{"account_id": "D1", "name": "Demo",
                                                 "owner_id": "u1"}],
                   as_of="2025-06-30", is_demo=True)
    store = Store(tmp_path / "data")
    src = tmp_path / "in"
    result = import_files(SETTINGS, store, [write(src, "users.csv", USERS),
                                            write(src, "accounts.csv", ACCOUNTS)])
    assert [r[0] for r in table(store, "accounts", "account_id")] == ["A1", "A2", "A3"]
    assert result.tables["accounts"].inserted == 3
    assert not store.open_current().is_demo


def test_generated_usage_invariants(tmp_path):
    rng = random.Random(11)
    accounts = [f"A{i}" for i in range(40)]
    start = dt.date(2025, 1, 1)
    rows = {(a, start + dt.timedelta(days=d)): (rng.randint(0, 9), rng.randint(0, 30))
            for a in accounts for d in rng.sample(range(150), 60)}
    spellings = [lambda v: str(v), lambda v: f'"{v:,}"', lambda v: str(v).translate(
        str.maketrans("0123456789", "０１２３４５６７８９"))]
    lines = ["account_id,date,deliveries,logins"]
    for (a, d), (deliveries, logins) in rows.items():
        date = d.isoformat() if rng.random() < 0.7 else f"{d.year}/{d.month}/{d.day}"
        lines.append(f"{a},{date},{rng.choice(spellings)(deliveries)},{logins}")
    src = tmp_path / "in"
    files = [write(src, "users.csv", "user_id,name\nu1,T\n"),
             write(src, "accounts.csv", "account_id,name,owner_id\n" +
                   "".join(f"{a},{a},u1\n" for a in accounts)),
             write(src, "usage.csv", "\n".join(lines) + "\n")]
    store = Store(tmp_path / "data")
    result = import_files(SETTINGS, store, files)
    assert result.tables["usage"].rows == len(rows) == 2400
    snap = store.open_current()
    assert snap.rows("SELECT count(*), sum(deliveries), sum(logins) FROM usage") == \
        [(len(rows), sum(v[0] for v in rows.values()), sum(v[1] for v in rows.values()))]
    per_account = dict(snap.rows("SELECT account_id, sum(deliveries) FROM usage GROUP BY 1"))
    for a in accounts:
        assert per_account[a] == sum(v[0] for (acc, _), v in rows.items() if acc == a)
    again = import_files(SETTINGS, store, files[2:])
    assert again.tables["usage"].unchanged == len(rows)


# ---------------------------------------------------------------------------- CLI


@pytest.fixture
def cli(tmp_path, monkeypatch):
    config = tmp_path / "cs_analytics.toml"
    config.write_text("[general]\nas_of = 2025-06-30\n", encoding="utf-8")
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(config))
    monkeypatch.setenv("CS_ANALYTICS_HOME", str(tmp_path / "data"))

    def run(*args):
        return CliRunner().invoke(main, list(args))

    return run


def test_cli_import_summary_on_stdout(tmp_path, cli):
    result = cli("import", *map(str, base_files(tmp_path)))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("imported 3 files into snapshot ")
    assert lines[0].endswith("(data as of 2025-06-30)")
    assert lines[1:] == ["  users: 2 rows — 2 new, 0 updated, 0 unchanged",
                         "  accounts: 3 rows — 3 new, 0 updated, 0 unchanged",
                         "  contracts: 2 rows — 2 new, 0 updated, 0 unchanged"]
    assert "… reading accounts.csv" in result.stderr
    assert "Traceback" not in result.output


def test_cli_warnings_and_replace(tmp_path, cli):
    cli("import", *map(str, base_files(tmp_path)))
    users = write(tmp_path / "n", "users.csv", "user_id,name,memo\nu1,田中,x\nu2,佐藤,y\nu2,佐藤,y\n")
    result = cli("import", "--kind", "users", "--replace", str(users))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "  users: 2 rows — 0 new, 2 updated, 0 unchanged, 0 removed (table replaced)",
        "warnings (2):",
        '  users.csv:1: columns not part of users were ignored: "memo"',
        '  users.csv:4: repeats row 3 exactly (user_id "u2"); loaded once']


def test_cli_validation_errors_exit_2_with_every_problem(tmp_path, cli):
    bad = write(tmp_path, "users.csv", "user_id,name,capacity\nu1,,x\nu2,B,-1\n")
    result = cli("import", str(bad))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-4:] == [
        'users.csv:2:capacity: "x" is not a whole number; expected a whole number of 0 or more',
        "users.csv:2:name: is empty; expected a value (the name is required)",
        'users.csv:3:capacity: "-1" is negative; expected a whole number of 0 or more',
        "error: 3 problems in users.csv; nothing was imported"]


def test_cli_other_errors_exit_1_on_one_line(tmp_path, cli):
    users = write(tmp_path, "users.csv", "user_id,name\nu1,A\n")
    store = Store(tmp_path / "data")
    with store.build_lock():
        result = cli("import", str(users))
    assert result.exit_code == 1
    assert result.stderr == ("error: another refresh or import is running on this data "
                             "directory; try again when it has finished\n")
    missing = cli("import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    assert "Traceback" not in result.output + missing.output


def test_raw_rows_are_kept_up_to_the_limit(tmp_path):
    settings = settings_from_dict({"general": {"as_of": AS_OF}, "import": {"raw_rows_max": 2}})
    store = Store(tmp_path / "data")
    import_files(settings, store, base_files(tmp_path))
    snap = store.open_current()
    assert snap.has_table("raw_import_users") and snap.has_table("raw_import_contracts")
    assert not snap.has_table("raw_import_accounts")  # 3 rows > 2
    assert snap.rows('SELECT "table", rows FROM raw_import_files WHERE file = ?',
                     ["accounts.csv"]) == [("accounts", 3)]
