"""Slack messages for churn-risk alerts (SPEC §5 "Slack"): each names the customer (linked to
its account page), the owner, segment, MRR, last contact date, the evidence, the Salesforce
record, and mentions the owner and the managers. Japanese or English (general.language).

A message is an incoming-webhook payload: `text` (the notification / fallback) and Block Kit
`blocks` in mrkdwn. Text from the data is escaped (&, <, >) so a customer name cannot inject
links or mentions.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from cs_analytics.config import Settings
from cs_analytics.outputs.alerts.evaluation import ShownSignal

# Alerts per digest message: Slack allows 50 blocks and ~3,000 characters per section.
DIGEST_PAGE = 20

BAND_EMOJI = {"healthy": "🟢", "caution": "🟡", "warning": "🟠", "danger": "🔴"}
SIGNAL_EMOJI = {"no_login_60d": ":zzz:", "deliveries_drop_50": ":chart_with_downwards_trend:",
                "no_contact_60d": ":telephone_receiver:", "health_red": ":red_circle:",
                "renewal_at_risk": ":hourglass_flowing_sand:",
                "notice_deadline_near": ":calendar:"}

LABELS = {
    "ja": {
        "title": "チャーンリスク",
        "digest_title": "チャーンリスク アラート {n}件",
        "owner": "担当", "segment": "セグメント", "mrr": "MRR", "last_contact": "最終接点",
        "health": "ヘルススコア", "evidence": "根拠", "as_of": "データ基準日",
        "salesforce": "Salesforceで開く", "none": "なし", "page": "（{page}/{pages}）",
        "signals": {
            "no_login_60d": "ログインなし（{no_login_days}日以上）",
            "deliveries_drop_50": "配信数の急減（直近{window}日がその前の{window}日の"
                                  "{ratio}以下）",
            "no_contact_60d": "接点なし（{no_contact_days}日以上）",
            "health_red": "ヘルススコア🔴",
            "renewal_at_risk": "更新リスク（{renewal_days}日以内に契約終了・後続契約なし）",
            "notice_deadline_near": "解約予告期限が近い（{notice_days}日以内・自動更新・"
                                    "ヘルス🟠🔴またはリスクあり）",
        },
        "no_login": "最終ログイン {date}（{days}日前）",
        "no_login_never": "ログインの記録なし（{days}日間）",
        "deliveries": "配信数 直近{window}日 {last}件 / その前の{window}日 {previous}件",
        "no_contact": "最終接点 {date} {type}（{days}日前）",
        "no_contact_never": "接点の記録なし（{days}日間）",
        "health_red": "ヘルススコア {score} {emoji}　最大の低下要因: {detractor}",
        "renewal": "契約終了日 {date}（残り{days}日）・後続契約なし・ヘルススコア {score} {emoji}",
        "notice": "契約 {contract} の解約予告期限 {date}（残り{days}日）・後続契約なし・"
                  "ヘルススコア {score} {emoji}",
        "contact_types": {"meeting": "MTG", "email": "メール", "call": "電話"},
        "components": {"deliveries": "配信数", "logins": "ログイン", "touchpoints": "接点",
                       "meetings": "MTG", "conversion": "転換率", "renewal": "更新"},
    },
    "en": {
        "title": "Churn risk",
        "digest_title": "Churn-risk alerts: {n}",
        "owner": "Owner", "segment": "Segment", "mrr": "MRR", "last_contact": "Last contact",
        "health": "Health score", "evidence": "Evidence", "as_of": "Data as of",
        "salesforce": "Open in Salesforce", "none": "none", "page": " ({page}/{pages})",
        "signals": {
            "no_login_60d": "No login for {no_login_days}+ days",
            "deliveries_drop_50": "Deliveries dropped (last {window} days ≤ {ratio} of the "
                                  "{window} before)",
            "no_contact_60d": "No contact for {no_contact_days}+ days",
            "health_red": "Health score 🔴",
            "renewal_at_risk": "Renewal at risk (ends within {renewal_days} days, nothing "
                               "following signed)",
            "notice_deadline_near": "Notice deadline near (within {notice_days} days, "
                                    "auto-renewing, health 🟠/🔴 or another signal)",
        },
        "no_login": "last login {date} ({days} days ago)",
        "no_login_never": "no login recorded ({days} days)",
        "deliveries": "deliveries: last {window} days {last} / the {window} before {previous}",
        "no_contact": "last contact {date} {type} ({days} days ago)",
        "no_contact_never": "no contact recorded ({days} days)",
        "health_red": "health score {score} {emoji}, biggest detractor: {detractor}",
        "renewal": "contract ends {date} ({days} days left), nothing following signed, "
                   "health score {score} {emoji}",
        "notice": "contract {contract}: cancellation notice deadline {date} ({days} days "
                  "left), nothing following signed, health score {score} {emoji}",
        "contact_types": {"meeting": "meeting", "email": "email", "call": "call"},
        "components": {"deliveries": "deliveries", "logins": "logins",
                       "touchpoints": "touchpoints", "meetings": "meetings",
                       "conversion": "conversion rate", "renewal": "renewal"},
    },
}


def escape(text) -> str:
    """Slack mrkdwn control characters in data (names, subjects) as entities."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def account_url(settings: Settings, account_id: str) -> str:
    base = settings.general.app_base_url.rstrip("/")
    return f"{base}/account?account_id={quote(str(account_id), safe='')}"


def _link(url: str, label: str) -> str:
    # "|" and ">" would end the link early; the URL is percent-encoded where they could occur.
    safe_url = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe_url}|{escape(label)}>"


def _labels(settings: Settings) -> dict:
    return LABELS.get(settings.general.language, LABELS["ja"])


def signal_label(signal: str, settings: Settings) -> str:
    s = settings.signals
    return _labels(settings)["signals"][signal].format(
        no_login_days=s.no_login_days, window=s.deliveries_window_days,
        ratio=f"{s.deliveries_drop_ratio:.0%}", no_contact_days=s.no_contact_days,
        renewal_days=s.renewal_at_risk_days, notice_days=s.notice_deadline_days)


def _date(value) -> str:
    if value is None:
        return "—"
    return value.isoformat() if isinstance(value, dt.date) else str(value)[:10]


def _score(value) -> str:
    return "—" if value is None else f"{value:.1f}"


def evidence_line(shown: ShownSignal, settings: Settings) -> str:
    """One sentence of evidence for the signal, from its evidence fields."""
    L = _labels(settings)
    e = shown.evidence
    if shown.signal == "no_login_60d":
        if e.get("last_login_date"):
            return L["no_login"].format(date=_date(e["last_login_date"]),
                                        days=e.get("days_since_login"))
        return L["no_login_never"].format(days=e.get("days_since_login"))
    if shown.signal == "deliveries_drop_50":
        return L["deliveries"].format(window=settings.signals.deliveries_window_days,
                                      last=e.get("deliveries_last_window"),
                                      previous=e.get("deliveries_previous_window"))
    if shown.signal == "no_contact_60d":
        if e.get("last_contact_date"):
            kind = L["contact_types"].get(e.get("last_contact_type"), e.get("last_contact_type"))
            return L["no_contact"].format(date=_date(e["last_contact_date"]), type=kind or "",
                                          days=e.get("days_since_contact"))
        return L["no_contact_never"].format(days=e.get("days_since_contact"))
    if shown.signal == "health_red":
        detractor = L["components"].get(e.get("top_detractor"), L["none"])
        return L["health_red"].format(score=_score(e.get("score")),
                                      emoji=BAND_EMOJI.get(e.get("band"), ""),
                                      detractor=detractor)
    if shown.signal == "renewal_at_risk":
        return L["renewal"].format(date=_date(e.get("contract_end_date")),
                                   days=e.get("days_to_end"), score=_score(e.get("score")),
                                   emoji=BAND_EMOJI.get(e.get("band"), ""))
    if shown.signal == "notice_deadline_near":
        return L["notice"].format(contract=e.get("notice_contract_id"),
                                  date=_date(e.get("notice_deadline")),
                                  days=e.get("days_to_notice_deadline"),
                                  score=_score(e.get("score")),
                                  emoji=BAND_EMOJI.get(e.get("band"), ""))
    raise ValueError(f"unknown signal {shown.signal}")


def _yen(value) -> str:
    return "—" if value is None else f"¥{value:,.0f}"


def mention_ids(shown: ShownSignal, settings: Settings) -> list[str]:
    """Users to mention, in order: the owner, the owner's manager, the configured managers."""
    users = [shown.owner_id, shown.owner_manager_id, *settings.alerts.manager_user_ids]
    seen: list[str] = []
    for user in users:
        if user and user not in seen:
            seen.append(user)
    return seen


def _mention(user_id: str | None, settings: Settings, fallback: str | None = None) -> str:
    member = settings.alerts.slack_member_ids.get(user_id or "")
    if member:
        return f"<@{member}>"
    return escape(fallback or user_id or "—")


def _mentions(users: list[str], settings: Settings) -> str:
    return " ".join(f"<@{settings.alerts.slack_member_ids[u]}>" for u in users
                    if u in settings.alerts.slack_member_ids)


def _headline(shown: ShownSignal, settings: Settings) -> str:
    name = _link(account_url(settings, shown.account_id), shown.name or shown.account_id)
    emoji = SIGNAL_EMOJI.get(shown.signal, ":warning:")
    return f"{emoji} *{name}* — {escape(signal_label(shown.signal, settings))}"


def _facts(shown: ShownSignal, settings: Settings) -> list[tuple[str, str]]:
    L = _labels(settings)
    contact = _date(shown.last_contact_date)
    if shown.last_contact_date is not None and shown.last_contact_type:
        contact += " " + L["contact_types"].get(shown.last_contact_type, shown.last_contact_type)
    health = f"{_score(shown.score)} {BAND_EMOJI.get(shown.band, '')}".strip()
    return [(L["owner"], _mention(shown.owner_id, settings, shown.owner_name)),
            (L["segment"], escape(shown.segment or "—")),
            (L["mrr"], _yen(shown.mrr)),
            (L["last_contact"], contact),
            (L["health"], health)]


def _links(shown: ShownSignal, settings: Settings) -> str:
    if shown.sf_url:
        return _link(shown.sf_url, _labels(settings)["salesforce"])
    return ""


def alert_message(shown: ShownSignal, settings: Settings, as_of: dt.date) -> dict:
    """The payload of one alert (alerts.mode = 'each')."""
    L = _labels(settings)
    evidence = escape(evidence_line(shown, settings))
    facts = _facts(shown, settings)
    # The owner is mentioned in the facts; the context line copies the managers in.
    managers = [u for u in mention_ids(shown, settings) if u != shown.owner_id]
    context = [c for c in (_links(shown, settings), f"{L['as_of']} {as_of.isoformat()}",
                           _mentions(managers, settings)) if c]
    text = (f"{L['title']}: {escape(shown.name or shown.account_id)} — "
            f"{escape(signal_label(shown.signal, settings))} ({evidence})")
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": _headline(shown, settings)
                                         + f"\n*{L['evidence']}:* {evidence}"}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"}
                                           for k, v in facts]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "　".join(context)}]},
        ],
    }


def digest_messages(alerts: list[ShownSignal], settings: Settings, as_of: dt.date
                    ) -> list[dict]:
    """The payloads of a digest (alerts.mode = 'digest'): one message, or one per
    DIGEST_PAGE alerts when there are more."""
    if not alerts:
        return []
    L = _labels(settings)
    pages = [alerts[i:i + DIGEST_PAGE] for i in range(0, len(alerts), DIGEST_PAGE)]
    messages = []
    for number, page in enumerate(pages, start=1):
        title = L["digest_title"].format(n=len(alerts))
        if len(pages) > 1:
            title += L["page"].format(page=number, pages=len(pages))
        blocks = [{"type": "section", "text": {
            "type": "mrkdwn", "text": f"*{escape(title)}*　{L['as_of']} {as_of.isoformat()}"}}]
        users: list[str] = []
        for shown in page:
            facts = "　".join(f"{k}: {v}" for k, v in _facts(shown, settings))
            link = _links(shown, settings)
            body = (f"{_headline(shown, settings)}\n{escape(evidence_line(shown, settings))}"
                    f"\n{facts}" + (f"\n{link}" if link else ""))
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body}})
            users += [u for u in mention_ids(shown, settings)
                      if u not in users and u != shown.owner_id]
        mentions = _mentions(users, settings)
        if mentions:
            blocks.append({"type": "context",
                           "elements": [{"type": "mrkdwn", "text": mentions}]})
        messages.append({"text": title, "blocks": blocks})
    return messages


def plain_text(payload: dict) -> str:
    """A payload as readable text (what `alerts --dry-run` prints)."""
    parts = []
    for block in payload.get("blocks", []):
        if "text" in block:
            parts.append(block["text"]["text"])
        for f in block.get("fields", []):
            parts.append(f["text"].replace("\n", ": ", 1))
        for e in block.get("elements", []):
            parts.append(e["text"])
    return "\n".join(parts) or payload.get("text", "")
