"""Salesforce write-back (SPEC §5): the CS team's numbers where they work.

    values  what is written: each Account's CS fields and the weekly usage rows, from metrics
    state   meta.sqlite: the values Salesforce confirmed per org, so only changes are sent
    api     the writes: describe check, sObject Collections or Bulk API 2.0, per-record outcomes
    outbox  notes and manual assessments waiting to become completed Tasks (user-data store)
    run     one `push`: plan, dry run, send, record — what the CLI calls
"""

from cs_analytics.outputs.writeback.run import PushResult, last_push, push

__all__ = ["PushResult", "last_push", "push"]
