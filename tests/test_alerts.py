"""Alerts: firing on entry only, cooldown, acknowledge and snooze (hand-made evaluations), the
Slack messages, and delivery to a real HTTP server on 127.0.0.1 standing in for the incoming
webhook — success, a 4xx with Slack's error body, 5xx then success, a timeout — with failed
messages retried by the next run and never accepted twice."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from cs_analytics.cli import main
from cs_analytics.config import settings_from_dict
from cs_analytics.outputs.alerts import evaluation as ev
from cs_analytics.outputs.alerts import messages, run_alerts
from cs_analytics.outputs.alerts.evaluation import EpisodeState, ShownSignal
from cs_analytics.outputs.alerts.slack import SlackWebhook
from cs_analytics.userdata import alert_actions
from cs_analytics.warehouse.store import Store
from test_health import (AS_OF, DAYS_LEFT, activity, build, days_before, days_left_contract,
                         usage_row)

D = dt.date.fromisoformat
SECRET = "T0SECRET/B0SECRET/xoxSECRETtoken"


# ---------------------------------------------------------------------------- evaluation rules


def sig(account_id="a1", signal="no_login_60d", since=AS_OF, **kw) -> ShownSignal:
    return ShownSignal(account_id=account_id, signal=signal, since=since, **kw)


def evaluate(shown, previous=None, today=AS_OF, as_of=None, **kw):
    return ev.evaluate(shown, previous or {}, as_of=as_of or today, today=today,
                       cooldown_days=7, **kw)


def test_fires_on_entering_only():
    first = evaluate([sig()])
    assert [d.outcome for d in first.decisions] == [ev.FIRE]
    again = evaluate([sig()], first.states, today=AS_OF + dt.timedelta(days=1))
    assert [d.outcome for d in again.decisions] == [ev.NOTIFIED]
    gone = evaluate([], again.states, today=AS_OF + dt.timedelta(days=2))
    assert gone.states[("a1", "no_login_60d")].active is False
    back = evaluate([sig(since=AS_OF + dt.timedelta(days=10))], gone.states,
                    today=AS_OF + dt.timedelta(days=10))
    assert [d.outcome for d in back.decisions] == [ev.FIRE]   # a new episode
    assert back.decisions[0].since == AS_OF + dt.timedelta(days=10)


def test_each_account_and_signal_is_its_own_episode():
    result = evaluate([sig("a1", "no_login_60d"), sig("a1", "health_red"),
                       sig("a2", "no_login_60d")])
    assert [d.outcome for d in result.decisions] == [ev.FIRE] * 3


@pytest.mark.parametrize("days_since_last, outcome", [(6, ev.COOLDOWN), (7, ev.FIRE)])
def test_cooldown(days_since_last, outcome):
    today = AS_OF + dt.timedelta(days=days_since_last)
    fired = {("a1", "no_login_60d"): AS_OF}
    result = evaluate([sig(since=today)], {("a1", "no_login_60d"): EpisodeState(
        False, AS_OF, True, "fired")}, today=today, last_fired_on=fired)
    assert [d.outcome for d in result.decisions] == [outcome]
    # a cooled-down episode is handled: it does not fire later either
    later = evaluate([sig(since=today)], result.states, today=today + dt.timedelta(days=30),
                     last_fired_on=fired)
    assert [d.outcome for d in later.decisions] == [ev.NOTIFIED]


@pytest.mark.parametrize("acknowledged, outcome", [
    (AS_OF, ev.ACKNOWLEDGED), (AS_OF - dt.timedelta(days=1), ev.FIRE)])
def test_acknowledgement_covers_the_current_episode_only(acknowledged, outcome):
    result = evaluate([sig(since=AS_OF)],
                      acknowledged_on={("a1", "no_login_60d"): acknowledged})
    assert [d.outcome for d in result.decisions] == [outcome]


def test_snoozed_alert_waits_then_fires_if_still_shown():
    snooze = {("a1", "no_login_60d"): AS_OF + dt.timedelta(days=3)}
    first = evaluate([sig()], snoozed_until=snooze)
    assert [d.outcome for d in first.decisions] == [ev.SNOOZED]
    on_last_day = evaluate([sig()], first.states, today=AS_OF + dt.timedelta(days=3),
                           snoozed_until=snooze)
    assert [d.outcome for d in on_last_day.decisions] == [ev.SNOOZED]
    after = evaluate([sig()], on_last_day.states, today=AS_OF + dt.timedelta(days=4),
                     snoozed_until=snooze)
    assert [d.outcome for d in after.decisions] == [ev.FIRE]
    assert after.decisions[0].since == AS_OF   # the same episode


def test_snoozed_episode_that_ends_never_alerts():
    snooze = {("a1", "no_login_60d"): AS_OF + dt.timedelta(days=3)}
    first = evaluate([sig()], snoozed_until=snooze)
    gone = evaluate([], first.states, today=AS_OF + dt.timedelta(days=1))
    later = evaluate([], gone.states, today=AS_OF + dt.timedelta(days=10))
    assert later.fired == []


def test_first_evaluation_only_alerts_what_entered_at_the_latest_snapshot():
    result = evaluate([sig("old", since=AS_OF - dt.timedelta(days=7)), sig("new", since=AS_OF)],
                      first_evaluation=True)
    assert [d.outcome for d in result.decisions] == [ev.KNOWN, ev.FIRE]
    assert result.states[("old", "no_login_60d")].since == AS_OF - dt.timedelta(days=7)
    # not the first evaluation: an older `since` still enters
    result = evaluate([sig("old", since=AS_OF - dt.timedelta(days=7))])
    assert [d.outcome for d in result.decisions] == [ev.FIRE]


# ---------------------------------------------------------------------------- messages


SETTINGS = settings_from_dict({
    "general": {"app_base_url": "https://cs.example.co.jp/"},
    "alerts": {"slack_member_ids": {"u1": "U0OWNER", "m1": "U0MGR", "boss": "U0BOSS"},
               "manager_user_ids": ["boss"]}})


def example_signal(**kw) -> ShownSignal:
    values = dict(account_id="001 A&B", signal="no_contact_60d", since=AS_OF,
                  evidence={"last_contact_date": "2025-04-01", "last_contact_type": "call",
                            "days_since_contact": 90},
                  name="株式会社<テスト>&Co", owner_id="u1", owner_name="山田", owner_manager_id="m1",
                  segment="A", mrr=123_456.7, last_contact_date=D("2025-04-01"),
                  last_contact_type="call", sf_url="https://x.my.salesforce.com/001A",
                  score=42.25, band="warning")
    values.update(kw)
    return ShownSignal(**values)


def test_alert_message_names_everything_the_owner_needs():
    payload = messages.alert_message(example_signal(), SETTINGS, AS_OF)
    text = messages.plain_text(payload)
    assert "<https://cs.example.co.jp/account?account_id=001%20A%26B|株式会社&lt;テスト&gt;&amp;Co>" \
        in text
    assert "接点なし（60日以上）" in text
    assert "最終接点 2025-04-01 電話（90日前）" in text           # evidence
    assert "*担当*: <@U0OWNER>" in text
    assert "*セグメント*: A" in text and "*MRR*: ¥123,457" in text
    assert "*最終接点*: 2025-04-01 電話" in text
    assert "42.2 🟠" in text
    assert "<https://x.my.salesforce.com/001A|Salesforceで開く>" in text
    assert "<@U0MGR> <@U0BOSS>" in text                         # managers copied in
    assert "データ基準日 2025-06-30" in text
    assert payload["text"].startswith("チャーンリスク: 株式会社&lt;テスト&gt;&amp;Co")


def test_alert_message_in_english_without_mapping():
    settings = settings_from_dict({"general": {"language": "en"}})
    payload = messages.alert_message(example_signal(
        signal="deliveries_drop_50", sf_url=None, owner_manager_id=None,
        evidence={"deliveries_last_window": 3, "deliveries_previous_window": 12}),
        settings, AS_OF)
    text = messages.plain_text(payload)
    assert "Deliveries dropped (last 90 days ≤ 50% of the 90 before)" in text
    assert "deliveries: last 90 days 3 / the 90 before 12" in text
    assert "*Owner*: 山田" in text and "<@" not in text and "Salesforce" not in text


@pytest.mark.parametrize("signal, evidence, expected", [
    ("no_login_60d", {"last_login_date": "2025-04-01", "days_since_login": 90},
     "最終ログイン 2025-04-01（90日前）"),
    ("no_login_60d", {"last_login_date": None, "days_since_login": 75},
     "ログインの記録なし（75日間）"),
    ("health_red", {"score": 12.345, "band": "danger", "top_detractor": "logins"},
     "ヘルススコア 12.3 🔴　最大の低下要因: ログイン"),
    ("renewal_at_risk", {"contract_end_date": "2025-08-31", "days_to_end": 62,
                         "band": "warning", "score": 30.0},
     "契約終了日 2025-08-31（残り62日）・後続契約なし・ヘルススコア 30.0 🟠"),
    ("notice_deadline_near", {"notice_contract_id": "C9", "notice_deadline": "2025-07-20",
                              "days_to_notice_deadline": 20, "band": "danger", "score": 12.0},
     "契約 C9 の解約予告期限 2025-07-20（残り20日）・後続契約なし・ヘルススコア 12.0 🔴"),
])
def test_evidence_lines(signal, evidence, expected):
    assert messages.evidence_line(example_signal(signal=signal, evidence=evidence),
                                  SETTINGS) == expected


def test_digest_is_one_message_for_many_alerts():
    alerts = [example_signal(account_id=f"a{i}", name=f"顧客{i}") for i in range(25)]
    payloads = messages.digest_messages(alerts, SETTINGS, AS_OF)
    assert len(payloads) == 2   # 20 alerts per message
    text = messages.plain_text(payloads[0])
    assert "チャーンリスク アラート 25件（1/2）" in text
    assert text.count("接点なし") == 20
    assert len(payloads[0]["blocks"]) <= 50


# ------------------------------------------------------------------ a webhook on 127.0.0.1


class FakeSlack:
    """An HTTP server answering like a Slack incoming webhook. `script` gives the answers to
    the next requests as (status, body, delay seconds); after it, 200 "ok"."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[tuple[int, str, float]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                status, text, delay = fake.script.pop(0) if fake.script else (200, "ok", 0)
                fake.requests.append({"path": self.path, "body": body, "status": status})
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(text.encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/{SECRET}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def accepted(self) -> list[dict]:
        return [r["body"] for r in self.requests if r["status"] == 200]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack():
    fake = FakeSlack()
    yield fake
    fake.close()


@pytest.fixture
def alert_home(tmp_path):
    """A snapshot where, on the first evaluation, exactly two alerts fire: アルファ and
    ガンマ turn 🔴 at the as-of date (24 days left; 31 a week before). ベータ was 🔴 already
    on the Monday before (17 days left → 24): known, no alert. Everyone logs in and is
    contacted, so only health_red and renewal_at_risk (older) show."""
    home = tmp_path / "data"
    users = [{"user_id": "u1", "name": "山田 太郎", "manager_id": "m1"},
             {"user_id": "m1", "name": "佐藤 花子"}]
    accounts = [{"account_id": a, "name": n, "owner_id": "u1"}
                for a, n in (("A1", "株式会社アルファ"), ("A2", "ベータ株式会社"),
                             ("A3", "ガンマ株式会社"))]
    contracts = [days_left_contract("A1", 24), days_left_contract("A2", 17),
                 days_left_contract("A3", 24)]
    usage = [usage_row(a, days_before(1), logins=1) for a in ("A1", "A2", "A3")]
    activities = [activity(f"e-{a}", a, days_before(1), "email") for a in ("A1", "A2", "A3")]
    build(home, users=users, accounts=accounts, contracts=contracts, usage=usage,
          activities=activities, config=DAYS_LEFT)
    return home


def alert_settings(**alerts):
    return settings_from_dict({**DAYS_LEFT, "alerts": {
        "backoff_seconds": 0.01, "timeout_seconds": 5.0,
        "slack_member_ids": {"u1": "U0OWNER", "m1": "U0MGR"}, **alerts}})


def webhook(fake: FakeSlack, settings, sleeps=None) -> SlackWebhook:
    a = settings.alerts
    return SlackWebhook(fake.url, timeout_seconds=a.timeout_seconds,
                        max_attempts=a.max_attempts, backoff_seconds=a.backoff_seconds,
                        sleep=(sleeps.append if sleeps is not None else time.sleep))


def deliveries(home) -> list[dict]:
    con = sqlite3.connect(home / "meta.sqlite")
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM alert_deliveries ORDER BY id")]
    finally:
        con.close()


def alert_log(home) -> list[tuple]:
    con = sqlite3.connect(home / "meta.sqlite")
    try:
        return con.execute("SELECT account_id, signal, since, fired_on FROM alert_log "
                           "ORDER BY account_id").fetchall()
    finally:
        con.close()


def test_alerts_are_sent_once(alert_home, slack):
    settings = alert_settings()
    store = Store(alert_home)
    run = run_alerts(settings, store, today=AS_OF, sender=webhook(slack, settings))
    assert [(d.shown.account_id, d.shown.signal) for d in run.fired] == [
        ("A1", "health_red"), ("A3", "health_red")]
    assert run.count(ev.KNOWN) == 4   # ベータ's two signals and both renewal_at_risk
    assert len(slack.accepted()) == 2
    first = messages.plain_text(slack.accepted()[0])
    assert "株式会社アルファ" in first and "ヘルススコア🔴" in first
    assert "<@U0OWNER>" in first and "<@U0MGR>" in first
    assert all(r["path"] == f"/services/{SECRET}" for r in slack.requests)
    assert [(d["status"], d["attempts"], d["last_error"]) for d in deliveries(alert_home)] == [
        ("sent", 1, None), ("sent", 1, None)]
    assert alert_log(alert_home) == [("A1", "health_red", "2025-06-30", "2025-06-30"),
                                     ("A3", "health_red", "2025-06-30", "2025-06-30")]
    again = run_alerts(settings, store, today=AS_OF + dt.timedelta(days=1),
                       sender=webhook(slack, settings))
    assert again.fired == [] and again.deliveries == []
    assert len(slack.requests) == 2


def test_digest_mode_sends_one_message(alert_home, slack):
    settings = alert_settings(mode="digest")
    run_alerts(settings, Store(alert_home), today=AS_OF, sender=webhook(slack, settings))
    [payload] = slack.accepted()
    text = messages.plain_text(payload)
    assert "チャーンリスク アラート 2件" in text
    assert "株式会社アルファ" in text and "ガンマ株式会社" in text
    assert [d["mode"] for d in deliveries(alert_home)] == ["digest"]


def test_slack_error_is_recorded_and_retried_by_the_next_run(alert_home, slack):
    settings = alert_settings()
    store = Store(alert_home)
    slack.script = [(400, "invalid_payload", 0), (404, "no_service", 0)]
    run = run_alerts(settings, store, today=AS_OF, sender=webhook(slack, settings))
    assert [(d.ok, d.attempts, d.error) for d in run.deliveries] == [
        (False, 1, "HTTP 400: invalid_payload"), (False, 1, "HTTP 404: no_service")]
    assert [(d["status"], d["last_error"]) for d in deliveries(alert_home)] == [
        ("failed", "HTTP 400: invalid_payload"), ("failed", "HTTP 404: no_service")]
    assert slack.accepted() == []
    retry = run_alerts(settings, store, today=AS_OF + dt.timedelta(days=1),
                       sender=webhook(slack, settings))
    assert retry.fired == []                      # no new alert: the same messages again
    assert [d.ok for d in retry.deliveries] == [True, True]
    assert [(d["status"], d["attempts"], d["last_error"]) for d in deliveries(alert_home)] == [
        ("sent", 2, None), ("sent", 2, None)]
    accepted = [messages.plain_text(p) for p in slack.accepted()]
    assert len(accepted) == 2 and len(set(accepted)) == 2   # each alert accepted once
    assert run_alerts(settings, store, today=AS_OF + dt.timedelta(days=2),
                      sender=webhook(slack, settings)).deliveries == []
    assert len(slack.requests) == 4


def test_server_errors_are_retried_with_backoff(alert_home, slack):
    settings = alert_settings(mode="digest", backoff_seconds=0.5)
    slack.script = [(500, "internal_error", 0), (503, "", 0)]
    sleeps: list[float] = []
    run = run_alerts(settings, Store(alert_home), today=AS_OF,
                     sender=webhook(slack, settings, sleeps))
    assert [(d.ok, d.attempts) for d in run.deliveries] == [(True, 3)]
    assert sleeps == [0.5, 1.0]                   # doubled on each retry
    assert [r["status"] for r in slack.requests] == [500, 503, 200]
    assert len({json.dumps(r["body"], sort_keys=True) for r in slack.requests}) == 1
    [d] = deliveries(alert_home)
    assert (d["status"], d["attempts"], d["last_error"]) == ("sent", 3, None)
    assert d["sent_at"]


def test_server_errors_until_the_last_attempt_fail_the_message(alert_home, slack):
    settings = alert_settings(mode="digest", max_attempts=2)
    slack.script = [(502, "bad gateway", 0), (500, "internal_error", 0)]
    run = run_alerts(settings, Store(alert_home), today=AS_OF, sender=webhook(slack, settings))
    assert [(d.ok, d.attempts, d.error) for d in run.deliveries] == [
        (False, 2, "HTTP 500: internal_error")]


def test_timeout_is_retried_and_then_left_for_the_next_run(alert_home, slack):
    settings = alert_settings(mode="digest", max_attempts=2, timeout_seconds=0.3)
    slack.script = [(200, "ok", 1.5), (200, "ok", 1.5)]
    store = Store(alert_home)
    run = run_alerts(settings, store, today=AS_OF, sender=webhook(slack, settings))
    assert [(d.ok, d.attempts, d.error) for d in run.deliveries] == [
        (False, 2, "timed out after 0.3 s")]
    assert deliveries(alert_home)[0]["status"] == "failed"
    retry = run_alerts(settings, store, today=AS_OF, sender=webhook(slack, settings))
    assert [(d.ok, d.attempts) for d in retry.deliveries] == [(True, 1)]
    assert deliveries(alert_home)[0]["attempts"] == 3
    # The same message body every time: a retry never makes a second alert.
    assert len({json.dumps(r["body"], sort_keys=True) for r in slack.requests}) == 1


def test_dry_run_records_and_sends_nothing(alert_home, slack):
    settings = alert_settings()
    store = Store(alert_home)
    dry = run_alerts(settings, store, today=AS_OF, dry_run=True)
    assert len(dry.fired) == 2 and [d.ok for d in dry.deliveries] == [None, None]
    assert "株式会社アルファ" in dry.deliveries[0].text
    assert slack.requests == [] and deliveries(alert_home) == []
    real = run_alerts(settings, store, today=AS_OF, sender=webhook(slack, settings))
    assert len(real.fired) == 2   # the dry run did not use them up


def test_acknowledged_before_the_run_does_not_alert(alert_home, slack):
    settings = alert_settings()
    store = Store(alert_home)
    alert_actions.acknowledge(store, "A1", "health_red", "u1", comment="対応中")
    run = run_alerts(settings, store, today=AS_OF, sender=webhook(slack, settings))
    assert [d.shown.account_id for d in run.fired] == ["A3"]
    assert run.count(ev.ACKNOWLEDGED) == 1


def test_snoozed_alert_is_sent_after_the_snooze(alert_home, slack):
    settings = alert_settings()
    store = Store(alert_home)
    until = AS_OF + dt.timedelta(days=2)
    alert_actions.snooze(store, "A1", "health_red", until, "u1", today=AS_OF)
    run = run_alerts(settings, store, today=AS_OF, sender=webhook(slack, settings))
    assert [d.shown.account_id for d in run.fired] == ["A3"]
    later = run_alerts(settings, store, today=until + dt.timedelta(days=1),
                       sender=webhook(slack, settings))
    assert [d.shown.account_id for d in later.fired] == ["A1"]
    assert len(slack.accepted()) == 2


# ---------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_env(alert_home, tmp_path, monkeypatch):
    config = tmp_path / "cs_analytics.toml"
    config.write_text('[health]\nweights = {deliveries = 0, logins = 0, touchpoints = 0, '
                      'meetings = 0, conversion = 0, renewal = 1}\n'
                      '[health.thresholds]\ndeliveries = [[0, 0], [3, 40], [6, 70], [12, 100]]\n'
                      'logins = [[0, 0], [4, 50], [8, 80], [12, 100]]\n'
                      'touchpoints = [[0, 0], [2, 50], [4, 80], [6, 100]]\n'
                      'meetings = [[0, 0], [1, 60], [2, 85], [3, 100]]\n'
                      'conversion = [[0, 0], [0.05, 40], [0.10, 70], [0.20, 100]]\n'
                      'renewal = [[0, 0], [100, 100]]\n'
                      '[alerts]\nbackoff_seconds = 0.01\n', encoding="utf-8")
    monkeypatch.setenv("CS_ANALYTICS_HOME", str(alert_home))
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(config))
    monkeypatch.setenv("CS_ANALYTICS_SECRETS", str(tmp_path / "no-secrets.toml"))
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    return monkeypatch


def test_cli_without_webhook_says_where_to_set_it(cli_env, alert_home):
    result = CliRunner().invoke(main, ["alerts"])
    assert result.exit_code == 1
    assert "SLACK_WEBHOOK_URL is not set" in result.stderr
    assert not (alert_home / "meta.sqlite").exists() or deliveries(alert_home) == []


def test_cli_dry_run_prints_the_messages(cli_env):
    result = CliRunner().invoke(main, ["alerts", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "2 new alerts" in result.stdout
    assert "dry run: 2 Slack messages would be sent" in result.stdout
    assert "株式会社アルファ" in result.stdout and "ガンマ株式会社" in result.stdout


def test_cli_sends_and_reports_failures_without_the_secret(cli_env, alert_home, slack):
    cli_env.setenv("SLACK_WEBHOOK_URL", slack.url)
    slack.script = [(404, "no_service", 0)]
    result = CliRunner().invoke(main, ["alerts"])
    assert result.exit_code == 1
    assert "sent 1 of 2 Slack messages" in result.stdout
    assert ("1 Slack messages were not delivered (HTTP 404: no_service); they will be retried "
            "on the next run") in result.stderr
    retry = CliRunner().invoke(main, ["alerts"])
    assert retry.exit_code == 0, retry.output
    assert "0 new alerts" in retry.stdout and "sent 1 of 1 Slack messages" in retry.stdout
    for output in (result.stdout, result.stderr, retry.stdout, retry.stderr):
        assert "SECRET" not in output
    assert "SECRET" not in json.dumps(deliveries(alert_home), default=str)


def test_webhook_repr_hides_the_url(slack):
    hook = SlackWebhook(slack.url)
    assert SECRET not in repr(hook)
    dead = SlackWebhook(f"http://127.0.0.1:9/services/{SECRET}", max_attempts=1,
                        timeout_seconds=1)
    result = dead.send({"text": "x"})
    assert not result.ok and result.error == "could not connect to the Slack webhook"
    assert dataclasses.asdict(result)["error"].count("SECRET") == 0


def test_webhook_url_from_secrets_toml(tmp_path):
    from cs_analytics.outputs.alerts.slack import webhook_url
    from cs_analytics.errors import CsAnalyticsError
    from cs_analytics.secrets import load_secrets

    path = tmp_path / "secrets.toml"
    path.write_text(f'SLACK_WEBHOOK_URL = "https://hooks.slack.com/services/{SECRET}"\n',
                    encoding="utf-8")
    url = webhook_url(load_secrets(environ={}, files=[path]))
    assert url.endswith(SECRET)
    path.write_text('SLACK_WEBHOOK_URL = "not a url"\n', encoding="utf-8")
    with pytest.raises(CsAnalyticsError, match="SLACK_WEBHOOK_URL is not a URL") as error:
        webhook_url(load_secrets(environ={}, files=[path]))
    assert "not a url" not in str(error.value)
