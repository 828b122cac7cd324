"""The demo data generator: determinism, the data contract, plausibility, scale and the CLI.

Plausibility is measured directly on the generated frames with small independent
implementations of the SPEC §4 definitions (below), not with the product's own metrics.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cs_analytics import contract
from cs_analytics.config import settings_from_dict
from cs_analytics.ingest import demo
from cs_analytics.warehouse.store import Store

END = dt.date(2026, 4, 30)
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tables():
    return demo.generate(accounts=170, years=3, seed=7, end=END)


# ---------------------------------------------------------------------------- helpers


def month_snapshot_days(first: pd.Timestamp, as_of: dt.date) -> pd.DatetimeIndex:
    """Snapshot day of every month from `first`'s month to as_of's (SPEC §4)."""
    ends = pd.date_range(first.to_period("M").to_timestamp(), as_of, freq="ME")
    days = list(ends)
    if not days or days[-1] != pd.Timestamp(as_of):
        days.append(pd.Timestamp(as_of))
    return pd.DatetimeIndex(days)


def active_until(contracts: pd.DataFrame, grace: int = 31) -> pd.Series:
    """Last day each contract counts as active: its end, extended through a short gap."""
    until = []
    by_account = {k: g["start_date"].sort_values().to_numpy()
                  for k, g in contracts.groupby("account_id")}
    for account, end in zip(contracts["account_id"], contracts["end_date"]):
        starts = by_account[account]
        later = starts[starts > end.to_datetime64()]
        if len(later) and (later[0] - end.to_datetime64()) / np.timedelta64(1, "D") - 1 <= grace:
            until.append(pd.Timestamp(later[0]) - pd.Timedelta(days=1))
        else:
            until.append(end)
    return pd.Series(until, index=contracts.index)


def active_matrix(contracts: pd.DataFrame, as_of: dt.date) -> tuple[pd.DataFrame, list]:
    """accounts × months: True when the account has a contract active on the snapshot day."""
    days = month_snapshot_days(contracts["start_date"].min(), as_of)
    until = active_until(contracts).to_numpy()[:, None]
    on = (contracts["start_date"].to_numpy()[:, None] <= days.to_numpy()[None, :]) & \
         (until >= days.to_numpy()[None, :])
    frame = pd.DataFrame(on, columns=range(len(days)))
    frame["account_id"] = contracts["account_id"].to_numpy()
    return frame.groupby("account_id").any(), list(days)


def two_year_churn(contracts: pd.DataFrame, as_of: dt.date) -> tuple[int, int]:
    """(churned within 24 months, eligible) over customers whose first month + 24 ≤ as_of's."""
    matrix, days = active_matrix(contracts, as_of)
    last = len(days) - 1
    churned = eligible = 0
    for row in matrix.to_numpy():
        first = int(np.argmax(row))
        if first + 24 > last:
            continue
        eligible += 1
        after = np.flatnonzero(~row[first + 1:first + 25])
        churned += bool(len(after))
    return churned, eligible


def signals_at(tables, as_of: dt.date) -> dict[str, set]:
    """Accounts active on `as_of` showing each risk signal (SPEC §4 definitions)."""
    day = pd.Timestamp(as_of)
    contracts = tables["contracts"]
    active = demo.active_account_ids(contracts, as_of)
    usage = tables["usage"][tables["usage"]["account_id"].isin(active)]
    out: dict[str, set] = {}

    logged = usage[usage["logins"] > 0].groupby("account_id")["date"].max()
    first_use = usage.groupby("account_id")["date"].min()
    out["no_login_60d"] = {a for a in active if a in first_use.index
                           and first_use[a] <= day - pd.Timedelta(days=60)
                           and (a not in logged.index
                                or logged[a] <= day - pd.Timedelta(days=60))}

    recent = usage[usage["date"] > day - pd.Timedelta(days=90)]
    before = usage[(usage["date"] <= day - pd.Timedelta(days=90))
                   & (usage["date"] > day - pd.Timedelta(days=180))]
    last90 = recent.groupby("account_id")["deliveries"].sum()
    prev90 = before.groupby("account_id")["deliveries"].sum()
    out["deliveries_drop_50"] = {a for a, p in prev90.items()
                                 if p >= 2 and last90.get(a, 0) <= 0.5 * p}

    acts = tables["activities"]
    contacts = acts[acts["type"].isin(["meeting", "email", "call"])
                    & acts["account_id"].isin(active)]
    last_contact = contacts.groupby("account_id")["date"].max()
    out["no_contact_60d"] = {a for a, d in last_contact.items()
                             if d <= day - pd.Timedelta(days=60)}

    current = contracts[contracts["account_id"].isin(active)
                        & (contracts["start_date"] <= day) & (contracts["end_date"] >= day)]
    ending = current.groupby("account_id")["end_date"].max()
    latest = contracts.groupby("account_id")["end_date"].max()
    out["renewal_90d"] = {a for a, e in ending.items()
                          if e <= day + pd.Timedelta(days=90) and latest[a] == e}
    return out


def frame_digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


# ---------------------------------------------------------------------------- determinism


def test_same_arguments_give_identical_frames_and_csv_bytes(tables, tmp_path):
    again = demo.generate(accounts=170, years=3, seed=7, end=END)
    for name in contract.TABLE_ORDER:
        pd.testing.assert_frame_equal(tables[name], again[name])
    first = demo.export_csv(tables, tmp_path / "one")
    second = demo.export_csv(again, tmp_path / "two")
    for name in contract.TABLE_ORDER:
        assert first[name].read_bytes() == second[name].read_bytes(), name


def test_another_seed_or_end_gives_other_data(tables):
    other = demo.generate(accounts=170, years=3, seed=8, end=END)
    later = demo.generate(accounts=170, years=3, seed=7, end=END + dt.timedelta(days=1))
    for name in ("accounts", "contracts", "usage"):
        assert frame_digest(tables[name]) != frame_digest(other[name])
        assert frame_digest(tables[name]) != frame_digest(later[name])


# ---------------------------------------------------------------------------- the data contract


def test_frames_have_exactly_the_canonical_columns_and_types(tables):
    assert list(tables) == list(contract.TABLE_ORDER)
    for name, spec in contract.TABLES.items():
        frame = tables[name]
        assert list(frame.columns) == spec.column_names, name
        for column in spec.columns:
            dtype = frame[column.name].dtype
            if column.kind in ("text", "enum"):
                assert pd.api.types.is_string_dtype(dtype), (name, column.name, dtype)
            elif column.kind == "date":
                assert pd.api.types.is_datetime64_dtype(dtype), (name, column.name, dtype)
            elif column.kind == "amount":
                assert pd.api.types.is_float_dtype(dtype), (name, column.name, dtype)
            elif column.kind in ("count", "int"):
                assert pd.api.types.is_integer_dtype(dtype), (name, column.name, dtype)
            elif column.kind == "bool":
                assert pd.api.types.is_bool_dtype(dtype), (name, column.name, dtype)
            if column.required:
                assert frame[column.name].notna().all(), (name, column.name)
            if column.choices:
                assert set(frame[column.name].dropna()) <= set(column.choices), column.name
            if column.kind in ("count", "int", "amount"):
                assert (frame[column.name].dropna() >= 0).all(), (name, column.name)
        key = list(spec.key)
        assert not frame.duplicated(key).any(), f"{name}: duplicate {key}"


def test_references_resolve(tables):
    users = set(tables["users"]["user_id"])
    accounts = set(tables["accounts"]["account_id"])
    assert set(tables["accounts"]["owner_id"]) <= users
    assert set(tables["activities"]["owner_id"]) <= users
    assert set(tables["users"]["manager_id"].dropna()) <= users
    assert set(tables["accounts"]["parent_id"].dropna()) <= accounts
    for name in ("contracts", "activities", "usage"):
        assert set(tables[name]["account_id"]) <= accounts, name


def test_every_date_lies_in_the_window_and_terms_are_well_formed(tables):
    start = pd.Timestamp(END) - pd.DateOffset(years=3) + pd.Timedelta(days=1)
    for name, column in (("usage", "date"), ("activities", "date")):
        assert tables[name][column].min() >= start, name
        assert tables[name][column].max() == pd.Timestamp(END), name
    contracts = tables["contracts"]
    assert (contracts["end_date"] >= contracts["start_date"]).all()
    assert contracts["mrr"].isna().all() and (contracts["amount"] > 0).all()
    assert (tables["activities"]["date"].dt.day_of_week < 5).all()


# ---------------------------------------------------------------------------- hand-checked cases


def test_month_end_count_matches_spec_example():
    start = np.array([np.datetime64("2024-04-15", "D").astype(np.int64),
                      np.datetime64("2024-04-01", "D").astype(np.int64),
                      np.datetime64("2024-04-01", "D").astype(np.int64)])
    end = np.array([np.datetime64("2025-04-14", "D").astype(np.int64),
                    np.datetime64("2025-03-31", "D").astype(np.int64),
                    np.datetime64("2024-04-29", "D").astype(np.int64)])
    assert list(demo._month_ends_between(start, end)) == [12, 12, 0]
    assert demo._add_months(start[:1], 12)[0] - 1 == end[0]


def test_active_account_ids_applies_renewal_grace():
    contracts = pd.DataFrame({
        "account_id": ["late", "late", "gap", "gap", "over"],
        "start_date": pd.to_datetime(["2025-01-01", "2026-01-20", "2025-01-01", "2026-03-01",
                                      "2025-01-01"]),
        "end_date": pd.to_datetime(["2025-12-31", "2026-12-31", "2025-12-31", "2026-12-31",
                                    "2025-12-31"]),
    })
    # 18 days between end and the late renewal: inside the 31-day grace; 59 days: outside.
    assert demo.active_account_ids(contracts, dt.date(2026, 1, 10)) == {"late"}
    assert demo.active_account_ids(contracts, dt.date(2025, 12, 31)) == {"late", "gap", "over"}
    assert demo.active_account_ids(contracts, dt.date(2026, 3, 1)) == {"late", "gap"}


def test_two_year_churn_helper_on_a_hand_made_case():
    rows = [("stays", "2023-01-01", "2023-12-31"), ("stays", "2024-01-01", "2025-12-31"),
            ("leaves", "2023-01-15", "2024-01-14"),
            ("late", "2023-03-01", "2024-02-29"), ("late", "2024-03-20", "2026-03-19"),
            ("gap", "2023-02-01", "2024-01-31"), ("gap", "2024-03-15", "2025-03-14"),
            ("young", "2024-06-01", "2025-05-31")]
    contracts = pd.DataFrame(rows, columns=["account_id", "start_date", "end_date"])
    contracts[["start_date", "end_date"]] = contracts[["start_date", "end_date"]].apply(
        pd.to_datetime)
    # "leaves" has no MRR on 2024-01-31 (F + 12); "gap" none on 2024-02-29 (42 days without a
    # contract, beyond the grace); "late" renews 19 days late, inside the grace; "young"
    # started in 2024-06, less than 24 months before 2026-04, and is not eligible.
    assert two_year_churn(contracts, dt.date(2026, 4, 30)) == (2, 4)


# ---------------------------------------------------------------------------- plausibility


def test_company_shape(tables):
    users = tables["users"]
    members = users[users["role"] == "member"]
    assert len(members) == 7 and (users["role"] == "manager").sum() == 1
    assert (users["role"] == "executive").sum() == 1
    assert members["capacity"].between(20, 30).all()
    assert users["email"].str.endswith("@example.co.jp").all() and users["email"].is_unique
    accounts = tables["accounts"]
    assert accounts["name"].is_unique
    assert {"金融", "医療", "保険", "製造", "IT", "教育", "人材", "不動産", "小売", "官公庁"} \
        <= set(accounts["industry"])
    assert set(accounts["phase"]) == {"onboarding", "adoption", "mature"}

    contracts = tables["contracts"]
    months = demo._month_ends_between(
        contracts["start_date"].to_numpy().astype("datetime64[D]").astype(np.int64),
        contracts["end_date"].to_numpy().astype("datetime64[D]").astype(np.int64))
    mrr = contracts["amount"] / months
    main = contracts[contracts["type"] != "upsell"]
    main_mrr = mrr[main.index]
    assert main_mrr.min() >= 30_000 and main_mrr.quantile(0.9) <= 800_000
    assert set(contracts["type"]) == {"new", "renewal", "upsell"}
    term = ((main["end_date"] - main["start_date"]).dt.days + 1)
    assert (term.between(365, 366).mean()) > 0.6  # annual terms mostly
    assert term.between(181, 184).any() and term.between(730, 731).any()
    assert (main["start_date"].dt.day != 1).mean() > 0.1  # some mid-month starts

    # Renewals mostly start the day after the previous term; some late inside the grace.
    ordered = main.sort_values(["account_id", "start_date"])
    previous_end = ordered.groupby("account_id")["end_date"].shift()
    gap = (ordered["start_date"] - previous_end).dt.days - 1
    renewal_gap = gap[ordered["type"] == "renewal"].dropna()
    assert (renewal_gap == 0).mean() > 0.75
    assert renewal_gap.between(1, 31).any() and (renewal_gap <= 31).all()

    # Owners: members within capacity for the accounts active at the end.
    active = demo.active_account_ids(contracts, END)
    load = accounts[accounts["account_id"].isin(active)]["owner_id"].value_counts()
    capacity = users.set_index("user_id")["capacity"]
    assert all(load[u] <= capacity[u] for u in load.index)


def test_churn_is_near_the_strategy_figure_and_reasons_follow_it():
    churned = eligible = 0
    reasons = []
    for seed in (1, 2, 3, 4, 5):
        frames = demo.generate(accounts=170, years=3, seed=seed, end=END)
        c, e = two_year_churn(frames["contracts"], END)
        churned, eligible = churned + c, eligible + e
        reasons += list(frames["accounts"]["churn_reason"].dropna())
    assert 0.12 <= churned / eligible <= 0.30, churned / eligible
    share = reasons.count("施策終了・中止") / len(reasons)
    assert share >= 0.6, share
    assert set(reasons) <= set(demo.CHURN_REASONS)


def test_renewal_terms_are_realistic(tables):
    """Most customers renew automatically with 30–90 days' notice, each account keeping its
    terms; customers leaving at a term's end gave notice — by the deadline when the term
    renews by itself —, never after the data's end, and customers who renewed did not."""
    contracts = tables["contracts"]
    main = contracts[contracts["type"] != "upsell"]
    assert 0.7 <= main["auto_renew"].mean() <= 0.9
    assert (main.groupby("account_id")["auto_renew"].nunique() == 1).all()
    auto = contracts[contracts["auto_renew"]]
    assert auto["notice_days"].notna().all()
    assert set(auto["notice_days"]) == {30, 45, 60, 90}
    assert contracts.loc[~contracts["auto_renew"], "notice_days"].isna().all()
    notice = contracts[contracts["notice_date"].notna()]
    assert len(notice) > 10
    assert (notice["notice_date"] <= pd.Timestamp(END)).all()
    assert (notice["notice_date"] < notice["end_date"]).all()
    by_deadline = notice[notice["auto_renew"]]
    deadline = by_deadline["end_date"] - pd.to_timedelta(
        by_deadline["notice_days"].astype("float64"), unit="D")
    assert (by_deadline["notice_date"] <= deadline).all()
    # a term ended with notice is not followed within the grace; the churned customers'
    # auto-renewing last terms all carry a notice
    starts = contracts.groupby("account_id")["start_date"].apply(list).to_dict()
    for account_id, end in zip(notice["account_id"], notice["end_date"]):
        if end < pd.Timestamp(END):
            assert not any(end < s <= end + pd.Timedelta(days=32) for s in starts[account_id])
    active = demo.active_account_ids(contracts, END)
    last = main.sort_values(["account_id", "start_date"]).groupby("account_id").tail(1)
    churned = last[~last["account_id"].isin(active) & last["auto_renew"]]
    assert len(churned) > 5 and churned["notice_date"].notna().all()


def test_churned_accounts_carry_the_reason_on_account_and_last_contract(tables):
    accounts = tables["accounts"].set_index("account_id")
    active = demo.active_account_ids(tables["contracts"], END)
    churned = accounts[~accounts.index.isin(active)]
    assert len(churned) > 10
    assert churned["churn_reason"].notna().all()
    assert accounts.loc[accounts.index.isin(active), "churn_reason"].isna().all()
    contracts = tables["contracts"]
    main = contracts[contracts["type"] != "upsell"].sort_values(["account_id", "start_date"])
    last = main.groupby("account_id").tail(1).set_index("account_id")
    for account_id, row in churned.iterrows():
        assert last.loc[account_id, "churn_reason"] == row["churn_reason"]


def test_usage_declines_before_churn(tables):
    usage = tables["usage"]
    contracts = tables["contracts"]
    churned = tables["accounts"].loc[tables["accounts"]["churn_reason"].notna(), "account_id"]
    ratios, recent_total, year_before_total = [], 0.0, 0.0
    for account_id in churned:
        end = contracts.loc[contracts["account_id"] == account_id, "end_date"].max()
        rows = usage[usage["account_id"] == account_id].set_index("date")["deliveries"]
        recent = rows[end - pd.Timedelta(days=59):end]
        year_before = rows[end - pd.Timedelta(days=424):end - pd.Timedelta(days=365)]
        if len(year_before) < 50 or year_before.mean() == 0:
            continue
        ratios.append(recent.mean() / year_before.mean())
        recent_total += recent.mean()
        year_before_total += year_before.mean()
    assert len(ratios) >= 10
    assert recent_total / year_before_total < 0.6
    assert np.mean(np.array(ratios) < 0.6) >= 0.75, ratios


def test_every_risk_signal_is_present_among_active_accounts(tables):
    found = signals_at(tables, END)
    for signal, accounts in found.items():
        assert accounts, f"no active account shows {signal}"
    # Not everybody is at risk.
    active = demo.active_account_ids(tables["contracts"], END)
    assert len(found["no_login_60d"]) < 0.2 * len(active)
    assert len(found["deliveries_drop_50"]) < 0.3 * len(active)


def test_usage_has_weekly_rhythm_and_scales_with_plan(tables):
    usage = tables["usage"]
    weekday = usage["date"].dt.day_of_week
    assert usage.loc[weekday < 5, "deliveries"].mean() > 4 * usage.loc[weekday >= 5,
                                                                        "deliveries"].mean()
    assert (usage["registrants"] >= usage["viewers"]).all()
    assert (usage["conversions"] <= usage["viewers"]).all()
    assert (usage["active_users"] <= usage["logins"]).all()
    contracts = tables["contracts"]
    plan = contracts[contracts["type"] != "upsell"].groupby("account_id")["amount"].mean()
    per_account = usage.groupby("account_id")["viewers"].mean()
    big = per_account[plan[plan >= plan.quantile(0.75)].index.intersection(per_account.index)]
    small = per_account[plan[plan <= plan.quantile(0.25)].index.intersection(per_account.index)]
    assert big.mean() > 1.5 * small.mean()


def test_activities_look_like_a_cs_team(tables):
    acts = tables["activities"]
    assert set(acts["type"]) == {"meeting", "email", "call", "other"}
    assert {"定例MTG", "QBR（四半期ビジネスレビュー）", "更新のご案内", "キックオフMTG"} \
        <= set(acts["subject"])
    owners = tables["accounts"].set_index("account_id")["owner_id"]
    by_owner = (acts["owner_id"] == owners[acts["account_id"]].to_numpy()).mean()
    assert by_owner > 0.85


# ---------------------------------------------------------------------------- scale


def test_scale_profile_is_vectorised_and_consistent():
    frames = demo.generate(accounts=500, years=3, seed=11, end=END)
    n_contracts, n_usage = len(frames["contracts"]), len(frames["usage"])
    # Per account: ~3–5 contracts, 700–1,100 usage days, 30–80 activities over three years.
    assert 3 * 500 <= n_contracts <= 5 * 500
    assert 700 * 500 <= n_usage <= 1100 * 500
    assert 30 * 500 <= len(frames["activities"]) <= 80 * 500
    assert len(frames["users"]) == 22
    assert not frames["usage"].duplicated(["account_id", "date"]).any()
    found = signals_at(frames, END)
    assert all(found.values())


# ---------------------------------------------------------------------------- build and CLI


def test_export_csv_writes_canonical_files(tables, tmp_path):
    paths = demo.export_csv(tables, tmp_path / "csv")
    assert sorted(p.name for p in paths.values()) == sorted(
        f"{n}.csv" for n in contract.TABLE_ORDER)
    for name, path in paths.items():
        head = path.read_text(encoding="utf-8").splitlines()[:2]
        assert head[0] == ",".join(contract.TABLES[name].column_names)
    contracts = pd.read_csv(paths["contracts"], dtype=str, keep_default_na=False)
    assert contracts["start_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert len(contracts) == len(tables["contracts"])
    usage = paths["usage"].read_text(encoding="utf-8").count("\n")
    assert usage == len(tables["usage"]) + 1


def test_build_demo_publishes_a_labelled_snapshot(tmp_path):
    store = Store(tmp_path / "data")
    settings = settings_from_dict({})
    result = demo.build_demo(settings, store, accounts=60, years=2, seed=3, end=END)
    assert result.as_of == END
    snap = store.open_current()
    assert snap.is_demo and snap.as_of == END and snap.meta["source"] == "demo"
    frames = demo.generate(accounts=60, years=2, seed=3, end=END)
    for name in contract.TABLE_ORDER:
        assert snap.scalar(f'SELECT count(*) FROM "{name}"') == len(frames[name])
    total = snap.scalar("SELECT sum(amount) FROM contracts")
    assert abs(total - frames["contracts"]["amount"].sum()) < 1e-6
    first = snap.rows("SELECT start_date, end_date FROM contracts ORDER BY contract_id LIMIT 1")
    expected = frames["contracts"].iloc[0]
    assert first[0] == (expected["start_date"].date(), expected["end_date"].date())


def run_cli(*args, home: Path):
    env = {**os.environ, "CS_ANALYTICS_HOME": str(home), "CS_ANALYTICS_CONFIG": ""}
    env.pop("CS_ANALYTICS_CONFIG")
    return subprocess.run([sys.executable, "-m", "cs_analytics", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_demo_builds_exports_and_summarises(tmp_path):
    home = tmp_path / "data"
    out = tmp_path / "csv"
    done = run_cli("demo", "--accounts", "40", "--years", "2", "--seed", "5",
                   "--end", "2026-04-30", "--export", str(out), home=home)
    assert done.returncode == 0, done.stderr
    assert "40 accounts" in done.stdout and "as of 2026-04-30" in done.stdout
    assert "…" in done.stderr  # progress
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.csv" for n in contract.TABLE_ORDER)
    snap = Store(home).open_current()
    assert snap.is_demo and snap.as_of == END
    assert snap.scalar("SELECT count(*) FROM accounts") == 40


def test_cli_demo_export_only_and_bad_arguments(tmp_path):
    home = tmp_path / "data"
    out = tmp_path / "csv"
    done = run_cli("demo", "--accounts", "30", "--end", "2026-04-30", "--export", str(out),
                   "--no-build", home=home)
    assert done.returncode == 0, done.stderr
    assert (out / "usage.csv").exists() and not Store(home).has_snapshot()
    bad = run_cli("demo", "--no-build", home=home)
    assert bad.returncode != 0 and "--export" in bad.stderr
    assert "Traceback" not in bad.stderr
    bad = run_cli("demo", "--accounts", "0", home=home)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
