"""docs/data-contract.md lists every canonical table, column, header alias and enum spelling of
cs_analytics/contract.py, so the document cannot fall behind the code."""

from __future__ import annotations

from cs_analytics import contract
from cs_analytics.config import REPO_ROOT, Import

DOC = (REPO_ROOT / "docs" / "data-contract.md").read_text(encoding="utf-8")


def test_every_alias_is_listed_with_its_column():
    rows = {line for line in DOC.splitlines() if line.startswith("| ")}
    missing = [f"| {alias} | {column} |" for alias, column in contract.ALIASES.items()
               if f"| {alias} | {column} |" not in rows]
    assert missing == []


def test_every_table_and_column_is_documented():
    for name, spec in contract.TABLES.items():
        section = DOC.split(f"### {name}\n", 1)[1].split("###", 1)[0]
        assert f"Key: `{' + '.join(spec.key)}`" in section
        for c in spec.columns:
            required = "yes" if c.required else ""
            if name == "contracts" and c.name in ("amount", "mrr"):
                required = "amount or mrr"
            assert f"| {c.name} | {c.kind} ({c.sql_type}) | {required} | " \
                   f"{', '.join(c.choices)} |" in section, (name, c.name)


def test_every_enum_spelling_is_documented():
    for column, spellings in contract.VALUE_ALIASES.items():
        for spelling, value in spellings.items():
            line = next((l for l in DOC.splitlines() if l.startswith(f"| ")
                         and l.split("|")[1].strip().endswith(f".{column}")
                         and spelling in l and value in l), None)
            assert line is not None, (column, spelling, value)


def test_limits_match_the_settings():
    defaults = Import()
    assert f"default {defaults.upload_max_mb} MB" in DOC
    assert f"default {defaults.max_errors}" in DOC
    assert f"default {defaults.raw_rows_max:,}" in DOC
