"""Notes and manual assessments on their way to Salesforce as completed Tasks (SPEC §5).

Each one recorded in the user-data store is queued in `salesforce_outbox` by a trigger, in the
same transaction (store.py), so none can be recorded without being queued. `push` sends the
pending ones and marks an item sent only when Salesforce confirmed its Task; until then it
stays pending with the last error — nothing is lost while Salesforce is down. Without
Salesforce configured nothing drains the queue and the app keeps notes locally, as before.

A Task is upserted by its external id (`salesforce.push.task_key_field`: kind, record id and a
random token), so a send retried after a lost answer never makes a second Task. Its owner is the
author's Salesforce user when the author's e-mail is an active user's, else the integration user,
and the description always names the author.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cs_analytics import clock
from cs_analytics.config import Settings
from cs_analytics.ingest.salesforce import is_configured
from cs_analytics.outputs.reports.labels import band_label
from cs_analytics.secrets import Secrets, load_secrets
from cs_analytics.warehouse.store import Store, now_iso, write_transaction

STATUSES = ("sent", "pending", "refused")  # what the app shows per note and assessment

SUBJECT_MAX = 255
DESCRIPTION_MAX = 32_000

# The words of a Task, in general.language (the team's language in Salesforce).
LABELS = {
    "note_subject": ("CS Analyticsメモ: {first_line}", "CS Analytics note: {first_line}"),
    "assessment_subject": ("ヘルス手動評価: {band}（{expires}まで）",
                           "Manual health assessment: {band} (until {expires})"),
    "assessment_body": ("手動評価: {band}\n有効期限: {expires}\nコメント: {comment}",
                        "Assessment: {band}\nValid until: {expires}\nComment: {comment}"),
    "author": ("記入者: {author}（CS Analyticsで記録, {written}）",
               "Written by {author} in CS Analytics, {written}"),
}


def label(key: str, lang: str, **values) -> str:
    return LABELS[key][0 if lang == "ja" else 1].format(**values)


@dataclass(frozen=True)
class OutboxItem:
    """A pending note or assessment with what its Task needs."""

    id: int
    kind: str  # note | assessment
    record_id: int
    account_id: str
    token: str
    created_at: str
    author: str
    body: str  # the note; the assessment's comment
    band: str | None = None
    expires_on: str | None = None
    attempts: int = 0
    last_error: str | None = None

    @property
    def key(self) -> str:
        """The Task's external id."""
        return f"cs-{self.kind}-{self.record_id}-{self.token}"


def pending(store: Store) -> list[OutboxItem]:
    """Every item not yet confirmed by Salesforce, oldest first."""
    if not (store.home / "userdata.sqlite").exists():
        return []
    con = store.userdata_db()
    try:
        rows = con.execute("""
            SELECT o.id, o.kind, o.record_id, o.account_id, o.token, o.created_at,
                   o.attempts, o.last_error,
                   coalesce(n.author, m.author) AS author,
                   coalesce(n.body, m.comment) AS body, m.band, m.expires_on
            FROM salesforce_outbox o
            LEFT JOIN notes n ON o.kind = 'note' AND n.id = o.record_id
            LEFT JOIN manual_assessments m ON o.kind = 'assessment' AND m.id = o.record_id
            WHERE o.status = 'pending'
            ORDER BY o.created_at, o.id
        """).fetchall()
    finally:
        con.close()
    return [OutboxItem(r["id"], r["kind"], r["record_id"], r["account_id"], r["token"],
                       r["created_at"], r["author"] or "", r["body"] or "", r["band"],
                       r["expires_on"], r["attempts"], r["last_error"]) for r in rows]


def mark(store: Store, sent: list[tuple[OutboxItem, str | None]],
         failed: list[tuple[OutboxItem, str]]) -> None:
    """Record a send: items Salesforce confirmed (with their Task id) are sent; refused ones
    stay pending with the error."""
    if not sent and not failed:
        return
    stamp = now_iso()
    with write_transaction(store.userdata_db()) as con:
        con.executemany(
            "UPDATE salesforce_outbox SET status = 'sent', task_id = ?, sent_at = ?, "
            "attempts = attempts + 1, last_attempt_at = ?, last_error = NULL WHERE id = ?",
            [(task_id, stamp, stamp, item.id) for item, task_id in sent])
        con.executemany(
            "UPDATE salesforce_outbox SET attempts = attempts + 1, last_attempt_at = ?, "
            "last_error = ? WHERE id = ?", [(stamp, error, item.id) for item, error in failed])


def counts(store: Store) -> dict[str, int]:
    """{'pending': not yet in Salesforce, 'refused': of those, refused at the last try,
    'sent': confirmed}."""
    found = {"pending": 0, "refused": 0, "sent": 0}
    if not (store.home / "userdata.sqlite").exists():
        return found
    con = store.userdata_db()
    try:
        for status, refused, n in con.execute(
                "SELECT status, last_error IS NOT NULL, count(*) FROM salesforce_outbox "
                "GROUP BY 1, 2").fetchall():
            found[status] += n
            if status == "pending" and refused:
                found["refused"] += n
    finally:
        con.close()
    return found


def enabled(settings: Settings, secrets: Secrets | None = None) -> bool:
    """Whether notes and assessments go to Salesforce: tasks are on and Salesforce is
    configured. Otherwise the app keeps them locally and says nothing about Salesforce."""
    if not settings.salesforce.push.tasks:
        return False
    return is_configured(secrets if secrets is not None else load_secrets())


def states(store: Store, kind: str, account_id: str) -> dict[int, dict]:
    """{note or assessment id: {status, task_id, last_error, sent_at}} of one account."""
    if not (store.home / "userdata.sqlite").exists():
        return {}
    con = store.userdata_db()
    try:
        rows = con.execute(
            "SELECT record_id, status, task_id, last_error, sent_at FROM salesforce_outbox "
            "WHERE kind = ? AND account_id = ?", (kind, account_id)).fetchall()
    finally:
        con.close()
    return {r["record_id"]: dict(r) for r in rows}


def with_status(frame: pd.DataFrame, store: Store, kind: str, account_id: str,
                id_column: str = "id") -> pd.DataFrame:
    """`frame` (notes or assessments of one account) with a `salesforce` column: sent,
    pending (not yet in Salesforce), refused (Salesforce refused the last try; the reason in
    `salesforce_error`), or empty for one written before the write-back existed."""
    found = states(store, kind, account_id)
    status, error = [], []
    for record_id in frame[id_column].tolist() if len(frame) else []:
        state = found.get(int(record_id))
        if state is None:
            status.append(None)
            error.append(None)
        elif state["status"] == "sent":
            status.append("sent")
            error.append(None)
        else:
            status.append("refused" if state["last_error"] else "pending")
            error.append(state["last_error"])
    out = frame.copy()
    out["salesforce"] = status
    out["salesforce_error"] = error
    return out


def task_fields(item: OutboxItem, settings: Settings, owner_id: str | None) -> dict:
    """The Task for an item (without `attributes` and the external id): completed, dated the
    day it was written (general.timezone), on the account, owned by `owner_id` when given."""
    lang = settings.general.language
    written = clock.local(item.created_at, settings)
    author = label("author", lang, author=item.author,
                   written=clock.local_text(item.created_at, settings))
    if item.kind == "note":
        first_line = next((line.strip() for line in item.body.splitlines() if line.strip()), "")
        subject = label("note_subject", lang, first_line=first_line)
        description = f"{item.body}\n\n{author}"
    else:
        band = band_label(item.band, lang)
        subject = label("assessment_subject", lang, band=band, expires=item.expires_on)
        description = label("assessment_body", lang, band=f"{band} ({item.band})",
                            expires=item.expires_on, comment=item.body or "—") + f"\n\n{author}"
    fields = {"WhatId": item.account_id, "Subject": _clip(subject, SUBJECT_MAX),
              "Description": _clip(description, DESCRIPTION_MAX),
              "Status": settings.salesforce.push.task_status,
              "ActivityDate": written.date().isoformat()}
    if owner_id:
        fields["OwnerId"] = owner_id
    return fields


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def author_owners(snap) -> dict[str, str]:
    """Active users by e-mail (lower case) → user id: whose Tasks carry their own owner."""
    rows = snap.rows("SELECT lower(trim(email)), user_id FROM users WHERE email IS NOT NULL "
                     "AND coalesce(active, true)")
    return {email: user_id for email, user_id in rows if email}
