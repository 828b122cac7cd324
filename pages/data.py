"""データ管理 — snapshot and refresh history, file upload with validation, refresh with progress."""

import streamlit as st

from cs_analytics import clock
from cs_analytics.app.ui import admin, data, session, upload, widgets
from cs_analytics.app.ui.i18n import current_language, t
from cs_analytics.app.ui.session import auth_configured, viewer
from cs_analytics.app.ui.widgets import Col
from cs_analytics.outputs import writeback
from cs_analytics.outputs.writeback import outbox

session.ensure_navigation()

settings, store, user, lang = data.settings(), data.store(), viewer(), current_language()
snap = data.current_snapshot()
outdated = data.snapshot_outdated() if snap is None else None
widgets.title("data.title")
if not auth_configured() and not settings.server.allow_anonymous:  # (anonymous: the banner)
    st.info(t("data.open_notice"))

st.subheader(t("data.current_title"))
if snap is None:
    st.warning(widgets.outdated_text(outdated) if outdated else t("data.no_snapshot"))
else:
    meta = snap.meta
    st.markdown(t("data.current_line", source=widgets.md_escape(meta["source"]),
                  as_of=snap.as_of.isoformat(), id=snap.id)
                + (" · " + t("frame.demo_label") if snap.is_demo else ""))
    cols = st.columns(5)
    for col, table in zip(cols, ("users", "accounts", "contracts", "activities", "usage")):
        col.metric(t(f"data.table.{table}"), f"{meta['rows'].get(table, 0):,}")

upload_tab, refresh_tab, history_tab = st.tabs(
    [t("data.upload_title"), t("data.refresh_title"), t("data.history_title")])

with upload_tab:
    if user.can_manage_data:
        upload.form(settings, store, snap)
    else:
        st.warning(t("data.not_allowed"))

with refresh_tab:
    is_demo = snap is None or snap.is_demo
    st.caption(t("data.refresh_help_outdated" if outdated else
                 "data.refresh_help_demo" if is_demo else "data.refresh_help"))
    if not user.can_manage_data:
        st.warning(t("data.not_allowed"))
    elif st.button(t("data.refresh_button"), type="primary", key="refresh_button"):
        run = admin.CommandRun(admin.refresh_command(is_demo, current_language(), outdated is not None))
        with st.status(t("data.refreshing"), expanded=True) as status:
            for line in run:
                status.write(admin.progress_text(line, lang))
            ok = run.returncode == 0
            status.update(label=t("data.refresh_done" if ok else "data.refresh_failed_label"),
                          state="complete" if ok else "error")
        if ok:
            st.success(t("data.refresh_success"))
        else:
            st.error(t("data.refresh_failed", message=run.error or str(run.returncode)))

with history_tab:
    if outbox.enabled(settings) or writeback.last_push(store) is not None:
        st.subheader(t("data.push_title"))
        last = writeback.last_push(store)
        if last is None:
            st.caption(t("data.push_none"))
        else:
            st.markdown(t("data.push_last", time=clock.local_text(last["finished_at"], settings),
                          outcome=t(f"data.outcome.{last['outcome']}"),
                          counts=admin.push_counts(last["rows"], lang)))
            if last["error"]:
                st.error(last["error"])
        waiting = outbox.counts(store)
        if outbox.enabled(settings) and waiting["pending"]:
            st.warning(t("data.outbox_pending", pending=waiting["pending"])
                       + (t("data.outbox_refused", refused=waiting["refused"])
                          if waiting["refused"] else ""))
    st.subheader(t("data.refreshes_title"))
    widgets.table(admin.refresh_table(store, settings, lang), {
        "id": Col("data.col.id", "int"), "source": Col("data.col.source"),
        "started_at": Col("data.col.started"), "finished_at": Col("data.col.finished"),
        "outcome": Col("data.col.outcome", "enum", "data.outcome"),
        "snapshot_id": Col("data.col.snapshot"),
        "rows": Col("data.col.rows"), "error": Col("data.col.error"),
    }, key="refresh_log", download="refresh-log", empty_key="data.no_refreshes")
    st.subheader(t("data.snapshots_title"))
    snapshots = admin.snapshot_table(store, settings)
    snapshots["problem"] = [widgets.problem_text(p, markdown=False) for p in snapshots["problem"]]
    widgets.table(snapshots, {
        "id": Col("data.col.snapshot"), "current": Col("data.col.current"),
        "shown": Col("data.col.shown"), "size_mb": Col("data.col.size", "number"),
        "written_at": Col("data.col.written"), "problem": Col("data.col.problem"),
    }, key="snapshot_list", download="snapshots", empty_key="data.no_snapshot")
