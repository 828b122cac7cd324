"""データ管理 — snapshot and refresh history, file upload with validation, refresh with progress."""

import streamlit as st

from cs_analytics import clock, writeback
from cs_analytics.errors import CsAnalyticsError, ValidationFailed
from cs_analytics.ui import admin, data, session, widgets
from cs_analytics.ui.i18n import current_language, formatter, t
from cs_analytics.ui.session import auth_configured, viewer
from cs_analytics.ui.widgets import Col
from cs_analytics.writeback import outbox

session.ensure_navigation()

KINDS = ("auto", "accounts", "users", "contracts", "activities", "usage")

settings, store, user = data.settings(), data.store(), viewer()
snap = data.current_snapshot()
widgets.title("data.title")
if not auth_configured() and not settings.server.allow_anonymous:  # (anonymous: the banner)
    st.info(t("data.open_notice"))

st.subheader(t("data.current_title"))
if snap is None:
    st.warning(t("data.no_snapshot"))
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
    st.caption(t("data.upload_help", mb=settings.import_.upload_max_mb))
    if not user.can_manage_data:
        st.warning(t("data.not_allowed"))
    else:
        with st.form("upload_form", clear_on_submit=False):
            files = st.file_uploader(t("data.files"), type=list(admin.UPLOAD_TYPES),
                                     accept_multiple_files=True, key="upload_files")
            kind = st.selectbox(t("data.kind"), KINDS, format_func=formatter("data.kinds"),
                                key="upload_kind")
            replace = st.checkbox(t("data.replace"), key="upload_replace")
            submitted = st.form_submit_button(t("data.import_button"), type="primary")
        if submitted and not files:
            st.warning(t("data.no_files"))
        elif submitted and admin.too_large([f.size for f in files], settings.import_.upload_max_mb):
            st.error(t("data.too_large", mb=settings.import_.upload_max_mb))
        elif submitted:
            from cs_analytics.imports import import_files

            folder, paths, names = admin.save_uploads(files)
            lang = current_language()
            try:
                with st.status(t("data.importing"), expanded=True) as status:
                    result = import_files(settings, store, paths,
                                          kind=None if kind == "auto" else kind, replace=replace,
                                          progress=lambda m: status.write(widgets.md_escape(m)),
                                          source="upload", display_names=names)
                    status.update(label=t("data.import_done"), state="complete")
                st.success(t("data.import_success", as_of=result.published.as_of.isoformat(),
                             id=result.published.snapshot.id))
                for warning in result.warnings:  # the files', in the UI's language
                    st.warning(widgets.md_escape(warning.line(lang)))
                files = {str(w) for w in result.warnings}
                for warning in result.published.warnings:  # the build's own
                    if warning not in files:
                        st.warning(widgets.md_escape(warning))
            except ValidationFailed as exc:
                st.error(t("data.validation_failed",
                           message=widgets.md_escape(exc.localized(lang))))
                widgets.table(admin.problems_frame(exc.problems, lang), {
                    "file": Col("data.col.file"), "row": Col("data.col.row", "int"),
                    "column": Col("data.col.column"), "message": Col("data.col.message"),
                }, key="upload_problems", download="import-problems")
                if exc.mapping:
                    st.caption(t("data.mapping_hint"))
                    st.code(exc.mapping, language="toml")
            except CsAnalyticsError as exc:
                st.error(t("data.import_failed", message=widgets.md_escape(exc.localized(lang))))
            finally:
                folder.cleanup()

with refresh_tab:
    is_demo = snap is None or snap.is_demo
    st.caption(t("data.refresh_help_demo" if is_demo else "data.refresh_help"))
    if not user.can_manage_data:
        st.warning(t("data.not_allowed"))
    elif st.button(t("data.refresh_button"), type="primary", key="refresh_button"):
        run = admin.CommandRun(admin.refresh_command(is_demo, current_language()))
        with st.status(t("data.refreshing"), expanded=True) as status:
            for line in run:
                status.write(line)
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
                          counts=admin.push_counts(last["rows"])))
            if last["error"]:
                st.error(last["error"])
        waiting = outbox.counts(store)
        if outbox.enabled(settings) and waiting["pending"]:
            st.warning(t("data.outbox_pending", pending=waiting["pending"])
                       + (t("data.outbox_refused", refused=waiting["refused"])
                          if waiting["refused"] else ""))
    st.subheader(t("data.refreshes_title"))
    widgets.table(admin.refresh_table(store), {
        "id": Col("data.col.id", "int"), "source": Col("data.col.source"),
        "started_at": Col("data.col.started"), "finished_at": Col("data.col.finished"),
        "outcome": Col("data.col.outcome", "enum", "data.outcome"),
        "snapshot_id": Col("data.col.snapshot"),
        "rows": Col("data.col.rows"), "error": Col("data.col.error"),
    }, key="refresh_log", download="refresh-log", empty_key="data.no_refreshes")
    st.subheader(t("data.snapshots_title"))
    snapshots = admin.snapshot_table(store)
    snapshots["problem"] = [widgets.problem_text(p, markdown=False) for p in snapshots["problem"]]
    widgets.table(snapshots, {
        "id": Col("data.col.snapshot"), "current": Col("data.col.current"),
        "shown": Col("data.col.shown"), "size_mb": Col("data.col.size", "number"),
        "written_at": Col("data.col.written"), "problem": Col("data.col.problem"),
    }, key="snapshot_list", download="snapshots", empty_key="data.no_snapshot")
