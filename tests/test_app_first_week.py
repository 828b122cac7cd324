"""What a new user would hit in the first week (issue 22), as AppTest sees it: the alert form
belongs to the selected alert, uploading over demo data says what will happen, deltas and
amounts read one way everywhere, times in the configured zone, inputs with no misleading
defaults, and the headline cards in reading order."""

from __future__ import annotations

import datetime as dt

import pytest

from cs_analytics import alert_actions
from cs_analytics.store import Store
from test_app_common import (demo_home, make_app, metric, open_account_tab,  # noqa: F401
                             run_page, select_row, table, texts, use_home)
from test_app_interactions import own_demo_home  # noqa: F401

# ---------------------------------------------------------------------------- alerts


def _press(at, label: str):
    return next(b for b in at.button if b.label == label).click().run()


def test_an_alert_comment_belongs_to_the_selected_alert(own_demo_home, use_home):
    use_home(own_demo_home)
    store = Store(own_demo_home)
    at = run_page("weekly_check", "en")
    alerts = table(at, "check_alerts")
    assert len(alerts) >= 2
    select_row(at, "check_alerts", 0)
    comment = next(w for w in at.text_input if w.label == "Comment")
    comment.input("called the customer, campaign restarts in May")
    _press(at, "Acknowledge")
    assert not at.exception
    first = alert_actions.actions(store).iloc[-1]
    assert first["comment"] == "called the customer, campaign restarts in May"
    # Cleared after the action, and a confirmation of what was recorded, by whom.
    shown = texts(at)
    assert "Acknowledged" in shown and "local" in shown
    assert "called the customer, campaign restarts in May" in shown
    assert all(w.value == "" for w in at.text_input if w.label == "Comment")

    select_row(at, "check_alerts", 1)
    assert all(w.value == "" for w in at.text_input if w.label == "Comment")
    _press(at, "Snooze")
    assert not at.exception
    second = alert_actions.actions(store).iloc[-1]
    assert second["action"] == "snooze"
    assert (second["account_id"], second["signal"]) != (first["account_id"], first["signal"])
    assert second["comment"] == ""  # not the first alert's comment
    assert "Snoozed" in texts(at)
