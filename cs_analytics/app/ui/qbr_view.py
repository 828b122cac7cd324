"""The QBR page's sections over a `reports.qbr.QbrPack`: the summary cards, the suggested
talking points, the open signals with their evidence, the customer deck's download and the
batch of this quarter's decks as one zip."""

from __future__ import annotations

import hashlib

import streamlit as st

from cs_analytics.app.ui import downloads, fmt
from cs_analytics.app.ui.i18n import current_language, t
from cs_analytics.app.ui.widgets import Col, amount, band_label, md_escape, report_download, table
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.outputs.reports import qbr, qbr_deck, qbr_slides

PRIORITY_ICONS = {1: "🔴", 2: "🟠", 3: "💡", 4: "ℹ️"}


def summary(pack: qbr.QbrPack) -> None:
    lang = current_language()
    health, renewal, contact = pack.health or {}, pack.renewal, pack.contact
    cols = st.columns(3)
    cols[0].metric(t("col.segment"), pack.segment or "—", border=True)
    cols[1].metric(t("col.score"), fmt.number(health.get("score")), border=True,
                   delta=band_label(health["band"]) if health.get("band") else None,
                   delta_color="off", delta_arrow="off")
    cols[2].metric(t("col.arr"), amount(pack.profile.get("arr")), border=True,
                   help=fmt.yen(pack.profile.get("arr")))
    renewal_text = fmt.date(renewal.get("contract_end"), lang)
    if renewal.get("days_to_renewal") is not None:
        renewal_text += " " + t("qbr.days_to_renewal", days=renewal["days_to_renewal"])
    contact_text = fmt.date(contact.get("last_contact_date"), lang)
    if contact.get("days_since_contact") is not None:
        contact_text += " " + t("account.days_ago_paren", days=contact["days_since_contact"])
    st.caption(" · ".join([
        t("qbr.renewal_line", date=renewal_text,
          status=t(f"qbr.renewal_status.{renewal['status']}")),
        t("account.contacted", date=contact_text)]))


def talking_points(pack: qbr.QbrPack) -> None:
    st.markdown("#### " + t("qbr.talking_points"))
    if not pack.talking_points:
        st.info(t("qbr.no_talking_points"))
        return
    for point in sorted(pack.talking_points, key=lambda p: p.priority):
        with st.container(border=True):
            st.markdown(f"{PRIORITY_ICONS.get(point.priority, '')} **{md_escape(point.topic)}**")
            st.caption(md_escape(point.evidence))
            st.markdown(md_escape(point.suggestion))


def signals(pack: qbr.QbrPack) -> None:
    st.markdown("#### " + t("qbr.signals_title"))
    frame = pack.signals.copy()
    lang = current_language()
    frame["evidence"] = [qbr.signal_evidence(row, lang, pack.usage_summary["window_days"])
                         for row in frame.to_dict("records")]
    table(frame, {"signal": Col("team.col.signals", "enum", "signal"),
                  "since": Col("qbr.col.since", "date"), "evidence": Col("qbr.col.evidence")},
          key="qbr_signals", download=f"qbr-signals-{pack.account_id}",
          empty_key="qbr.no_signals")


def deck_download(snap, settings, pack: qbr.QbrPack) -> None:
    """The customer deck of the pack's account, rendered when clicked; a template that cannot
    be used is said once instead of a button that would fail."""
    try:
        template = qbr_slides.template_path(settings)
    except CsAnalyticsError as exc:
        st.warning(t("qbr.template_error", error=str(exc)))
        return
    fonts = qbr_slides.fonts_of(settings, pack.lang)

    def render(pack):
        deck = qbr_deck.qbr_deck_data(snap, settings, pack.account_id, pack.lang, pack=pack)
        return qbr_slides.render_qbr_deck(deck, fonts, template)

    report_download(render, pack, stem=f"qbr-deck-{pack.account_id}", ext="pptx",
                    mime=qbr_slides.PPTX_MIME, label=t("qbr.download_deck"),
                    key="qbr_deck_download", primary=False)
    st.caption(t("qbr.deck_help"))


def batch_decks(snap, settings, due, quarter_label: str) -> None:
    """Every customer deck of the S/A accounts listed without a QBR yet, in one zip: made on
    a click (with progress), kept for this session and snapshot, then downloaded."""
    lang = current_language()
    st.markdown("#### " + t("qbr.batch_title"))
    pending = due[~due["qbr_done"].astype(bool)] if len(due) else due
    accounts = list(zip(pending["account_id"].tolist(), pending["name"].tolist()))
    if not accounts:
        st.info(t("qbr.batch_none"))
        return
    st.caption(t("qbr.batch_caption", count=len(accounts)))
    key = batch_key(snap.id, lang, quarter_label, accounts)
    if st.button(t("qbr.batch_button", count=len(accounts)), key="qbr_batch_make"):
        bar = st.progress(0.0)

        def progress(done: int, total: int, name: str) -> None:
            bar.progress(done / total if total else 1.0,
                         text=t("qbr.batch_progress", done=done, total=total, name=name))

        try:
            st.session_state[key] = qbr_slides.qbr_decks_zip(snap, settings, accounts, lang,
                                                             progress=progress)
        except CsAnalyticsError as exc:
            st.warning(t("qbr.template_error", error=str(exc)))
            return
        bar.empty()
        st.success(t("qbr.batch_done", count=len(accounts)))
    if key in st.session_state:
        st.download_button(t("qbr.batch_download", count=len(accounts)), st.session_state[key],
                           file_name=downloads.filename(f"qbr-decks-{quarter_label}",
                                                        snap.as_of, "zip"),
                           mime="application/zip", key="qbr_batch_download", icon="📦",
                           on_click="ignore")


def batch_key(snapshot_id: str, lang: str, quarter_label: str, accounts) -> str:
    """Where a session keeps the zip made for this snapshot, language, quarter and accounts."""
    return "qbr_batch_" + hashlib.sha1(
        repr((snapshot_id, lang, quarter_label, list(accounts))).encode()).hexdigest()[:16]
