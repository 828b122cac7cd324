"""One alerts run (CLI `alerts`): evaluate the signals of the current snapshot, record what
fires, then deliver every message Slack has not accepted yet — this run's and earlier failed
ones. Only one run at a time per data directory.

Recording happens before sending, in one transaction: a crash after it leaves messages
'pending' for the next run, and a message is marked 'sent' right after Slack's 200 — so nothing
is lost and nothing is sent twice. A dry run evaluates and renders the same messages, then
rolls everything back and sends nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import sqlite3
from dataclasses import dataclass, field

from cs_analytics.config import Settings
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import signals as signals_api
from cs_analytics.metrics.health import json_value
from cs_analytics.outputs.alerts import evaluation, messages, state
from cs_analytics.outputs.alerts.evaluation import Decision, ShownSignal
from cs_analytics.outputs.alerts.slack import SendResult, SlackWebhook, webhook_url
from cs_analytics.outputs.links import SalesforceOrg, salesforce_org
from cs_analytics.secrets import load_secrets
from cs_analytics.userdata import alert_actions
from cs_analytics.warehouse.build import today_tokyo
from cs_analytics.warehouse.store import DIR_MODE, FILE_MODE, Store


@dataclass
class DeliveryOutcome:
    id: int
    text: str
    ok: bool | None          # None: not attempted (dry run)
    attempts: int = 0
    error: str | None = None


@dataclass
class AlertRun:
    as_of: dt.date
    snapshot_id: str
    dry_run: bool
    shown: int = 0
    decisions: list[Decision] = field(default_factory=list)
    deliveries: list[DeliveryOutcome] = field(default_factory=list)

    @property
    def fired(self) -> list[Decision]:
        return [d for d in self.decisions if d.outcome == evaluation.FIRE]

    def count(self, outcome: str) -> int:
        return sum(1 for d in self.decisions if d.outcome == outcome)

    @property
    def failed(self) -> list[DeliveryOutcome]:
        return [d for d in self.deliveries if d.ok is False]

    @property
    def sent(self) -> list[DeliveryOutcome]:
        return [d for d in self.deliveries if d.ok]


def shown_signals(snap, org: SalesforceOrg = SalesforceOrg()) -> list[ShownSignal]:
    """The signals of the snapshot's as-of date, as evaluation input; an account's Salesforce
    link is kept only when it points to the configured org (`org`, cs_analytics.outputs.links)."""
    frame = signals_api.signals_on(snap)
    result = []
    for row in frame.to_dict("records"):
        result.append(ShownSignal(
            account_id=row["account_id"], signal=row["signal"],
            since=_date(row["since"]), evidence=signals_api.evidence(row),
            name=row["name"], owner_id=json_value(row["owner_id"]),
            owner_name=json_value(row["owner_name"]),
            owner_manager_id=json_value(row["owner_manager_id"]),
            segment=json_value(row["segment"]), mrr=json_value(row["mrr"]),
            last_contact_date=_date(row["last_contact_date"]),
            last_contact_type=json_value(row["last_contact_type"]),
            sf_url=org.link(json_value(row["sf_url"])), score=json_value(row["score"]),
            band=json_value(row["band"])))
    return result


def run_alerts(settings: Settings, store: Store, *, dry_run: bool = False,
               today: dt.date | None = None, sender: SlackWebhook | None = None) -> AlertRun:
    """Evaluate, record and deliver. `sender` defaults to the webhook of SLACK_WEBHOOK_URL
    (required unless dry_run); `today` (Tokyo) drives cooldowns and snoozes."""
    today = today or today_tokyo()
    snap = store.open_current()
    if sender is None and not dry_run:
        a = settings.alerts
        sender = SlackWebhook(webhook_url(), timeout_seconds=a.timeout_seconds,
                              max_attempts=a.max_attempts, backoff_seconds=a.backoff_seconds)
    shown = shown_signals(snap, salesforce_org(load_secrets()))
    acknowledged, snoozed = _user_actions(store)
    run = AlertRun(as_of=snap.as_of, snapshot_id=snap.id, dry_run=dry_run, shown=len(shown))
    # A dry run reads the alert state and works on a copy of it in memory: it writes nothing,
    # so it also runs on a read-only or full data directory.
    with (contextlib.nullcontext() if dry_run else _run_lock(store)):
        con = _state_copy(store) if dry_run else store.meta_db()
        try:
            con.execute("BEGIN IMMEDIATE")
            result = evaluation.evaluate(
                shown, state.load_states(con), as_of=snap.as_of, today=today,
                cooldown_days=settings.alerts.cooldown_days,
                first_evaluation=not state.has_evaluated(con), acknowledged_on=acknowledged,
                snoozed_until=snoozed, last_fired_on=state.last_fired_on(con))
            run.decisions = result.decisions
            _record(con, result, settings, snap, today)
            due = state.due_deliveries(con)
            if dry_run:
                con.execute("ROLLBACK")
                run.deliveries = [DeliveryOutcome(d.id, messages.plain_text(d.payload), None)
                                  for d in due]
                return run
            con.execute("COMMIT")
            for d in due:
                sent: SendResult = sender.send(d.payload)
                state.mark_attempt(con, d.id, ok=sent.ok, attempts=sent.attempts,
                                   error=sent.error)
                run.deliveries.append(DeliveryOutcome(d.id, messages.plain_text(d.payload),
                                                      sent.ok, sent.attempts, sent.error))
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()
    return run


def _record(con, result: evaluation.Evaluation, settings: Settings, snap,
            today: dt.date) -> None:
    fired = result.fired
    state.save_states(con, result.states, snap.as_of, snap.id)
    state.record_run(con, snap.as_of, snap.id, len(result.decisions), len(fired))
    if settings.alerts.mode == "digest":
        payloads = messages.digest_messages([d.shown for d in fired], settings, snap.as_of)
        page = messages.DIGEST_PAGE
        for i, payload in enumerate(payloads):
            delivery_id = state.enqueue(con, "digest", payload)
            for decision in fired[i * page:(i + 1) * page]:
                state.record_alert(con, decision, today=today, as_of=snap.as_of,
                                   snapshot_id=snap.id, delivery_id=delivery_id)
        return
    for decision in fired:
        payload = messages.alert_message(decision.shown, settings, snap.as_of)
        delivery_id = state.enqueue(con, "each", payload)
        state.record_alert(con, decision, today=today, as_of=snap.as_of, snapshot_id=snap.id,
                           delivery_id=delivery_id)


def _state_copy(store: Store) -> sqlite3.Connection:
    """The alert state (meta.sqlite) copied into memory, for a dry run."""
    source = store.meta_db(readonly=True)
    try:
        copy = sqlite3.connect(":memory:", isolation_level=None)
        source.backup(copy)
    finally:
        source.close()
    copy.row_factory = sqlite3.Row
    return copy


def _user_actions(store: Store) -> tuple[dict, dict]:
    """Latest acknowledgement date and latest snooze end per (account, signal)."""
    acknowledged: dict = {}
    snoozed: dict = {}
    for r in alert_actions.actions(store).to_dict("records"):
        key = (r["account_id"], r["signal"])
        if r["action"] == "acknowledge":
            acknowledged[key] = r["created_at"]
        elif r["action"] == "snooze" and r["until"] is not None:
            snoozed[key] = r["until"]
    return acknowledged, snoozed


@contextlib.contextmanager
def _run_lock(store: Store):
    store.home.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    fd = os.open(store.home / ".alerts.lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CsAnalyticsError("another alerts run is in progress on this data directory; "
                                   "try again when it has finished") from None
        yield
    finally:
        os.close(fd)


def _date(value) -> dt.date | None:
    value = json_value(value)
    return dt.date.fromisoformat(value) if isinstance(value, str) else value
