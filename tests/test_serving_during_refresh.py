"""Serving during refresh (issue 9): while another process publishes 20 snapshots in a row, four
reader threads in a third process read through the app's data layer without a single error, and
every read matches one whole published snapshot — never a mix of two."""

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap

import duckdb

from cs_analytics.config import load_settings
from cs_analytics.ingest.demo import build_demo
from cs_analytics.metrics import periods, revenue
from cs_analytics.warehouse.store import Snapshot, Store

END = "2026-06-30"

WRITER = textwrap.dedent("""
    import datetime as dt, json, sys
    from cs_analytics.config import load_settings
    from cs_analytics.ingest.demo import build_demo
    from cs_analytics.warehouse.store import Store
    store = Store(sys.argv[1])
    for seed in range(1, 21):
        result = build_demo(load_settings(), store, accounts=25 + seed, years=1, seed=seed,
                            end=dt.date.fromisoformat(sys.argv[2]))
        print(json.dumps({"refresh_id": result.refresh_id}), flush=True)
""")

READER = textwrap.dedent("""
    import json, os, sys, threading, time
    from cs_analytics.metrics import periods, revenue
    from cs_analytics.app.ui import data

    stop_file = sys.argv[1]
    observations, errors = [], []

    def read_forever():
        while not os.path.exists(stop_file):
            try:
                snap = data.current_snapshot()
                period = periods.period_containing("month", snap.as_of)
                k = revenue.kpis(snap, period)
                accounts = snap.scalar("SELECT count(*) FROM accounts")
                usage_rows = snap.scalar("SELECT count(*) FROM usage")
                observations.append([int(snap.meta["refresh_id"]), k["mrr"], k["customers"],
                                     accounts, usage_rows])
            except Exception as exc:  # every error is a failure of the test
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=read_forever) for _ in range(4)]
    for t in threads:
        t.start()
    print("reading", flush=True)
    for t in threads:
        t.join()
    print(json.dumps({"observations": observations, "errors": errors[:20],
                      "error_count": len(errors)}), flush=True)
""")


def totals(snap):
    """The values a reader computes, in the same order as READER's observations."""
    period = periods.period_containing("month", snap.as_of)
    k = revenue.kpis(snap, period)
    return [k["mrr"], k["customers"], snap.scalar("SELECT count(*) FROM accounts"),
            snap.scalar("SELECT count(*) FROM usage")]


def test_readers_see_whole_snapshots_during_20_refreshes(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text("[snapshots]\nkeep = 30\n", encoding="utf-8")
    env = {**os.environ, "CS_ANALYTICS_HOME": str(tmp_path), "CS_ANALYTICS_CONFIG": str(config)}
    store = Store(tmp_path)
    build_demo(load_settings(config), store, accounts=20, years=1, seed=99,
               end=dt.date.fromisoformat(END))

    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(stop)], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "reading"
        writer = subprocess.run([sys.executable, "-c", WRITER, str(tmp_path), END], env=env,
                                capture_output=True, text=True, timeout=900)
        assert writer.returncode == 0, writer.stderr[-2000:]
        assert len(writer.stdout.splitlines()) == 20
    finally:
        stop.write_text("stop")
        out, _ = reader.communicate(timeout=120)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["error_count"] == 0, result["errors"]

    # What each of the 21 published snapshots really holds, read afterwards one by one.
    expected = {}
    for f in store.snapshot_files():
        snap = Snapshot(f, duckdb.connect(str(f.path), read_only=True))
        expected[int(snap.meta["refresh_id"])] = totals(snap)
    assert len(expected) == 21
    assert len({tuple(v) for v in expected.values()}) == 21, "every refresh published other data"

    observations = result["observations"]
    assert len(observations) > 20, "readers kept reading while the refreshes ran"
    for rid, *values in observations:
        assert values == expected[rid], f"a read of snapshot {rid} mixed data: {values}"
    assert len({rid for rid, *_ in observations}) >= 3, "readers followed the new snapshots"
