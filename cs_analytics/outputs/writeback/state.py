"""What Salesforce confirmed, per org and record (meta.sqlite `salesforce_pushed`): the next push
compares with it and sends only what changed. A record's state changes only when Salesforce
reported it written, so a refused or unsent record is sent again next time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cs_analytics.warehouse.store import Store, now_iso, write_transaction


def canonical(fields: dict) -> str:
    """A record's values as the text stored and compared (keys sorted)."""
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Change:
    """One record to write: the fields that differ from the confirmed state (their new values),
    the confirmed values before (`old`), whether Salesforce has it at all yet, and the record's
    whole state once written (`text`, what the state keeps)."""

    key: str
    fields: dict
    old: dict
    new_record: bool
    text: str


def changes(desired: list[tuple[str, str]], confirmed: dict[str, str],
            whole_record: bool = False) -> tuple[list[Change], int]:
    """(records to write, records unchanged) for the desired (key, canonical JSON) records.
    Equal text is unchanged without decoding; a field never confirmed counts as empty, so an
    empty value Salesforce never had is no change. With `whole_record`, a changed record
    carries all its fields (an upsert may create it)."""
    out: list[Change] = []
    unchanged = 0
    for key, text in desired:
        old_text = confirmed.get(key)
        if old_text == text:
            unchanged += 1
            continue
        fields = json.loads(text)
        old = json.loads(old_text) if old_text is not None else {}
        diff = {f: v for f, v in fields.items() if old.get(f) != v}
        if not diff:
            unchanged += 1
            continue
        out.append(Change(key, fields if whole_record else diff, old, old_text is None, text))
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
            cur = con.cursor()
            cur.row_factory = None  # plain tuples: 100,000 rows load in a fraction of the time
            return dict(cur.execute("SELECT record_key, fields FROM salesforce_pushed "
                                    "WHERE target = ? AND object = ?",
                                    (self.target, obj)).fetchall())
        finally:
            con.close()

    def confirm(self, obj: str, written: list[tuple[Change, str | None]]) -> None:
        """Record what Salesforce confirmed: each change written (the record now holds its
        whole desired state), with the record's id."""
        if not written:
            return
        stamp = now_iso()
        rows = [(self.target, obj, change.key, change.text, record_id, stamp)
                for change, record_id in written]
        with write_transaction(self.store.meta_db()) as con:
            con.executemany(
                "INSERT INTO salesforce_pushed (target, object, record_key, fields, record_id, "
                "pushed_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (target, object, record_key) DO UPDATE SET "
                "fields = excluded.fields, record_id = coalesce(excluded.record_id, "
                "salesforce_pushed.record_id), pushed_at = excluded.pushed_at", rows)
