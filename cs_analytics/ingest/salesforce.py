"""Salesforce → canonical tables (SPEC §5).

Logs in by any of the supported modes, pulls every configured object with SOQL built by
`format_soql` (REST paging through `query_all_iter`, or Bulk API 2.0 when `bulk = true`),
incrementally by `SystemModstamp` with deleted records removed, and loads the rows into a
snapshot build. Watermarks are saved only after the build has been published.

    source = SalesforceSource(settings, store, secrets, progress=print)
    with open_build(settings, store, source="salesforce") as build:
        pull = source.pull_into(build, full=False)
        build.publish()
    source.save_watermarks(pull)
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import time
import zoneinfo
from dataclasses import dataclass, field
from typing import Callable, Iterator
from urllib.parse import urlsplit

import pyarrow as pa
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce as SalesforceClient
from simple_salesforce import SalesforceLogin, format_soql
from simple_salesforce.exceptions import (SalesforceAuthenticationFailed, SalesforceError,
                                          SalesforceExpiredSession, SalesforceGeneralError,
                                          SalesforceMalformedRequest, SalesforceOperationError,
                                          SalesforceRefusedRequest, SalesforceResourceNotFound)

from cs_analytics import contract
from cs_analytics.config import SalesforceObject, Settings
from cs_analytics.errors import SourceError, ValidationFailed
from cs_analytics.secrets import SALESFORCE_KEYS, Secrets
from cs_analytics.warehouse.store import Store, now_iso, write_transaction

Progress = Callable[[str], None]

WATERMARK_SOURCE = "salesforce"
PROGRESS_EVERY = 2000  # records; the REST API's page size
MAX_PROBLEMS = 50
SAMPLE_IDS = 5

AUTH_MODES = {
    "session": "existing session (SF_INSTANCE_URL + SF_SESSION_ID)",
    "password_oauth": "username + password + consumer key/secret",
    "password_token": "username + password + security token",
    "client_credentials": "OAuth client credentials (SF_CONSUMER_KEY + SF_CONSUMER_SECRET + "
                          "SF_DOMAIN)",
}

# Salesforce children of an account that are dropped (with a warning) when their account is not
# among the pulled accounts, e.g. tasks on accounts excluded by an accounts `where` filter.
CHILD_TABLES = ("contracts", "activities")


def _quiet(_message: str) -> None:
    pass


# ---------------------------------------------------------------------------- credentials


@dataclass(frozen=True, repr=False)
class Credentials:
    """Which login mode the configured secrets select, and the values it needs."""

    mode: str
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    consumer_key: str | None = None
    consumer_secret: str | None = None
    domain: str = "login"
    instance_url: str | None = None
    session_id: str | None = None

    @property
    def can_login_again(self) -> bool:
        return self.mode != "session"

    @property
    def org_key(self) -> str:
        """The org these credentials reach, known without logging in: the instance of a
        session, the My Domain of client credentials, else the user (Salesforce usernames are
        unique across all orgs)."""
        if self.mode == "session":
            return urlsplit(self.instance_url).netloc
        if self.mode == "client_credentials":
            return f"{self.domain}.salesforce.com"
        return f"{self.username} at {self.domain}.salesforce.com"

    def describe(self) -> str:
        return AUTH_MODES[self.mode]

    def __repr__(self) -> str:
        return f"Credentials(mode={self.mode!r})"


def is_configured(secrets: Secrets) -> bool:
    """Whether any Salesforce secret is set (a partial set is reported by `credentials`)."""
    return any(secrets.get(k) for k in SALESFORCE_KEYS if k != "SF_DOMAIN")


def credentials(secrets: Secrets) -> Credentials:
    """Pick the login mode from the SF_* secrets; a clear error names what is missing."""
    get = secrets.get
    domain = normalise_domain(get("SF_DOMAIN"))
    if get("SF_SESSION_ID") or (get("SF_INSTANCE_URL") and not get("SF_USERNAME")):
        if not (get("SF_SESSION_ID") and get("SF_INSTANCE_URL")):
            missing = "SF_INSTANCE_URL" if get("SF_SESSION_ID") else "SF_SESSION_ID"
            raise SourceError(f"Salesforce session login needs both SF_INSTANCE_URL and "
                              f"SF_SESSION_ID: set {missing}")
        url = get("SF_INSTANCE_URL").rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourceError("SF_INSTANCE_URL must be a URL like "
                              "https://yourcompany.my.salesforce.com")
        return Credentials("session", instance_url=url, session_id=get("SF_SESSION_ID"))
    if get("SF_USERNAME"):
        if not get("SF_PASSWORD"):
            raise SourceError("SF_USERNAME is set but SF_PASSWORD is missing")
        if secrets.has("SF_CONSUMER_KEY", "SF_CONSUMER_SECRET"):
            return Credentials("password_oauth", username=get("SF_USERNAME"),
                               password=get("SF_PASSWORD"),
                               security_token=get("SF_SECURITY_TOKEN"),
                               consumer_key=get("SF_CONSUMER_KEY"),
                               consumer_secret=get("SF_CONSUMER_SECRET"), domain=domain)
        if get("SF_SECURITY_TOKEN"):
            return Credentials("password_token", username=get("SF_USERNAME"),
                               password=get("SF_PASSWORD"),
                               security_token=get("SF_SECURITY_TOKEN"), domain=domain)
        raise SourceError("SF_USERNAME and SF_PASSWORD need SF_SECURITY_TOKEN, or "
                          "SF_CONSUMER_KEY and SF_CONSUMER_SECRET of a connected app")
    if get("SF_CONSUMER_KEY") or get("SF_CONSUMER_SECRET"):
        if not secrets.has("SF_CONSUMER_KEY", "SF_CONSUMER_SECRET"):
            missing = "SF_CONSUMER_SECRET" if get("SF_CONSUMER_KEY") else "SF_CONSUMER_KEY"
            raise SourceError(f"OAuth client credentials need SF_CONSUMER_KEY and "
                              f"SF_CONSUMER_SECRET: set {missing}")
        if domain in ("login", "test"):
            raise SourceError("OAuth client credentials need your My Domain: set SF_DOMAIN to "
                              "e.g. yourcompany.my (for https://yourcompany.my.salesforce.com)")
        return Credentials("client_credentials", consumer_key=get("SF_CONSUMER_KEY"),
                           consumer_secret=get("SF_CONSUMER_SECRET"), domain=domain)
    raise SourceError(
        "Salesforce is not configured: set SF_USERNAME, SF_PASSWORD and SF_SECURITY_TOKEN (or "
        "another login mode, see docs/operations.md) in the environment or "
        ".streamlit/secrets.toml")


def normalise_domain(value: str | None) -> str:
    """'https://acme.my.salesforce.com/' → 'acme.my' (simple-salesforce adds .salesforce.com)."""
    if not value:
        return "login"
    text = value.strip().rstrip("/")
    text = re.sub(r"^https?://", "", text)
    return text.removesuffix(".salesforce.com") or "login"


# ---------------------------------------------------------------------------- HTTP


class TimeoutSession(requests.Session):
    """A requests session with a default timeout, so logins and Bulk API calls (which
    simple-salesforce sends without one) cannot hang a scheduled refresh."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, **kwargs)


def http_session(timeout: float) -> TimeoutSession:
    return TimeoutSession(timeout)


class PlainHttpAdapter(HTTPAdapter):
    """simple-salesforce always builds https:// URLs; an http:// SF_INSTANCE_URL (a local
    proxy or a test server) is reached by sending those requests as plain HTTP."""

    def send(self, request, **kwargs):
        if request.url.startswith("https://"):
            request.url = "http://" + request.url[len("https://"):]
        return super().send(request, **kwargs)


# ---------------------------------------------------------------------------- connection


class Connection:
    """A logged-in simple-salesforce client; `login()` again replaces the session."""

    def __init__(self, creds: Credentials, settings: Settings, session: requests.Session,
                 secrets: Secrets):
        self.creds = creds
        self.sf = settings.salesforce
        self.session = session
        self.secrets = secrets
        self.client: SalesforceClient | None = None
        self.instance_url = ""

    def login(self) -> None:
        creds, version = self.creds, self.sf.api_version
        if creds.mode == "session":
            parts = urlsplit(creds.instance_url)
            if parts.scheme == "http":
                self.session.mount(f"https://{parts.netloc}/", PlainHttpAdapter())
            self.client = SalesforceClient(session_id=creds.session_id,
                                           instance_url=creds.instance_url, version=version,
                                           session=self.session)
            self.instance_url = creds.instance_url
            return
        session_id, instance = SalesforceLogin(**self._login_arguments())
        self.client = SalesforceClient(session_id=session_id, instance=instance,
                                       version=version, session=self.session)
        self.instance_url = f"https://{instance}"

    def login_error(self, exc: Exception) -> SourceError | None:
        if not isinstance(exc, SalesforceAuthenticationFailed):
            return None
        user = f", user {self.creds.username}" if self.creds.username else ""
        return SourceError(
            f"Salesforce login failed ({self.creds.describe()}{user}): {exc.code or 'error'}: "
            f"{_one_line(exc.auth_message)[:300] or 'no reason given'}")

    def _login_arguments(self) -> dict:
        c = self.creds
        common = {"session": self.session, "domain": c.domain, "sf_version": self.sf.api_version}
        if c.mode == "password_token":
            return {**common, "username": c.username, "password": c.password,
                    "security_token": c.security_token}
        if c.mode == "password_oauth":
            # The OAuth password flow takes the security token appended to the password.
            return {**common, "username": c.username,
                    "password": c.password + (c.security_token or ""),
                    "consumer_key": c.consumer_key, "consumer_secret": c.consumer_secret}
        return {**common, "consumer_key": c.consumer_key, "consumer_secret": c.consumer_secret}


# ---------------------------------------------------------------------------- errors


def _one_line(text) -> str:
    return " ".join(str(text or "").split())


def _error_details(exc: SalesforceError) -> tuple[str, str]:
    """(errorCode, message) of a REST error body [{"message": ..., "errorCode": ...}]."""
    content = exc.content
    if isinstance(content, (bytes, bytearray)):
        try:
            content = json.loads(content)
        except ValueError:
            content = content.decode("utf-8", "replace")
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", "")), _one_line(content[0].get("message"))
    if isinstance(content, dict):
        return (str(content.get("errorCode") or content.get("error") or ""),
                _one_line(content.get("message") or content.get("error_description")))
    return "", _one_line(content)[:300]


def transient_reason(exc: BaseException, timeout: float) -> str | None:
    """Why a failure is worth retrying, or None when retrying cannot help."""
    if isinstance(exc, SalesforceRefusedRequest):
        code, _ = _error_details(exc)
        if code == "REQUEST_LIMIT_EXCEEDED":
            return "the API request limit is exceeded (REQUEST_LIMIT_EXCEEDED)"
        return None
    if isinstance(exc, SalesforceAuthenticationFailed):
        if isinstance(exc.code, int) and exc.code >= 500:
            return f"the login server answered HTTP {exc.code}"
        return None
    if isinstance(exc, SalesforceGeneralError) and exc.status >= 500:
        code, _ = _error_details(exc)
        return f"Salesforce answered HTTP {exc.status}{' ' + code if code else ''}"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} seconds"
    if isinstance(exc, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ContentDecodingError)):
        return "the connection failed or dropped"
    return None


def _error_for(exc: Exception, name: str, obj: SalesforceObject) -> SourceError | None:
    """A one-sentence error naming what to change, for failures retrying cannot fix."""
    key = f"salesforce.objects.{name}"
    if isinstance(exc, SalesforceMalformedRequest) or (
            isinstance(exc, SalesforceOperationError) and "No such column" in str(exc)):
        code, message = (_error_details(exc) if isinstance(exc, SalesforceError)
                         else ("INVALID_FIELD", _one_line(exc)))
        missing = re.search(r"No such column '([^']+)' on entity '([^']+)'", message)
        relation = re.search(r"Didn't understand relationship '([^']+)'", message)
        if missing or relation:
            return SourceError(_missing_field_message(name, obj, missing, relation))
        if code == "INVALID_TYPE" or "is not supported" in message:
            return SourceError(
                f"Salesforce has no object {obj.object} that this user can read ({message}): "
                f"set {key}.object to the object's API name, or {key}.enabled = false")
        return SourceError(f"Salesforce rejected the query for {obj.object} ({code or 'error'}: "
                           f"{message}): check {key}.where and {key}.fields")
    if isinstance(exc, SalesforceRefusedRequest):
        code, message = _error_details(exc)
        return SourceError(f"Salesforce refused to read {obj.object} ({code or 'HTTP 403'}: "
                           f"{message}): the user needs API access and read permission on it")
    if isinstance(exc, SalesforceResourceNotFound):
        code, message = _error_details(exc)
        return SourceError(f"Salesforce answered NOT_FOUND while reading {obj.object} "
                           f"({message}): check salesforce.api_version")
    if isinstance(exc, SalesforceOperationError):
        return SourceError(f"the Salesforce Bulk API job for {obj.object} failed: "
                           f"{_one_line(exc)}")
    if isinstance(exc, SalesforceError):
        code, message = _error_details(exc)
        return SourceError(f"Salesforce error while reading {obj.object}: HTTP {exc.status} "
                           f"{code} {message}".strip())
    if isinstance(exc, json.JSONDecodeError):
        return SourceError(f"Salesforce sent an answer that is not JSON while reading "
                           f"{obj.object}: is SF_INSTANCE_URL / SF_DOMAIN a Salesforce server?")
    return None


def _missing_field_message(name: str, obj: SalesforceObject, missing, relation) -> str:
    key = f"salesforce.objects.{name}"
    wanted = (missing.group(1) if missing else relation.group(1)).lower()
    entity = missing.group(2) if missing else obj.object

    def names(path: str) -> bool:
        parts = path.lower().split(".")
        return path.lower() == wanted or bool(relation and parts[0] == wanted) \
            or parts[-1] == wanted

    for column, path in obj.fields.items():
        if names(path):
            return (f"Salesforce object {entity} has no field {path} (mapped to "
                    f"{obj.table}.{column}): set {key}.fields.{column} in the settings file to "
                    f"the field's API name (custom fields end in __c)")
    for path, values in obj.keep.items():
        if values and names(path):
            return (f"Salesforce object {entity} has no field {path}, which {key}.keep filters "
                    f"on: set {key}.keep.{path} = [] to drop the condition, or name the field "
                    f"your org uses")
    for column, path in obj.timed.items():
        if names(path):
            return (f"Salesforce object {entity} has no field {path} (the moment of timed "
                    f"records for {obj.table}.{column}): set {key}.timed.{column} to the "
                    f"field's API name, or \"\" to use {obj.fields.get(column) or column} only")
    if obj.all_day and names(obj.all_day):
        return (f"Salesforce object {entity} has no field {obj.all_day}: set {key}.all_day to "
                f"the checkbox marking all-day records, or \"\"")
    if wanted == "isdeleted":
        return (f"Salesforce object {entity} has no IsDeleted field: set "
                f"{key}.track_deletes = false")
    if wanted == "systemmodstamp":
        return (f"Salesforce object {entity} has no SystemModstamp field, which incremental "
                f"pulls need: choose another object for {key}.object")
    return (f"Salesforce object {entity} has no field {missing.group(1) if missing else wanted}, "
            f"used in {key}.where: correct the condition")


# ---------------------------------------------------------------------------- one object


@dataclass
class ObjectPull:
    """What one object's pull returned: records (dicts by configured field path)."""

    name: str
    obj: SalesforceObject
    full: bool
    since: dt.datetime | None
    fields: list[str]
    records: list[dict] = field(default_factory=list)
    deleted: list[dict] = field(default_factory=list)
    max_modstamp: dt.datetime | None = None


def selected_fields(obj: SalesforceObject, include_deleted: bool) -> list[str]:
    """Id and SystemModstamp, the mapped fields, the fields `keep`, `timed` and `all_day`
    read, IsDeleted when deletes are fetched; once each."""
    wanted = ["Id", "SystemModstamp", *(p for p in obj.fields.values() if p),
              *(p for p, values in obj.keep.items() if values),
              *(p for p in obj.timed.values() if p),
              *([obj.all_day] if obj.all_day else [])]
    if include_deleted:
        wanted.append("IsDeleted")
    seen: set[str] = set()
    result = []
    for path in wanted:
        if path.lower() not in seen:
            seen.add(path.lower())
            result.append(path)
    return result


def build_soql(obj: SalesforceObject, fields: list[str], since: dt.datetime | None) -> str:
    # Field and object names are checked against a strict pattern when the settings load;
    # `where` is SOQL written by whoever administers the settings file, by design.
    soql = format_soql("SELECT {:literal} FROM {:literal}", ", ".join(fields), obj.object)
    conditions = []
    if obj.where.strip():
        conditions.append(format_soql("({:literal})", obj.where.strip()))
    if since is not None:
        # >= (not >): SOQL datetimes drop milliseconds, and re-reading the boundary records
        # is harmless because rows are merged by key.
        conditions.append(format_soql("SystemModstamp >= {}", since))
    if conditions:
        soql += " WHERE " + " AND ".join(conditions)
    return soql


_MISSING = object()


def _get(mapping: dict, key: str):
    """A key, matched case-insensitively as Salesforce field names are."""
    if key in mapping:
        return mapping[key]
    lower = key.lower()
    return next((v for k, v in mapping.items() if k.lower() == lower), _MISSING)


def _lookup(record: dict, path: str):
    """A field value by path ('Owner.Name'): a flat Bulk CSV row or nested REST JSON, where a
    relationship that is not set is null. Empty text (Bulk CSV) is None."""
    value = _get(record, path)
    if value is _MISSING:
        value = record
        for part in path.split("."):
            value = _get(value, part) if isinstance(value, dict) else None
            if value is _MISSING or value is None:
                return None
    return None if value == "" else value


def _parse_datetime(value) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _is_true(value) -> bool:
    return value is True or str(value).lower() == "true"


def _as_text(value) -> str:
    """A field value compared with `keep`: checkboxes as true/false, text without case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else _text(value).strip().lower()


def left_out_by(obj: SalesforceObject, record: dict) -> str | None:
    """The `keep` field whose value excludes the record, or None when the record is kept."""
    for path, values in obj.keep.items():
        if values and _as_text(_lookup(record, path)) not in {v.strip().lower() for v in values}:
            return path
    return None


def fetch_object(conn: Connection, name: str, obj: SalesforceObject, since: dt.datetime | None,
                 full: bool, progress: Progress) -> ObjectPull:
    """One pass over an object's records (REST or Bulk API 2.0); raises on any failure."""
    include_deleted = not full and obj.track_deletes
    fields = selected_fields(obj, include_deleted)
    soql = build_soql(obj, fields, None if full else since)
    pull = ObjectPull(name, obj, full, None if full else since, fields)
    timeout = conn.sf.timeout_seconds
    if obj.bulk:
        records = _bulk_records(conn, obj, soql, include_deleted)
    else:
        records = conn.client.query_all_iter(soql, include_deleted=include_deleted,
                                             timeout=timeout)
    count = 0
    for record in records:
        row = {path: _lookup(record, path) for path in fields}
        stamp = _parse_datetime(row.get("SystemModstamp"))
        if stamp is not None and (pull.max_modstamp is None or stamp > pull.max_modstamp):
            pull.max_modstamp = stamp
        if include_deleted and _is_true(row.get("IsDeleted")):
            pull.deleted.append(row)
        else:
            pull.records.append(row)
        count += 1
        if count % PROGRESS_EVERY == 0:
            progress(f"Salesforce {obj.object}: {count:,} records fetched")
    deleted = f", {len(pull.deleted):,} of them deleted" if pull.deleted else ""
    if full:
        kind = "full pull"
    elif pull.since is None:
        kind = "incremental, from the start"
    else:
        kind = f"changes since {pull.since.isoformat(timespec='seconds')}"
    progress(f"Salesforce {obj.object}: {count:,} records fetched{deleted} ({kind})")
    return pull


def _bulk_records(conn: Connection, obj: SalesforceObject, soql: str,
                  include_deleted: bool) -> Iterator[dict]:
    handler = getattr(conn.client.bulk2, obj.object)
    query = handler.query_all if include_deleted else handler.query
    for page in query(soql, wait=conn.sf.bulk_poll_seconds):
        yield from csv.DictReader(io.StringIO(page))


# ---------------------------------------------------------------------------- retries


def with_retries(action: Callable[[], object], conn: Connection, what: str,
                 progress: Progress, relogin: bool = True, on_error=None):
    """Run `action`; transient failures are retried with exponential backoff up to
    salesforce.max_retries, an expired session is renewed once (where the login mode
    allows), anything else becomes one clear sentence. Messages never hold secrets."""
    sf = conn.sf
    attempt = 0
    logged_in_again = False
    while True:
        try:
            return action()
        except SalesforceExpiredSession:
            if not conn.creds.can_login_again:
                raise SourceError(
                    "Salesforce rejected the session id (INVALID_SESSION_ID): the session in "
                    "SF_SESSION_ID has expired or was revoked; get a new one, or configure a "
                    "login mode that can renew itself (see docs/operations.md)") from None
            if not relogin or logged_in_again:
                raise SourceError(
                    f"Salesforce rejected a new session right after logging in again while "
                    f"{what}: check that the user may use the API") from None
            logged_in_again = True
            progress("Salesforce session expired: logging in again")
            with_retries(conn.login, conn, "logging in again", progress, relogin=False,
                         on_error=conn.login_error)
        except SourceError:
            raise
        except Exception as exc:
            reason = transient_reason(exc, sf.timeout_seconds)
            if reason is None:
                error = on_error(exc) if on_error else None
                if error is None:
                    raise
                raise SourceError(conn.secrets.redact(str(error))) from None
            if attempt >= sf.max_retries:
                raise SourceError(conn.secrets.redact(
                    f"Salesforce failed while {what}: {reason}; gave up after "
                    f"{sf.max_retries} retries")) from None
            delay = sf.backoff_seconds * (2 ** attempt)
            attempt += 1
            progress(f"Salesforce: {reason} while {what}; retry {attempt} of "
                     f"{sf.max_retries} in {delay:g} s")
            time.sleep(delay)


# ---------------------------------------------------------------------------- canonical rows


_ARROW_TYPES = {"text": pa.string(), "enum": pa.string(), "date": pa.date32(),
                "amount": pa.float64(), "count": pa.int64(), "int": pa.int64(),
                "bool": pa.bool_()}


class BadValue(ValueError):
    pass


class Problems:
    """Values that do not fit the canonical tables, across all objects (the first few kept)."""

    def __init__(self, limit: int = MAX_PROBLEMS):
        self.limit = limit
        self.count = 0
        self.shown: list[str] = []

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.shown) < self.limit:
            self.shown.append(message)

    def raise_if_any(self) -> None:
        if not self.count:
            return
        lines = list(self.shown)
        if self.count > len(lines):
            lines.append(f"… and {self.count - len(lines)} more")
        raise ValidationFailed(
            f"{self.count} Salesforce values do not fit the canonical tables and nothing was "
            f"published: correct the field mapping in salesforce.objects", lines)


class Converter:
    """Salesforce values (REST JSON or Bulk CSV text) → canonical column values."""

    def __init__(self, settings: Settings):
        self.sf = settings.salesforce
        self.tz = zoneinfo.ZoneInfo(self.sf.timezone)

    def value(self, column: contract.Column, table: str, raw):
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            # A task without a subtype (created before subtypes existed) is still a contact.
            return "other" if (table, column.name) == ("activities", "type") else None
        kind = column.kind
        if kind == "text":
            return str(raw).strip() if isinstance(raw, str) else _text(raw)
        if kind == "date":
            return self.date(raw)
        if kind == "amount":
            number = _number(raw)
            if number < 0:
                raise BadValue("a negative amount")
            return number
        if kind in ("count", "int"):
            number = _number(raw)
            if number < 0 or number != int(number):
                raise BadValue("not a whole number of 0 or more")
            return int(number)
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("true", "1"):
                return True
            if text in ("false", "0"):
                return False
            raise BadValue("not true or false")
        if kind == "enum":
            return self.choice(column, table, str(raw).strip())
        raise BadValue(f"unsupported kind {kind}")  # pragma: no cover

    def date(self, raw) -> dt.date:
        text = str(raw).strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text)
        try:
            stamp = _parse_datetime(text)
        except ValueError:
            raise BadValue("not a date") from None
        return stamp.astimezone(self.tz).date()

    def choice(self, column: contract.Column, table: str, text: str) -> str | None:
        if table == "activities" and column.name == "type" and text in self.sf.task_type_map:
            return self.sf.task_type_map[text]
        for choice in column.choices:
            if choice.lower() == text.lower():
                return choice
        alias = contract.VALUE_ALIASES.get(column.name, {}).get(text)
        if alias in column.choices:
            return alias
        if table == "activities" and column.name == "type":
            return "other"
        return None  # counted as an unknown value by the caller


def _number(raw) -> float:
    if isinstance(raw, bool):
        raise BadValue("not a number")
    if isinstance(raw, (int, float)):
        return float(raw)
    try:
        return float(str(raw).replace(",", "").strip())
    except ValueError:
        raise BadValue("not a number") from None


def _text(raw) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


@dataclass
class CanonicalRows:
    """One object's records as canonical rows, plus the keys that must leave the table and
    how many records each `keep` field left out."""

    columns: list[str]
    rows: pa.Table
    gone_keys: list[tuple]
    warnings: list[str]
    left_out: dict[str, int] = field(default_factory=dict)


WRITTEN_BY_PUSH = "written by CS Analytics"


def canonical_rows(pull: ObjectPull, converter: Converter, instance_url: str,
                   problems: Problems, skip_ids: frozenset[str] = frozenset()) -> CanonicalRows:
    """The records as canonical rows; records left out by `keep`, and `skip_ids` (the Tasks
    `push` wrote for notes and assessments: not contacts), leave the table."""
    obj = pull.obj
    spec = contract.TABLES[obj.table]
    mapped = {c: p for c, p in obj.fields.items() if p}
    constants = dict(obj.constants)
    columns = [c.name for c in spec.columns if c.name in mapped or c.name in constants]
    link = obj.table == "accounts" and "sf_url" not in columns
    if link:
        columns.append("sf_url")
    values: dict[str, list] = {c: [] for c in columns}
    skipped: dict[str, list[str]] = {}
    unknown: dict[str, list[str]] = {}
    left_out: dict[str, int] = {}
    gone: list[tuple] = []

    def key_of(record: dict) -> tuple | None:
        try:
            key = tuple(
                converter.value(spec.column(k), obj.table,
                                constants[k] if k in constants else record.get(mapped.get(k, "")))
                for k in spec.key)
        except BadValue:
            return None
        return None if None in key else key

    for record in pull.records:
        excluded_by = (WRITTEN_BY_PUSH if skip_ids and record.get("Id") in skip_ids
                       else left_out_by(obj, record))
        if excluded_by is not None:
            # Not loaded; an earlier version of it that was (a contract back to Draft) leaves.
            left_out[excluded_by] = left_out.get(excluded_by, 0) + 1
            key = key_of(record)
            if key is not None:
                gone.append(key)
            continue
        all_day = bool(obj.all_day) and _is_true(record.get(obj.all_day))
        row = {}
        try:
            for column in columns:
                if column == "sf_url" and link:
                    row[column] = f"{instance_url}/lightning/r/{obj.object}/{record['Id']}/view"
                    continue
                spec_column = spec.column(column)
                raw = constants[column] if column in constants else record.get(mapped[column])
                moment = obj.timed.get(column)
                if moment and not all_day and record.get(moment) not in (None, ""):
                    raw = record.get(moment)
                row[column] = converter.value(spec_column, obj.table, raw)
                if spec_column.kind == "enum" and row[column] is None and raw not in (None, ""):
                    unknown.setdefault(column, []).append(str(raw))
        except BadValue as exc:
            section = "constants" if column in constants else "fields"
            problems.add(
                f"Salesforce {obj.object} {record.get('Id')}: "
                f"{mapped.get(column, 'the constant')} ({obj.table}.{column}) is {raw!r}, "
                f"{exc}; expected {spec_column.expected} — check "
                f"salesforce.objects.{pull.name}.{section}.{column}")
            continue
        empty = [c for c in spec.required if c in row and row[c] is None]
        if obj.table == "contracts" and row.get("amount") is None and row.get("mrr") is None:
            empty.append("amount")
        if empty:
            skipped.setdefault(empty[0], []).append(str(record.get("Id")))
            key = tuple(row.get(k) for k in spec.key)
            if None not in key:
                gone.append(key)
            continue
        for column in columns:
            values[column].append(row[column])
    for record in pull.deleted:
        key = key_of(record)
        if key is not None:
            gone.append(key)
    warnings = []
    for column, ids in skipped.items():
        source = mapped.get(column, column)
        warnings.append(
            f"Salesforce {obj.object}: {len(ids):,} records skipped because {source} "
            f"({obj.table}.{column}) is empty, e.g. {', '.join(ids[:SAMPLE_IDS])}")
    for column, raws in unknown.items():
        shown = ", ".join(repr(v) for v in sorted(set(raws))[:SAMPLE_IDS])
        warnings.append(
            f"Salesforce {obj.object}: {len(raws):,} values of {mapped.get(column, column)} are "
            f"not {' / '.join(spec.column(column).choices)} ({shown}); {obj.table}.{column} "
            f"left empty for them")
    arrays = {c: pa.array(values[c], type=_ARROW_TYPES[spec.column(c).kind]) for c in columns}
    return CanonicalRows(columns, pa.table(arrays), gone, warnings, left_out)


def raw_table(pull: ObjectPull) -> pa.Table:
    """The records as received (live and deleted), columns named by flattened field path."""
    names: list[str] = []
    for path in pull.fields:
        name = flat_name(path)
        while name in names:
            name += "_"
        names.append(name)
    rows = pull.records + pull.deleted
    columns = {}
    for name, path in zip(names, pull.fields):
        columns[name] = pa.array([None if r.get(path) is None else _text(r.get(path))
                                  for r in rows], type=pa.string())
    return pa.table(columns)


def flat_name(path: str) -> str:
    """Owner.Name → owner_name, SystemModstamp → system_modstamp, Amount__c → amount__c."""
    return "_".join(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", part).lower()
                    for part in path.split("."))


# ---------------------------------------------------------------------------- watermarks


def mapping_fingerprint(name: str, obj: SalesforceObject, settings: Settings,
                        instance_url: str) -> str:
    """Changes whenever a pull of this object would produce different rows for the same
    records: then the stored watermark no longer applies and the table is pulled in full."""
    sf = settings.salesforce
    payload = {"name": name, "object": obj.object, "table": obj.table, "fields": obj.fields,
               "where": obj.where, "constants": obj.constants, "keep": obj.keep,
               "timed": obj.timed, "all_day": obj.all_day,
               "track_deletes": obj.track_deletes, "timezone": sf.timezone,
               "task_type_map": sf.task_type_map if obj.table == "activities" else {},
               "instance": urlsplit(instance_url).hostname or instance_url}
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Watermark:
    since: dt.datetime | None  # None: pulled completely, and there were no records
    fingerprint: str


def ids_written_by_push(store: Store, org_key: str) -> dict[str, frozenset[str]]:
    """Salesforce object → ids of the records `push` created in it for this org (the Tasks
    carrying notes and manual assessments), from the write-back's state in meta.sqlite."""
    con = store.meta_db()
    try:
        rows = con.execute("SELECT object, record_id FROM salesforce_pushed WHERE target = ? "
                           "AND object = 'Task' AND record_id IS NOT NULL",
                           (org_key,)).fetchall()
    finally:
        con.close()
    found: dict[str, set[str]] = {}
    for obj, record_id in rows:
        found.setdefault(obj, set()).add(record_id)
    return {obj: frozenset(ids) for obj, ids in found.items()}


def read_watermarks(store: Store) -> dict[str, Watermark]:
    con = store.meta_db()
    try:
        rows = con.execute("SELECT object, value FROM watermarks WHERE source = ?",
                           (WATERMARK_SOURCE,)).fetchall()
    finally:
        con.close()
    marks = {}
    for name, value in rows:
        try:
            data = json.loads(value)
            since = _parse_datetime(data.get("since"))
            marks[name] = Watermark(since, str(data["fingerprint"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # unreadable: treated as missing, so the object is pulled in full
    return marks


def write_watermarks(store: Store, marks: dict[str, Watermark]) -> None:
    with write_transaction(store.meta_db()) as con:
        for name, mark in marks.items():
            value = json.dumps({"since": mark.since.isoformat() if mark.since else None,
                                "fingerprint": mark.fingerprint})
            con.execute(
                "INSERT INTO watermarks (source, object, value, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (source, object) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at", (WATERMARK_SOURCE, name, value, now_iso()))


# ---------------------------------------------------------------------------- the source


@dataclass
class ObjectSummary:
    name: str
    object: str
    table: str
    full: bool
    fetched: int
    deleted: int
    loaded: int
    seconds: float
    left_out: dict[str, int] = field(default_factory=dict)  # keep field → records left out


@dataclass
class SalesforcePull:
    """The result of `pull_into`: per-object counts, warnings and the watermarks to save."""

    instance_url: str
    auth_mode: str
    objects: list[ObjectSummary]
    warnings: list[str]
    watermarks: dict[str, Watermark]


class SalesforceSource:
    """Pulls the configured Salesforce objects into a build (`full`: every object in full)."""

    name = "salesforce"

    def __init__(self, settings: Settings, store: Store, secrets: Secrets,
                 session: requests.Session | None = None, progress: Progress | None = None,
                 *, full: bool = False):
        self.full = full
        self.settings = settings
        self.store = store
        self.secrets = secrets
        self.session = session or http_session(settings.salesforce.timeout_seconds)
        self.progress = progress or _quiet
        self.converter = Converter(settings)

    def objects(self) -> dict[str, SalesforceObject]:
        return {n: o for n, o in self.settings.salesforce.objects.items() if o.enabled}

    def connect(self) -> Connection:
        creds = credentials(self.secrets)
        conn = Connection(creds, self.settings, self.session, self.secrets)
        self.progress(f"Salesforce: logging in ({creds.describe()})")
        with_retries(conn.login, conn, "logging in", self.progress, relogin=False,
                     on_error=conn.login_error)
        return conn

    def pull_into(self, build, full: bool = False) -> SalesforcePull:
        """Log in, pull every enabled object and load it into `build`'s canonical tables.

        A table is pulled in full (and replaced) on --full, on the first pull, after its
        mapping changed, or when the build did not start from a real snapshot; otherwise
        changed records are merged and deleted ones removed."""
        conn = self.connect()
        objects = self.objects()
        # Watermarks describe the current snapshot: a build from an older one (the current
        # is damaged) pulls everything again, or the changes in between would be lost.
        has_base = (build.previous is not None and not build.previous_is_demo
                    and build.base_damage is None)
        marks = read_watermarks(self.store) if has_base else {}
        prints = {n: mapping_fingerprint(n, o, self.settings, conn.instance_url)
                  for n, o in objects.items()}
        warnings: list[str] = []
        summaries: list[ObjectSummary] = []
        new_marks: dict[str, Watermark] = {}
        written = ids_written_by_push(self.store, conn.creds.org_key)
        problems = Problems()
        removed_accounts: list[tuple] = []
        for table in contract.TABLE_ORDER:
            names = [n for n, o in objects.items() if o.table == table]
            if not names:
                continue
            table_full = full or any(n not in marks or marks[n].fingerprint != prints[n]
                                     for n in names)
            if table_full:
                build.con.execute(f'CREATE OR REPLACE TEMP TABLE _sf_previous AS '
                                  f'SELECT * FROM "{table}"')
                build.con.execute(f'DELETE FROM "{table}"')
            for name in names:
                obj = objects[name]
                started = time.monotonic()
                since = None if table_full else marks[name].since
                pull = with_retries(
                    lambda: fetch_object(conn, name, obj, since, table_full, self.progress),
                    conn, f"reading {obj.object}", self.progress,
                    on_error=lambda exc: _error_for(exc, name, obj))
                rows = canonical_rows(pull, self.converter, conn.instance_url, problems,
                                      written.get(obj.object, frozenset()))
                if problems.count:
                    continue  # keep checking the other objects, then report everything
                loaded, gone = self._load(build, pull, rows, table_full, warnings)
                if table == "accounts":
                    removed_accounts.extend(gone)
                build.con.register("_sf_raw", raw_table(pull))
                build.save_raw(f"salesforce_{name}", "SELECT * FROM _sf_raw")
                build.con.unregister("_sf_raw")
                warnings.extend(rows.warnings)
                since_next = pull.max_modstamp or since
                new_marks[name] = Watermark(since_next, prints[name])
                summaries.append(ObjectSummary(name, obj.object, table, table_full,
                                               len(pull.records) + len(pull.deleted),
                                               len(pull.deleted), loaded,
                                               time.monotonic() - started, rows.left_out))
                for path, count in rows.left_out.items():
                    why = ("the Tasks carrying notes and assessments from this app"
                           if path == WRITTEN_BY_PUSH else
                           f"salesforce.objects.{name}.keep ({path} not "
                           f"{' / '.join(obj.keep[path])})")
                    self.progress(f"Salesforce {obj.object}: {count:,} records left out: {why}")
            if table_full:
                build.con.execute("DROP TABLE IF EXISTS _sf_previous")
        problems.raise_if_any()
        self._drop_children_of(build, removed_accounts, objects)
        for message in warnings:
            build.warn(message)
        return SalesforcePull(conn.instance_url, conn.creds.mode, summaries, warnings, new_marks)

    def _load(self, build, pull: ObjectPull, rows: CanonicalRows, full: bool,
              warnings: list[str]) -> tuple[int, list[tuple]]:
        """Merge one object's rows; returns (rows loaded, keys removed from the table)."""
        table = pull.obj.table
        spec = contract.TABLES[table]
        con = build.con
        con.register("_sf_arrow", rows.rows)
        con.execute("CREATE OR REPLACE TEMP TABLE _sf_rows AS SELECT * FROM _sf_arrow")
        con.unregister("_sf_arrow")
        gone = list(rows.gone_keys)
        if table in CHILD_TABLES and "account_id" in rows.columns:
            orphans = con.execute(
                'SELECT DISTINCT account_id FROM _sf_rows r WHERE NOT EXISTS '
                '(SELECT 1 FROM accounts a WHERE a.account_id = r.account_id) '
                'ORDER BY 1').fetchall()
            if orphans:
                keys = ", ".join(f'"{k}"' for k in spec.key)
                gone += con.execute(
                    f'SELECT {keys} FROM _sf_rows r WHERE NOT EXISTS '
                    f'(SELECT 1 FROM accounts a WHERE a.account_id = r.account_id)').fetchall()
                count = con.execute(
                    'DELETE FROM _sf_rows r WHERE NOT EXISTS '
                    '(SELECT 1 FROM accounts a WHERE a.account_id = r.account_id)'
                ).fetchall()[0][0]  # fetchall: an unfinished result blocks register()
                shown = ", ".join(str(r[0]) for r in orphans[:SAMPLE_IDS])
                warnings.append(
                    f"Salesforce {pull.obj.object}: {count:,} records skipped because their "
                    f"account is not among the pulled accounts (e.g. account {shown})")
        previous = "_sf_previous" if full else table
        loaded = build.merge(table, _merge_select(table, rows.columns, previous))
        if gone and not full:
            key_cols = ", ".join(f'"{k}"' for k in spec.key)
            con.execute(f"CREATE OR REPLACE TEMP TABLE _sf_gone AS SELECT {key_cols} "
                        f'FROM "{table}" WHERE false')
            con.executemany(
                f"INSERT INTO _sf_gone VALUES ({', '.join('?' for _ in spec.key)})",
                [list(k) for k in gone])
            build.delete(table, "SELECT * FROM _sf_gone")
            con.execute("DROP TABLE _sf_gone")
        con.execute("DROP TABLE _sf_rows")
        return loaded, gone

    def _drop_children_of(self, build, accounts: list[tuple],
                          objects: dict[str, SalesforceObject]) -> None:
        """Contracts and activities of accounts deleted in Salesforce go with them."""
        if not accounts:
            return
        con = build.con
        con.execute("CREATE OR REPLACE TEMP TABLE _sf_removed (account_id VARCHAR)")
        con.executemany("INSERT INTO _sf_removed VALUES (?)", [[k[0]] for k in accounts])
        for table in CHILD_TABLES:
            if any(o.table == table for o in objects.values()):
                con.execute(f'DELETE FROM "{table}" WHERE account_id IN '
                            f'(SELECT account_id FROM _sf_removed) AND account_id NOT IN '
                            f'(SELECT account_id FROM accounts)')
        con.execute("DROP TABLE _sf_removed")

    def save_watermarks(self, pull: SalesforcePull) -> None:
        """Call after the build was published: the next pull starts from these."""
        write_watermarks(self.store, pull.watermarks)

    def load_into(self, build) -> SalesforcePull:
        return self.pull_into(build, full=self.full)

    def published(self, loaded: SalesforcePull) -> None:
        self.save_watermarks(loaded)


def _merge_select(table: str, columns: list[str], previous: str) -> str:
    """Incoming rows with the columns Salesforce does not map kept from the previous rows
    (a user's role or capacity imported from a file survives a Salesforce refresh)."""
    spec = contract.TABLES[table]
    join = " AND ".join(f'p."{k}" = i."{k}"' for k in spec.key)
    parts = []
    for c in spec.columns:
        if c.name in columns:
            parts.append(f'i."{c.name}" AS "{c.name}"')
        elif table == "users" and c.name == "role":
            parts.append("coalesce(p.\"role\", 'member') AS \"role\"")
        else:
            parts.append(f'p."{c.name}" AS "{c.name}"')
    return f'SELECT {", ".join(parts)} FROM _sf_rows i LEFT JOIN "{previous}" p ON {join}'
