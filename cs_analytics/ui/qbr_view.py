"""The QBR page's sections over a `reports.qbr.QbrPack`: the summary cards, the suggested
talking points and the open signals with their evidence."""

from __future__ import annotations

import streamlit as st

from cs_analytics.reports import qbr
from cs_analytics.ui import fmt
from cs_analytics.ui.i18n import current_language, t
from cs_analytics.ui.widgets import Col, amount, band_label, md_escape, table

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
    frame["evidence"] = [qbr.signal_evidence(row, lang) for row in frame.to_dict("records")]
    table(frame, {"signal": Col("team.col.signals", "enum", "signal"),
                  "since": Col("qbr.col.since", "date"), "evidence": Col("qbr.col.evidence")},
          key="qbr_signals", download=f"qbr-signals-{pack.account_id}",
          empty_key="qbr.no_signals")
