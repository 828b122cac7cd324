"""The layers of cs_analytics point one way: `lint-imports` checks the contracts in .importlinter
(layers, no cycles, metrics read-only, streamlit only in app/ui), so `make test` fails on an
import that points back up — at module level or inside a function."""

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True,
                          text=True, timeout=300)


def test_the_package_keeps_every_import_contract():
    done = lint_imports(REPO)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "4 kept, 0 broken" in done.stdout


def _broken_by(tmp_path: Path, module: str, source: str) -> str:
    """`lint-imports`' report on a copy of the package with `source` written at the end of
    `module` (a path under cs_analytics/, made if missing); the copy must break a contract."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "cs_analytics", root / "cs_analytics",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / ".importlinter", root / ".importlinter")
    path = root / "cs_analytics" / module
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(before + source, encoding="utf-8")
    done = lint_imports(root)
    assert done.returncode != 0
    return done.stdout


def test_an_upward_import_inside_a_function_breaks_the_layers(tmp_path):
    report = _broken_by(tmp_path, "warehouse/upward.py",
                        "def totals(con):\n"
                        "    from cs_analytics.metrics import revenue\n\n"
                        "    return revenue\n")
    assert "cs_analytics.warehouse is not allowed to import cs_analytics.metrics" in report
    assert "cs_analytics.warehouse.upward -> cs_analytics.metrics.revenue" in report


def test_metrics_opening_the_user_data_store_breaks_a_contract(tmp_path):
    report = _broken_by(tmp_path, "metrics/writes.py",
                        "from cs_analytics.warehouse.store import Store\n")
    assert "Metrics never build a snapshot, open the stores or touch user data BROKEN" in report


def test_streamlit_outside_app_ui_breaks_a_contract(tmp_path):
    report = _broken_by(tmp_path, "outputs/shown.py", "import streamlit as st\n")
    assert "Nothing outside cs_analytics.app.ui imports streamlit BROKEN" in report


def test_a_cycle_hidden_inside_a_function_breaks_a_contract(tmp_path):
    report = _broken_by(tmp_path, "metrics/base.py",
                        "\n\ndef _revenue():\n"
                        "    from cs_analytics.metrics import revenue\n\n"
                        "    return revenue\n")
    assert "No import cycles between sibling modules or packages, at any depth BROKEN" in report
    assert "No cycles are allowed in cs_analytics.metrics" in report


def test_the_architecture_doc_names_files_that_exist():
    """docs/architecture.md says which files to touch: every file it names is in the tree
    (named by its path from the repository root or from the package that holds it)."""
    import re

    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([A-Za-z_./<>-]+\.(?:py|sql|toml|md))`", text))
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    missing = [name for name in sorted(named)
               if "<" not in name and "NN_" not in name  # patterns for files to add
               and name != ".streamlit/secrets.toml"  # never in git
               and not any(path == name or path.endswith("/" + name) for path in tracked)]
    assert len(named) > 20
    assert missing == []
