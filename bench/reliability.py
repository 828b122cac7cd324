"""The reliability check (issue 21): replays hostile inputs and faults against a data directory
holding a published snapshot and user data, each case in its own processes, and prints a table
— case, exit code, peak memory, message, snapshot and user-data store byte-identical.

    make reliability                         # python -m bench.reliability
    python -m bench.reliability --case xlsx-far-cell --case snapshot-garbled-metrics

A case is a plain function registered with `@case`: it gets a `Scenario` (a fresh copy of the
data directory, a folder for its files) and returns the `Outcome` of the command it ran
(`scenario.cli(...)`); a fault case also names the `setup` that damages the scenario first
(bench/faults.py: a damaged snapshot or pointer, a read-only or full disk, a killed build). The
hostile files are generated here (some are large), never stored; the tests build the same
files at a smaller scale (tests/test_import_hostile_files.py, tests/test_damaged_data.py).
A run fails when a command prints a traceback or exits otherwise than 0–2, or when a refused
input peaks at 1 GB or more.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import click

from bench import faults
from cs_analytics.config import CONFIG_ENV, HOME_ENV, REPO_ROOT
from cs_analytics.ingest.messages import terminal_safe

MB = 1024 * 1024
PEAK_LIMIT_MB = 1024  # a rejected file's peak memory must stay below this


# ---------------------------------------------------------------------------- hostile files


XLSX_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
    'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
    'worksheet+xml"/>{extra}</Types>')
XLSX_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
XLSX_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>')
XLSX_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>{extra}</Relationships>')
SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              '{dimension}<sheetData>')
SHEET_TAIL = "</sheetData></worksheet>"


def inline(ref: str, text: str) -> str:
    """An inline-string cell, as Metabase's writer (Apache POI's SXSSF) writes text."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def write_xlsx(path: Path, sheet_rows, *, dimension: str = "", sheet: str = "Query result",
               shared_strings: str | None = None) -> Path:
    """A minimal workbook whose sheet XML is `sheet_rows` (a string, or an iterable of
    strings streamed into the ZIP), written with the deflate level Excel uses."""
    extra_types = extra_rels = ""
    if shared_strings is not None:
        extra_types = ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                       'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
        extra_rels = ('<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/'
                      'officeDocument/2006/relationships/sharedStrings" '
                      'Target="sharedStrings.xml"/>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", XLSX_CONTENT_TYPES.format(extra=extra_types))
        zf.writestr("_rels/.rels", XLSX_RELS)
        zf.writestr("xl/workbook.xml", XLSX_WORKBOOK.format(sheet=sheet))
        zf.writestr("xl/_rels/workbook.xml.rels", XLSX_WORKBOOK_RELS.format(extra=extra_rels))
        if shared_strings is not None:
            zf.writestr("xl/sharedStrings.xml", shared_strings)
        dim = f'<dimension ref="{dimension}"/>' if dimension else ""
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(SHEET_HEAD.format(dimension=dim).encode())
            for part in [sheet_rows] if isinstance(sheet_rows, str) else sheet_rows:
                fh.write(part.encode())
            fh.write(SHEET_TAIL.encode())
    return path


USERS_HEADER = '<row r="1">' + inline("A1", "user_id") + inline("B1", "name") + "</row>"


def xlsx_far_cell(path: Path) -> Path:
    """1.6 KB: a header and one cell at XFD1048576, the last cell Excel has."""
    return write_xlsx(path, USERS_HEADER + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')


def xlsx_huge_dimension(path: Path) -> Path:
    """A sheet that claims A1:XFD1048576 and holds two rows."""
    return write_xlsx(path, USERS_HEADER + '<row r="2">' + inline("A2", "U9") + inline("B2", "x")
                      + "</row>", dimension="A1:XFD1048576")


def xlsx_zip_bomb(path: Path, rows: int, columns: int = 8) -> Path:
    """Rows of small numbers without references: a tiny file that unpacks to `rows` ×
    `columns` cells (about 18 bytes of XML each, compressed ~1000×)."""
    row = "<row>" + "<c><v>1</v></c>" * columns + "</row>"
    block = row * 10_000

    def parts():
        yield USERS_HEADER
        for _ in range(rows // 10_000):
            yield block
        yield row * (rows % 10_000)

    return write_xlsx(path, parts())


def xlsx_shared_string_bomb(path: Path, cells: int = 40_000, length: int = 32_768) -> Path:
    """One long shared string referenced by every cell: a small file whose reader would copy
    the string into every cell (`cells` × `length` bytes)."""
    strings = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://'
               'schemas.openxmlformats.org/spreadsheetml/2006/main" count="3" uniqueCount="3">'
               "<si><t>user_id</t></si><si><t>name</t></si>"
               f"<si><t>{'x' * length}</t></si></sst>")
    header = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
    rows = "".join(f'<row r="{i}"><c r="A{i}" t="s"><v>2</v></c><c r="B{i}" t="s"><v>2</v></c>'
                   "</row>" for i in range(2, cells // 2 + 2))
    return write_xlsx(path, header + rows, shared_strings=strings)


def csv_huge_amount(path: Path, digits: int = 401) -> Path:
    path.write_text("contract_id,account_id,start_date,end_date,amount\n"
                    f"C9,A1,2025-01-01,2025-12-31,{'9' * digits}\n", encoding="utf-8")
    return path


def csv_long_last_record(path: Path, mb: int = 33) -> Path:
    """Two short rows, then a last row longer than DuckDB's read buffer (32 MB)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("user_id,name\nU3,a\nU4,b\nU5,")
        fh.write("x" * (mb * MB))
        fh.write("\n")
    return path


def csv_wide(path: Path, columns: int = 180_000) -> Path:
    """A valid CSV with 180,000 columns: user_id, name and unknown ones."""
    header = ["user_id", "name"] + [f"x{i}" for i in range(columns - 2)]
    path.write_text(",".join(header) + "\n" + ",".join(["U7", "Wide"] + ["1"] * (columns - 2))
                    + "\n", encoding="utf-8")
    return path


def csv_nul_late(path: Path) -> Path:
    """A NUL byte after the first 8 KB (the sniffing window)."""
    rows = b"".join(b"U%d,name %d\n" % (i, i) for i in range(10, 1000))
    path.write_bytes(b"user_id,name\n" + rows + b"U9999,bad\x00name\n")
    return path


def csv_bad_time(path: Path) -> Path:
    path.write_text("activity_id,account_id,date,type\nX1,A1,2026-01-05T25:00:00,meeting\n",
                    encoding="utf-8")
    return path


def json_big_integer(path: Path, digits: int = 5000) -> Path:
    path.write_text('[{"account_id": "A1", "date": "2026-01-05", "deliveries": '
                    + "9" * digits + ', "logins": 1}]', encoding="utf-8")
    return path


def json_deep(path: Path, depth: int = 100_000) -> Path:
    path.write_text("[" * depth + "]" * depth, encoding="utf-8")
    return path


def evil_name(folder: Path) -> Path:
    """A valid users file whose name holds a line break and a terminal escape sequence."""
    path = folder / "users\n\x1b[31mred\x1b[0m.csv"
    path.write_text("user_id,name\nU1,\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- cases


@dataclass
class Outcome:
    exit_code: int | None  # None: not run (this machine cannot stage the fault)
    peak_mb: float | None
    message: str
    seconds: float
    traceback: bool = False


@dataclass
class Scenario:
    """One case's world: a copy of the data directory, a folder for its files, a settings
    file."""

    home: Path
    files: Path
    config: Path

    def cli(self, *args: str, timeout: float = 900, about: str | None = None) -> Outcome:
        """Run `python -m cs_analytics ARGS` against this data directory; its exit code, the
        peak resident memory of it and every process it waited for, and what it said (the
        first line holding `about`, when given)."""
        env = {**os.environ, HOME_ENV: str(self.home), CONFIG_ENV: str(self.config),
               "PYTHONPATH": str(REPO_ROOT)}
        started = time.monotonic()
        code, out, err, peak = faults.run_measured(faults.cli_command(*args), env, timeout)
        return outcome(code, out + err, peak, time.monotonic() - started, about)


def outcome(code: int, text: str, peak_mb: float | None, seconds: float,
            about: str | None = None) -> Outcome:
    """What a command said, in one line: the first line holding `about` if any, else the first
    problem of refused data (exit 2), else its error line, else its first warning, else its
    first line."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("…")]
    chosen = [line.strip() for line in lines if about and about in line]
    if chosen:
        message = chosen[0]
    elif code == 2 and lines:  # refused data: its first problem says what and where
        message = lines[0]
    else:
        message = next((line for line in reversed(lines) if line.startswith("error:")),
                       next((line for line in lines if line.startswith("warning:")),
                            lines[0] if lines else ""))
    return Outcome(code, peak_mb, message, seconds,
                   "Traceback (most recent call last)" in text)


CASES: dict[str, Callable[[Scenario], Outcome]] = {}
# A case's fault, set up before the data directory is fingerprinted: the damage it starts from
# is the case's premise; what the command does afterwards is what the table reports.
SETUPS: dict[str, Callable[[Scenario], None]] = {}


def case(name: str, setup: Callable[[Scenario], None] | None = None):
    """Register a case: a function of a Scenario returning the Outcome of what it ran, and the
    fault `setup` puts the scenario in first (none for a hostile input)."""
    def register(fn):
        CASES[name] = fn
        if setup is not None:
            SETUPS[name] = setup
        return fn
    return register


def _import(scenario: Scenario, path: Path, *extra: str) -> Outcome:
    return scenario.cli("import", str(path), *extra)


@case("xlsx-far-cell")
def _(s: Scenario) -> Outcome:
    return _import(s, xlsx_far_cell(s.files / "far.xlsx"))


@case("xlsx-huge-dimension")
def _(s: Scenario) -> Outcome:
    return _import(s, xlsx_huge_dimension(s.files / "dimension.xlsx"))


@case("xlsx-zip-bomb-2mb")
def _(s: Scenario) -> Outcome:
    return _import(s, xlsx_zip_bomb(s.files / "bomb.xlsx", rows=4_000_000))


@case("xlsx-zip-bomb-14mb")
def _(s: Scenario) -> Outcome:
    return _import(s, xlsx_zip_bomb(s.files / "bomb-large.xlsx", rows=28_000_000))


@case("xlsx-shared-string-bomb")
def _(s: Scenario) -> Outcome:
    return _import(s, xlsx_shared_string_bomb(s.files / "strings.xlsx"))


@case("xlsx-garbage")
def _(s: Scenario) -> Outcome:
    path = s.files / "garbage.xlsx"
    path.write_bytes(b"PK\x03\x04" + os.urandom(4096))
    return _import(s, path)


@case("csv-401-digit-amount")
def _(s: Scenario) -> Outcome:
    return _import(s, csv_huge_amount(s.files / "contracts.csv"))


@case("csv-33mb-last-record")
def _(s: Scenario) -> Outcome:
    return _import(s, csv_long_last_record(s.files / "users-long.csv"))


@case("csv-180k-columns")
def _(s: Scenario) -> Outcome:
    return _import(s, csv_wide(s.files / "users-wide.csv"))


@case("csv-nul-after-8k")
def _(s: Scenario) -> Outcome:
    return _import(s, csv_nul_late(s.files / "users-nul.csv"))


@case("csv-hour-25")
def _(s: Scenario) -> Outcome:
    return _import(s, csv_bad_time(s.files / "activities.csv"))


@case("json-5000-digit-integer")
def _(s: Scenario) -> Outcome:
    return _import(s, json_big_integer(s.files / "usage.json"))


@case("json-deeply-nested")
def _(s: Scenario) -> Outcome:
    return _import(s, json_deep(s.files / "deep.json"))


@case("dev-null")
def _(s: Scenario) -> Outcome:
    return s.cli("import", os.devnull)


@case("name-with-escape-sequence")
def _(s: Scenario) -> Outcome:
    return _import(s, evil_name(s.files))


# ---------------------------------------------------------------------------- faults
# A bad disk day (bench/faults.py): a damaged snapshot or pointer, a read-only or full disk,
# a build killed half-way. Each starts from a data directory with two snapshots, so an intact
# older one can stand in for a damaged current one.


def _second_snapshot(s: Scenario) -> None:
    path = s.files / "accounts.csv"
    path.write_text("account_id,name,owner_id\nA1,既存の顧客,U1\nA2,二社目,U1\n",
                    encoding="utf-8")
    if s.cli("import", str(path)).exit_code != 0:
        raise click.ClickException("could not publish the second snapshot of a fault case")


def _damaged(damage: Callable[[Path], object]) -> Callable[[Scenario], None]:
    def setup(s: Scenario) -> None:
        _second_snapshot(s)
        damage(s.home)
    return setup


def _accounts_file(s: Scenario) -> Path:
    path = s.files / "more-accounts.csv"
    path.write_text("account_id,name,owner_id\nA3,三社目,U1\n", encoding="utf-8")
    return path


def _fault_run(run: faults.CommandRun, about: str | None = None) -> Outcome:
    return outcome(run.returncode, run.stdout + run.stderr, run.peak_mb, 0.0, about)


def _namespaced(fn: Callable[[Scenario], Outcome]) -> Callable[[Scenario], Outcome]:
    """A case that needs a private mount namespace: reported as not run where there is none."""
    def run(s: Scenario) -> Outcome:
        if not faults.namespaces_available():
            return Outcome(None, None, "not run: this machine allows no user mount namespace "
                                       "(unshare)", 0.0)
        started = time.monotonic()
        result = fn(s)
        result.seconds = time.monotonic() - started
        return result
    return run


@case("snapshot-truncated-status", setup=_damaged(faults.truncate_snapshot))
def _(s: Scenario) -> Outcome:
    return s.cli("status", about="DAMAGED")


@case("snapshot-garbled-metrics", setup=_damaged(faults.garble_snapshot))
def _(s: Scenario) -> Outcome:
    return s.cli("metrics", "--format", "json")


@case("pointer-garbled-status", setup=_damaged(faults.garble_pointer))
def _(s: Scenario) -> Outcome:
    return s.cli("status", about="DAMAGED")


@case("snapshot-garbled-import", setup=_damaged(faults.garble_snapshot))
def _(s: Scenario) -> Outcome:
    # rebuilds from the newest intact snapshot and publishes: the snapshot changes, by design
    return s.cli("import", str(_accounts_file(s)))


@case("read-only-status", setup=_second_snapshot)
@_namespaced
def _(s: Scenario) -> Outcome:
    return _fault_run(faults.read_only(s.home, "status", env=_env(s)), about="current snapshot")


@case("read-only-import", setup=_second_snapshot)
@_namespaced
def _(s: Scenario) -> Outcome:
    return _fault_run(faults.read_only(s.home, "import", str(_accounts_file(s)), env=_env(s)))


@case("full-disk-import", setup=_second_snapshot)
@_namespaced
def _(s: Scenario) -> Outcome:
    # runs on a full copy of the data directory: this one is never touched
    return _fault_run(faults.on_full_disk(s.home, "import", str(_accounts_file(s)),
                                          env=_env(s)))


@case("killed-build-status", setup=_second_snapshot)
def _(s: Scenario) -> Outcome:
    faults.killed_build(s.home, "import", str(_accounts_file(s)), at="publish")
    return s.cli("status", about="interrupted")


def _env(s: Scenario) -> dict:
    return {CONFIG_ENV: str(s.config)}


# ---------------------------------------------------------------------------- the run


def _digest(path: Path) -> str | None:
    if not path.exists():
        return None
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(MB):
            sha.update(chunk)
    return sha.hexdigest()


def _published(home: Path) -> tuple:
    """What a failed command must leave byte for byte: the pointer, the snapshot it points
    to, every snapshot file."""
    from cs_analytics.warehouse.store import Store

    store = Store(home)
    current = store.current_file()
    return (_digest(store.pointer), current and _digest(current.path),
            tuple(sorted((f.path.name, _digest(f.path)) for f in store.snapshot_files())))


def _baseline(folder: Path, config: Path) -> Path:
    """A data directory with a published snapshot (one user, one account) and a note."""
    home = folder / "baseline"
    files = folder / "baseline-files"
    files.mkdir(parents=True)
    (files / "users.csv").write_text("user_id,name\nU1,佐藤\n", encoding="utf-8")
    (files / "accounts.csv").write_text("account_id,name,owner_id\nA1,既存の顧客,U1\n",
                                        encoding="utf-8")
    scenario = Scenario(home, files, config)
    outcome = scenario.cli("import", str(files / "users.csv"), str(files / "accounts.csv"))
    if outcome.exit_code != 0:
        raise click.ClickException(f"could not build the baseline: {outcome.message}")
    from cs_analytics.warehouse.store import Store

    con = Store(home).userdata_db()
    try:
        con.execute("INSERT INTO notes (account_id, author, body, created_at) "
                    "VALUES ('A1', 'U1', '大事なメモ', '2026-01-01')")
        con.commit()
    finally:
        con.close()
    return home


def run(names: list[str], work: Path) -> list[dict]:
    config = work / "cs_analytics.toml"
    config.write_text("", encoding="utf-8")
    baseline = _baseline(work, config)
    results = []
    for name in names:
        home = work / f"case-{len(results)}" / "data"
        files = home.parent / "files"
        shutil.copytree(baseline, home)
        files.mkdir()
        scenario = Scenario(home, files, config)
        if name in SETUPS:
            SETUPS[name](scenario)
        before = (_published(home), _digest(home / "userdata.sqlite"))
        outcome = CASES[name](scenario)
        snapshot_same = _published(home) == before[0]
        userdata_same = _digest(home / "userdata.sqlite") == before[1]
        results.append({"case": name, "exit_code": outcome.exit_code,
                        "peak_mb": None if outcome.peak_mb is None else round(outcome.peak_mb),
                        "seconds": round(outcome.seconds, 1), "traceback": outcome.traceback,
                        "message": outcome.message, "snapshot_identical": snapshot_same,
                        "userdata_identical": userdata_same})
        shutil.rmtree(home.parent, ignore_errors=True)
    return results


def table(results: list[dict], width: int = 100) -> str:
    lines = [f"{'case':<26} {'exit':>4} {'peak MB':>8} {'s':>6}  {'snapshot':<8} "
             f"{'userdata':<8}  message"]
    for r in results:
        message = terminal_safe(r["message"])
        if len(message) > width:
            message = message[:width - 1] + "…"
        code = "—" if r["exit_code"] is None else r["exit_code"]
        peak = "—" if r["peak_mb"] is None else f"{r['peak_mb']:,}"
        lines.append(f"{r['case']:<26} {code:>4} {peak:>8} "
                     f"{r['seconds']:>6} {'same' if r['snapshot_identical'] else 'CHANGED':<8} "
                     f"{'same' if r['userdata_identical'] else 'CHANGED':<8}  {message}")
    return "\n".join(lines)


@click.command()
@click.option("--case", "names", multiple=True, type=click.Choice(list(CASES)),
              help="Run only this case (repeatable). Default: every case.")
@click.option("--work", type=click.Path(file_okay=False), default=None,
              help="Working folder (default: a temporary folder, removed afterwards).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None,
              help="Also write the results as JSON to this file.")
@click.option("--message-width", default=100, show_default=True)
def main(names: tuple[str, ...], work: str | None, json_out: str | None,
         message_width: int) -> None:
    """Replay the hostile inputs and faults; print case, exit code, peak memory, message and
    whether the published snapshot and the user-data store are byte-identical afterwards."""
    selected = list(names) or list(CASES)
    folder = Path(work) if work else Path(tempfile.mkdtemp(prefix="cs-reliability-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        results = run(selected, folder)
    finally:
        if work is None:
            shutil.rmtree(folder, ignore_errors=True)
    click.echo(table(results, message_width))
    if json_out:
        Path(json_out).write_text(json.dumps(results, ensure_ascii=False, indent=2),
                                  encoding="utf-8")
    over = [r["case"] for r in results if r["exit_code"] not in (0, None)
            and r["peak_mb"] is not None and r["peak_mb"] >= PEAK_LIMIT_MB]
    crashed = [r["case"] for r in results if r["traceback"] or (
        r["exit_code"] is not None and not 0 <= r["exit_code"] <= 2)]
    if over or crashed:
        raise click.ClickException(
            "; ".join(filter(None, [over and f"over {PEAK_LIMIT_MB} MB: {', '.join(over)}",
                                    crashed and f"crashed: {', '.join(crashed)}"])))


if __name__ == "__main__":  # pragma: no cover
    main()
