"""Snapshot store: atomic publish, failed builds, readers across processes, pruning, refresh log,
and the user-data store that refreshes never touch."""

import hashlib
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from cs_analytics.config import Settings, settings_from_dict
from cs_analytics.errors import BuildFailed, CsAnalyticsError, NoSnapshot
from cs_analytics.warehouse.build import open_build
from cs_analytics.warehouse.store import RefreshLog, Store, reset_connection_cache

USERS_SQL = ("SELECT * FROM (VALUES {rows}) v(user_id, name, email, role, manager_id, capacity, "
             "active)")


def publish_users(store, names, settings=None, source="test"):
    """Publish a snapshot whose users table holds `names` (ids U1, U2, …)."""
    rows = ", ".join(f"('U{i}', '{n}', NULL, 'member', NULL, 25, true)"
                     for i, n in enumerate(names, start=1))
    with open_build(settings or Settings(), store, source=source, base="empty") as build:
        build.replace("users", USERS_SQL.format(rows=rows))
        return build.publish()


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(autouse=True)
def _fresh_connections():
    reset_connection_cache()
    yield
    reset_connection_cache()


def test_no_snapshot_is_a_clear_error(tmp_path):
    store = Store(tmp_path)
    assert not store.has_snapshot()
    with pytest.raises(NoSnapshot, match="no snapshot published in .*: run `python -m cs_analytics demo`"):
        store.open_current()


def test_publish_switches_pointer_to_a_new_versioned_file(tmp_path):
    store = Store(tmp_path)
    first = publish_users(store, ["佐藤"])
    second = publish_users(store, ["佐藤", "鈴木"])
    assert first.snapshot.path != second.snapshot.path
    assert first.snapshot.path.exists(), "the previous snapshot stays on disk"
    snap = store.open_current()
    assert snap.path == second.snapshot.path
    assert snap.scalar("SELECT count(*) FROM users") == 2
    assert snap.meta["source"] == "test"
    assert snap.meta["rows"]["users"] == 2
    assert (tmp_path / "CURRENT").read_text().strip() == second.snapshot.path.name
    assert not list((tmp_path / "snapshots").glob(".building-*"))


def test_failed_build_publishes_nothing_and_keeps_previous_byte_identical(tmp_path):
    store = Store(tmp_path)
    good = publish_users(store, ["佐藤"])
    before = digest(good.snapshot.path)
    pointer = (tmp_path / "CURRENT").read_bytes()
    with pytest.raises(BuildFailed, match="accounts.owner_id refers to users that do not exist: U404"):
        with open_build(Settings(), store, source="import") as build:
            build.merge("accounts", "SELECT 'A1' AS account_id, 'テスト㈱' AS name, "
                        "'U404' AS owner_id, NULL AS industry, NULL AS phase, NULL AS created_date, "
                        "NULL AS churn_reason, NULL AS parent_id, NULL AS sf_url")
            build.publish()
    assert (tmp_path / "CURRENT").read_bytes() == pointer
    assert digest(good.snapshot.path) == before
    assert [f.path for f in store.snapshot_files()] == [good.snapshot.path]
    assert not list((tmp_path / "snapshots").glob(".building-*"))
    assert store.open_current().scalar("SELECT name FROM users") == "佐藤"


def test_unexpected_error_inside_a_build_becomes_one_sentence(tmp_path):
    store = Store(tmp_path)
    publish_users(store, ["佐藤"])
    with pytest.raises(BuildFailed, match="nothing was published: .*no_such_table"):
        with open_build(Settings(), store, source="import") as build:
            build.con.execute("SELECT * FROM no_such_table")
    log = RefreshLog(store).recent()
    assert log[0]["outcome"] == "failed" and "no_such_table" in log[0]["error"]


def test_import_merges_into_current_snapshot_by_key(tmp_path):
    store = Store(tmp_path)
    publish_users(store, ["佐藤", "鈴木"])
    with open_build(Settings(), store, source="import") as build:
        build.merge("users", USERS_SQL.format(rows="('U2', '鈴木 花子', NULL, 'manager', NULL, 20, true), "
                                              "('U3', '高橋', NULL, 'member', NULL, 25, true)"))
        build.publish()
    rows = store.open_current().rows("SELECT user_id, name, role FROM users ORDER BY user_id")
    assert rows == [("U1", "佐藤", "member"), ("U2", "鈴木 花子", "manager"), ("U3", "高橋", "member")]


def test_a_second_concurrent_build_is_refused(tmp_path):
    store = Store(tmp_path)
    with open_build(Settings(), store, source="one", base="empty") as build:
        with pytest.raises(CsAnalyticsError, match="another refresh or import is running"):
            with open_build(Settings(), store, source="two"):
                pass
        build.publish()
    assert [r["outcome"] for r in RefreshLog(store).recent()] == ["success"]


READER = textwrap.dedent("""
    import sys
    from cs_analytics.warehouse.store import Store
    snap = Store(sys.argv[1]).open_current()
    print(snap.scalar("SELECT count(*) FROM users"), flush=True)
    sys.stdin.readline()   # the test publishes a new snapshot meanwhile
    print(snap.scalar("SELECT count(*) FROM users"), flush=True)
    print(Store(sys.argv[1]).current_file().id, flush=True)
""")


def test_reader_process_holding_old_snapshot_is_not_disturbed(tmp_path):
    store = Store(tmp_path)
    old = publish_users(store, ["佐藤"])
    reader = subprocess.Popen([sys.executable, "-c", READER, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        assert reader.stdout.readline().strip() == "1"
        new = publish_users(store, ["佐藤", "鈴木", "高橋"])
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "1", "the open snapshot keeps its data"
        assert reader.stdout.readline().strip() == new.snapshot.id
        assert reader.wait(timeout=30) == 0
    finally:
        reader.kill()
    assert old.snapshot.path.exists()


def test_prune_keeps_the_last_n_snapshots(tmp_path):
    store = Store(tmp_path)
    settings = settings_from_dict({"snapshots": {"keep": 2}})
    results = [publish_users(store, ["佐藤"] * 0 + [f"user{i}"], settings) for i in range(4)]
    kept = [f.path for f in store.snapshot_files()]
    assert kept == [results[3].snapshot.path, results[2].snapshot.path]
    assert not results[0].snapshot.path.exists()
    assert store.open_current().path == results[3].snapshot.path


def test_refresh_log_records_every_build(tmp_path):
    store = Store(tmp_path)
    ok = publish_users(store, ["佐藤"], source="demo")
    with pytest.raises(BuildFailed):
        with open_build(Settings(), store, source="salesforce") as build:
            build.merge("accounts", "SELECT 'A1' account_id, 'X' AS name, 'U9' AS owner_id, NULL industry, "
                        "NULL phase, NULL created_date, NULL churn_reason, NULL parent_id, NULL sf_url")
            build.publish()
    log = RefreshLog(store).recent()
    assert [(r["source"], r["outcome"]) for r in log] == [("salesforce", "failed"), ("demo", "success")]
    assert log[1]["snapshot_id"] == ok.snapshot.id
    assert log[1]["rows"]["users"] == 1
    assert log[1]["started_at"] <= log[1]["finished_at"]
    assert "U9" in log[0]["error"] and log[0]["snapshot_id"] is None
    # the log lives beside the snapshots, so it survives their pruning
    assert (tmp_path / "meta.sqlite").exists()


KILLED_BUILD = textwrap.dedent("""
    import sys
    from cs_analytics.warehouse.build import open_build
    from cs_analytics.config import Settings
    from cs_analytics.warehouse.store import Store
    with open_build(Settings(), Store(sys.argv[1]), source="refresh") as build:
        build.replace("users", "SELECT 'U1' user_id, '佐藤' name, NULL email, NULL role, "
                      "NULL manager_id, NULL capacity, NULL active UNION ALL "
                      "SELECT 'U2', '鈴木', NULL, NULL, NULL, NULL, NULL UNION ALL "
                      "SELECT 'U3', '高橋', NULL, NULL, NULL, NULL, NULL")
        build.publish()
""")


@pytest.mark.parametrize("point", ["extract", "build", "publish"])
def test_killed_build_is_marked_interrupted_and_cleaned_up(tmp_path, point):
    store = Store(tmp_path)
    good = publish_users(store, ["佐藤"])
    before = digest(good.snapshot.path)
    pointer = (tmp_path / "CURRENT").read_bytes()
    proc = subprocess.Popen([sys.executable, "-c", KILLED_BUILD, str(tmp_path)],
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "CS_ANALYTICS_PAUSE_AT": point})
    assert proc.stderr.readline().strip() == f"paused at {point}"
    assert list((tmp_path / "snapshots").glob(".building-*"))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # the current snapshot is readable and unchanged
    assert (tmp_path / "CURRENT").read_bytes() == pointer
    assert digest(good.snapshot.path) == before
    assert store.open_current().scalar("SELECT count(*) FROM users") == 1
    # the next build succeeds, records the killed one as interrupted and removes its leftovers
    publish_users(store, ["佐藤", "鈴木"])
    log = RefreshLog(store).recent()
    assert [(r["source"], r["outcome"]) for r in log] == [
        ("test", "success"), ("refresh", "interrupted"), ("test", "success")]
    assert not list((tmp_path / "snapshots").glob(".building-*"))
    assert len(store.snapshot_files()) == 2


def test_publish_killed_after_rename_leaves_no_orphan(tmp_path):
    store = Store(tmp_path)
    good = publish_users(store, ["佐藤"])
    orphan = tmp_path / "snapshots" / "snap-29991231T000000000000-99.duckdb"
    orphan.write_bytes(good.snapshot.path.read_bytes())
    assert store.open_current().path == good.snapshot.path
    publish_users(store, ["鈴木"])
    assert not orphan.exists()


def test_user_data_store_has_its_tables_and_survives_refreshes(tmp_path):
    store = Store(tmp_path)
    con = store.userdata_db()
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"notes", "manual_assessments", "alert_actions", "weekly_reviews", "action_plans"} <= tables
    con.execute("INSERT INTO notes (account_id, author, body, created_at) VALUES "
                "('A1', 'U1', '更新の相談あり', '2026-01-05')")
    con.close()
    before = digest(tmp_path / "userdata.sqlite")
    publish_users(store, ["佐藤"])
    publish_users(store, ["鈴木"])
    assert digest(tmp_path / "userdata.sqlite") == before
    # migrations are idempotent: reopening does not recreate or lose anything
    con = store.userdata_db()
    assert con.execute("SELECT body FROM notes").fetchone()[0] == "更新の相談あり"
    assert con.execute("PRAGMA user_version").fetchone()[0] >= 1


def test_frames_can_be_registered_between_merges(tmp_path):
    import pandas as pd

    store = Store(tmp_path)
    columns = ["user_id", "name", "email", "role", "manager_id", "capacity", "active"]
    with open_build(Settings(), store, source="test", base="empty") as build:
        for i in (1, 2):
            frame = pd.DataFrame([[f"U{i}", f"user{i}", None, None, None, None, None]], columns=columns)
            build.con.register(f"incoming{i}", frame)
            build.merge("users", f"SELECT * FROM incoming{i}")
        build.publish()
    assert store.open_current().scalar("SELECT count(*) FROM users") == 2


def test_a_derived_value_is_made_once_per_file_whichever_thread_asks_first(tmp_path):
    """Threads asking for one missing derived value at once wait for the first one's load;
    another Snapshot of the same file gets the same value, another key its own."""
    import threading
    import time

    store = Store(tmp_path)
    publish_users(store, ["佐藤"])
    loads = []

    def load():
        loads.append(threading.current_thread().name)
        time.sleep(0.2)  # long enough for the other threads to ask meanwhile
        return object()

    snap = store.open_current()
    got = []
    threads = [threading.Thread(target=lambda: got.append(snap.derived_once("x", 1, load)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1 and len(got) == 4 and all(v is got[0] for v in got)
    assert store.open_current().derived_once("x", 1, load) is got[0]
    assert store.open_current().derived("x")[1] is got[0]
    assert store.open_current().derived_once("x", 2, load) is not got[0] and len(loads) == 2


def test_derived_values_kept_are_bounded_least_recently_asked_first(tmp_path):
    store = Store(tmp_path)
    publish_users(store, ["佐藤"])
    snap = store.open_current()
    made = []

    def value(key):
        return lambda: made.append(key) or object()

    first = snap.derived_once("y", 1, value(1), keep=2)
    snap.derived_once("y", 2, value(2), keep=2)
    assert snap.derived_once("y", 1, value(1), keep=2) is first  # 1 asked most recently
    snap.derived_once("y", 3, value(3), keep=2)  # drops 2
    assert list(snap.derived("y")) == [1, 3] and made == [1, 2, 3]
    snap.derived_once("y", 2, value(2), keep=2)
    assert made == [1, 2, 3, 2] and list(snap.derived("y")) == [3, 2]


def test_the_current_snapshot_follows_the_pointer_however_it_changes(tmp_path):
    """The file a pointer names is resolved once per name and remembered: a publish, a
    pointer rewritten in place (an operator switching back by hand), a pointer removed and a
    current file deleted are each seen by the next read, through the same Store or another."""
    store = Store(tmp_path)
    first = publish_users(store, ["佐藤"]).snapshot
    assert store.current_file() == first
    second = publish_users(store, ["佐藤", "鈴木"]).snapshot
    assert store.current_file() == second
    assert Store(tmp_path).open_current().scalar("SELECT count(*) FROM users") == 2
    store.pointer.write_text(first.path.name + "\n", encoding="utf-8")  # in place, same size
    assert Store(tmp_path).current_file() == first
    assert store.open_current().scalar("SELECT count(*) FROM users") == 1
    first.path.unlink()
    assert store.current_file() is None
    store.pointer.write_text(second.path.name + "\n", encoding="utf-8")
    assert store.current_file() == second
    store.pointer.unlink()
    assert store.current_file() is None
    # A pointer gone while snapshots are kept is damage: the newest intact one is served,
    # marked as standing in (tests/test_damaged_data.py).
    served = store.resolve()
    assert served.file == second and served.damage.name == "CURRENT"
    assert store.open_current().damage == served.damage
