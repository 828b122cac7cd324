"""The QBR page (AppTest): the customer deck's download beside the Excel pack, the batch of this
quarter's decks as one zip, and a broken template named instead of a failing button."""

from __future__ import annotations

import io
import zipfile

import pytest
from pptx import Presentation

from cs_analytics.app.ui import qbr_view
from cs_analytics.app.ui.i18n import translate
from cs_analytics.metrics import accounts, periods
from cs_analytics.warehouse.store import Store
from test_app_common import demo_home, run_page, texts, use_home  # noqa: F401


def _due(home):
    snap = Store(home).open_current()
    quarter = periods.period_containing("quarter", snap.as_of)
    return snap, accounts.qbr_candidates(snap, quarter.start_date, quarter.end_day(snap.as_of))


def _downloads(at) -> dict[str, object]:
    """The download buttons of the run by label (AppTest shows them as unknown elements)."""
    found = {}
    for element in at.get("download_button"):
        proto = element.proto
        found[proto.label] = proto
    return found


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_pack_offers_the_customer_deck(lang, demo_home, use_home):
    use_home(demo_home)
    snap, due = _due(demo_home)
    account_id = due["account_id"].iloc[0]
    at = run_page("qbr", lang, query={"account_id": account_id})
    assert not at.exception, [e.value for e in at.exception]
    labels = _downloads(at)
    assert translate(lang, "qbr.download") in labels
    assert translate(lang, "qbr.download_deck") in labels
    assert translate(lang, "qbr.deck_help") in texts(at)


def test_the_quarter_decks_as_one_zip(demo_home, use_home):
    use_home(demo_home)
    snap, due = _due(demo_home)
    pending = due[~due["qbr_done"].astype(bool)]
    assert len(pending) >= 2
    at = run_page("qbr", "en")
    button = at.button(key="qbr_batch_make")
    assert button.label == translate("en", "qbr.batch_button", count=len(pending))
    at = button.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert translate("en", "qbr.batch_done", count=len(pending)) in texts(at)
    label = translate("en", "qbr.batch_download", count=len(pending))
    assert label in _downloads(at)
    quarter = periods.period_containing("quarter", snap.as_of)
    data = at.session_state[qbr_view.batch_key(
        snap.id, "en", quarter.label, list(zip(pending["account_id"], pending["name"])))]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        decks = [n for n in z.namelist() if n.endswith(".pptx")]
        assert len(decks) == len(pending)
        assert sorted(decks) == sorted(f"qbr-{a}_{snap.as_of.isoformat()}.pptx"
                                       for a in pending["account_id"])
        first = Presentation(io.BytesIO(z.read(decks[0])))
        assert len(first.slides) >= 10


def test_a_broken_template_is_named_not_a_failing_button(demo_home, use_home, tmp_path,
                                                          monkeypatch):
    config = tmp_path / "cs_analytics.toml"
    config.write_text('[reports]\nqbr_template = "missing.pptx"\n', encoding="utf-8")
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(config))
    use_home(demo_home)
    _, due = _due(demo_home)
    at = run_page("qbr", "en", query={"account_id": due["account_id"].iloc[0]})
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert "The customer deck cannot be made: reports.qbr_template:" in shown
    assert translate("en", "qbr.download_deck") not in _downloads(at)
