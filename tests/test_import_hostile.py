"""Hostile and broken input (issue 9): whatever bytes arrive, the importer either imports them or
reports clear problems — never an unhandled exception — and a failed import leaves the published
snapshot and the user-data store exactly as they were."""

import csv
import hashlib
import io
import string

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from cs_analytics import contract
from cs_analytics.config import Settings
from cs_analytics.errors import CsAnalyticsError, ValidationFailed
from cs_analytics.ingest.imports import import_files
from cs_analytics.warehouse.store import Store, reset_connection_cache

SETTINGS = Settings()
HOSTILE_NAMES = [
    '=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-1+2", "@SUM(A1)",
    'He said "hello", then left', "C:\\path\\to\\file", "<b>bold</b><script>alert(1)</script>",
    "株式会社 ㈱テスト①髙橋", "  tab\tinside  ", "semi;colon", "line\nbreak",
]


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def state(store: Store):
    """Everything a failed import must leave untouched."""
    current = store.current_file()
    return (digest(store.pointer), current and digest(current.path),
            digest(store.home / "userdata.sqlite"),
            tuple(f.path.name for f in store.snapshot_files()))


def csv_text(rows):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A published snapshot with one user and one account, and a user note."""
    home = tmp_path_factory.mktemp("hostile")
    store = Store(home)
    (home / "users.csv").write_text(csv_text([["user_id", "name"], ["U1", "佐藤"]]), encoding="utf-8")
    (home / "accounts.csv").write_text(
        csv_text([["account_id", "name", "owner_id"], ["A1", "既存の顧客", "U1"]]), encoding="utf-8")
    import_files(SETTINGS, store, [home / "users.csv", home / "accounts.csv"])
    con = store.userdata_db()
    con.execute("INSERT INTO notes (account_id, author, body, created_at) "
                "VALUES ('A1', 'U1', '大事なメモ', '2026-01-01')")
    con.close()
    return home


def attempt(home, name: str, payload: bytes):
    """Import one file; return 'ok' or 'rejected', failing the test on anything else."""
    store = Store(home)
    path = home / "in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(payload)
    before = state(store)
    try:
        import_files(SETTINGS, store, [path])
    except ValidationFailed as exc:
        assert exc.problems or str(exc), "a rejection says why"
        for problem in exc.problems:
            assert str(problem).startswith(f"{name}:"), str(problem)
        assert state(store) == before, "a failed import changed the published data"
        return "rejected"
    except CsAnalyticsError as exc:
        assert str(exc) and "\n" not in str(exc).strip(), "one clear sentence"
        assert state(store) == before, "a failed import changed the published data"
        return "rejected"
    finally:
        reset_connection_cache()
    return "ok"


FUZZ = hsettings(max_examples=40, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])


@FUZZ
@given(payload=st.binary(max_size=2048), ext=st.sampled_from(["csv", "xlsx", "json", "txt"]))
def test_random_bytes_never_crash(home, payload, ext):
    attempt(home, f"random.{ext}", payload)


VALID_USAGE = csv_text([["取引先ID", "日付", "配信数", "ログイン数"],
                        ["A1", "2026-01-05", "3", "12"], ["A1", "2026-01-06", "0", "7"],
                        ["A1", "2026-01-07", "1", "9"]])


@FUZZ
@given(cut=st.integers(min_value=1, max_value=200), encoding=st.sampled_from(["utf-8", "cp932",
                                                                              "utf-8-sig"]))
def test_truncated_text_never_crashes(home, cut, encoding):
    data = VALID_USAGE.replace("A1", "㈱A1").encode(encoding)
    attempt(home, "truncated.csv", data[: min(cut, len(data) - 1)])


cell = st.one_of(
    st.sampled_from(["", "A1", "U1", "2026-01-05", "2026/02/30", "13/01/2026", "-5", "1,200,000",
                     "¥300,000", "12.5", "1e9", "true", "meeting", "商談", "NaN", "null", "None",
                     "9999-12-31", "0", "=1+1", "@A1", "+1", "-1", "\\"] + HOSTILE_NAMES),
    st.text(alphabet=string.printable + "㈱①髙日本語", max_size=30),
)


@FUZZ
@given(data=st.data())
def test_random_csv_over_canonical_columns(home, data):
    table = data.draw(st.sampled_from(list(contract.TABLES)))
    spec = contract.TABLES[table]
    columns = spec.required + data.draw(st.lists(
        st.sampled_from(spec.column_names), max_size=3, unique=True))
    columns = list(dict.fromkeys(columns))
    rows = data.draw(st.lists(st.lists(cell, min_size=len(columns), max_size=len(columns)),
                              max_size=6))
    delimiter = data.draw(st.sampled_from([",", ";", "\t", "|"]))
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows([columns] + rows)
    attempt(home, f"{table}.csv", buf.getvalue().encode("utf-8"))


def test_huge_field_and_wrong_delimiter_are_handled(home):
    huge = "x" * 2_000_000
    assert attempt(home, "huge.csv", csv_text(
        [["user_id", "name"], ["U9", huge]]).encode()) in ("ok", "rejected")
    assert attempt(home, "pipes.csv", b"user_id|name\nU8|x\n") in ("ok", "rejected")
    assert attempt(home, "empty.csv", b"") == "rejected"
    assert attempt(home, "header_only.csv", b"user_id,name\n") in ("ok", "rejected")


def test_hostile_account_names_round_trip_exactly(home):
    rows = [["account_id", "name", "owner_id"]] + [
        [f"H{i}", name, "U1"] for i, name in enumerate(HOSTILE_NAMES)]
    assert attempt(home, "hostile_accounts.csv", csv_text(rows).encode("utf-8")) == "ok"
    snap = Store(home).open_current()
    stored = dict(snap.rows("SELECT account_id, name FROM accounts WHERE account_id LIKE 'H%'"))
    # surrounding whitespace is trimmed on import (documented); everything else is kept as is
    assert stored == {f"H{i}": name.strip() for i, name in enumerate(HOSTILE_NAMES)}
    reset_connection_cache()


def test_hostile_names_show_as_text_in_pages_and_stay_text_in_exports(tmp_path, monkeypatch):
    """Imported names with HTML, markdown and formula prefixes are shown literally on the
    account page and written to Excel as plain strings, never as markup or formulas."""
    import openpyxl
    import pandas as pd

    from cs_analytics.app.ui import downloads, widgets
    from test_app_common import clear_caches, make_app

    store = Store(tmp_path)
    (tmp_path / "users.csv").write_text(csv_text([["user_id", "name"], ["U1", "佐藤"]]),
                                        encoding="utf-8")
    rows = [["account_id", "name", "owner_id"]] + [
        [f"H{i}", name, "U1"] for i, name in enumerate(HOSTILE_NAMES)]
    (tmp_path / "accounts.csv").write_text(csv_text(rows), encoding="utf-8")
    import_files(SETTINGS, store, [tmp_path / "users.csv", tmp_path / "accounts.csv"])
    monkeypatch.setenv("CS_ANALYTICS_HOME", str(tmp_path))
    clear_caches()
    try:
        for i in (0, 6):  # the HYPERLINK formula and the HTML/script name
            at = make_app("en", {"account_id": f"H{i}"})
            at.run()
            at.switch_page("pages/account.py").run()
            assert not at.exception
            assert at.subheader[0].value == widgets.md_escape(HOSTILE_NAMES[i])
    finally:
        clear_caches()
        reset_connection_cache()

    frame = pd.DataFrame({"name": [n.strip() for n in HOSTILE_NAMES]})
    book = openpyxl.load_workbook(io.BytesIO(downloads.excel_bytes(frame)))
    cells = [row[0] for row in book.active.iter_rows(min_row=2)]
    assert [c.value for c in cells] == [n.strip() for n in HOSTILE_NAMES]
    assert all(c.data_type == "s" for c in cells), "every name is a string cell, none a formula"
