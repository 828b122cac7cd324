"""Manual health assessments (SPEC §4 "Health score"): a CS member's own band for an account,
with a comment and an expiry date, kept in the user-data store beside the computed score — shown
next to it, never replacing it; a refresh never touches them."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from cs_analytics.config import BANDS
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.warehouse.build import today_tokyo
from cs_analytics.warehouse.store import Store, now_iso

MAX_COMMENT = 2_000

@dataclass(frozen=True)
class ManualAssessment:
    """A CS member's own reading of an account's health, shown beside the computed score."""

    id: int
    account_id: str
    band: str
    comment: str
    expires_on: dt.date
    author: str
    created_at: str

    def is_valid_on(self, day: dt.date) -> bool:
        """Valid through its expiry date; ignored from the day after."""
        return day <= self.expires_on

    def as_dict(self) -> dict:
        d = asdict(self)
        d["expires_on"] = self.expires_on.isoformat()
        return d


def record_assessment(store: Store, account_id: str, band: str, expires_on: dt.date,
                      author: str, comment: str = "", today: dt.date | None = None
                      ) -> ManualAssessment:
    """Record a manual assessment (band, comment, expiry). It never changes the computed
    score; the latest one still valid is shown beside it."""
    today = today or today_tokyo()
    account_id = (account_id or "").strip()
    author = (author or "").strip()
    comment = (comment or "").strip()
    if not account_id:
        raise CsAnalyticsError("manual assessment: the account id is empty")
    if band not in BANDS:
        raise CsAnalyticsError(f"manual assessment band '{band}': expected one of "
                               f"{', '.join(BANDS)}")
    if not isinstance(expires_on, dt.date) or isinstance(expires_on, dt.datetime):
        raise CsAnalyticsError("manual assessment: the expiry must be a date like 2026-06-30")
    if expires_on < today:
        raise CsAnalyticsError(f"manual assessment expiring {expires_on.isoformat()}: choose "
                               f"today ({today.isoformat()}) or a later date")
    if not author:
        raise CsAnalyticsError("manual assessment: say who records it (author)")
    if len(comment) > MAX_COMMENT:
        raise CsAnalyticsError(f"manual assessment comment: at most {MAX_COMMENT:,} characters")
    created_at = now_iso()
    con = store.userdata_db()
    try:
        cur = con.execute(
            "INSERT INTO manual_assessments (account_id, band, comment, expires_on, author, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (account_id, band, comment, expires_on.isoformat(), author, created_at))
        new_id = int(cur.lastrowid)
    finally:
        con.close()
    return ManualAssessment(new_id, account_id, band, comment, expires_on, author, created_at)


def assessment_history(store: Store, account_id: str) -> list[ManualAssessment]:
    """Every assessment recorded for the account, newest first (expired ones included)."""
    return _assessments(store, "WHERE account_id = ? ORDER BY created_at DESC, id DESC",
                        (account_id,))


def current_assessments(store: Store, on: dt.date | None = None) -> dict[str, ManualAssessment]:
    """The latest assessment of each account still valid on `on` (default: today in Tokyo).
    An account whose latest assessment expired shows none, even if an older one has a later
    expiry: a new assessment replaces the previous one."""
    on = on or today_tokyo()
    latest: dict[str, ManualAssessment] = {}
    for a in _assessments(store, "ORDER BY created_at, id", ()):
        latest[a.account_id] = a
    return {k: a for k, a in latest.items() if a.is_valid_on(on)}


def _assessments(store: Store, tail: str, params: tuple) -> list[ManualAssessment]:
    con = store.userdata_db(readonly=True)
    try:
        rows = con.execute(
            "SELECT id, account_id, band, comment, expires_on, author, created_at "
            f"FROM manual_assessments {tail}", params).fetchall()
    finally:
        con.close()
    return [ManualAssessment(r["id"], r["account_id"], r["band"], r["comment"],
                             dt.date.fromisoformat(r["expires_on"]), r["author"],
                             r["created_at"]) for r in rows]
