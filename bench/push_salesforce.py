"""The write-back benchmark: `push` of the 10,000-account data directory to the fake Salesforce
org (tests/fakes/salesforce.py) through the real simple-salesforce client and Bulk API 2.0 —
the first full push (every Account and every weekly usage row), then a push with nothing
changed.

Run by `python -m bench.run` (not by hand) with CS_ANALYTICS_HOME pointing at the
10,000-account data directory:

    python bench/push_salesforce.py push '{"repeats": 3, "scratch": DIR}'

Each run starts from nothing confirmed: a scratch data directory holding a hard link to the
current snapshot and its own meta.sqlite. Lives outside cs_analytics/ because it runs the test
fake. Prints one JSON line.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.run import peak_rss_mb  # noqa: E402
from cs_analytics.config import data_home, load_settings  # noqa: E402
from cs_analytics.outputs.writeback import push  # noqa: E402
from cs_analytics.secrets import Secrets  # noqa: E402
from cs_analytics.warehouse.store import POINTER, SNAPSHOT_DIR, Store  # noqa: E402
from tests.fakes.salesforce import FakeSalesforce, set_up_writeback  # noqa: E402

# The fake finishes a job as soon as its data is uploaded; Salesforce takes its own time. The
# bench polls every second so what it times is ours (the default, salesforce.bulk_poll_seconds
# = 5, waits ~10 s a job before the result is read).
POLL_SECONDS = 1.0


def scratch_home(source: Path, scratch: Path) -> Path:
    """A data directory with the current snapshot of `source` (hard-linked) and nothing else."""
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / SNAPSHOT_DIR).mkdir(parents=True)
    name = (source / POINTER).read_text(encoding="utf-8").strip()
    target = scratch / SNAPSHOT_DIR / name
    try:
        os.link(source / SNAPSHOT_DIR / name, target)
    except OSError:
        shutil.copy2(source / SNAPSHOT_DIR / name, target)
    (scratch / POINTER).write_text(name + "\n", encoding="utf-8")
    return scratch


def org_for(store: Store) -> FakeSalesforce:
    """A fake org holding every account of the snapshot, set up for the write-back."""
    org = FakeSalesforce().start()
    org.define("User", ["Name", "Email", "IsActive"])
    org.define("Account", ["Name", "OwnerId"])
    org.define("Task", ["AccountId", "OwnerId", "ActivityDate", "Subject", "Status",
                        "IsClosed"])
    for account_id, name in store.open_current().rows("SELECT account_id, name FROM accounts"):
        org.add("Account", Id=account_id, Name=name)
    set_up_writeback(org)
    return org


def one_run(source: Path, scratch: Path) -> dict:
    store = Store(scratch_home(source, scratch))
    org = org_for(store)
    token = org.issue_token()
    settings = load_settings()
    settings = dataclasses.replace(settings, salesforce=dataclasses.replace(
        settings.salesforce, bulk_poll_seconds=POLL_SECONDS))
    secrets = Secrets({"SF_INSTANCE_URL": org.url, "SF_SESSION_ID": token})
    try:
        started = time.perf_counter()
        first = push(settings, store, secrets=secrets, session=org.session(timeout=600))
        first_seconds = time.perf_counter() - started
        jobs = [r.json() for r in org.requests if r.method == "POST" and
                r.path.endswith("/jobs/ingest")]
        before = len(org.requests)
        started = time.perf_counter()
        again = push(settings, store, secrets=secrets, session=org.session(timeout=600))
        unchanged_seconds = time.perf_counter() - started
        calls_unchanged = len(org.requests) - before
    finally:
        org.stop()
    if not first.ok:
        raise SystemExit(f"the first push was refused: {first.refused[:3]}")
    if again.to_send:
        raise SystemExit(f"the second push found {again.to_send} changes")
    return {"first_seconds": first_seconds, "unchanged_seconds": unchanged_seconds,
            "accounts": first.tallies["Account"].sent,
            "usage_rows": first.tallies[settings.salesforce.push.usage_object].sent,
            "jobs": [f"{j['object']} {j['operation']}" for j in jobs],
            "calls_when_unchanged": calls_unchanged}


def run_push(args: dict) -> dict:
    source = data_home()
    runs = [one_run(source, Path(args["scratch"])) for _ in range(args.get("repeats", 1))]
    shutil.rmtree(args["scratch"], ignore_errors=True)
    return {"first_seconds": statistics.median(r["first_seconds"] for r in runs),
            "unchanged_seconds": statistics.median(r["unchanged_seconds"] for r in runs),
            "runs": runs, "accounts": runs[0]["accounts"], "usage_rows": runs[0]["usage_rows"],
            "jobs": runs[0]["jobs"], "calls_when_unchanged": runs[0]["calls_when_unchanged"],
            "poll_seconds": POLL_SECONDS, "peak_rss_mb": peak_rss_mb()}


if __name__ == "__main__":
    step, raw = sys.argv[1], sys.argv[2]
    result = {"push": run_push}[step](json.loads(raw))
    print(json.dumps(result, ensure_ascii=False, default=str))
