"""Invariant checks run on every build after the models; a violation fails the build."""

from __future__ import annotations

from typing import Callable

import duckdb

from cs_analytics.errors import BuildFailed

Check = Callable[[duckdb.DuckDBPyConnection], list[str]]
CHECKS: list[Check] = []


def check(fn: Check) -> Check:
    CHECKS.append(fn)
    return fn


def run_all(con: duckdb.DuckDBPyConnection) -> None:
    problems = [p for fn in CHECKS for p in fn(con)]
    if problems:
        raise BuildFailed("a data check failed and nothing was published: " + "; ".join(problems))
