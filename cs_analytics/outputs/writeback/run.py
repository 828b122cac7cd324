"""One `push`: compare the current snapshot with what Salesforce confirmed, send only the
changes, record the outcome.

    result = push(settings, store)                 # what `python -m cs_analytics push` runs
    result = push(settings, store, dry_run=True)   # the changes, nothing sent

Order: every value is computed and compared first; with nothing to send the push ends without
contacting Salesforce. Otherwise it logs in, describes each object it will write and refuses
(naming the settings) when a field is missing — before any write —, then writes the Account
fields, the weekly usage rows and the outbox's Tasks. Whatever Salesforce confirms is recorded
as it arrives; a refused record is reported with its error and sent again next time. The run
ends in the refresh log (source `salesforce push`) with what was sent, unchanged and refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import requests

from cs_analytics.config import Settings
from cs_analytics.errors import SourceError
from cs_analytics.ingest import salesforce
from cs_analytics.outputs.writeback import outbox
from cs_analytics.outputs.writeback import values
from cs_analytics.outputs.writeback.api import Need, ObjectNeeds, Outcome, Writer
from cs_analytics.outputs.writeback.state import Change, PushedState, canonical, changes
from cs_analytics.secrets import Secrets, load_secrets
from cs_analytics.warehouse.store import RefreshLog, Store, now_iso

Progress = Callable[[str], None]
LOG_SOURCE = "salesforce push"
ACCOUNT = "Account"
TASK = "Task"


def _quiet(_message: str) -> None:
    pass


@dataclass
class Tally:
    """One object's records in a push: sent (Salesforce confirmed), unchanged, refused, and
    for Tasks those waiting because their account is not in the current data."""

    object: str
    sent: int = 0
    unchanged: int = 0
    failed: int = 0
    waiting: int = 0
    planned: int = 0

    def as_dict(self) -> dict:
        counts = {"sent": self.sent, "unchanged": self.unchanged, "failed": self.failed}
        if self.waiting:
            counts["waiting"] = self.waiting
        return counts


@dataclass(frozen=True)
class Refusal:
    object: str
    record: str  # what the record is, for a reader: account name and id, usage key, note
    error: str


@dataclass(frozen=True)
class ChangeLine:
    """One field of the dry run's table."""

    record: str
    object: str
    field: str
    old: object
    new: object


@dataclass
class PushResult:
    target: str
    snapshot_id: str
    as_of: object
    dry_run: bool
    tallies: dict[str, Tally]
    refused: list[Refusal] = field(default_factory=list)
    lines: list[ChangeLine] = field(default_factory=list)
    setup_error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.refused and self.setup_error is None

    @property
    def to_send(self) -> int:
        return sum(t.planned for t in self.tallies.values())

    def summary(self) -> list[str]:
        """One line per object, then the outcome."""
        lines = []
        for t in self.tallies.values():
            if self.dry_run:
                text = f"{t.planned:,} to write, {t.unchanged:,} unchanged"
            else:
                text = f"{t.sent:,} sent, {t.unchanged:,} unchanged, {t.failed:,} refused"
            if t.waiting:
                text += f", {t.waiting:,} waiting (account not in the current data)"
            lines.append(f"salesforce push {t.object:<20} {text}")
        where = f"to {self.target} (data as of {self.as_of})"
        if self.dry_run:
            lines.append(f"dry run {where}: nothing was sent")
        elif not self.to_send:
            lines.append(f"nothing changed since the last push {where}")
        else:
            lines.append(f"pushed {where} in {self.seconds:.1f} s")
        return lines

    def log_rows(self) -> dict:
        return {name: t.as_dict() for name, t in self.tallies.items()}


def push(settings: Settings, store: Store, *, dry_run: bool = False, resend_all: bool = False,
         secrets: Secrets | None = None, session: requests.Session | None = None,
         progress: Progress | None = None) -> PushResult:
    """Write the changes since the last confirmed push to Salesforce (or list them).
    `resend_all` compares with nothing instead: every value is sent again (after values were
    cleared or changed in Salesforce itself)."""
    progress = progress or _quiet
    started, clock0 = now_iso(), time.monotonic()
    snap = store.open_current()
    if snap.damage is not None:
        raise SourceError(
            f"the current snapshot is damaged ({snap.damage}): nothing is written to "
            f"Salesforce from the older snapshot {snap.id} standing in for it, whose values "
            "would overwrite newer ones there; rebuild with `import` or `refresh` first "
            "(docs/operations.md)")
    if snap.is_demo:
        raise SourceError("the current snapshot is demo data: nothing is written to "
                          "Salesforce (run `python -m cs_analytics refresh` from Salesforce "
                          "first)")
    secrets = secrets if secrets is not None else load_secrets()
    creds = salesforce.credentials(secrets)
    p = settings.salesforce.push
    state = PushedState(store, creds.org_key)
    plan = _plan(settings, store, snap, state, progress, resend_all)
    result = PushResult(creds.org_key, snap.id, snap.as_of, dry_run, plan.tallies)
    if dry_run:
        result.lines = plan.lines()
    if not plan.to_send:
        result.seconds = time.monotonic() - clock0
        if not dry_run:
            RefreshLog(store).record(LOG_SOURCE, started, "success", snapshot_id=snap.id,
                                     rows=result.log_rows())
        return result

    source = salesforce.SalesforceSource(settings, store, secrets, session, progress)
    try:
        conn = source.connect()
        writer = Writer(conn, p.bulk_threshold, progress)
        writer.check(plan.needs(settings))
    except SourceError as exc:
        if dry_run:
            result.setup_error = str(exc)
            return result
        _log_failure(store, started, result, str(exc))
        raise
    if dry_run:
        return result
    try:
        _send(settings, store, plan, state, writer, result, progress)
    except SourceError as exc:
        result.seconds = time.monotonic() - clock0
        _log_failure(store, started, result, str(exc))
        raise
    result.seconds = time.monotonic() - clock0
    error = None
    if result.refused:
        shown = "; ".join(f"{r.object} {r.record}: {r.error}" for r in result.refused[:3])
        more = f" (and {len(result.refused) - 3} more)" if len(result.refused) > 3 else ""
        error = f"{len(result.refused)} records refused by Salesforce: {shown}{more}"
    RefreshLog(store).record(LOG_SOURCE, started, "failed" if error else "success",
                             snapshot_id=snap.id, rows=result.log_rows(), error=error)
    return result


def last_push(store: Store) -> dict | None:
    """The refresh-log row of the latest push (not dry runs, which record nothing), or None."""
    if not (store.home / "meta.sqlite").exists():
        return None
    con = store.meta_db()
    try:
        row = con.execute("SELECT id FROM refresh_log WHERE source = ? ORDER BY id DESC "
                          "LIMIT 1", (LOG_SOURCE,)).fetchone()
    finally:
        con.close()
    if row is None:
        return None
    return next((r for r in RefreshLog(store).recent(200) if r["id"] == row[0]), None)


def _log_failure(store: Store, started: str, result: PushResult, error: str) -> None:
    RefreshLog(store).record(LOG_SOURCE, started, "failed", snapshot_id=result.snapshot_id,
                             rows=result.log_rows(), error=" ".join(error.split()))


# ---------------------------------------------------------------------------- the plan


@dataclass
class Plan:
    """Everything to write, compared with the confirmed state."""

    accounts: list[Change]
    usage: list[Change]
    tasks: list[tuple[outbox.OutboxItem, Change]]
    names: dict[str, str]
    tallies: dict[str, Tally]
    usage_object: str

    @property
    def to_send(self) -> int:
        return len(self.accounts) + len(self.usage) + len(self.tasks)

    def lines(self) -> list[ChangeLine]:
        out = []
        for c in self.accounts:
            for f, new in c.fields.items():
                out.append(ChangeLine(self.account_label(c.key), ACCOUNT, f, c.old.get(f), new))
        for c in self.usage:
            for f, new in c.fields.items():
                if c.old.get(f) != new:
                    out.append(ChangeLine(c.key, self.usage_object, f, c.old.get(f), new))
        for item, c in self.tasks:
            out.append(ChangeLine(self.account_label(item.account_id), TASK, "Subject", None,
                                  c.fields["Subject"]))
        return out

    def account_label(self, account_id: str) -> str:
        name = self.names.get(account_id)
        return f"{name} ({account_id})" if name else account_id

    def needs(self, settings: Settings) -> list[ObjectNeeds]:
        """What each object written in this push must offer."""
        p = settings.salesforce.push
        needs = []
        if self.accounts:
            needs.append(ObjectNeeds(ACCOUNT, "salesforce.push.account_fields", tuple(
                Need(f, f"salesforce.push.account_fields.{value}")
                for value, f in p.account_fields.items() if f), create=False))
        if self.usage:
            fields = [Need(f, f"salesforce.push.usage_fields.{value}")
                      for value, f in p.usage_fields.items() if f]
            fields.append(Need(p.usage_key_field, "salesforce.push.usage_key_field",
                               external_id=True))
            needs.append(ObjectNeeds(p.usage_object, "salesforce.push.usage_object",
                                     tuple(fields), create=True))
        if self.tasks:
            needs.append(ObjectNeeds(TASK, "salesforce.push.tasks", (
                Need(p.task_key_field, "salesforce.push.task_key_field", external_id=True),),
                create=True))
        return needs


def _plan(settings: Settings, store: Store, snap, state: PushedState, progress: Progress,
          resend_all: bool = False) -> Plan:
    p = settings.salesforce.push

    def confirmed(obj: str) -> dict[str, str]:
        return {} if resend_all else state.load(obj)

    progress(f"comparing snapshot {snap.id} (data as of {snap.as_of}) with the last push")
    tallies: dict[str, Tally] = {}
    accounts: list[Change] = []
    names: dict[str, str] = {}
    if any(p.account_fields.values()):
        desired, names = values.account_values(snap, p)
        accounts, unchanged = changes(desired, confirmed(ACCOUNT))
        tallies[ACCOUNT] = Tally(ACCOUNT, unchanged=unchanged, planned=len(accounts))
    else:
        names = dict(snap.rows("SELECT account_id, name FROM accounts"))
    usage: list[Change] = []
    if p.usage_object and p.usage_weeks:
        desired = values.usage_values(snap, p)
        usage, unchanged = changes(desired, confirmed(p.usage_object), whole_record=True)
        tallies[p.usage_object] = Tally(p.usage_object, unchanged=unchanged, planned=len(usage))
    tasks: list[tuple[outbox.OutboxItem, Change]] = []
    if p.tasks:
        owners = outbox.author_owners(snap)
        waiting = 0
        for item in outbox.pending(store):
            if item.account_id not in names:
                waiting += 1
                continue
            fields = {p.task_key_field: item.key,
                      **outbox.task_fields(item, settings,
                                           owners.get(item.author.strip().lower()))}
            tasks.append((item, Change(item.key, fields, {}, True, canonical(fields))))
        tallies[TASK] = Tally(TASK, waiting=waiting, planned=len(tasks))
    return Plan(accounts, usage, tasks, names, tallies, p.usage_object)


# ---------------------------------------------------------------------------- sending


def _send(settings: Settings, store: Store, plan: Plan, state: PushedState, writer: Writer,
          result: PushResult, progress: Progress) -> None:
    p = settings.salesforce.push
    if plan.accounts:
        progress(f"Salesforce Account: writing {len(plan.accounts):,} accounts")
        writer.update(ACCOUNT, plan.accounts,
                      _recorder(state, ACCOUNT, result, plan.account_label))
    if plan.usage:
        obj = p.usage_object
        progress(f"Salesforce {obj}: writing {len(plan.usage):,} weekly usage rows")
        # A text record name must be given on create; an auto-number one is Salesforce's.
        extra = (lambda c: {"Name": c.key}) if writer.has_createable(obj, "Name") else None
        writer.upsert(obj, p.usage_key_field, plan.usage,
                      _recorder(state, obj, result, lambda key: key), extra)
    if plan.tasks:
        progress(f"Salesforce Task: writing {len(plan.tasks):,} notes and assessments")
        items = {c.key: item for item, c in plan.tasks}
        record = _recorder(state, TASK, result,
                           lambda key: f"{items[key].kind} {items[key].record_id} on "
                                       f"{plan.account_label(items[key].account_id)}")

        def report(outcomes: list[Outcome]) -> None:
            record(outcomes)
            outbox.mark(store, [(items[o.change.key], o.record_id) for o in outcomes if o.ok],
                        [(items[o.change.key], o.error or "") for o in outcomes if not o.ok])

        writer.upsert(TASK, p.task_key_field, [c for _, c in plan.tasks], report)


def _recorder(state: PushedState, obj: str, result: PushResult,
              describe: Callable[[str], str]) -> Callable[[list[Outcome]], None]:
    """Records each call's outcomes as they arrive: confirmed values into the state, counts
    and refusals into the result."""
    tally = result.tallies[obj]

    def record(outcomes: list[Outcome]) -> None:
        written = [(o.change, o.record_id) for o in outcomes if o.ok]
        state.confirm(obj, written)
        tally.sent += len(written)
        for o in outcomes:
            if not o.ok:
                tally.failed += 1
                result.refused.append(Refusal(obj, describe(o.change.key),
                                              o.error or o.code or ""))

    return record
