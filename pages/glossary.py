"""指標の定義 — every definition and threshold, generated from the configuration."""

import streamlit as st

from cs_analytics.app.ui import data, glossary, session, widgets
from cs_analytics.app.ui.i18n import current_language, t
from cs_analytics.app.ui.widgets import Col
from cs_analytics.config import BANDS

session.ensure_navigation()

settings = data.settings()
widgets.title("glossary.title")
st.caption(t("glossary.intro", source=settings.source_path or t("glossary.defaults_only")))

values = glossary.definition_values(settings)
for section, keys in glossary.DEFINITIONS:
    st.subheader(t(f"glossary.section.{section}"))
    for key in keys:
        with st.expander(t(f"glossary.name.{key}"), expanded=section == "revenue"):
            st.markdown(t(f"glossary.def.{key}", **values))

st.subheader(t("glossary.targets_title"))
targets = glossary.targets_table(settings)
targets["metric"] = [t(f"kpi.{m}") for m in targets["metric"]]
targets["direction"] = [t(f"glossary.direction.{d}") for d in targets["direction"]]
targets["basis"] = [t(f"glossary.basis.{b}") for b in targets["basis"]]
widgets.table(targets, {
    "name": Col("glossary.col.name"), "metric": Col("glossary.col.metric"),
    "direction": Col("glossary.col.direction"), "value": Col("glossary.col.target"),
    "basis": Col("glossary.col.basis"),
}, key="glossary_targets", download="targets")

st.subheader(t("glossary.components_title"))
components = glossary.health_components(settings)
components["component"] = [t(f"component.{c}") for c in components["component"]]
widgets.table(components, {
    "component": Col("glossary.col.component"), "weight": Col("glossary.col.weight", "number"),
    "share": Col("glossary.col.share", "pct"), "window_days": Col("glossary.col.window", "int"),
    "points": Col("glossary.col.points"), "onboarding_points": Col("glossary.col.onboarding"),
}, key="glossary_components", download="health-components")

st.subheader(t("glossary.matrix_title"))
matrix = glossary.segment_matrix(settings)
matrix["tier"] = [t(f"tier.{v}") for v in matrix["tier"]]
widgets.table(matrix, {"tier": Col("glossary.col.tier"),
                       **{b: Col(f"band.{b}") for b in BANDS}},
              key="glossary_matrix", download="segment-matrix")

st.subheader(t("glossary.settings_title"))
st.caption(t("glossary.settings_intro"))
widgets.table(glossary.settings_table(settings, current_language()), {
    "key": Col("glossary.col.key"), "value": Col("glossary.col.value"),
    "default": Col("glossary.col.default"), "doc": Col("glossary.col.doc"),
}, key="glossary_settings", download="settings", height=480)
