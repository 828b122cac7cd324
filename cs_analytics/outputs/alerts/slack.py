"""Delivery to a Slack incoming webhook (URL from SLACK_WEBHOOK_URL, in the environment or
.streamlit/secrets.toml). The URL is a credential: it never appears in output, logs or
recorded errors.

Plain `requests`, not slack_sdk's WebhookClient: a webhook is one JSON POST, `requests` is
already a dependency, and the retry policy must be ours — attempts counted and recorded per
message, backoff from settings ([alerts] max_attempts, backoff_seconds, timeout_seconds), 4xx
answers recorded with Slack's error text — which WebhookClient's retry handlers would hide.

Outcomes of one POST:
    200                          accepted (Slack answers "ok")
    429, 5xx, timeout, no connection   retried with exponential backoff (429 waits at least
                                 its Retry-After, capped at 60 s)
    other 4xx                    failed at once with Slack's error body, e.g. "HTTP 400:
                                 invalid_payload", "HTTP 404: no_service" (retrying would
                                 not help in this run)
A timed-out request may still have been posted by Slack (webhooks have no idempotency key),
so a timeout retried can, rarely, show a message twice; every other path sends once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

import requests

from cs_analytics.errors import CsAnalyticsError
from cs_analytics.secrets import Secrets, load_secrets

WEBHOOK_KEY = "SLACK_WEBHOOK_URL"
MAX_RETRY_AFTER = 60.0


@dataclass(frozen=True)
class SendResult:
    ok: bool
    attempts: int
    error: str | None = None
    status: int | None = None


def webhook_url(secrets: Secrets | None = None) -> str:
    """The webhook URL, or a one-sentence error saying where to set it (never showing it)."""
    secrets = secrets or load_secrets()
    url = secrets.get(WEBHOOK_KEY)
    if not url:
        raise CsAnalyticsError(
            f"{WEBHOOK_KEY} is not set: put the Slack incoming-webhook URL in the environment "
            "or in .streamlit/secrets.toml (or use --dry-run to see the messages)")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise CsAnalyticsError(
            f"{WEBHOOK_KEY} is not a URL: expected https://hooks.slack.com/services/…")
    return url


class SlackWebhook:
    """Posts payloads to one incoming webhook with retries. `sleep` is injectable for tests."""

    def __init__(self, url: str, *, timeout_seconds: float = 10.0, max_attempts: int = 4,
                 backoff_seconds: float = 1.0, sleep: Callable[[float], None] = time.sleep,
                 secrets: Secrets | None = None):
        self._url = url
        self.timeout_seconds = timeout_seconds
        self.max_attempts = max(1, max_attempts)
        self.backoff_seconds = backoff_seconds
        self._sleep = sleep
        self._secrets = secrets or Secrets({WEBHOOK_KEY: url})
        self._session = requests.Session()

    def __repr__(self) -> str:
        return "SlackWebhook(url=***)"

    def send(self, payload: dict) -> SendResult:
        error, status = None, None
        for attempt in range(1, self.max_attempts + 1):
            wait = self.backoff_seconds * 2 ** (attempt - 1)
            try:
                response = self._session.post(self._url, json=payload,
                                              timeout=self.timeout_seconds,
                                              allow_redirects=False)
            except requests.Timeout:
                error, status = f"timed out after {self.timeout_seconds:g} s", None
            except requests.ConnectionError:
                error, status = "could not connect to the Slack webhook", None
            except requests.RequestException as exc:
                error, status = f"request failed ({type(exc).__name__})", None
            else:
                status = response.status_code
                if status == 200:
                    return SendResult(True, attempt, None, status)
                error = self._safe(f"HTTP {status}: {_body(response)}")
                if status == 429:
                    wait = max(wait, _retry_after(response))
                elif not 500 <= status < 600:
                    return SendResult(False, attempt, error, status)
            if attempt < self.max_attempts:
                self._sleep(wait)
        return SendResult(False, self.max_attempts, error, status)

    def _safe(self, text: str) -> str:
        return self._secrets.redact(text)


def _body(response: requests.Response) -> str:
    text = (response.text or "").strip()
    return " ".join(text.split())[:200] or response.reason or "no error text"


def _retry_after(response: requests.Response) -> float:
    try:
        return min(float(response.headers.get("Retry-After", 0)), MAX_RETRY_AFTER)
    except ValueError:
        return 0.0
