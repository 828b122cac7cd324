"""Which of the signals shown now should alert (SPEC §4): an alert fires when an account enters
a signal, not on every evaluation; within the cooldown it does not fire again; an acknowledged
episode never alerts; a snoozed one waits until the snooze ends.

Pure functions over plain values, so every rule is tested by hand; `run.py` feeds them from
the snapshot, meta.sqlite and the user-data store.

An *episode* of (account, signal) starts when an evaluation sees the signal and the previous
evaluation did not; it lasts while evaluations keep seeing it. Each episode alerts at most once.
The first evaluation of a data directory has no previous one: there a signal counts as entered
only when the weekly history says it appeared at the latest snapshot (its `since` is the as-of
date); older ones are recorded as already known, so switching alerts on does not flood Slack.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

Key = tuple[str, str]  # (account_id, signal)

# Decision outcomes
FIRE = "fire"                  # alert now
ACKNOWLEDGED = "acknowledged"  # a user acknowledged this episode: no alert
SNOOZED = "snoozed"            # snoozed: alerts after the snooze if still shown
COOLDOWN = "cooldown"          # alerted on this signal within the cooldown: no alert
KNOWN = "known"                # shown before alerts were first evaluated: no alert
NOTIFIED = "notified"          # this episode was already handled by an earlier evaluation


@dataclass(frozen=True)
class ShownSignal:
    """A signal an active account shows on the as-of date, with what a message needs."""

    account_id: str
    signal: str
    since: dt.date                  # first snapshot day of the current run (weekly history)
    evidence: dict = field(default_factory=dict)
    name: str = ""
    owner_id: str | None = None
    owner_name: str | None = None
    owner_manager_id: str | None = None
    segment: str | None = None
    mrr: float | None = None
    last_contact_date: dt.date | None = None
    last_contact_type: str | None = None
    sf_url: str | None = None
    score: float | None = None
    band: str | None = None

    @property
    def key(self) -> Key:
        return (self.account_id, self.signal)


@dataclass(frozen=True)
class EpisodeState:
    """What the last evaluation recorded for an (account, signal)."""

    active: bool
    since: dt.date
    notified: bool
    outcome: str | None = None


@dataclass(frozen=True)
class Decision:
    shown: ShownSignal
    since: dt.date      # the episode's start
    outcome: str


@dataclass
class Evaluation:
    decisions: list[Decision]
    states: dict[Key, EpisodeState]

    @property
    def fired(self) -> list[Decision]:
        return [d for d in self.decisions if d.outcome == FIRE]

    def count(self, outcome: str) -> int:
        return sum(1 for d in self.decisions if d.outcome == outcome)


def evaluate(shown: list[ShownSignal], previous: dict[Key, EpisodeState], *, as_of: dt.date,
             today: dt.date, cooldown_days: int, first_evaluation: bool = False,
             acknowledged_on: dict[Key, dt.date] | None = None,
             snoozed_until: dict[Key, dt.date] | None = None,
             last_fired_on: dict[Key, dt.date] | None = None) -> Evaluation:
    """Decide each shown signal's outcome and the states to record.

    first_evaluation: no evaluation ran before in this data directory (see the module doc);
    acknowledged_on: date of the latest acknowledgement per key (it covers an episode when it
      is on or after the episode's `since` in the weekly history — the Weekly check page's
      rule); snoozed_until: `until` of the latest snooze per key (snoozed while today ≤ it);
      last_fired_on: evaluation date of the latest alert per key (no new alert while
      today − that < cooldown_days).
    """
    acknowledged_on = acknowledged_on or {}
    snoozed_until = snoozed_until or {}
    last_fired_on = last_fired_on or {}
    states: dict[Key, EpisodeState] = {}
    decisions: list[Decision] = []
    for s in shown:
        before = previous.get(s.key)
        if before is not None and before.active:
            since, notified, outcome = before.since, before.notified, before.outcome
        elif first_evaluation and s.since < as_of:
            since, notified, outcome = s.since, True, KNOWN
        else:
            since, notified, outcome = as_of, False, None
        if notified:
            decision = KNOWN if outcome == KNOWN and before is None else NOTIFIED
        else:
            ack = acknowledged_on.get(s.key)
            snooze = snoozed_until.get(s.key)
            fired = last_fired_on.get(s.key)
            if ack is not None and ack >= s.since:
                decision, notified, outcome = ACKNOWLEDGED, True, ACKNOWLEDGED
            elif snooze is not None and today <= snooze:
                decision, outcome = SNOOZED, "waiting"
            elif fired is not None and (today - fired).days < cooldown_days:
                decision, notified, outcome = COOLDOWN, True, COOLDOWN
            else:
                decision, notified, outcome = FIRE, True, "fired"
        states[s.key] = EpisodeState(True, since, notified, outcome)
        decisions.append(Decision(s, since, decision))
    for key, before in previous.items():
        if key not in states:
            states[key] = EpisodeState(False, before.since, before.notified, before.outcome)
    return Evaluation(decisions, states)
