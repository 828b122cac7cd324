"""The writing half of the fake Salesforce org (mixed into tests/fakes/salesforce.FakeSalesforce),
in the shapes of the REST API reference:

- `GET sobjects/{object}/describe`: the object and its fields (type, createable, updateable,
  externalId, autoNumber …); `404 NOT_FOUND` for an object the org does not have.
- `PATCH composite/sobjects` (update by Id) and `PATCH composite/sobjects/{object}/{field}`
  (upsert by external id): `{"allOrNone": …, "records": [{"attributes": {"type": …}, …}]}`, at
  most 200 records (`400 EXCEEDED_ID_LIMIT`), a field the object lacks refuses the whole call
  (`400 INVALID_FIELD`), otherwise one SaveResult / UpsertResult per record in order:
  `{"id", "success", "errors": [{"statusCode", "message", "fields"}], "created"}`.
- Bulk API 2.0 ingest: `POST jobs/ingest` (state Open), `PUT jobs/ingest/{id}/batches` (CSV,
  201), `PATCH jobs/ingest/{id}` `{"state": "UploadComplete"}`, `GET jobs/ingest/{id}`
  (InProgress, then JobComplete or Failed with errorMessage), and the CSV results
  `successfulResults` (sf__Id, sf__Created, …), `failedResults` (sf__Id, sf__Error
  "CODE:message:fields --", …), `unprocessedrecords`. In the CSV `#N/A` empties a field and an
  empty cell leaves it as it is.

Per-record errors are Salesforce's: ENTITY_IS_DELETED (a deleted record),
INVALID_CROSS_REFERENCE_KEY (an id or lookup that does not exist), INVALID_FIELD_FOR_INSERT_UPDATE
(a read-only field), and any scripted with `reject()` — a validation rule
(FIELD_CUSTOM_VALIDATION_EXCEPTION), a row lock (UNABLE_TO_LOCK_ROW) …
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from tests.fakes.http import Request, Response

READ_ONLY = {"Id", "SystemModstamp", "IsDeleted", "IsClosed", "IsChild", "CreatedDate"}
API_USER_ID = "005FAKE000000001"
BULK_NULL = "#N/A"


def errors(code: str, message: str) -> list[dict]:
    return [{"message": message, "errorCode": code}]


@dataclass
class Rejection:
    """A scripted per-record refusal: records of `obj` whose key (Id or external id) matches."""

    obj: str
    key: str
    code: str
    message: str
    fields: tuple[str, ...] = ()
    times: int | None = None  # None: every time
    hits: int = 0


class RecordError(Exception):
    def __init__(self, code: str, message: str, fields=()):
        super().__init__(message)
        self.code, self.message, self.fields = code, message, list(fields)

    def result(self) -> dict:
        return {"success": False,
                "errors": [{"statusCode": self.code, "message": self.message,
                            "fields": self.fields}]}


class SalesforceWrites:
    """Describe, sObject Collections and Bulk API 2.0 ingest over the org's records."""

    def init_writes(self) -> None:
        self.types: dict[str, dict[str, str]] = {}
        self.external_ids: dict[str, set[str]] = {}
        self.auto_numbers: dict[str, set[str]] = {}
        self.read_only: dict[str, set[str]] = {}
        self.rejections: list[Rejection] = []
        self._ingest: dict[str, dict] = {}
        self._key_index: dict[tuple[str, str], dict[str, str]] = {}

    # ------------------------------------------------------------------ set-up

    def field_types(self, obj: str, external_ids=(), auto_numbers=(), read_only=(),
                    **types: str) -> None:
        """Declare field types (double, int, date, string, reference …) and flags beyond what
        the names suggest."""
        self.types.setdefault(obj, {}).update(types)
        self.external_ids.setdefault(obj, set()).update(external_ids)
        self.auto_numbers.setdefault(obj, set()).update(auto_numbers)
        self.read_only.setdefault(obj, set()).update(read_only)

    def reject(self, obj: str, key: str, code: str, message: str, fields=(),
               times: int | None = None) -> Rejection:
        rejection = Rejection(obj, key, code, message, tuple(fields), times)
        self.rejections.append(rejection)
        return rejection

    def field_type(self, obj: str, name: str) -> str:
        declared = self.types.get(obj, {}).get(name)
        if declared:
            return declared
        if name == "Id":
            return "id"
        if name.startswith("Is"):
            return "boolean"
        if name.endswith("DateTime") or name in ("SystemModstamp", "CreatedDate"):
            return "datetime"
        if name.endswith("Date"):
            return "date"
        if name.endswith("Id") or name == "WhatId":
            return "reference"
        return "string"

    def _writable(self, obj: str, name: str) -> bool:
        return (name not in READ_ONLY and name not in self.read_only.get(obj, set())
                and name not in self.auto_numbers.get(obj, set()))

    # ------------------------------------------------------------------ routing

    def route_write(self, request: Request, version: str, rest: str) -> Response | None:
        m = re.fullmatch(r"sobjects/(\w+)/describe/?", rest)
        if m and request.method == "GET":
            return self._describe(m.group(1), version)
        if rest.rstrip("/") == "composite/sobjects" and request.method == "PATCH":
            return self._collection(request, None, None)
        m = re.fullmatch(r"composite/sobjects/(\w+)/(\w+)/?", rest)
        if m and request.method == "PATCH":
            return self._collection(request, m.group(1), m.group(2))
        if rest.rstrip("/") == "jobs/ingest" and request.method == "POST":
            return self._ingest_create(request, version)
        m = re.fullmatch(r"jobs/ingest/(\w+)(?:/(\w+))?/?", rest)
        if m:
            return self._ingest_job(request, m.group(1), m.group(2))
        return None

    # ------------------------------------------------------------------ describe

    def _describe(self, obj: str, version: str) -> Response:
        if obj not in self.schema:
            return Response(404, errors("NOT_FOUND", "The requested resource does not exist"))
        fields = []
        for name in self.schema[obj]:
            writable = self._writable(obj, name)
            fields.append({
                "name": name, "label": name.removesuffix("__c").replace("_", " "),
                "type": self.field_type(obj, name), "custom": name.endswith("__c"),
                "createable": writable, "updateable": writable,
                "nillable": name != "Id", "externalId": name in self.external_ids.get(obj, ()),
                "unique": name in self.external_ids.get(obj, ()),
                "autoNumber": name in self.auto_numbers.get(obj, ()),
                "idLookup": name == "Id" or name in self.external_ids.get(obj, ())})
        return Response(200, {"name": obj, "label": obj, "custom": obj.endswith("__c"),
                              "createable": True, "updateable": True, "queryable": True,
                              "fields": fields,
                              "urls": {"sobject": f"/services/data/v{version}/sobjects/{obj}"}})

    # ------------------------------------------------------------------ one record

    def _stored_value(self, obj: str, name: str, raw, from_csv: bool):
        """A written value as the org stores it."""
        if raw is None or (from_csv and raw == BULK_NULL):
            return None
        kind = self.field_type(obj, name)
        if kind in ("double", "currency", "percent"):
            return float(raw)
        if kind == "int":
            return int(float(raw))
        if kind == "boolean":
            return raw if isinstance(raw, bool) else str(raw).lower() == "true"
        return raw if not from_csv else str(raw)

    def _check_reject(self, obj: str, keys: list[str]) -> None:
        for rejection in self.rejections:
            if rejection.obj == obj and rejection.key in keys and (
                    rejection.times is None or rejection.hits < rejection.times):
                rejection.hits += 1
                raise RecordError(rejection.code, rejection.message, rejection.fields)

    def _find_any(self, record_id: str):
        for records in self.records.values():
            if record_id in records:
                return records[record_id]
        return None

    def _prepare(self, obj: str, values: dict, from_csv: bool) -> dict:
        """The fields to set, checked: writable, lookups that exist."""
        out = {}
        for name, raw in values.items():
            field = self._field_name(obj, name)
            if not self._writable(obj, field):
                raise RecordError("INVALID_FIELD_FOR_INSERT_UPDATE",
                                  f"Unable to create/update fields: {field}. Please check the "
                                  f"security settings of this field and verify that it is "
                                  f"read/write for your profile or permission set.", [field])
            value = self._stored_value(obj, field, raw, from_csv)
            if value is not None and self.field_type(obj, field) == "reference":
                target = self._find_any(value)
                if target is None or target.get("IsDeleted"):
                    raise RecordError("INVALID_CROSS_REFERENCE_KEY",
                                      f"invalid cross reference id", [field])
            out[field] = value
        return out

    def _update(self, obj: str, record_id: str, values: dict, from_csv: bool) -> dict:
        self._check_reject(obj, [record_id])
        record = self.records.get(obj, {}).get(record_id)
        if record is None:
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        if record.get("IsDeleted"):
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
        changes = self._prepare(obj, values, from_csv)
        self._apply(obj, record, changes)
        return {"id": record_id, "success": True, "errors": []}

    def _upsert(self, obj: str, key_field: str, values: dict, from_csv: bool) -> dict:
        key = values.get(key_field)
        if key in (None, ""):
            raise RecordError("MISSING_ARGUMENT", f"{key_field} not specified", [key_field])
        self._check_reject(obj, [str(key)])
        index = self._index(obj, key_field)
        record_id = index.get(str(key))
        changes = self._prepare(obj, {k: v for k, v in values.items() if k != key_field},
                                from_csv)
        if record_id is not None:
            self._apply(obj, self.records[obj][record_id], changes)
            return {"id": record_id, "success": True, "errors": [], "created": False}
        fields = {key_field: str(key), **changes}
        if obj == "Task":
            fields.setdefault("OwnerId", API_USER_ID)
        for name in self.auto_numbers.get(obj, ()):
            fields[name] = f"{len(self.records[obj]) + 1:08d}"
        record = self.add(obj, **fields)
        self._derive(obj, record)
        index[str(key)] = record["Id"]
        return {"id": record["Id"], "success": True, "errors": [], "created": True}

    def _apply(self, obj: str, record: dict, changes: dict) -> None:
        record.update(changes)
        self._derive(obj, record)
        record["SystemModstamp"] = self.tick()

    def _derive(self, obj: str, record: dict) -> None:
        """What Salesforce sets itself: a Task's IsClosed from its status, its AccountId from
        an account in WhatId."""
        if obj != "Task":
            return
        if "Status" in record:
            record["IsClosed"] = record.get("Status") == "Completed"
        what = record.get("WhatId")
        if "AccountId" in record and what and what in self.records.get("Account", {}):
            record["AccountId"] = what

    def _index(self, obj: str, key_field: str) -> dict[str, str]:
        index = self._key_index.get((obj, key_field))
        if index is None:
            index = {str(r[key_field]): rid for rid, r in self.records.get(obj, {}).items()
                     if r.get(key_field) not in (None, "")}
            self._key_index[(obj, key_field)] = index
        return index

    def _unknown_fields(self, obj: str, names) -> list[str]:
        return [n for n in names if n != "attributes" and self._field_name(obj, n) is None]

    # ------------------------------------------------------------------ sObject Collections

    def _collection(self, request: Request, obj: str | None, key_field: str | None) -> Response:
        body = request.json() or {}
        records = body.get("records")
        if not isinstance(records, list):
            return Response(400, errors("JSON_PARSER_ERROR", "records: expected a list"))
        if len(records) > 200:
            return Response(400, errors("EXCEEDED_ID_LIMIT", "record limit reached. cannot "
                                                             "submit more than 200 records "
                                                             "into this call"))
        if obj is not None:
            if obj not in self.schema:
                return Response(404, errors("NOT_FOUND", "The requested resource does not "
                                                         "exist"))
            if key_field not in self.external_ids.get(obj, set()):
                return Response(400, errors(
                    "INVALID_FIELD", f"Field name provided, {key_field} is not an External ID "
                                     f"or indexed field for {obj}"))
        for record in records:
            kind = (record.get("attributes") or {}).get("type")
            if not kind:
                return Response(400, errors("INVALID_TYPE", "Must send a concrete entity type."))
            if kind not in self.schema:
                return Response(400, errors("INVALID_TYPE", f"sObject type '{kind}' is not "
                                                            f"supported."))
            unknown = self._unknown_fields(kind, record)
            if unknown:
                return Response(400, errors(
                    "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type {kind}"))
        results = []
        for record in records:
            kind = record["attributes"]["type"]
            values = {k: v for k, v in record.items() if k != "attributes"}
            try:
                if obj is None:
                    record_id = values.pop("Id", None)
                    if not record_id:
                        raise RecordError("MISSING_ARGUMENT", "Id not specified in an update "
                                                              "call", ["Id"])
                    results.append(self._update(kind, record_id, values, from_csv=False))
                else:
                    results.append(self._upsert(kind, key_field, values, from_csv=False))
            except RecordError as exc:
                results.append(exc.result())
        if body.get("allOrNone") and not all(r["success"] for r in results):
            return Response(200, [r if not r["success"] else
                                  {"success": False, "errors": [{
                                      "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                      "message": "Record rolled back because not all records "
                                                 "were valid and the request was using "
                                                 "AllOrNone header", "fields": []}]}
                                  for r in results])
        return Response(200, results)

    # ------------------------------------------------------------------ Bulk API 2.0 ingest

    def _ingest_create(self, request: Request, version: str) -> Response:
        payload = request.json() or {}
        obj, operation = payload.get("object"), payload.get("operation")
        if obj not in self.schema:
            return Response(400, errors("INVALIDJOB", f"Unable to find object: {obj}"))
        if operation not in ("insert", "update", "upsert"):
            return Response(400, errors("INVALIDJOB", f"Invalid operation: {operation}"))
        key_field = payload.get("externalIdFieldName")
        if operation == "upsert" and key_field not in self.external_ids.get(obj, set()):
            return Response(400, errors("INVALIDJOB", f"Field name provided, {key_field} is not "
                                                      f"an External ID or indexed field for "
                                                      f"{obj}"))
        job_id = f"7504FAKE{len(self._ingest) + 1:010d}"
        self._ingest[job_id] = {"id": job_id, "operation": operation, "object": obj,
                                "externalIdFieldName": key_field, "state": "Open",
                                "data": [], "polls": 0, "results": None}
        return Response(200, self._ingest_info(job_id, version))

    def _ingest_info(self, job_id: str, version: str = "59.0") -> dict:
        job = self._ingest[job_id]
        info = {"id": job_id, "operation": job["operation"], "object": job["object"],
                "createdById": API_USER_ID, "state": job["state"],
                "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": float(version),
                "contentUrl": f"services/data/v{version}/jobs/ingest/{job_id}/batches",
                "lineEnding": "LF", "columnDelimiter": "COMMA"}
        if job["externalIdFieldName"]:
            info["externalIdFieldName"] = job["externalIdFieldName"]
        if job["results"] is not None:
            info["numberRecordsProcessed"] = len(job["results"]["ok"]) + len(
                job["results"]["failed"])
            info["numberRecordsFailed"] = len(job["results"]["failed"])
        if job.get("errorMessage"):
            info["errorMessage"] = job["errorMessage"]
        return info

    def _ingest_job(self, request: Request, job_id: str, part: str | None) -> Response:
        job = self._ingest.get(job_id)
        if job is None:
            return Response(404, errors("NOT_FOUND", "job not found"))
        if part == "batches" and request.method == "PUT":
            if job["state"] != "Open":
                return Response(400, errors("INVALIDJOBSTATE", "Job is not open"))
            job["data"].append(request.body.decode("utf-8"))
            return Response(201, b"", content_type="text/plain")
        if part is None and request.method == "PATCH":
            state = (request.json() or {}).get("state")
            if state == "UploadComplete":
                job["state"] = "UploadComplete"
                self._process(job)
            elif state == "Aborted":
                job["state"] = "Aborted"
            return Response(200, self._ingest_info(job_id))
        if part is None and request.method == "GET":
            if job["state"] == "UploadComplete":
                job["state"] = "InProgress"
            elif job["state"] == "InProgress":
                job["state"] = job.pop("final_state")
            return Response(200, self._ingest_info(job_id))
        if part is None and request.method == "DELETE":
            return Response(204, b"")
        if part and request.method == "GET" and job["results"] is not None:
            kind = part.lower()
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            header = job["results"]["header"]
            if kind == "successfulresults":
                writer.writerow(["sf__Id", "sf__Created", *header])
                for record_id, created, row in job["results"]["ok"]:
                    writer.writerow([record_id, "true" if created else "false", *row])
            elif kind == "failedresults":
                writer.writerow(["sf__Id", "sf__Error", *header])
                for record_id, error, row in job["results"]["failed"]:
                    writer.writerow([record_id or "", error, *row])
            elif kind == "unprocessedrecords":
                writer.writerow(header)
            else:
                return Response(404, errors("NOT_FOUND", "The requested resource does not "
                                                         "exist"))
            return Response(200, out.getvalue(), content_type="text/csv")
        return Response(404, errors("NOT_FOUND", "The requested resource does not exist"))

    def _process(self, job: dict) -> None:
        obj, operation, key_field = job["object"], job["operation"], job["externalIdFieldName"]
        results = {"header": [], "ok": [], "failed": []}
        job["results"] = results
        job["final_state"] = "JobComplete"
        text = "".join(job["data"])
        reader = csv.reader(io.StringIO(text))
        header = next(reader, [])
        results["header"] = header
        unknown = self._unknown_fields(obj, header)
        if unknown:
            job["final_state"] = "Failed"
            job["errorMessage"] = f"InvalidBatch : Field name not found : {unknown[0]}"
            return
        for row in reader:
            values = dict(zip(header, row))
            if operation in ("update", "upsert"):
                values = {k: v for k, v in values.items() if v != ""}
            record_id = values.pop("Id", "") if operation == "update" else None
            try:
                if operation == "update":
                    result = self._update(obj, record_id, values, from_csv=True)
                    results["ok"].append((result["id"], False, row))
                else:
                    result = self._upsert(obj, key_field, values, from_csv=True)
                    results["ok"].append((result["id"], result["created"], row))
            except RecordError as exc:
                fields = ",".join(exc.fields)
                results["failed"].append((record_id, f"{exc.code}:{exc.message}:{fields} --",
                                          row))
