"""CSV that a spreadsheet opens as data: text that Excel would run as a formula (a cell
starting with = + - @, a tab or a carriage return — OWASP "CSV injection") gets a leading
apostrophe. Numbers are never touched. Shared by the page downloads and the CLI's CSV output.
"""

from __future__ import annotations

import csv
from typing import Iterable, TextIO

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def guard_formula(value):
    """`value` with an apostrophe in front when it is text Excel would evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class GuardedWriter:
    """`csv.writer` whose text cells are guarded (unless `guard` is False)."""

    def __init__(self, out: TextIO, guard: bool = True, **options):
        self._writer = csv.writer(out, **options)
        self.guard = guard

    def writerow(self, row: Iterable) -> None:
        self._writer.writerow([guard_formula(v) for v in row] if self.guard else row)

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)
