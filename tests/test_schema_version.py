"""Snapshots carry a schema version (store.SCHEMA_VERSION): a snapshot built by another version
is not read — the CLI and the app say so in one sentence — and the next `rebuild`, import or
refresh builds it again from its own canonical tables, with every model of this version."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from cs_analytics.warehouse import build as build_module
from cs_analytics.warehouse import models
from cs_analytics.cli import main
from cs_analytics.config import HOME_ENV, Settings
from cs_analytics.errors import SnapshotOutdated
from cs_analytics.ingest.imports import import_files
from cs_analytics.ingest import demo
from cs_analytics.warehouse.store import SCHEMA_VERSION, Store, reset_connection_cache
from test_app_common import DEMO_END, make_app, texts, use_home  # noqa: F401

CANONICAL = ("users", "accounts", "contracts", "activities", "usage")
OLD_VERSION = SCHEMA_VERSION - 1


pytestmark = pytest.mark.usefixtures("fresh_connections")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> dict:
    """Two data directories with the same imported data: `old` as an older version built it
    (its schema version, and no renewals mart: model 50 did not exist), `current` as this
    version builds it."""
    files = tmp_path_factory.mktemp("csv")
    paths = demo.export_csv(demo.generate(accounts=20, years=1, seed=3, end=DEMO_END), files)
    inputs = [paths[t] for t in CANONICAL]
    settings = Settings()
    old, current = tmp_path_factory.mktemp("old"), tmp_path_factory.mktemp("current")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(build_module, "SCHEMA_VERSION", OLD_VERSION)
        every_model = models.model_files
        mp.setattr(models, "model_files",
                   lambda: [p for p in every_model() if not p.name.startswith("50_")])
        import_files(settings, Store(old), inputs)
    import_files(settings, Store(current), inputs)
    reset_connection_cache()
    return {"old": old, "current": current, "files": paths}


@pytest.fixture
def home(template, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(template["old"], copy)
    return copy


def _cli(home, *args):
    return CliRunner().invoke(main, list(args), env={HOME_ENV: str(home)})


def test_a_snapshot_of_another_version_is_not_read_and_the_error_says_how_to_rebuild(home):
    store = Store(home)
    with pytest.raises(SnapshotOutdated) as caught:
        store.open_current()
    sentence = str(caught.value)
    assert f"this version reads {SCHEMA_VERSION}" in sentence
    assert f"schema {OLD_VERSION}" in sentence
    assert "python -m cs_analytics rebuild" in sentence
    assert "別のバージョン" in caught.value.localized("ja")
    # Its canonical tables (and its description) stay readable: a build starts from them.
    old = store.open_current(any_version=True)
    assert old.schema_version == OLD_VERSION and not old.is_current_version
    assert not old.has_table("fct_renewals")


def test_the_cli_says_one_sentence_and_status_shows_why_the_snapshot_is_not_read(home):
    result = _cli(home, "metrics")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "was built by another version of CS Analytics" in lines[0]
    assert "Traceback" not in result.output
    japanese = _cli(home, "--lang", "ja", "renewals")
    assert japanese.exit_code == 1 and "別のバージョンの CS Analytics" in japanese.output

    status = _cli(home, "status", "--format", "json")
    assert status.exit_code == 0, status.output
    current = json.loads(status.output)["current"]
    assert current["schema_version"] == OLD_VERSION
    assert "rebuild" in current["outdated"]
    assert "NOT READ:" in _cli(home, "status").output


def _canonical_rows(snap) -> dict:
    return {t: snap.rows(f'SELECT * FROM "{t}" ORDER BY ALL') for t in CANONICAL}


def test_rebuild_makes_it_again_from_its_canonical_tables_with_every_model(home, template):
    before = Store(home).open_current(any_version=True)
    rows, as_of = _canonical_rows(before), before.as_of
    result = _cli(home, "rebuild")
    assert result.exit_code == 0, result.output
    assert f"schema {SCHEMA_VERSION}" in result.output

    rebuilt = Store(home).open_current()
    assert rebuilt.is_current_version and rebuilt.id != before.id
    assert rebuilt.as_of == as_of and not rebuilt.is_demo
    assert rebuilt.has_table("fct_renewals")
    assert _canonical_rows(rebuilt) == rows
    # Every figure equals the same data built by this version from the files.
    fresh = _cli(template["current"], "metrics", "--format", "json")
    again = _cli(home, "metrics", "--format", "json")
    assert again.exit_code == 0 and json.loads(again.output) == json.loads(fresh.output)


def test_an_import_onto_a_snapshot_of_another_version_keeps_its_data(home, template, tmp_path):
    before = _canonical_rows(Store(home).open_current(any_version=True))
    extra = tmp_path / "extra_user.csv"
    header = template["files"]["users"].read_text(encoding="utf-8").splitlines()[0]
    extra.write_text(header + "\nU900,新人 太郎,taro.shinjin@example.co.jp,member,U001,20,true\n",
                     encoding="utf-8")
    import_files(Settings(), Store(home), [extra])
    snap = Store(home).open_current()
    assert snap.is_current_version and snap.has_table("fct_renewals")
    after = _canonical_rows(snap)
    assert len(after["users"]) == len(before["users"]) + 1
    assert {t: after[t] for t in CANONICAL if t != "users"} == \
        {t: before[t] for t in CANONICAL if t != "users"}


def test_a_demo_snapshot_rebuilt_stays_demo_data_of_the_same_day(tmp_path, monkeypatch):
    monkeypatch.setattr(build_module, "SCHEMA_VERSION", OLD_VERSION)
    store = Store(tmp_path / "data")
    demo.build_demo(Settings(), store, accounts=10, years=1, end=DEMO_END)
    monkeypatch.undo()
    reset_connection_cache()
    with pytest.raises(SnapshotOutdated):
        store.open_current()
    build_module.rebuild(Settings(), store)
    snap = store.open_current()
    assert snap.is_demo and snap.as_of == DEMO_END and snap.is_current_version
    assert snap.meta["rows"]["accounts"] == 10


@pytest.mark.parametrize("lang, sentence", [
    ("en", "was built by another version of CS Analytics"),
    ("ja", "別のバージョンの CS Analytics で作成された")])
def test_the_app_says_one_sentence_instead_of_numbers(home, use_home, lang, sentence):
    use_home(home)
    at = make_app(lang)
    at.run()
    assert not at.exception, at.exception
    shown = [e.value for e in at.error if sentence in e.value]
    assert len(shown) == 1 and f"{SCHEMA_VERSION}" in shown[0]
    assert not at.metric and not at.dataframe
    page_text = texts(at)
    assert "No data yet" not in page_text and "データがまだありません" not in page_text
    assert "まだデータがありません" not in page_text


def test_the_data_page_says_why_and_its_refresh_button_rebuilds(home, use_home):
    from cs_analytics.app.ui import admin

    use_home(home)
    at = make_app("en")
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception, at.exception
    assert [w.value for w in at.warning if "was built by another version" in w.value]
    assert [c.value for c in at.caption if "Rebuilds the current snapshot from its own data"
            in c.value]
    assert admin.refresh_command(False, "ja", outdated=True)[-3:] == ["--lang", "ja", "rebuild"]
