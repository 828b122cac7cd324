"""Writes to Salesforce through simple-salesforce: the describe check before anything is sent,
sObject Collections (PATCH composite/sobjects, 200 records a call, allOrNone = false) or a
Bulk API 2.0 ingest job above `salesforce.push.bulk_threshold` records, and each record's
outcome as Salesforce reported it.

Every call goes through the connector's `with_retries`: REQUEST_LIMIT_EXCEEDED, HTTP 5xx,
timeouts and dropped connections are retried with back-off, an expired session (401) logs in
again once. Updates and upserts by external id are idempotent, so a call retried after a lost
answer writes nothing twice. A record refused for a row lock (UNABLE_TO_LOCK_ROW) is sent once
more after the others; any other refusal is that record's outcome.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from typing import Callable

from simple_salesforce.exceptions import (SalesforceError, SalesforceMalformedRequest,
                                          SalesforceOperationError,
                                          SalesforceResourceNotFound)

from cs_analytics.errors import SourceError
from cs_analytics.ingest.salesforce import Connection, _error_details, _one_line, with_retries
from cs_analytics.outputs.writeback.state import Change

COLLECTION_SIZE = 200  # records per sObject Collections call (Salesforce's limit)
ROW_LOCK = "UNABLE_TO_LOCK_ROW"
BULK_NULL = "#N/A"  # Bulk API 2.0: set the field empty (an empty cell leaves it unchanged)

Progress = Callable[[str], None]
Report = Callable[[list["Outcome"]], None]  # receives each call's outcomes as they arrive


@dataclass(frozen=True)
class Outcome:
    """What Salesforce said about one record: its id when written, else the error."""

    change: Change
    record_id: str | None = None
    code: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.code is None


@dataclass(frozen=True)
class Need:
    """A field the push writes, and the setting that names it."""

    field: str
    setting: str
    external_id: bool = False


@dataclass(frozen=True)
class ObjectNeeds:
    """What one object must offer before anything is written to it."""

    object: str
    setting: str  # the setting naming the object
    fields: tuple[Need, ...]
    create: bool  # records are created too (upserts), not only updated


def error_text(code: str, message: str, fields=()) -> str:
    fields = [f for f in fields or () if f]
    return f"{code}: {_one_line(message)}" + (f" ({', '.join(fields)})" if fields else "")


def parse_bulk_error(text: str) -> tuple[str, str]:
    """Bulk API 2.0's sf__Error 'CODE:message:fields --' → (code, 'CODE: message')."""
    code, _, rest = (text or "").partition(":")
    message = rest.rstrip()
    if message.endswith("--"):
        message = message[:-2].rstrip()
        head, sep, fields = message.rpartition(":")
        if sep and " " not in fields.strip(", "):
            message = head + (f" ({fields.strip()})" if fields.strip() else "")
    return code.strip() or "ERROR", f"{code.strip() or 'ERROR'}: {_one_line(message)}"


class Writer:
    """Writes records of the objects the push touches over one logged-in connection."""

    def __init__(self, conn: Connection, bulk_threshold: int, progress: Progress):
        self.conn = conn
        self.bulk_threshold = bulk_threshold
        self.progress = progress
        self.describes: dict[str, dict] = {}

    # ------------------------------------------------------------------ set-up check

    def check(self, needs: list[ObjectNeeds]) -> None:
        """Describe every object first; refuse with every missing piece, each naming the
        setting to change, before anything is written."""
        problems: list[str] = []
        for need in needs:
            describe = self._describe(need)
            if describe is None:
                problems.append(f"there is no object {need.object} this user can see "
                                f"({need.setting})")
                continue
            fields = {f["name"].lower(): f for f in describe.get("fields", [])}
            for wanted in need.fields:
                found = fields.get(wanted.field.lower())
                if found is None:
                    problems.append(f"{need.object} has no field {wanted.field} "
                                    f"({wanted.setting})")
                    continue
                writable = found.get("updateable") and (found.get("createable")
                                                        or not need.create)
                if not writable:
                    problems.append(f"this user cannot write {need.object}.{wanted.field} "
                                    f"({wanted.setting}): give the integration user edit "
                                    f"access to the field")
                elif wanted.external_id and not found.get("externalId"):
                    problems.append(f"{need.object}.{wanted.field} is not an External ID field "
                                    f"({wanted.setting}): tick External ID and Unique on it")
        if problems:
            raise SourceError(
                "Salesforce is not set up for the write-back, so nothing was written: "
                + "; ".join(problems) + " — create what is missing as docs/operations.md "
                "(\"Salesforce write-back\") lists, or set the named keys to your API names")

    def _describe(self, need: ObjectNeeds) -> dict | None:
        def call():
            return getattr(self.conn.client, need.object).describe()

        def on_error(exc):
            if isinstance(exc, SalesforceResourceNotFound):
                return None
            return _write_error(exc, need.object, "describing")

        try:
            describe = with_retries(call, self.conn, f"describing {need.object}",
                                    self.progress, on_error=on_error)
        except SalesforceResourceNotFound:
            return None
        self.describes[need.object] = describe
        return describe

    def has_createable(self, obj: str, field: str) -> bool:
        fields = {f["name"].lower(): f for f in self.describes.get(obj, {}).get("fields", [])}
        found = fields.get(field.lower())
        return bool(found and found.get("createable") and not found.get("autoNumber"))

    # ------------------------------------------------------------------ writes

    def update(self, obj: str, changes: list[Change], report: Report) -> None:
        """Update existing records by Id (the change's key) with the changed fields."""
        if len(changes) > self.bulk_threshold:
            report(self._bulk(obj, "update", changes, "Id"))
            return
        records = [{"attributes": {"type": obj}, "Id": c.key, **c.fields} for c in changes]
        self._collections(obj, "composite/sobjects", changes, records, report)

    def upsert(self, obj: str, key_field: str, changes: list[Change], report: Report,
               extra: Callable[[Change], dict] | None = None) -> None:
        """Create or update records by their external id (`key_field`, among the fields)."""
        if len(changes) > self.bulk_threshold:
            report(self._bulk(obj, "upsert", changes, key_field, extra))
            return
        records = [{"attributes": {"type": obj}, **c.fields, **(extra(c) if extra else {})}
                   for c in changes]
        self._collections(obj, f"composite/sobjects/{obj}/{key_field}", changes, records,
                          report)

    def _collections(self, obj: str, path: str, changes: list[Change], records: list[dict],
                     report: Report) -> None:
        """Calls of COLLECTION_SIZE records; each call's outcomes are reported as it returns,
        except row locks, sent once more at the end."""
        locked: list[tuple[Change, dict]] = []
        for start in range(0, len(records), COLLECTION_SIZE):
            part = slice(start, start + COLLECTION_SIZE)
            outcomes = self._collection_call(obj, path, changes[part], records[part])
            locked += [(o.change, r) for o, r in zip(outcomes, records[part])
                       if o.code == ROW_LOCK]
            report([o for o in outcomes if o.code != ROW_LOCK])
        if not locked:
            return
        self.progress(f"Salesforce {obj}: {len(locked):,} records were locked by another "
                      f"update; sending them once more")
        time.sleep(self.conn.sf.backoff_seconds)
        for start in range(0, len(locked), COLLECTION_SIZE):
            part = locked[start:start + COLLECTION_SIZE]
            report(self._collection_call(obj, path, [c for c, _ in part], [r for _, r in part]))

    def _collection_call(self, obj: str, path: str, changes: list[Change],
                         records: list[dict]) -> list[Outcome]:
        body = {"allOrNone": False, "records": records}
        results = with_retries(
            lambda: self.conn.client.restful(path, method="PATCH", json=body),
            self.conn, f"writing {obj}", self.progress,
            on_error=lambda exc: _write_error(exc, obj, "writing"))
        if not isinstance(results, list) or len(results) != len(records):
            raise SourceError(f"Salesforce answered the write to {obj} with "
                              f"{len(results) if isinstance(results, list) else 'no'} results "
                              f"for {len(records)} records; nothing more was sent")
        outcomes = []
        for change, result in zip(changes, results):
            if result.get("success"):
                outcomes.append(Outcome(change, record_id=result.get("id")))
                continue
            errors = result.get("errors") or [{}]
            first = errors[0]
            code = str(first.get("statusCode") or "ERROR")
            text = "; ".join(error_text(str(e.get("statusCode") or "ERROR"), e.get("message"),
                                        e.get("fields")) for e in errors)
            outcomes.append(Outcome(change, code=code, error=self.conn.secrets.redact(text)))
        return outcomes

    def _bulk(self, obj: str, operation: str, changes: list[Change], key_column: str,
              extra: Callable[[Change], dict] | None = None) -> list[Outcome]:
        rows = []
        for c in changes:
            row = {"Id": c.key} if operation == "update" else {}
            row.update({f: _csv_value(v) for f, v in c.fields.items()})
            if extra:
                row.update({f: _csv_value(v) for f, v in extra(c).items()})
            rows.append(row)
        self.progress(f"Salesforce {obj}: {len(rows):,} records through a Bulk API 2.0 "
                      f"{operation} job")
        poll = self.conn.sf.bulk_poll_seconds
        kwargs = {"external_id_field": key_column} if operation == "upsert" else {}

        def run_job():
            handler = getattr(self.conn.client.bulk2, obj)
            return getattr(handler, operation)(records=rows, wait=poll, **kwargs)

        jobs = with_retries(run_job, self.conn, f"writing {obj} (Bulk API 2.0)", self.progress,
                            on_error=lambda exc: _write_error(exc, obj, "writing"))
        written: dict[str, str] = {}
        refused: dict[str, str] = {}
        for job in jobs:
            job_id = job["job_id"]
            for kind, target in (("successful", written), ("failed", refused)):
                def results(kind=kind, job_id=job_id):
                    handler = getattr(self.conn.client.bulk2, obj)
                    method = (handler.get_successful_records if kind == "successful"
                              else handler.get_failed_records)
                    return method(job_id)

                text = with_retries(results, self.conn, f"reading the results of {obj} job "
                                    f"{job_id}", self.progress,
                                    on_error=lambda exc: _write_error(exc, obj, "reading"))
                for row in csv.DictReader(io.StringIO(_utf8(text))):
                    key = row.get(key_column) or row.get("sf__Id") or ""
                    target[key] = row.get("sf__Id" if kind == "successful" else "sf__Error", "")
        outcomes = []
        for c in changes:
            key = c.key if operation == "update" else str(c.fields.get(key_column))
            if key in written:
                outcomes.append(Outcome(c, record_id=written[key] or None))
            elif key in refused:
                code, text = parse_bulk_error(refused[key])
                outcomes.append(Outcome(c, code=code, error=self.conn.secrets.redact(text)))
            else:
                outcomes.append(Outcome(c, code="NOT_PROCESSED",
                                        error="NOT_PROCESSED: the Bulk API job ended before "
                                              "this record was processed"))
        return outcomes


def _utf8(text: str) -> str:
    """simple-salesforce reads the Bulk API's CSV results with requests' `.text`, which takes
    a text/csv answer without a charset for ISO-8859-1: UTF-8 read that way is recovered (text
    read correctly cannot be encoded back to ISO-8859-1 when it holds Japanese)."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _csv_value(value) -> str:
    if value is None:
        return BULK_NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _write_error(exc: Exception, obj: str, doing: str) -> SourceError | None:
    """One sentence for a call Salesforce refused as a whole (not per record)."""
    if isinstance(exc, SalesforceMalformedRequest):
        code, message = _error_details(exc)
        return SourceError(f"Salesforce refused {doing} {obj} ({code or 'HTTP 400'}: {message}); "
                           f"nothing more was sent")
    if isinstance(exc, SalesforceOperationError):
        return SourceError(f"the Salesforce Bulk API job {doing} {obj} failed: "
                           f"{_one_line(exc)[:300]}")
    if isinstance(exc, SalesforceError):
        code, message = _error_details(exc)
        return SourceError(f"Salesforce error while {doing} {obj}: HTTP {exc.status} "
                           f"{code} {message}".strip())
    return None
