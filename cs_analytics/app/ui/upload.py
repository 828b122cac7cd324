"""The Data page's upload form: what an import will do to the current data, said before the
button is pressed; the import with its progress in the UI's language; the outcome, and every
problem when nothing was imported."""

from __future__ import annotations

import streamlit as st

from cs_analytics.app.ui import admin, widgets
from cs_analytics.app.ui.i18n import current_language, formatter, t
from cs_analytics.app.ui.widgets import Col
from cs_analytics.config import Settings
from cs_analytics.errors import CsAnalyticsError, ValidationFailed
from cs_analytics.ingest.imports import import_files
from cs_analytics.warehouse.store import Snapshot, Store

KINDS = ("auto", "accounts", "users", "contracts", "activities", "usage")


def form(settings: Settings, store: Store, snap: Snapshot | None) -> None:
    limit = settings.import_.upload_max_mb
    over_demo = snap is None or snap.is_demo  # the first real import starts afresh
    st.caption(t("data.upload_help", mb=limit))
    st.warning(t("data.first_import" if over_demo else "data.merge_import"), icon="ℹ️")
    with st.form("upload_form", clear_on_submit=False):
        files = st.file_uploader(t("data.files"), type=list(admin.UPLOAD_TYPES),
                                 accept_multiple_files=True, key="upload_files",
                                 max_upload_size=limit)
        kind = st.selectbox(t("data.kind"), KINDS, format_func=formatter("data.kinds"),
                            key="upload_kind")
        replace = False if over_demo else st.checkbox(
            t("data.replace"), key="upload_replace", help=t("data.replace_help"))
        submitted = st.form_submit_button(t("data.import_button"), type="primary")
    if not submitted:
        return
    if not files:
        st.warning(t("data.no_files"))
    elif admin.too_large([f.size for f in files], limit):
        st.error(t("data.too_large", mb=limit))
    else:
        _run(settings, store, files, None if kind == "auto" else kind, replace, over_demo)


def _run(settings: Settings, store: Store, files, kind: str | None, replace: bool,
         over_demo: bool) -> None:
    lang = current_language()
    folder, paths, names = admin.save_uploads(files)
    try:
        with st.status(t("data.importing"), expanded=True) as status:
            try:
                result = import_files(
                    settings, store, paths, kind=kind, replace=replace, source="upload",
                    display_names=names,
                    progress=lambda line: status.write(
                        widgets.md_escape(admin.progress_text(line, lang))))
            except CsAnalyticsError as exc:
                status.update(label=t("data.import_failed_label"), state="error",
                              expanded=False)
                failure = exc
            else:
                status.update(label=t("data.import_done"), state="complete")
                failure = None
    finally:
        folder.cleanup()
    if failure is None:
        st.success(t("data.import_success", as_of=result.published.as_of.isoformat(),
                     id=result.published.snapshot.id))
        for warning in result.warnings:  # the files', in the UI's language
            st.warning(widgets.md_escape(warning.line(lang)))
        from_files = {str(w) for w in result.warnings}
        for warning in result.published.warnings:  # the build's own
            if warning not in from_files:
                st.warning(widgets.md_escape(warning))
    elif isinstance(failure, ValidationFailed):
        if over_demo:
            st.error(t("data.validation_failed_over_demo"))
        st.error(t("data.validation_failed",
                   message=widgets.md_escape(failure.localized(lang))))
        widgets.table(admin.problems_frame(failure.problems, lang), {
            "file": Col("data.col.file"), "row": Col("data.col.row", "int"),
            "column": Col("data.col.column"), "message": Col("data.col.message"),
        }, key="upload_problems", download="import-problems")
        if failure.mapping:
            st.caption(t("data.mapping_hint"))
            st.code(failure.mapping, language="toml")
    else:
        st.error(t("data.import_failed", message=widgets.md_escape(failure.localized(lang))))
