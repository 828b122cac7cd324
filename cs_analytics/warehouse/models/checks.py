"""Invariant checks run on every build after the models; a violation fails the build."""

from __future__ import annotations

import math
from typing import Callable

import duckdb

from cs_analytics.errors import BuildFailed
from cs_analytics.warehouse.models.parameters import MRR_EPSILON

Check = Callable[[duckdb.DuckDBPyConnection], list[str]]
CHECKS: list[Check] = []


def check(fn: Check) -> Check:
    CHECKS.append(fn)
    return fn


def run_all(con: duckdb.DuckDBPyConnection) -> None:
    problems = [p for fn in CHECKS for p in fn(con)]
    if problems:
        raise BuildFailed("a data check failed and nothing was published: " + "; ".join(problems))


# ---------------------------------------------------------------------------- revenue


@check
def finite_amounts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every contract amount and MRR is a finite number (a source could still deliver inf or
    NaN; one such value makes every total and rate meaningless)."""
    rows = con.execute(
        "SELECT contract_id, amount, mrr FROM contracts "
        "WHERE NOT isfinite(coalesce(amount, 0)) OR NOT isfinite(coalesce(mrr, 0)) "
        "ORDER BY contract_id LIMIT 6").fetchall()
    shown = ", ".join(f"{c} (amount {a!r}, mrr {m!r})" for c, a, m in rows[:5])
    return [f"contracts with an amount or mrr that is not a finite number: {shown}"
            + (", …" if len(rows) > 5 else "")] if rows else []

BRIDGE_MONTHS_SHOWN = 5


@check
def mrr_bridge(con: duckdb.DuckDBPyConnection) -> list[str]:
    """SPEC §4: MRR(M) = MRR(M−1) + new + reactivation + expansion − |contraction| − |churn|.

    Checked on the published totals (fct_mrr_monthly) against the month before, found by date
    rather than by row order, so a missing month breaks the bridge too. The allowed difference
    is the equality tolerance once per account: an account whose MRR moved by less than that
    counts as unchanged and its sub-micro-yen difference is in no movement.
    """
    rows = con.execute("""
        SELECT t.month, t.mrr, coalesce(p.mrr, 0) AS previous_mrr,
               t.new + t.reactivation + t.expansion + t.contraction + t.churn AS net_movement,
               t.accounts
        FROM fct_mrr_monthly t
        LEFT JOIN fct_mrr_monthly p ON p.month = CAST(t.month - INTERVAL 1 MONTH AS DATE)
        ORDER BY t.month""").fetchall()
    broken = []
    for month, mrr, previous, net, accounts in rows:
        if not all(math.isfinite(v) for v in (mrr, previous, net)):
            # inf − inf is NaN, which no tolerance catches: a non-finite total is itself broken
            broken.append(f"MRR bridge broken in {month:%Y-%m}: MRR {mrr!r}, previous month "
                          f"{previous!r}, movements {net!r} are not all finite numbers")
            continue
        difference = mrr - (previous + net)
        if abs(difference) > MRR_EPSILON * max(1, accounts):
            broken.append(
                f"MRR bridge broken in {month:%Y-%m}: MRR ¥{mrr:,.6f} differs from the previous "
                f"month's ¥{previous:,.6f} plus movements ¥{net:+,.6f} by ¥{difference:+,.6f}")
    if len(broken) > BRIDGE_MONTHS_SHOWN:
        more = len(broken) - BRIDGE_MONTHS_SHOWN
        broken = broken[:BRIDGE_MONTHS_SHOWN] + [f"and {more} more months with a broken bridge"]
    return broken
