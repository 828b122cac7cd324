"""Faults of a bad disk day, each a plain function over a data directory, for the tests and
for a reliability script to replay: damage the current snapshot or the pointer, run a CLI
command with the data directory read-only or on a full disk, kill a build half-way.

    before = faults.fingerprint(home)
    run = faults.on_full_disk(home, "import", "accounts.csv")
    run.returncode, run.one_line_error, faults.fingerprint(home) == before

Read-only and full disks are real: the command runs in a private mount namespace
(`unshare --user --map-root-user --mount`, no privileges needed where user namespaces are
enabled) where the data directory is a read-only bind mount, or a copy of it on a small tmpfs
filled up. `namespaces_available()` says whether this machine allows that.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
UNSHARE = ["unshare", "--user", "--map-root-user", "--mount"]
PAUSE_ENV = "CS_ANALYTICS_PAUSE_AT"


@dataclass
class CommandRun:
    """A CLI command's outcome under a fault."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    before: dict[str, str] | None = None   # fingerprint of the data directory before the run
    after: dict[str, str] | None = None    # … and after it (full-disk runs: of the copy)
    peak_mb: float | None = None           # peak resident memory of the command's processes

    @property
    def traceback(self) -> bool:
        return "Traceback (most recent call last)" in self.stderr

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]

    @property
    def one_line_error(self) -> str | None:
        """The command's one-line reason for failing (its `error:` line), if it gave one."""
        lines = self.error_lines
        return lines[-1].removeprefix("error:").strip() if lines else None

    @property
    def unchanged(self) -> bool | None:
        """Whether the snapshots, the pointer and the side stores are byte-identical after
        the run (None when the run did not record them)."""
        if self.before is None or self.after is None:
            return None
        return self.before == self.after


# ------------------------------------------------------------------------ damage on disk


def current_snapshot_path(home: Path) -> Path:
    name = (Path(home) / "CURRENT").read_text(encoding="utf-8").strip()
    return Path(home) / "snapshots" / name


def truncate_snapshot(home: Path, keep: float = 0.5) -> Path:
    """Cut the current snapshot file to `keep` of its size (a copy interrupted, a full disk
    during a restore)."""
    path = current_snapshot_path(home)
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(int(size * keep))
    return path


def garble_snapshot(home: Path, seed: int = 1) -> Path:
    """Overwrite the current snapshot with random bytes of the same size."""
    path = current_snapshot_path(home)
    size = path.stat().st_size
    path.write_bytes(_random_bytes(size, seed))
    return path


def garble_pointer(home: Path, content: bytes = b"\x00\xffnot a snapshot\n") -> Path:
    """Replace the pointer (CURRENT) with something that names no snapshot."""
    path = Path(home) / "CURRENT"
    path.write_bytes(content)
    return path


def _random_bytes(size: int, seed: int) -> bytes:
    out = bytearray()
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:size])


def fingerprint(home: Path) -> dict[str, str]:
    """SHA-256 of the files a fault must leave as they were: every snapshot, the pointer and
    the two side stores (SQLite's -wal/-shm companions are not content: they are left out)."""
    home = Path(home)
    files = [home / "CURRENT", home / "meta.sqlite", home / "userdata.sqlite",
             *sorted((home / "snapshots").glob("snap-*"))]
    return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files if p.is_file()}


# ------------------------------------------------------------------------ running commands


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "cs_analytics", *args]


def run_cli(home: Path, *args: str, env: dict | None = None, timeout: float = 600) -> CommandRun:
    """`python -m cs_analytics ARGS` on the data directory `home`."""
    code, out, err, peak = run_measured(cli_command(*args), _env(home, env), timeout)
    return CommandRun(tuple(args), code, out, err, peak_mb=peak)


def run_measured(argv: list[str], env: dict, timeout: float) -> tuple[int, str, str, float]:
    """Run `argv` from the repository: exit code, stdout, stderr and the peak resident memory
    (MB) of it and the processes it waited for (reaped with wait4, which reports it)."""
    process = subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    streams: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda n=name, f=stream: streams.__setitem__(n, f.read()))
               for name, stream in (("out", process.stdout), ("err", process.stderr))]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            process.kill()
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.02)
    process.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    return (process.returncode, streams["out"].decode("utf-8", "replace"),
            streams["err"].decode("utf-8", "replace"), usage.ru_maxrss / 1024)


def _env(home: Path, extra: dict | None) -> dict:
    return {**os.environ, "CS_ANALYTICS_HOME": str(home), "PYTHONUNBUFFERED": "1",
            **(extra or {})}


def namespaces_available() -> bool:
    """Whether commands can run in a private mount namespace here (see the module doc)."""
    if shutil.which("unshare") is None:
        return False
    try:
        probe = subprocess.run([*UNSHARE, "sh", "-c", "mount -t tmpfs tmpfs /mnt 2>/dev/null "
                                "|| mount -t tmpfs tmpfs \"$TMPDIR\""],
                               capture_output=True, timeout=30,
                               env={**os.environ, "TMPDIR": tempfile.gettempdir()})
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def read_only(home: Path, *args: str, env: dict | None = None,
              timeout: float = 600) -> CommandRun:
    """`python -m cs_analytics ARGS` with the data directory mounted read-only."""
    home = Path(home).resolve()
    before = fingerprint(home)
    script = (f"mount --bind {shlex.quote(str(home))} {shlex.quote(str(home))} && "
              f"mount -o remount,bind,ro {shlex.quote(str(home))} && exec \"$@\"")
    code, out, err, peak = run_measured([*UNSHARE, "sh", "-c", script, "sh", *cli_command(*args)],
                                _env(home, env), timeout)
    return CommandRun(tuple(args), code, out, err, before, fingerprint(home), peak)


def on_full_disk(home: Path, *args: str, env: dict | None = None, room_bytes: int = 0,
                 timeout: float = 600) -> CommandRun:
    """`python -m cs_analytics ARGS` with the data directory on a full disk: a copy of it on a
    tmpfs of its own size plus a margin, filled up to `room_bytes` of free space. The
    fingerprints are of that copy, before and after the command; `home` is not touched."""
    return on_full_disk_command(home, ["-m", "cs_analytics", *args], env=env,
                                room_bytes=room_bytes, timeout=timeout, label=args)


def on_full_disk_command(home: Path, python_args: list[str], *, env: dict | None = None,
                         room_bytes: int = 0, timeout: float = 600,
                         label: tuple[str, ...] | None = None) -> CommandRun:
    """`python PYTHON_ARGS` (e.g. ["-c", code]) on a full disk, as `on_full_disk`."""
    home = Path(home).resolve()
    used = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
    size_kb = used // 1024 + 4096
    with tempfile.TemporaryDirectory(prefix="cs-full-") as work:
        stage = Path(work) / "home"
        stage.mkdir()
        report = Path(work) / "report.json"
        inner = [sys.executable, __file__, "--full-disk-inside", str(home), str(stage),
                 str(report), str(room_bytes), sys.executable, *python_args]
        script = (f"mount -t tmpfs -o size={size_kb}k tmpfs {shlex.quote(str(stage))} "
                  "&& exec \"$@\"")
        result = subprocess.run([*UNSHARE, "sh", "-c", script, "sh", *inner], cwd=REPO,
                                capture_output=True, text=True, env=_env(stage, env),
                                timeout=timeout)
        if not report.exists():
            raise RuntimeError(f"the full-disk run did not start: {result.stderr.strip()}")
        data = json.loads(report.read_text(encoding="utf-8"))
    return CommandRun(tuple(label or python_args), data["returncode"], data["stdout"],
                      data["stderr"], data["before"], data["after"], data["peak_mb"])


def _full_disk_inside(source: str, stage: str, report: str, room: str, *command: str) -> None:
    """Runs inside the mount namespace: copy, fill, run the command, record."""
    stage_path = Path(stage)
    shutil.copytree(source, stage, dirs_exist_ok=True)
    before = fingerprint(stage_path)
    filler = stage_path / ".filler"
    with open(filler, "wb") as fh:
        chunk = b"\0" * (1 << 16)
        try:
            while True:
                fh.write(chunk)
                fh.flush()
        except OSError:
            pass
    room_bytes = int(room)
    if room_bytes:
        with open(filler, "r+b") as fh:
            fh.truncate(max(0, filler.stat().st_size - room_bytes))
    code, out, err, peak = run_measured(list(command), dict(os.environ), 600)
    filler.unlink()
    Path(report).write_text(json.dumps({
        "returncode": code, "stdout": out, "stderr": err, "peak_mb": peak,
        "before": before, "after": fingerprint(stage_path)}), encoding="utf-8")


def killed_build(home: Path, *args: str, at: str = "build", timeout: float = 120) -> int:
    """Start a building command (`demo`, `import FILE`, …), stop it at a pause point
    ('extract', 'build' or 'publish', cs_analytics.warehouse.build.pause_point) and kill it with
    SIGKILL, as the OOM killer or a power cut would; returns the dead process's id."""
    process = subprocess.Popen(cli_command(*args), cwd=REPO, env=_env(home, {PAUSE_ENV: at}),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith(f"paused at {at}"):
            break
        if time.monotonic() > deadline:
            break
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return process.pid


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--full-disk-inside":
    _full_disk_inside(*sys.argv[2:])
