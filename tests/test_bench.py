"""The benchmark (bench.run): the whole run on a tiny profile, so `make bench` keeps
working, and the summaries computed by hand. No timing is asserted, only that every figure is
there, positive and consistent with the others."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from bench import run as bench
from cs_analytics import contract
from cs_analytics.app.ui.nav import PAGES
from cs_analytics.warehouse import models
from cs_analytics.warehouse.store import Store

REPO = Path(__file__).resolve().parent.parent
PAGE_NAMES = [p.name for p in PAGES]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One run of the whole benchmark: 30 accounts (15 for the growth ratio), one year."""
    root = tmp_path_factory.mktemp("bench")
    out = root / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--accounts", "30", "--small-accounts",
         "15", "--years", "1", "--repeats", "1", "--work", str(root / "work"), "--out",
         str(out)], cwd=REPO, capture_output=True, text=True, timeout=900)
    log = root / "work" / "bench.log"
    assert done.returncode == 0, (done.stderr[-3000:],
                                  log.read_text()[-3000:] if log.exists() else "")
    return json.loads(out.read_text(encoding="utf-8")), done, root


def test_tiny_profile_measures_every_step(tiny):
    results, _done, _root = tiny
    assert results["profile"] == {"accounts": 30, "small_accounts": 15, "years": 1, "seed": 7,
                                  "end": "2026-03-31", "repeats": 1}
    assert results["machine"]["cpus"] >= 1 and results["machine"]["memory_gb"] > 0
    assert set(results) >= {"data", "ingest", "build", "pages", "tour", "reports", "backtest",
                            "checks"}
    for n in ("15", "30"):
        data = results["data"][n]
        assert data["accounts"] == int(n)
        assert set(data["rows"]) == set(contract.TABLE_ORDER)
        assert all(data["rows"][t] > 0 for t in contract.TABLE_ORDER)
        ingest = results["ingest"][n]
        assert ingest["rows"] == data["rows"]["usage"]
        assert 0 < ingest["ours_seconds"] < ingest["import_seconds"]
        build = results["build"][n]
        assert build["seconds"] > 0 and build["peak_rss_mb"] > 0
        assert build["rows"]["usage"] == data["rows"]["usage"]
        assert build["rows"]["accounts"] == int(n)
        steps = [name for name, _ in build["steps"]]
        assert [f"model {p.stem}" for p in models.model_files()] == \
            [s for s in steps if s.startswith("model ")]
        assert sum(secs for _, secs in build["steps"]) <= build["seconds"] + 0.01


def test_the_push_is_timed_first_full_then_unchanged(tiny):
    results, _done, _root = tiny
    pushed = results["push"]
    # The customers of the tiny profile, written once; the second push calls nothing.
    active = pushed["accounts"]
    assert 0 < active <= 30 and pushed["usage_rows"] > active
    assert pushed["calls_when_unchanged"] == 0
    assert pushed["first_seconds"] > 0 and pushed["unchanged_seconds"] > 0
    assert [c["target"] for c in results["checks"] if c["target"].startswith("push")] == [
        "push_first_seconds", "push_unchanged_seconds"]


def test_ingest_is_timed_against_the_floor_on_the_large_profile_only(tiny):
    results, _done, _root = tiny
    large, small = results["ingest"]["30"], results["ingest"]["15"]
    assert len(large["floor_runs"]) == 2 and all(f > 0 for f in large["floor_runs"])
    assert large["ratio"] == pytest.approx(
        large["ours_seconds"] / statistics.fmean(large["floor_runs"]))
    assert small["ratio"] is None and small["floor_runs"] == []
    assert large["ours_seconds"] == pytest.approx(
        large["read_and_validate_seconds"] + large["merge_seconds"])


def test_every_page_is_rendered_cold_warm_and_cached(tiny):
    results, _done, _root = tiny
    pages = results["pages"]
    assert list(pages["pages"]) == PAGE_NAMES
    for name, page in [("trivial", pages["trivial"]), *pages["pages"].items()]:
        assert page["ok"], (name, page["problems"])
        assert page["cold_seconds"] > 0 and page["warm_seconds"] > 0
        assert page["cached_seconds"] > 0
    assert pages["pages"]["account"]["query"] == {"account_id": pages["account_id"]}
    assert pages["pages"]["overview"]["shown"]["metrics"] > 0
    tour = results["tour"]
    assert tour["ok"], tour["problems"]
    assert tour["pages"] == PAGE_NAMES
    assert tour["peak_rss_mb"] >= tour["rss_before_mb"] > 0


def test_the_backtest_is_timed_cold_in_its_own_process(tiny):
    results, _done, _root = tiny
    backtest = results["backtest"]
    assert len(backtest["runs"]) == 1
    assert backtest["seconds"] >= backtest["import_seconds"] + backtest["rows_seconds"] > 0
    assert backtest["figures_seconds"] > 0 and backtest["peak_rss_mb"] > 0
    assert backtest["evaluation_days"] > 0 and backtest["account_weeks"] > 0
    assert "score_check" in results["pages"]["pages"]
    check = next(c for c in results["checks"] if c["target"] == "backtest_cold_seconds")
    assert check["label"] == "health backtest 30: cold" and check["limit"] == 10.0
    assert check["measured"] == backtest["seconds"]


def test_reports_are_generated_for_the_as_of_quarter_and_a_real_account(tiny):
    results, _done, root = tiny
    kpi, qbr = results["reports"]["kpi"], results["reports"]["qbr"]
    assert kpi["quarter"] == "2026Q1" and kpi["bytes"] > 0 and kpi["seconds"] > 0
    assert qbr["bytes"] > 0 and qbr["seconds"] > 0
    snap = Store(root / "work" / "home-30").open_current()
    assert snap.scalar("SELECT count(*) FROM accounts WHERE account_id = ?",
                       [qbr["account_id"]]) == 1
    assert not snap.is_demo and snap.meta["source"] == "bench"


def test_checks_cover_every_target_and_the_table_shows_them(tiny):
    results, done, _root = tiny
    checks = results["checks"]
    kinds = [c["target"] for c in checks]
    assert kinds.count("ingest_ratio") == 1
    assert kinds.count("build_seconds") == kinds.count("build_peak_mb") == 1
    assert kinds.count("build_growth") == 1
    for key in ("page_cold_seconds", "page_warm_seconds", "page_warm_ratio"):
        assert kinds.count(key) == len(PAGE_NAMES)
    assert kinds.count("tour_peak_mb") == 1
    assert kinds.count("backtest_cold_seconds") == 1
    growth = next(c for c in checks if c["target"] == "build_growth")
    assert growth["measured"] == pytest.approx(
        results["build"]["30"]["seconds"] / results["build"]["15"]["seconds"])
    for c in checks:
        assert c["met"] == (c["measured"] is not None and c["measured"] <= c["limit"])
        assert c["label"] in done.stdout
    assert f"of {len(checks)} targets met" in done.stdout
    assert "results written to" in done.stdout


def test_generated_data_is_reused_while_the_generator_is_unchanged(tiny, tmp_path):
    results, _done, root = tiny
    work = root / "work"
    messages = []
    runner = bench._Runner(work, work / "bench.toml", messages.append)
    profile = bench.Profile(accounts=30, small_accounts=15, years=1, repeats=1)

    def no_worker(*args, **kwargs):
        raise AssertionError("the data should have been reused")

    runner.worker = no_worker
    assert runner.dataset(profile, 30)["rows"] == results["data"]["30"]["rows"]
    assert messages == ["data: reusing data-30a-1y-seed7-2026-03-31"]


# ---------------------------------------------------------------------------- by hand


def run(ours, floors, import_seconds=10.0, peak=100.0):
    return {"ours_seconds": ours, "floor_seconds": floors, "import_seconds": import_seconds,
            "peak_rss_mb": peak}


def test_ingest_ratio_pairs_each_import_with_its_own_floor():
    # 3 / mean(1, 3) = 1.5 and 4 / mean(2, 2) = 2.0: median 1.75.
    summary = bench.summarise_ingest([run(3.0, [1.0, 3.0]), run(4.0, [2.0, 2.0])])
    assert summary["ratio_runs"] == [1.5, 2.0]
    assert summary["ratio"] == 1.75
    assert summary["ours_seconds"] == 3.5 and summary["floor_seconds"] == 2.0
    # A load spike during one run's floor only moves that run's ratio: 6 / mean(2, 10) = 1.0,
    # then 6 / mean(2, 2) = 3.0 twice → median 3.0.
    spiky = bench.summarise_ingest([run(6.0, [2.0, 10.0]), run(6.0, [2.0, 2.0]),
                                    run(6.0, [2.0, 2.0])])
    assert spiky["ratio_runs"] == [1.0, 3.0, 3.0] and spiky["ratio"] == 3.0
    no_floor = bench.summarise_ingest([run(3.0, [])])
    assert no_floor["ratio"] is None and no_floor["floor_seconds"] is None


def test_summarise_runs_takes_medians_and_keeps_each_run():
    summary = bench.summarise_runs([{"seconds": 3.0, "peak_rss_mb": 10.0, "steps": ["a"]},
                                    {"seconds": 1.0, "peak_rss_mb": 30.0, "steps": ["b"]},
                                    {"seconds": 2.0, "peak_rss_mb": 20.0, "steps": ["c"]}],
                                   keys=("seconds", "peak_rss_mb"))
    assert summary["seconds"] == 2.0 and summary["peak_rss_mb"] == 20.0
    assert summary["steps"] == ["c"]  # details of the median run
    assert summary["runs"] == [{"seconds": 3.0, "peak_rss_mb": 10.0},
                               {"seconds": 1.0, "peak_rss_mb": 30.0},
                               {"seconds": 2.0, "peak_rss_mb": 20.0}]


def hand_results() -> dict:
    page = {"cold_seconds": 2.0, "warm_seconds": 0.5, "ok": True, "problems": []}
    return {
        "ingest": {"100": {"ratio": 1.2, "ours_seconds": 2.4, "floor_seconds": 2.0,
                           "import_seconds": 10.0}},
        "build": {"100": {"seconds": 30.0, "peak_rss_mb": 5000.0},
                  "10": {"seconds": 5.0, "peak_rss_mb": 100.0}},
        "pages": {"trivial": {"cold_seconds": 0.2, "warm_seconds": 0.05},
                  "pages": {"overview": page,
                            "revenue": {"cold_seconds": 3.5, "warm_seconds": 0.2, "ok": True,
                                        "problems": []},
                            "broken": {"cold_seconds": 0.1, "warm_seconds": 0.1, "ok": False,
                                       "problems": ["exception: boom"]}}},
        "tour": {"peak_rss_mb": 1000.0, "ok": True},
    }


def test_evaluate_compares_each_figure_with_its_limit():
    checks = bench.evaluate(hand_results(), bench.Profile(accounts=100, small_accounts=10))
    by_label = {c["label"]: (c["measured"], c["met"]) for c in checks}
    assert by_label == {
        "ingest: ours / floor": (1.2, True),
        "build 100: wall time": (30.0, True),
        "build 100: peak RSS": (5000.0, False),             # > 4 GB = 4096 MB
        "build growth 100 / 10": (6.0, True),               # 30 / 5
        "page overview: cold": (2.0, True),
        "page overview: warm": (0.5, True),
        "page overview: warm / trivial": (10.0, False),     # 0.5 / 0.05
        "page revenue: cold": (3.5, False),
        "page revenue: warm": (0.2, True),
        "page revenue: warm / trivial": (4.0, True),
        "page broken: cold": (None, False),                 # a failing page meets nothing
        "page broken: warm": (None, False),
        "page broken: warm / trivial": (None, False),
        "page tour: peak RSS": (1000.0, True),              # ≤ 1.5 GB = 1536 MB
    }


def test_a_step_not_run_has_no_checks():
    results = hand_results()
    del results["pages"], results["tour"]
    checks = bench.evaluate(results, bench.Profile(accounts=100, small_accounts=100))
    assert [c["target"] for c in checks] == ["ingest_ratio", "build_seconds", "build_peak_mb"]


def test_table_marks_unmet_targets():
    results = {**hand_results(), "data": {}, "seconds": 12.0,
               "profile": {"accounts": 100, "small_accounts": 10, "years": 3,
                           "end": "2026-03-31", "repeats": 3},
               "machine": {"cpus": 2, "memory_gb": 23.5, "load_average_start": [1.0, 1, 1],
                           "load_average_end": [2.0, 2, 2]}}
    results["build"]["100"]["steps"] = [["model 34_fct_health_weekly", 9.0]]
    results["build"]["10"]["steps"] = [["model 34_fct_health_weekly", 1.0]]
    results["pages"]["trivial"]["cached_seconds"] = 0.04
    results["checks"] = bench.evaluate(results, bench.Profile(accounts=100, small_accounts=10))
    table = bench.format_table(results)
    line = next(ln for ln in table.splitlines() if ln.startswith("build 100: peak RSS"))
    assert "4.88 GB" in line and "≤ 4.00 GB" in line and line.endswith("NO")
    line = next(ln for ln in table.splitlines() if ln.startswith("page revenue: warm / trivial"))
    assert "4.00×" in line and line.endswith("yes")
    assert "page broken: cold" in table and "failed" in table
    assert "FAILED: exception: boom" in table
    assert "8 of 14 targets met in 12 s" in table


def test_unknown_step_is_a_usage_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench.run", "--steps", "bogus",
                           "--work", str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert "unknown step 'bogus'" in done.stderr and "Traceback" not in done.stderr


def test_profile_shows_where_a_filter_change_spends_its_time(tiny):
    """`bench profile` on the data of the run above: each page's reruns after filter changes,
    timed, with the time in queries, and a cProfile report naming the page's own code."""
    _results, _done, root = tiny
    work = root / "work"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "profile", "--pages", "overview,team",
         "--filters", "2", "--accounts", "30", "--work", str(work)],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stderr[-3000:], done.stdout[-2000:])
    lines = done.stdout.splitlines()
    assert lines[0].split()[:4] == ["page", "warm", "/", "trivial"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == {"trivial", "overview", "team"}
    for name in ("overview", "team"):
        report = (work / "profiles" / f"{name}.txt").read_text(encoding="utf-8")
        assert f"pages/{name}.py" in report and "2 reruns" in report
        assert (work / "profiles" / f"{name}.prof").stat().st_size > 0
        assert float(rows[name][1].rstrip("s")) > 0
    unknown = subprocess.run(
        [sys.executable, "-m", "bench.run", "profile", "--pages", "nope",
         "--accounts", "30", "--work", str(work)], cwd=REPO, capture_output=True, text=True,
        timeout=120)
    assert unknown.returncode == 2 and "unknown page 'nope'" in unknown.stderr
