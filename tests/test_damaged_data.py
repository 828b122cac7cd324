"""A bad disk day (issue 21, items 11–13): a truncated or garbage snapshot, a garbage pointer, a
read-only or full data directory and a killed build never need a developer. Every command
answers in one line (never a traceback), the newest intact snapshot is served and marked as
such, import rebuilds from it, read-only work writes nothing, and the data directory is private.

The faults are plain functions in bench/faults.py (a reliability script replays them too).
"""

from __future__ import annotations

import json
import shutil
import stat
import textwrap
from pathlib import Path

import pytest

from bench import faults
from cs_analytics.config import Settings
from cs_analytics.ingest import demo
from cs_analytics.ingest.imports import import_files
from cs_analytics.warehouse.store import Store, reset_connection_cache
from test_app_common import DEMO_END, make_app, texts, use_home  # noqa: F401

needs_namespaces = pytest.mark.skipif(
    not faults.namespaces_available(),
    reason="needs private mount namespaces (unshare --user --mount) for real read-only and "
           "full disks")


pytestmark = pytest.mark.usefixtures("fresh_connections")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> dict:
    """A data directory with two real (imported, not demo) snapshots: the first holds the
    demo's tables, the second one more user (imported from `extra`); and the CSV files."""
    files = tmp_path_factory.mktemp("csv")
    tables = demo.generate(accounts=20, years=1, seed=3, end=DEMO_END)
    paths = demo.export_csv(tables, files)
    users = paths["users"].read_text(encoding="utf-8").splitlines()
    extra = files / "extra_user.csv"
    extra.write_text(users[0] + "\nU900,新人 太郎,taro.shinjin@example.co.jp,member,U001,20,"
                     "true\n", encoding="utf-8")
    home = tmp_path_factory.mktemp("two-snapshots")
    store = Store(home)
    settings = Settings()
    first = import_files(settings, store, [paths[t] for t in
                                           ("users", "accounts", "contracts", "activities",
                                            "usage")]).published
    second = import_files(settings, store, [extra]).published
    reset_connection_cache()
    return {"home": home, "first": first.snapshot.id, "second": second.snapshot.id,
            "users": len(users) - 1, "files": paths, "extra": extra}


@pytest.fixture
def home(template, tmp_path) -> Path:
    """A private copy of the template's data directory."""
    copy = tmp_path / "data"
    shutil.copytree(template["home"], copy)
    return copy


def assert_one_line(run: faults.CommandRun, code: int | None = None) -> None:
    assert not run.traceback, run.stderr
    if code is not None:
        assert run.returncode == code, (run.returncode, run.stdout, run.stderr)


# --------------------------------------------------------------------------- item 11


@pytest.mark.parametrize("damage", [faults.truncate_snapshot, faults.garble_snapshot])
def test_a_damaged_current_snapshot_is_reported_and_the_newest_intact_one_served(
        home, template, damage):
    damaged = damage(home).name
    status = faults.run_cli(home, "status")
    assert_one_line(status, 0)
    assert f"DAMAGED: {damaged}: " in status.stdout
    assert (f"current snapshot: {template['first']} — the newest intact snapshot, served "
            "instead of the damaged one") in status.stdout
    if damage is faults.truncate_snapshot:
        assert "(truncated or overwritten)" in status.stdout
    else:
        assert "not a valid DuckDB database file" in status.stdout

    metrics = faults.run_cli(home, "metrics", "--format", "json")
    assert_one_line(metrics, 0)
    assert json.loads(metrics.stdout)["customers"] > 0
    assert (f"warning: the current snapshot is damaged ({damaged}: " in metrics.stderr
            and f"using the newest intact snapshot {template['first']}" in metrics.stderr)

    served = Store(home).open_current()
    assert served.id == template["first"] and served.damage.name == damaged
    assert served.scalar("SELECT count(*) FROM users") == template["users"]


@pytest.mark.parametrize("content", [b"\x00\xff\xfe garbage", b"../../../../etc/passwd\n",
                                     b"snap-nope.duckdb\n", b""])
def test_a_garbage_pointer_is_reported_and_the_newest_intact_snapshot_served(
        home, template, content):
    faults.garble_pointer(home, content)
    status = faults.run_cli(home, "status", "--format", "json")
    assert_one_line(status, 0)
    report = json.loads(status.stdout)
    assert report["damaged"]["file"] == "CURRENT"
    assert "names no snapshot file" in report["damaged"]["reason"] or \
        "is not text" in report["damaged"]["reason"]
    assert report["current"]["snapshot"] == template["second"]  # the newest is intact
    assert report["current"]["fallback"] is True
    assert faults.run_cli(home, "health", "--format", "json").returncode == 0


def test_without_any_intact_snapshot_every_command_says_so_and_import_rebuilds(home, template):
    for f in (home / "snapshots").glob("snap-*.duckdb"):
        f.write_bytes(b"\0" * 4096)
    status = faults.run_cli(home, "status")
    assert_one_line(status, 0)
    assert "current snapshot: none intact — rebuild with `import` or `refresh`" in status.stdout
    # `make run` builds demo data only where nothing was ever published: not over damage
    assert faults.run_cli(home, "status", "--exists").returncode == 0
    for command in (("metrics",), ("health",), ("alerts", "--dry-run"), ("movements",)):
        run = faults.run_cli(home, *command)
        assert_one_line(run, 1)
        assert run.one_line_error.startswith("the current snapshot is damaged ("), command
        assert "no intact older snapshot is kept" in run.one_line_error
    files = [str(template["files"][t]) for t in ("users", "accounts", "contracts",
                                                  "activities", "usage")]
    rebuilt = faults.run_cli(home, "import", *files)
    assert_one_line(rebuilt, 0)
    assert "this build starts from empty tables" in rebuilt.stdout
    after = faults.run_cli(home, "status", "--format", "json")
    assert json.loads(after.stdout)["damaged"] is None


def test_import_rebuilds_from_the_newest_intact_snapshot(home, template):
    faults.truncate_snapshot(home)
    run = faults.run_cli(home, "import", str(template["extra"]))
    assert_one_line(run, 0)
    assert (f"this build starts from the newest intact snapshot {template['first']}"
            in run.stdout)
    snap = Store(home).open_current()
    assert snap.damage is None
    # the older snapshot's rows and the imported one: nothing of the intact data is lost
    assert snap.scalar("SELECT count(*) FROM users") == template["users"] + 1
    assert snap.scalar("SELECT count(*) FROM accounts") == 20


def test_status_verify_reads_every_block(home, template):
    ok = faults.run_cli(home, "status", "--verify")
    assert_one_line(ok, 0)
    assert f"  {template['second']}  intact" in ok.stdout
    # Find a block whose damage DuckDB only sees when it is read (not when the file opens).
    path = faults.current_snapshot_path(home)
    original = path.read_bytes()
    block = 256 * 1024
    for offset in range(3 * 4096 + 8 + 64, len(original) - block, block):
        damaged = bytearray(original)
        damaged[offset] ^= 0xFF
        path.write_bytes(bytes(damaged))
        reset_connection_cache()
        if Store(home).check(Store(home).current_file()) is None:
            break
    else:
        pytest.fail("every block is read when the snapshot opens")
    run = faults.run_cli(home, "status", "--verify")
    assert_one_line(run, 1)
    assert f"  {template['second']}  DAMAGED: " in run.stdout
    assert "checksum" in run.stdout.lower()


def test_the_app_shows_the_fallback_on_every_page_and_the_damage_in_its_language(
        home, template, use_home):
    use_home(home)
    faults.truncate_snapshot(home)
    at = make_app("en")
    at.run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "The current snapshot is damaged (" in shown
    assert f"the newest intact snapshot {template['first']}" in shown
    for page in ("revenue", "account", "data"):
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, at.exception)
        assert "The current snapshot is damaged (" in texts(at), page
    ja = make_app("ja")
    ja.run()
    notice = [w.value for w in ja.warning if "破損" in w.value]
    assert len(notice) == 1 and "途中で切れたか上書きされています" in notice[0]
    assert "truncated" not in notice[0] and "bytes" not in notice[0]


def test_a_snapshot_damaged_while_being_served_is_noticed_on_the_next_open(home, template):
    store = Store(home)
    assert store.open_current().id == template["second"]
    faults.truncate_snapshot(home)
    served = store.open_current()
    assert served.id == template["first"] and served.damage is not None
    assert "(truncated or overwritten)" in served.damage.reason


def test_the_app_without_any_intact_snapshot_says_so_without_a_traceback(home, use_home):
    for f in (home / "snapshots").glob("snap-*.duckdb"):
        f.write_bytes(b"garbage")
    use_home(home)
    at = make_app("en")
    at.run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error if "no intact older snapshot is kept" in e.value]
    assert not at.metric and not at.dataframe


# --------------------------------------------------------------------------- item 12


@needs_namespaces
def test_read_only_commands_work_on_a_read_only_data_directory(home, tmp_path):
    out = tmp_path / "kpi.xlsx"
    for command in (("status",), ("status", "--verify"), ("alerts", "--dry-run"),
                    ("report", "kpi", "--quarter", "2026Q1", "--out", str(out)),
                    ("metrics",), ("health", "--format", "json")):
        run = faults.read_only(home, *command)
        assert_one_line(run, 0)
        assert run.unchanged, command
    assert out.stat().st_size > 10_000


@needs_namespaces
def test_writing_to_a_read_only_data_directory_fails_in_one_line(home, template):
    run = faults.read_only(home, "import", str(template["extra"]))
    assert_one_line(run, 1)
    assert run.one_line_error.startswith(f"the data directory {home} is read-only: ")
    assert run.unchanged


@needs_namespaces
def test_a_full_disk_fails_a_build_in_one_line_and_leaves_nothing_half_written(home, template):
    run = faults.on_full_disk(home, "import", str(template["extra"]))
    assert_one_line(run, 1)
    assert run.one_line_error.startswith("the data directory ")
    assert " is full: " in run.one_line_error
    assert run.unchanged, "snapshots, pointer and stores are byte-identical"
    for command in (("status",), ("alerts", "--dry-run"), ("metrics",)):
        assert_one_line(faults.on_full_disk(home, *command), 0)


@needs_namespaces
def test_a_full_disk_refuses_a_note_in_one_line_and_keeps_the_user_data(home, tmp_path):
    write_note = textwrap.dedent("""
        import sys
        from cs_analytics.userdata import notes
        from cs_analytics.config import data_home
        from cs_analytics.errors import CsAnalyticsError
        from cs_analytics.warehouse.store import Store
        try:
            notes.add_note(Store(data_home()), "A00001", "x" * 9_000, "me@example.co.jp")
        except CsAnalyticsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(1)
    """)
    notes_store = Store(home).userdata_db()
    notes_store.execute("INSERT INTO notes (account_id, author, body, created_at) VALUES "
                        "('A00001', 'me', 'kept', '2026-03-31')")
    notes_store.close()
    run = faults.on_full_disk_command(home, ["-c", write_note])
    assert_one_line(run, 1)
    assert " is full: " in run.one_line_error and "nothing was changed" in run.one_line_error
    assert run.unchanged


def test_a_killed_build_is_shown_as_interrupted_once_its_process_is_gone(home):
    pid = faults.killed_build(home, "demo", "--accounts", "10", "--years", "1", at="build")
    status = faults.run_cli(home, "status", "--format", "json")
    assert_one_line(status, 0)
    last = json.loads(status.stdout)["refreshes"][0]
    assert last["pid"] == pid
    assert last["outcome"] == "interrupted"
    assert last["error"] == "the process stopped before the build finished"


# --------------------------------------------------------------------------- item 13


def test_the_data_directory_is_private(tmp_path):
    home = tmp_path / "fresh" / "data"
    run = faults.run_cli(home, "demo", "--accounts", "10", "--years", "1")
    assert_one_line(run, 0)
    note = faults.run_cli(home, "alerts", "--dry-run")
    assert_one_line(note, 0)
    from cs_analytics.userdata import notes

    notes.add_note(Store(home), "A00001", "private", "me@example.co.jp")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "snapshots").stat().st_mode) == 0o700
    files = [p for p in home.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"CURRENT", "meta.sqlite", "userdata.sqlite"}
    assert any(p.suffix == ".duckdb" for p in files)
    loose = {str(p.relative_to(home)): oct(stat.S_IMODE(p.stat().st_mode)) for p in files
             if stat.S_IMODE(p.stat().st_mode) & 0o077}
    assert not loose, loose


def test_the_reliability_script_replays_the_faults(tmp_path):
    """`make reliability` stages each fault before it looks at the data directory, then reports
    what the command did: status names the damage, metrics are served from the intact older
    snapshot with a warning, an interrupted build shows as interrupted — no traceback, nothing
    changed by the command."""
    from bench import reliability

    results = reliability.run(["snapshot-truncated-status", "snapshot-garbled-metrics",
                               "killed-build-status"], tmp_path)
    assert [(r["case"], r["exit_code"], r["traceback"], r["snapshot_identical"],
             r["userdata_identical"]) for r in results] == [
        ("snapshot-truncated-status", 0, False, True, True),
        ("snapshot-garbled-metrics", 0, False, True, True),
        ("killed-build-status", 0, False, True, True)]
    assert results[0]["message"].startswith("DAMAGED: snap-")
    assert "truncated or overwritten" in results[0]["message"]
    assert results[1]["message"].startswith("warning: the current snapshot is damaged")
    assert "interrupted" in results[2]["message"]
