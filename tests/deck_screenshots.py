"""Rewrite the customer deck's screenshots in docs/screenshots/ (`make deck-screenshots`):
one demo account's deck (Japanese), rendered by LibreOffice, one PNG per slide, and the same
deck's cover and plan in English. The demo is fixed (seed, size, date), so the pictures change
only when the deck does."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

from cs_analytics.config import REPO_ROOT, Settings
from cs_analytics.ingest.demo import build_demo
from cs_analytics.metrics import accounts, periods
from cs_analytics.outputs.reports.qbr_deck import qbr_deck_data
from cs_analytics.outputs.reports.qbr_slides import fonts_of, render_qbr_deck
from cs_analytics.warehouse.store import Store
from tests import deck_render

DEMO_END = dt.date(2026, 2, 14)  # mid-quarter: the current quarter is shown to date and paced
OUT = REPO_ROOT / "docs" / "screenshots"
DPI = 72


def pick_account(snap, settings) -> str:
    """The first S/A account due a QBR whose plan has three or more items (a full deck)."""
    quarter = periods.period_containing("quarter", snap.as_of)
    due = accounts.qbr_candidates(snap, quarter.start_date, quarter.end_day(snap.as_of))
    for account_id in due["account_id"]:
        deck = qbr_deck_data(snap, settings, account_id, "ja")
        if deck.has_usage and len(deck.plan) >= 3 and len(deck.contracts) >= 3:
            return account_id
    return due["account_id"].iloc[0]


def main() -> None:
    settings = Settings()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = Store(work / "home")
        build_demo(settings, store, accounts=170, years=3, seed=5, end=DEMO_END)
        snap = store.open_current()
        account_id = pick_account(snap, settings)
        for old in OUT.glob("qbr-deck-*.png"):
            old.unlink()
        for lang in ("ja", "en"):
            deck = qbr_deck_data(snap, settings, account_id, lang)
            data = render_qbr_deck(deck, fonts_of(settings, lang))
            pdf = deck_render.render_pdf(data, work / lang)
            pages = deck_render.png_pages(pdf, work / lang / "slide", DPI)
            keep = range(len(pages)) if lang == "ja" else (0, 6)
            for i in keep:
                target = OUT / f"qbr-deck-{lang}-{i + 1:02d}.png"
                shutil.copy(pages[i], target)
                print(f"wrote {target.relative_to(REPO_ROOT)}")
        print(f"account {account_id}: {deck.customer}")


if __name__ == "__main__":
    main()
