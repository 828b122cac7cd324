"""Churn-risk alerts: an account entering a risk signal → a Slack message to its owner and the
CS manager (SPEC §4 "Risk signals", §5 "Slack").

    evaluation  which shown signals alert now: on entering only, cooldown, acknowledge/snooze
    state       meta.sqlite: what the last evaluation saw, the alerts fired, Slack deliveries
    messages    the Slack messages (one per alert or a digest), in Japanese or English
    slack       the incoming webhook (URL from SLACK_WEBHOOK_URL), retries with backoff
    run         one `alerts` run: evaluate, record, deliver — what the CLI calls
"""

from cs_analytics.outputs.alerts.run import AlertRun, run_alerts

__all__ = ["AlertRun", "run_alerts"]
