"""The parts of the account page (顧客カルテ) that more than a line each: the account picker
(kept in ?account_id=), the header, and the health sections."""

from __future__ import annotations

import datetime as dt
from types import MappingProxyType

import numpy as np
import pandas as pd
import streamlit as st

from cs_analytics import clock
from cs_analytics.app.ui import charts, data, fmt, widgets
from cs_analytics.app.ui.filters import View
from cs_analytics.app.ui.i18n import current_language, t, translate
from cs_analytics.app.ui.session import viewer
from cs_analytics.app.ui.widgets import Col, band_label, md_escape, table
from cs_analytics.config import BANDS
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import accounts, health, signals as signal_metrics
from cs_analytics.metrics import health_summary as health_summary_metrics
from cs_analytics.metrics.filters import mask
from cs_analytics.outputs.reports.qbr import signal_evidence
from cs_analytics.outputs.writeback import outbox
from cs_analytics.userdata import assessments
from cs_analytics.warehouse.store import Snapshot

PARAM = "account_id"
ASSESSMENT_DAYS = 30  # a manual assessment's expiry offered first


def pick_account(snap: Snapshot, view: View) -> str | None:
    """The account in the URL (a drill-down or a shared link), else the first of the list;
    changing the picker rewrites the URL."""
    ids, labels = data.call_shared(_picker_options, snap, view.filters, current_language())
    wanted = st.query_params.get(PARAM)
    if wanted and wanted not in labels and viewer().owner_scope is None:
        # (a viewer limited to a portfolio never reaches accounts outside it, links included)
        extra = data.call(accounts.profile, snap, wanted)
        if extra is not None:  # a link to an account outside the current filters
            ids, labels = (wanted, *ids), {**labels, wanted: extra["name"]}
    if not ids:
        return None
    if wanted in labels and wanted != st.session_state.get("_account_url"):
        st.session_state["account_pick"] = wanted  # arrived through a link
    elif st.session_state.get("account_pick") not in labels:
        st.session_state["account_pick"] = ids[0]
    chosen = st.selectbox(t("account.pick"), ids, key="account_pick",
                          format_func=lambda a: labels.get(a, a))
    st.session_state["_account_url"] = chosen
    if st.query_params.get(PARAM) != chosen:
        st.query_params[PARAM] = chosen
    return chosen


def _picker_options(snap: Snapshot, filters, lang: str) -> tuple[tuple, MappingProxyType]:
    """The picker's account ids (`accounts.account_list` order) and their labels, "name（owner）",
    for the accounts `filters` selects: made once per snapshot, filters and language and
    shared, read-only, by every run. Every account's label is made once per language, with
    the list's rows held by the metrics."""
    rows = accounts.account_list.rows(snap)
    ids = rows.memo("ids", lambda: rows.frame()["account_id"].to_numpy(dtype=object))
    pattern = "{}（{}）" if lang == "ja" else "{} ({})"
    labels = rows.memo(("labels", lang), lambda: np.array([pattern.format(name, owner) for
                                                          name, owner in zip(
        rows.frame()["name"].tolist(), rows.frame()["owner_name"].tolist())], dtype=object))
    kept = mask(filters, snap, rows)
    if kept is not None:
        ids, labels = ids[kept], labels[kept]
    chosen = tuple(ids.tolist())
    return chosen, MappingProxyType(dict(zip(chosen, labels.tolist())))


def header(snap: Snapshot, profile: dict) -> None:
    """Name, owner and the facts a CS member checks first; the Salesforce link."""
    lang = current_language()
    st.subheader(md_escape(profile["name"]))
    facts = [t("account.owner", name=md_escape(profile["owner_name"] or "—")),
             t("account.industry", name=md_escape(profile["industry"] or "—"))]
    if profile.get("phase"):
        facts.append(t("account.stage", name=t(f"account.phase.{profile['phase']}")))
    facts.append(t("account.since", month=fmt.month(profile["first_month"], lang)))
    facts.append(t("account.ends", date=fmt.date(profile["last_end_date"], lang)))
    contact = fmt.date(profile["last_contact_date"], lang)
    if profile["days_since_contact"] is not None:
        contact += " " + t("account.days_ago_paren", days=profile["days_since_contact"])
    facts.append(t("account.contacted", date=contact))
    st.caption(" · ".join(facts))
    cols = st.columns([1, 1, 2])
    cols[0].metric(t("col.mrr"), widgets.amount(profile["mrr"]), border=True,
                   help=fmt.yen(profile["mrr"]))
    cols[1].metric(t("col.arr"), widgets.amount(profile["arr"]), border=True,
                   help=fmt.yen(profile["arr"]))
    salesforce = data.salesforce_org().link(profile.get("sf_url"))
    if salesforce:  # only a link to the configured org (cs_analytics.outputs.links)
        with cols[2]:
            st.link_button(t("account.open_salesforce"), salesforce, icon="☁️")


def health_summary(snap: Snapshot, account_id: str, store) -> None:
    """Score, band and change, the top detractor and segment, with the manual assessment (if
    one is valid) shown beside the computed score."""
    lang = current_language()
    current = data.call(health_summary_metrics.account_current, snap, account_id)
    manual = assessments.current_assessments(store).get(account_id)
    if current is None:
        st.info(t("account.not_scored"))
    else:
        cols = st.columns(4)
        change = current.get("score_change")
        cols[0].metric(t("col.score"), fmt.number(current["score"]), border=True,
                       delta_description=t("account.vs_last_week"),
                       **widgets.delta(change, None if change is None else fmt.signed(change, 1)))
        cols[1].metric(t("col.band"), band_label(current["band"]), border=True,
                       **_band_change(current["band"], current.get("band_4w_before")))
        cols[2].metric(t("health.col.detractor"),
                       t(f"component.{current['top_detractor']}")
                       if current.get("top_detractor") else "—", border=True)
        segment = data.call(health_summary_metrics.account_segment, snap, account_id)
        cols[3].metric(t("col.segment"), segment or "—", border=True)
    if manual is not None:
        st.info(t("account.manual", band=band_label(manual.band), author=md_escape(manual.author),
                  until=fmt.date(manual.expires_on, lang),
                  comment=md_escape(manual.comment or "—")))


def _band_change(band: str, before: str | None) -> dict:
    """The band card's change: the band of 4 weeks earlier when it was another, green when the
    account moved to a healthier band, red when to a worse one; nothing when unchanged."""
    if not before or before == band or before not in BANDS or band not in BANDS:
        return {}
    better = BANDS.index(band) < BANDS.index(before)
    return {"delta": t("account.band_was", band=band_label(before)),
            "delta_color": "green" if better else "red",
            "delta_arrow": "up" if better else "down"}


def signals(snap: Snapshot, account_id: str) -> None:
    st.markdown("#### " + t("account.signals_title"))
    frame = data.call(signal_metrics.signals_on, snap, None, (), None, account_id)
    lang = current_language()
    frame["evidence"] = [signal_evidence(r, lang) for r in frame.to_dict("records")]
    table(frame, {"signal": Col("team.col.signals", "enum", "signal"),
                  "since": Col("qbr.col.since", "date"), "evidence": Col("qbr.col.evidence")},
          key="account_signals", download=f"signals-{account_id}", empty_key="qbr.no_signals")


def health_history(snap: Snapshot, account_id: str, settings) -> None:
    history = data.call(health.history, snap, account_id)
    if history.empty:
        st.info(t("account.not_scored"))
        return
    charts.show(charts.health_history(history, settings.health.bands, t("account.health_title")),
                key="account_health")
    current = data.call(health_summary_metrics.account_current, snap, account_id)
    components = health_summary_metrics.account_components(current)
    components["input"] = [component_input(c, v, settings, current_language())
                           for c, v in zip(components["component"], components["value"])]
    table(components, {
        "component": Col("glossary.col.component", "enum", "component"),
        "input": Col("account.col.input"), "score": Col("col.score", "score"),
        "weight": Col("glossary.col.share", "pct"),
        "contribution": Col("health.col.contribution", "number"),
        "lost": Col("health.col.lost", "number"),
    }, key="account_components", download=f"health-components-{account_id}")


def component_input(component: str, value, settings, lang: str) -> str | None:
    """What a health component measured, with its unit and window: '9回（直近90日の配信）',
    '契約終了まで 83日' — not a bare 83.0."""
    if value is None or pd.isna(value):
        return None
    windows = settings.health.windows
    days = {"deliveries": windows.deliveries_days, "logins": windows.logins_days,
            "touchpoints": windows.touchpoints_days, "meetings": windows.meetings_days,
            "conversion": windows.conversion_days}.get(component)
    shown = fmt.pct(value) if component == "conversion" else fmt.number(value)
    return translate(lang, f"account.input.{component}", value=shown, days=days)


def assessment(store, account_id: str) -> None:
    """Record a manual assessment (band, comment, expiry) and list the earlier ones."""
    st.markdown("#### " + t("account.assessment_title"))
    st.caption(t("account.assessment_help"))
    with st.form(f"assessment_form_{account_id}", clear_on_submit=True):
        left, right = st.columns(2)
        # no band until one is chosen: a default would record 🟢 for a 🔴 account
        band = left.selectbox(t("col.band"), BANDS, key="assessment_band", index=None,
                              format_func=_band_formatter(),
                              placeholder=t("account.pick_band"))
        today = clock.today(data.settings())
        expires = right.date_input(t("account.expires"), key="assessment_expires",
                                   value=today + dt.timedelta(days=ASSESSMENT_DAYS))
        comment = st.text_input(t("check.comment"), key="assessment_comment")
        if st.form_submit_button(t("account.record_assessment")):
            if band is None:
                st.error(t("account.band_required"))
            else:
                try:
                    assessments.record_assessment(store, account_id, band, expires,
                                                  viewer().author, comment, today=today)
                    st.rerun()
                except CsAnalyticsError as exc:
                    st.error(str(exc))
    recorded = pd.DataFrame([vars(a) for a in assessments.assessment_history(store, account_id)],
                            columns=["id", "band", "comment", "expires_on", "author",
                                     "created_at"])
    columns = {
        "band": Col("col.band", "band"), "comment": Col("check.comment"),
        "expires_on": Col("account.expires", "date"), "author": Col("review.col.author"),
        "created_at": Col("account.col.written", "moment")}
    recorded, columns = with_outbox(recorded, columns, store, "assessment", account_id)
    table(recorded, columns, key="account_assessments", download=f"assessments-{account_id}",
          empty_key="account.no_assessments")


def with_outbox(frame: pd.DataFrame, columns: dict, store, kind: str, account_id: str
                ) -> tuple[pd.DataFrame, dict]:
    """With the write-back on, the notes (assessments) say whether each is in Salesforce yet,
    and Salesforce's reason for one it refused; otherwise they are shown as they are."""
    if not outbox.enabled(data.settings()):
        return frame, columns
    frame = outbox.with_status(frame, store, kind, account_id)
    columns = {**columns, "salesforce": Col("account.col.salesforce", "enum", "outbox.status")}
    if frame["salesforce_error"].notna().any():
        columns["salesforce_error"] = Col("account.col.salesforce_error")
    return frame, columns


def _band_formatter():
    lang = current_language()
    return lambda band: translate(lang, f"band.{band}")
