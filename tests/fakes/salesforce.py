"""A fake Salesforce org for tests: SOAP login, OAuth token endpoint (password and client
credentials flows), REST query/queryAll with nextRecordsUrl paging, and Bulk API 2.0 query
jobs — enough for the real simple-salesforce client, speaking Salesforce's JSON and errors —
and, for the write-back, describe, sObject Collections and Bulk API 2.0 ingest jobs
(tests/fakes/salesforce_write.py).

    with FakeSalesforce(page_size=2) as org:
        org.define("Account", ["Id", "Name", "OwnerId", "SystemModstamp", "IsDeleted"])
        org.add("Account", Name="Acme", OwnerId="005A")
        session = org.session()            # requests.Session routed to the fake
        sf = Salesforce(username=..., password=..., security_token=..., session=session)

SOQL understood: SELECT f1, Rel.Field FROM Object [WHERE cond AND (cond) ...] with conditions
`Field op literal` (=, !=, <, <=, >, >=; strings, numbers, true/false/null, dates and
datetimes). Relationship `Owner.Name` follows `OwnerId` (custom `X__r` follows `X__c`).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import itertools
import re
import secrets
import xml.dom.minidom

from cs_analytics.config import settings_from_dict
from cs_analytics.ingest.salesforce import http_session
from tests.fakes.http import FakeServer, Request, Response, route_to
from tests.fakes.salesforce_write import SalesforceWrites

INSTANCE_HOST = "fake-org.my.salesforce.com"
AS_OF = dt.date(2026, 3, 31)
SOAP_NS = ('xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
           'xmlns:sf="urn:fault.partner.soap.sforce.com" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')

ID_PREFIX = {"User": "005", "Account": "001", "Contract": "800", "Task": "00T", "Event": "00U",
             "Opportunity": "006"}


def sf_datetime(value: dt.datetime) -> str:
    """Salesforce's REST datetime format: 2024-05-01T10:00:00.000+0000."""
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def errors(code: str, message: str) -> list[dict]:
    return [{"message": message, "errorCode": code}]


class SoqlError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FakeSalesforce(SalesforceWrites, FakeServer):
    def __init__(self, page_size: int = 2000, bulk_page_size: int = 2,
                 instance_host: str = INSTANCE_HOST):
        super().__init__()
        self.init_writes()
        self.page_size = page_size
        self.bulk_page_size = bulk_page_size
        self.instance_host = instance_host
        self.schema: dict[str, list[str]] = {}
        self.records: dict[str, dict[str, dict]] = {}
        self.tokens: set[str] = set()
        self.logins: list[tuple[str, str]] = []  # (flow, host)
        self.user = {"username": "cs-bot@example.com", "password": "pw-SECRET-1234",
                     "security_token": "TOKEN-SECRET-5678",
                     "consumer_key": "CKEY-SECRET-9012", "consumer_secret": "CSECRET-SECRET-3456",
                     "my_domain": "acme.my"}
        self.clock = dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC)
        self._ids = itertools.count(1)
        self._cursors: dict[str, list[dict]] = {}
        self._jobs: dict[str, dict] = {}

    # ------------------------------------------------------------------ the org's data

    def define(self, obj: str, fields: list[str]) -> None:
        base = ["Id", "SystemModstamp"] + (["IsDeleted"] if obj != "User" else [])
        self.schema[obj] = list(dict.fromkeys(base + list(fields)))
        self.records.setdefault(obj, {})

    def add_fields(self, obj: str, fields: list[str]) -> None:
        """New fields on an object the org has (a custom field an admin created)."""
        self.schema[obj] = list(dict.fromkeys(self.schema[obj] + list(fields)))
        for record in self.records[obj].values():
            for name in fields:
                record.setdefault(name, None)

    def tick(self, minutes: int = 1) -> dt.datetime:
        self.clock += dt.timedelta(minutes=minutes)
        return self.clock

    def add(self, obj: str, **fields) -> dict:
        record_id = fields.pop("Id", None) or (
            f"{ID_PREFIX.get(obj, 'a0X')}{next(self._ids):015d}")
        record = {name: None for name in self.schema[obj]}
        record.update(fields)
        record["Id"] = record_id
        record["SystemModstamp"] = fields.get("SystemModstamp") or self.tick()
        if "IsDeleted" in self.schema[obj]:
            record["IsDeleted"] = False
        unknown = set(record) - set(self.schema[obj])
        assert not unknown, f"fields not defined on {obj}: {unknown}"
        self.records[obj][record_id] = record
        return record

    def update(self, obj: str, record_id: str, **fields) -> dict:
        record = self.records[obj][record_id]
        record.update(fields)
        record["SystemModstamp"] = self.tick()
        return record

    def delete(self, obj: str, record_id: str) -> None:
        record = self.records[obj][record_id]
        record["IsDeleted"] = True
        record["SystemModstamp"] = self.tick()

    def expire_sessions(self) -> None:
        self.tokens.clear()

    def issue_token(self) -> str:
        token = "00DFAKE!" + secrets.token_hex(12)
        self.tokens.add(token)
        return token

    def session(self, timeout: float = 10.0):
        """A session (with the connector's default timeout) whose requests reach this fake."""
        return route_to(http_session(timeout), self.url)

    def queries(self) -> list[str]:
        """Every SOQL query received (REST and Bulk), in order."""
        found = []
        for r in self.requests:
            if r.param("q"):
                found.append(r.param("q"))
            elif r.method == "POST" and r.path.endswith("/jobs/query"):
                found.append(r.json()["query"])
        return found

    # ------------------------------------------------------------------ routing

    def handle(self, request: Request) -> Response:
        path = request.path
        if re.fullmatch(r"/services/Soap/u/[\d.]+/?", path) and request.method == "POST":
            return self._soap_login(request)
        if path == "/services/oauth2/token" and request.method == "POST":
            return self._token_login(request)
        m = re.fullmatch(r"/services/data/v(\d+\.\d)/(.*)", path)
        if not m:
            return Response(404, errors("NOT_FOUND", "The requested resource does not exist"))
        if not self._authorised(request):
            return Response(401, errors("INVALID_SESSION_ID", "Session expired or invalid"))
        version, rest = m.groups()
        try:
            if rest in ("query", "query/", "queryAll", "queryAll/"):
                return self._query(request, version, include_deleted=rest.startswith("queryAll"))
            if re.fullmatch(r"query/[\w-]+", rest):
                return self._query_more(rest.split("/", 1)[1])
            if rest == "jobs/query" and request.method == "POST":
                return self._bulk_create(request)
            jm = re.fullmatch(r"jobs/query/(\w+)(/results)?", rest)
            if jm:
                return (self._bulk_results(request, jm.group(1)) if jm.group(2)
                        else self._bulk_status(jm.group(1)))
            written = self.route_write(request, version, rest)
            if written is not None:
                return written
        except SoqlError as exc:
            return Response(exc.status, errors(exc.code, exc.message))
        return Response(404, errors("NOT_FOUND", "The requested resource does not exist"))

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[len("Bearer "):] in self.tokens

    # ------------------------------------------------------------------ logins

    def _soap_login(self, request: Request) -> Response:
        dom = xml.dom.minidom.parseString(request.body)

        def text(tag):
            nodes = dom.getElementsByTagName(tag)
            return nodes[0].firstChild.nodeValue if nodes and nodes[0].firstChild else None

        username, password = text("n1:username"), text("n1:password")
        self.logins.append(("soap", request.host))
        u = self.user
        if username != u["username"] or password != u["password"] + u["security_token"]:
            body = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope {SOAP_NS}>'
                    '<soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode>'
                    '<faultstring>INVALID_LOGIN: Invalid username, password, security token; '
                    'or user locked out.</faultstring><detail>'
                    '<sf:LoginFault xsi:type="sf:LoginFault">'
                    '<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>'
                    '<sf:exceptionMessage>Invalid username, password, security token; or user '
                    'locked out.</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault>'
                    '</soapenv:Body></soapenv:Envelope>')
            return Response(500, body, content_type="text/xml;charset=UTF-8")
        token = self.issue_token()
        server = f"https://{self.instance_host}/services/Soap/u/59.0/00DFAKE000000001"
        body = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
                f'<passwordExpired>false</passwordExpired><sandbox>false</sandbox>'
                f'<serverUrl>{server}</serverUrl><sessionId>{token}</sessionId>'
                '<userId>005FAKE000000001</userId></result></loginResponse></soapenv:Body>'
                '</soapenv:Envelope>')
        return Response(200, body, content_type="text/xml;charset=UTF-8")

    def _token_login(self, request: Request) -> Response:
        form = request.form()
        u = self.user
        grant = form.get("grant_type")
        self.logins.append((grant, request.host))
        ok = False
        if grant == "password":
            ok = (form.get("client_id") == u["consumer_key"]
                  and form.get("client_secret") == u["consumer_secret"]
                  and form.get("username") == u["username"]
                  and form.get("password") in (u["password"], u["password"] + u["security_token"]))
        elif grant == "client_credentials":
            auth = request.headers.get("Authorization", "")
            expected = base64.b64encode(
                f"{u['consumer_key']}:{u['consumer_secret']}".encode()).decode()
            if request.host != f"{u['my_domain']}.salesforce.com":
                return Response(400, {"error": "invalid_grant",
                                      "error_description": "request not supported on this "
                                                           "domain"})
            ok = auth == f"Basic {expected}"
        if not ok:
            return Response(400, {"error": "invalid_grant",
                                  "error_description": "authentication failure"})
        token = self.issue_token()
        return Response(200, {"access_token": token,
                              "instance_url": f"https://{self.instance_host}",
                              "id": "https://login.salesforce.com/id/00DFAKE/005FAKE",
                              "token_type": "Bearer", "issued_at": "1700000000000",
                              "signature": "fake"})

    # ------------------------------------------------------------------ SOQL

    def run_soql(self, soql: str, include_deleted: bool) -> tuple[str, list[str], list[dict]]:
        m = re.fullmatch(r"\s*SELECT\s+(.+?)\s+FROM\s+(\w+)(?:\s+WHERE\s+(.+?))?\s*",
                         soql, re.IGNORECASE | re.DOTALL)
        if not m:
            raise SoqlError(400, "MALFORMED_QUERY", f"unexpected token in: {soql}")
        field_list, obj, where = m.groups()
        if obj not in self.schema:
            raise SoqlError(400, "INVALID_TYPE",
                            f"sObject type '{obj}' is not supported. If you are attempting to "
                            f"use a custom object, be sure to append the '__c' after the entity "
                            f"name.")
        fields = [f.strip() for f in field_list.split(",")]
        seen = set()
        for f in fields:
            if f.lower() in seen:
                raise SoqlError(400, "MALFORMED_QUERY", f"duplicate field selected: {f}")
            seen.add(f.lower())
            self._check_path(obj, f)
        conditions = self._conditions(where) if where else []
        for f, _op, _value in conditions:
            self._check_path(obj, f)
        rows = []
        for record in self.records[obj].values():
            if record.get("IsDeleted") and not include_deleted:
                continue
            if all(self._compare(self._value(obj, record, f), op, value)
                   for f, op, value in conditions):
                rows.append(record)
        rows.sort(key=lambda r: r["Id"])
        return obj, fields, rows

    def _field_name(self, obj: str, name: str) -> str | None:
        return next((f for f in self.schema.get(obj, []) if f.lower() == name.lower()), None)

    def _relationship(self, obj: str, name: str) -> str | None:
        """Relationship name → reference field: Owner → OwnerId, Plan__r → Plan__c."""
        candidates = [name[:-3] + "__c"] if name.lower().endswith("__r") else [name + "Id"]
        return next((self._field_name(obj, c) for c in candidates if self._field_name(obj, c)),
                    None)

    def _check_path(self, obj: str, path: str) -> None:
        parts = path.split(".")
        current = obj
        for i, part in enumerate(parts):
            if i == len(parts) - 1:
                if self._field_name(current, part) is None:
                    raise SoqlError(
                        400, "INVALID_FIELD",
                        f"\nSELECT {path} FROM {obj}\n       ^\nERROR at Row:1:Column:8\nNo "
                        f"such column '{part}' on entity '{current}'. If you are attempting to "
                        f"use a custom field, be sure to append the '__c' after the custom "
                        f"field name. Please reference your WSDL or the describe call for the "
                        f"appropriate names.")
            else:
                if self._relationship(current, part) is None:
                    raise SoqlError(400, "INVALID_FIELD",
                                    f"Didn't understand relationship '{part}' in field path. "
                                    f"If you are attempting to use a custom relationship, be "
                                    f"sure to append the '__r' after the custom relationship "
                                    f"name.")
                current = "User" if part.lower() in ("owner", "manager", "createdby") \
                    else self._target_object(part)

    def _target_object(self, relationship: str) -> str:
        name = relationship[:-3] if relationship.lower().endswith("__r") else relationship
        return next((o for o in self.schema if o.lower() == name.lower()), "Account")

    def _find(self, record_id):
        for records in self.records.values():
            if record_id in records:
                return records[record_id]
        return None

    def _value(self, obj: str, record: dict, path: str):
        parts = path.split(".")
        if len(parts) == 1:
            return record.get(self._field_name(obj, path))
        ref = record.get(self._relationship(obj, parts[0]))
        target = self._find(ref) if ref else None
        if target is None:
            return None
        return self._value(self._object_of(target), target, ".".join(parts[1:]))

    def _object_of(self, record: dict) -> str:
        return next(o for o, rs in self.records.items() if record["Id"] in rs)

    def _json_record(self, obj: str, record: dict, fields: list[str]) -> dict:
        out = {"attributes": {"type": obj,
                              "url": f"/services/data/v59.0/sobjects/{obj}/{record['Id']}"}}
        nested: dict[str, list[str]] = {}
        for path in fields:
            head, _, rest = path.partition(".")
            if rest:
                nested.setdefault(head, []).append(rest)
            else:
                out[self._field_name(obj, head)] = self._json_value(record.get(
                    self._field_name(obj, head)))
        for head, rests in nested.items():
            ref = record.get(self._relationship(obj, head))
            target = self._find(ref) if ref else None
            out[head] = (None if target is None else
                         self._json_record(self._object_of(target), target, rests))
        return out

    @staticmethod
    def _json_value(value):
        if isinstance(value, dt.datetime):
            return sf_datetime(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    def _conditions(self, where: str) -> list[tuple[str, str, object]]:
        where = where.strip()
        while where.startswith("(") and self._closing(where) == len(where) - 1:
            where = where[1:-1].strip()
        parts = self._split_and(where)
        if len(parts) > 1:
            return [c for p in parts for c in self._conditions(p)]
        m = re.fullmatch(r"([\w.]+)\s*(=|!=|<=|>=|<|>)\s*(.+)", where, re.DOTALL)
        if not m:
            raise SoqlError(400, "MALFORMED_QUERY", f"unexpected token: {where}")
        return [(m.group(1), m.group(2), self._literal(m.group(3).strip()))]

    @staticmethod
    def _closing(text: str) -> int:
        depth, quoted = 0, False
        for i, ch in enumerate(text):
            if ch == "'" and (i == 0 or text[i - 1] != "\\"):
                quoted = not quoted
            elif not quoted and ch == "(":
                depth += 1
            elif not quoted and ch == ")":
                depth -= 1
                if depth == 0:
                    return i
        return -1

    @staticmethod
    def _split_and(text: str) -> list[str]:
        parts, depth, quoted, start, i = [], 0, False, 0, 0
        while i < len(text):
            ch = text[i]
            if ch == "'" and (i == 0 or text[i - 1] != "\\"):
                quoted = not quoted
            elif not quoted and ch == "(":
                depth += 1
            elif not quoted and ch == ")":
                depth -= 1
            elif (not quoted and depth == 0
                  and re.match(r"\s+AND\s+", text[i:], re.IGNORECASE)):
                m = re.match(r"\s+AND\s+", text[i:], re.IGNORECASE)
                parts.append(text[start:i])
                i += m.end()
                start = i
                continue
            elif not quoted and depth == 0 and re.match(r"\s+OR\s+", text[i:], re.IGNORECASE):
                raise SoqlError(400, "MALFORMED_QUERY", "the fake understands AND only")
            i += 1
        parts.append(text[start:])
        return [p.strip() for p in parts]

    @staticmethod
    def _literal(text: str):
        if text.startswith("'") and text.endswith("'"):
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        low = text.lower()
        if low in ("true", "false"):
            return low == "true"
        if low == "null":
            return None
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})", text):
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text)
        try:
            return float(text)
        except ValueError:
            raise SoqlError(400, "MALFORMED_QUERY", f"unexpected token: {text}") from None

    @staticmethod
    def _compare(value, op: str, literal) -> bool:
        if isinstance(literal, dt.date) and isinstance(value, str):
            value = dt.date.fromisoformat(value[:10])
        if op == "=":
            return value == literal
        if op == "!=":
            return value != literal
        if value is None or literal is None:
            return False
        return {"<": value < literal, "<=": value <= literal, ">": value > literal,
                ">=": value >= literal}[op]

    # ------------------------------------------------------------------ REST query

    def _query(self, request: Request, version: str, include_deleted: bool) -> Response:
        soql = request.param("q") or ""
        obj, fields, rows = self.run_soql(soql, include_deleted)
        records = [self._json_record(obj, r, fields) for r in rows]
        return self._page(records, version)

    def _page(self, records: list[dict], version: str, total: int | None = None) -> Response:
        total = len(records) if total is None else total
        first, rest = records[:self.page_size], records[self.page_size:]
        body = {"totalSize": total, "done": not rest, "records": first}
        if rest:
            locator = f"01gFAKE{len(self._cursors) + 1:08d}-{self.page_size}"
            self._cursors[locator] = (rest, version, total)
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}"
        return Response(200, body)

    def _query_more(self, locator: str) -> Response:
        if locator not in self._cursors:
            return Response(400, errors("INVALID_QUERY_LOCATOR", "invalid query locator"))
        rest, version, total = self._cursors[locator]
        return self._page(rest, version, total)

    # ------------------------------------------------------------------ Bulk API 2.0

    def _bulk_create(self, request: Request) -> Response:
        payload = request.json()
        try:
            obj, fields, rows = self.run_soql(payload["query"],
                                              payload["operation"] == "queryAll")
        except SoqlError as exc:
            return Response(400, errors("INVALIDJOB", exc.message))
        job_id = f"750FAKE{len(self._jobs) + 1:011d}"
        lines = io.StringIO()
        writer = csv.writer(lines, lineterminator="\n")
        writer.writerow(fields)
        csv_rows = []
        for r in rows:
            csv_rows.append([self._csv_value(self._value(obj, r, f)) for f in fields])
        self._jobs[job_id] = {"fields": fields, "rows": csv_rows, "polls": 0}
        return Response(200, {"id": job_id, "operation": payload["operation"], "object": obj,
                              "state": "UploadComplete", "contentType": "CSV",
                              "columnDelimiter": "COMMA", "lineEnding": "LF"})

    def _bulk_status(self, job_id: str) -> Response:
        job = self._jobs.get(job_id)
        if job is None:
            return Response(404, errors("NOT_FOUND", "job not found"))
        job["polls"] += 1
        state = "InProgress" if job["polls"] == 1 else "JobComplete"
        return Response(200, {"id": job_id, "state": state,
                              "numberRecordsProcessed": len(job["rows"])})

    def _bulk_results(self, request: Request, job_id: str) -> Response:
        job = self._jobs[job_id]
        start = int(request.param("locator") or 0)
        size = min(int(request.param("maxRecords") or self.bulk_page_size), self.bulk_page_size)
        chunk = job["rows"][start:start + size]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(job["fields"])
        writer.writerows(chunk)
        following = start + size
        locator = str(following) if following < len(job["rows"]) else "null"
        return Response(200, out.getvalue(), content_type="text/csv",
                        headers={"Sforce-Locator": locator,
                                 "Sforce-NumberOfRecords": str(len(chunk))})

    @staticmethod
    def _csv_value(value) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)


# ---------------------------------------------------------------------------- a small org


def populate(org: FakeSalesforce) -> None:
    """A small org with every default object, its records shaped as Salesforce returns them:
    2 users, 3 accounts (one a subsidiary), 4 contracts (one a Draft that would triple Alpha's
    MRR), 5 tasks (one without an account, one still open with a past due date) and 4 events
    (a group meeting, its invitee's child copy, a timed event late in the evening UTC — the
    next morning in Tokyo — and an all-day event). Ids are short and readable."""
    org.define("User", ["Name", "Email", "ManagerId", "IsActive"])
    org.define("Account", ["Name", "Industry", "OwnerId", "CreatedDate", "ParentId", "Type",
                           "Churn_Reason__c"])
    org.define("Contract", ["AccountId", "StartDate", "EndDate", "Status", "StatusCode",
                            "Amount__c"])
    # Task.ActivityDate is the due date; IsClosed follows the status's "closed" flag.
    org.define("Task", ["AccountId", "OwnerId", "ActivityDate", "TaskSubtype", "Subject",
                        "Status", "IsClosed"])
    # Event: ActivityDate is the date of an all-day event (midnight UTC); ActivityDateTime
    # the start of a timed one, in UTC. Each invitee gets a child copy (IsChild = true).
    org.define("Event", ["AccountId", "OwnerId", "ActivityDate", "ActivityDateTime",
                         "IsAllDayEvent", "DurationInMinutes", "IsChild", "IsGroupEvent",
                         "Subject"])
    org.add("User", Id="005M", Name="佐藤 花子", Email="sato@example.com", IsActive=True)
    org.add("User", Id="005A", Name="田中 太郎", Email="tanaka@example.com", ManagerId="005M",
            IsActive=True)
    # 20:00 UTC on 14 April is 05:00 on 15 April in Tokyo.
    org.add("Account", Id="001A", Name="株式会社アルファ", Industry="金融", OwnerId="005A",
            CreatedDate=dt.datetime(2024, 4, 14, 20, 0, tzinfo=dt.UTC), Type="Customer")
    org.add("Account", Id="001B", Name="ベータ㈱", Industry="医療", OwnerId="005M",
            CreatedDate=dt.datetime(2024, 12, 1, 1, 0, tzinfo=dt.UTC), Type="Customer",
            Churn_Reason__c="施策終了・中止")
    org.add("Account", Id="001C", Name="Gamma Inc.", Industry=None, OwnerId="005A",
            CreatedDate=dt.datetime(2025, 1, 10, 3, 0, tzinfo=dt.UTC), ParentId="001A",
            Type="Customer")
    add_contract(org, Id="800A1", AccountId="001A", StartDate="2024-04-15",
                 EndDate="2025-04-14", Amount__c=1_200_000)
    add_contract(org, Id="800A2", AccountId="001A", StartDate="2025-04-15",
                 EndDate="2026-04-14", Amount__c=1_440_000.5)
    add_contract(org, Id="800B1", AccountId="001B", StartDate="2025-01-01",
                 EndDate="2025-12-31", Amount__c=600_000)
    # An upsell being drafted: counted, it would triple Alpha's MRR from October.
    add_contract(org, Id="800A3", AccountId="001A", StartDate="2025-10-01",
                 EndDate="2026-09-30", Amount__c=2_880_000, Status="Draft")
    add_task(org, Id="00T1", AccountId="001A", OwnerId="005A", ActivityDate="2026-02-02",
             TaskSubtype="Email", Subject="ご提案資料の送付")
    add_task(org, Id="00T2", AccountId="001B", OwnerId="005M", ActivityDate="2026-02-10",
             TaskSubtype="Call", Subject="更新のご相談")
    add_task(org, Id="00T3", AccountId="001A", OwnerId="005A", ActivityDate="2026-02-20",
             TaskSubtype=None, Subject="社内メモ")
    add_task(org, Id="00T4", AccountId=None, OwnerId="005A", ActivityDate="2026-02-21",
             TaskSubtype="Task", Subject="リードへの連絡")
    # A call planned for 25 February and never made: its due date is not a contact.
    add_task(org, Id="00T6", AccountId="001C", OwnerId="005A", ActivityDate="2026-02-25",
             TaskSubtype="Call", Subject="フォローアップ電話", Status="Not Started")
    # A group meeting at 10:00 Tokyo time with 田中 invited: one meeting, two Event records.
    meeting = dt.datetime(2026, 2, 15, 1, 0, tzinfo=dt.UTC)
    add_event(org, Id="00U1", AccountId="001B", OwnerId="005M", start=meeting,
              Subject="定例MTG", IsGroupEvent=True)
    add_event(org, Id="00U2", AccountId="001B", OwnerId="005A", start=meeting,
              Subject="定例MTG", IsGroupEvent=True, IsChild=True)
    # 23:30 UTC on 1 March is 08:30 on 2 March in Tokyo.
    add_event(org, Id="00U3", AccountId="001A", OwnerId="005A",
              start=dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC), Subject="朝会")
    add_event(org, Id="00U4", AccountId="001A", OwnerId="005A", all_day=dt.date(2026, 3, 10),
              Subject="導入研修（終日）")


def add_contract(org: FakeSalesforce, Status: str = "Activated", **fields) -> dict:
    """A Contract with its Status and the matching StatusCode (Draft, InApproval, Activated)."""
    code = {"Activated": "Activated", "Draft": "Draft", "In Approval Process": "InApproval"}
    return org.add("Contract", Status=Status, StatusCode=code.get(Status, Status), **fields)


def add_task(org: FakeSalesforce, Status: str = "Completed", **fields) -> dict:
    """A Task; IsClosed follows its status as Salesforce derives it (Completed is closed)."""
    return org.add("Task", Status=Status, IsClosed=Status == "Completed", **fields)


def add_event(org: FakeSalesforce, *, start: dt.datetime | None = None,
              all_day: dt.date | None = None, IsChild: bool = False, **fields) -> dict:
    """An Event as Salesforce stores it: a timed one has ActivityDateTime (UTC) and the UTC
    date in ActivityDate; an all-day one has ActivityDate, and ActivityDateTime at midnight
    UTC of that date."""
    if all_day is not None:
        values = {"ActivityDate": all_day.isoformat(), "IsAllDayEvent": True,
                  "ActivityDateTime": dt.datetime.combine(all_day, dt.time(), dt.UTC),
                  "DurationInMinutes": 1440}
    else:
        values = {"ActivityDate": start.astimezone(dt.UTC).date().isoformat(),
                  "ActivityDateTime": start, "IsAllDayEvent": False, "DurationInMinutes": 60}
    fields.setdefault("IsGroupEvent", False)
    return org.add("Event", IsChild=IsChild, **values, **fields)


ACCOUNT_PUSH_FIELDS = {"CS_Health_Score__c": "double", "CS_Health_Band__c": "string",
                       "CS_Segment__c": "string", "CS_Top_Detractor__c": "string",
                       "CS_Signals__c": "string", "CS_Last_Contact__c": "date",
                       "CS_Last_Login__c": "date", "CS_Deliveries_90d__c": "double",
                       "CS_Logins_90d__c": "double", "CS_Next_Renewal__c": "date"}
USAGE_PUSH_FIELDS = {"Account__c": "reference", "Week_Start__c": "date",
                     "Deliveries__c": "double", "Logins__c": "double", "Viewers__c": "double",
                     "Registrants__c": "double", "Conversions__c": "double",
                     "CS_Key__c": "string"}


def set_up_writeback(org: FakeSalesforce) -> None:
    """What docs/operations.md asks an admin to create for `push`: the CS fields on Account,
    the CS_Usage_Weekly__c object (auto-number name, Account lookup, External ID CS_Key__c)
    and the CS_Outbox_Key__c External ID on activities; plus Task's WhatId and Description."""
    org.add_fields("Account", list(ACCOUNT_PUSH_FIELDS))
    org.field_types("Account", **ACCOUNT_PUSH_FIELDS)
    org.define("CS_Usage_Weekly__c", ["Name", *USAGE_PUSH_FIELDS])
    org.field_types("CS_Usage_Weekly__c", external_ids=["CS_Key__c"], auto_numbers=["Name"],
                    **USAGE_PUSH_FIELDS)
    org.add_fields("Task", ["WhatId", "Description", "CS_Outbox_Key__c"])
    org.field_types("Task", external_ids=["CS_Outbox_Key__c"], WhatId="reference",
                    Description="textarea", CS_Outbox_Key__c="string")


def password_secrets(org: FakeSalesforce, **extra) -> dict[str, str]:
    """SF_* values for the username + password + security token login to `org`."""
    u = org.user
    return {"SF_USERNAME": u["username"], "SF_PASSWORD": u["password"],
            "SF_SECURITY_TOKEN": u["security_token"], **extra}


def connector_settings(salesforce_settings: dict | None = None, **sections):
    """Settings for connector tests: no retry delays, short timeouts, a fixed as-of date."""
    sf = {"backoff_seconds": 0, "bulk_poll_seconds": 0.01, "timeout_seconds": 5,
          **(salesforce_settings or {})}
    return settings_from_dict({"general": {"as_of": AS_OF}, "salesforce": sf, **sections})


def pull(org: FakeSalesforce, store, settings=None, *, secrets: dict | None = None,
         full: bool = False, messages: list | None = None, session_timeout: float = 10.0):
    """`refresh --source salesforce` of `store` from `org` through the real client: password
    login (or `secrets`), the connector test settings unless `settings` are given, progress
    lines appended to `messages`."""
    from cs_analytics.ingest.refresh import refresh
    from cs_analytics.secrets import Secrets

    return refresh(settings or connector_settings(), store, source="salesforce", full=full,
                   secrets=Secrets(secrets or password_secrets(org)),
                   salesforce_session=org.session(timeout=session_timeout),
                   progress=messages.append if messages is not None else None)
