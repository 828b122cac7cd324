"""SQL models (staging → intermediate → marts) run in a fixed order inside each snapshot build.

Each `NN_name.sql` file in this folder is plain SQL (one or more statements, usually one
`CREATE TABLE name AS SELECT …`) that reads only the canonical tables, the parameter tables
written by `write_parameters`, models with a lower number and the Python functions of
`functions.py`. Files run in name order.
Invariant checks (`checks.py`) run after the last model; a failing check fails the build.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

import duckdb

from cs_analytics.config import Settings
from cs_analytics.warehouse.models import checks, functions, parameters

MODELS_DIR = Path(__file__).parent


def model_files() -> list[Path]:
    return sorted(MODELS_DIR.glob("[0-9]*.sql"))


def write_parameters(con: duckdb.DuckDBPyConnection, settings: Settings, as_of: dt.date) -> None:
    """Settings the SQL needs, as tables: models never see formatted values."""
    parameters.write(con, settings, as_of)


def run_models(con: duckdb.DuckDBPyConnection, settings: Settings, as_of: dt.date,
               progress: Callable[[str], None] = lambda _m: None) -> None:
    write_parameters(con, settings, as_of)
    functions.register(con)
    for path in model_files():
        progress(f"model {path.stem}")
        try:
            con.execute(path.read_text(encoding="utf-8"))
        except duckdb.Error as exc:
            raise RuntimeError(f"model {path.name} failed: {exc}") from exc


def run_checks(con: duckdb.DuckDBPyConnection) -> None:
    checks.run_all(con)
