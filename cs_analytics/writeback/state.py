"""What Salesforce confirmed, per org and record (meta.sqlite `salesforce_pushed`): the next push
compares with it and sends only what changed. A record's state changes only when Salesforce
reported it written, so a refused or unsent record is sent again next time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cs_analytics.store import Store, now_iso


def canonical(fields: dict) -> str:
    """A record's values as the text stored and compared (keys sorted)."""
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Change:
    """One record to write: the fields that differ from the confirmed state (their new values),
    the confirmed values before (`old`), and whether Salesforce has it at all yet."""

    key: str
    fields: dict
    old: dict
    new_record: bool


def changes(desired: dict[str, dict], confirmed: dict[str, str],
            whole_record: bool = False) -> tuple[list[Change], int]:
    """(records to write, records unchanged). A field never confirmed counts as empty, so an
    empty value Salesforce never had is no change. With `whole_record`, a changed record
    carries all its fields (an upsert may create it)."""
    out: list[Change] = []
    unchanged = 0
    for key, fields in desired.items():
        text = confirmed.get(key)
        if text is not None and text == canonical(fields):
            unchanged += 1
            continue
        old = json.loads(text) if text is not None else {}
        diff = {f: v for f, v in fields.items() if old.get(f) != v}
        if not diff:
            unchanged += 1
            continue
        out.append(Change(key, dict(fields) if whole_record else diff, old, text is None))
    return out, unchanged


class PushedState:
    """The confirmed state of one org (`Credentials.org_key`) in the meta store; another org
    starts from an empty state."""

    def __init__(self, store: Store, target: str):
        self.store = store
        self.target = target

    def load(self, obj: str) -> dict[str, str]:
        """record key → its confirmed values (canonical JSON text)."""
        if not (self.store.home / "meta.sqlite").exists():
            return {}
        con = self.store.meta_db()
        try:
            rows = con.execute("SELECT record_key, fields FROM salesforce_pushed "
                               "WHERE target = ? AND object = ?", (self.target, obj)).fetchall()
        finally:
            con.close()
        return {k: v for k, v in rows}

    def confirm(self, obj: str, written: list[tuple[Change, str | None]]) -> None:
        """Record what Salesforce confirmed: each change written, with the record's id. Its
        fields are merged into the record's earlier state."""
        if not written:
            return
        stamp = now_iso()
        rows = [(self.target, obj, change.key, canonical({**change.old, **change.fields}),
                 record_id, stamp) for change, record_id in written]
        con = self.store.meta_db()
        try:
            con.execute("BEGIN IMMEDIATE")
            con.executemany(
                "INSERT INTO salesforce_pushed (target, object, record_key, fields, record_id, "
                "pushed_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (target, object, record_key) DO UPDATE SET "
                "fields = excluded.fields, record_id = coalesce(excluded.record_id, "
                "salesforce_pushed.record_id), pushed_at = excluded.pushed_at", rows)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.close()
