"""CS Analytics — the Streamlit app: router and the frame shared by every page.

`streamlit run app.py`. This file decides who the user is (`resolve_viewer`), the language, the
sidebar filters (kept in the URL) and the "data as of" banner, then runs the page chosen in the
navigation. Pages (pages/*.py) only read filters, call cs_analytics and render.
"""

from __future__ import annotations

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from cs_analytics.app import serving
from cs_analytics.app.access import AccessDenied, decide
from cs_analytics.app.ui import data, filters, widgets
from cs_analytics.app.ui.i18n import LANG_KEY, LANGUAGES, t
from cs_analytics.app.ui.nav import DEFAULT_PAGE, PAGES, ROOT_PATH, SECTIONS
from cs_analytics.app.ui.session import (OPEN_VIEWER, Viewer, account_box, auth_configured,
                                         ensure_navigation, served_from, set_viewer,
                                         sign_in_available)
from cs_analytics.errors import CsAnalyticsError

# "auto": the sidebar starts open on a desktop and collapsed on a phone, where it would cover
# most of the screen.
st.set_page_config(page_title="CS Analytics", page_icon="📈", layout="wide",
                   initial_sidebar_state="auto")
ensure_navigation()


def resolve_viewer(settings) -> Viewer:
    """The one place that decides who is using the app (rules: cs_analytics/app/access.py).

    Without an [auth] section in .streamlit/secrets.toml the app runs open, for this computer
    only: a request showing the app is reachable from elsewhere is refused unless
    `server.allow_anonymous` says so (cs_analytics/app/serving.py). With it, every page requires
    signing in first, and the signed-in email must belong to an active user (role from the
    users table) or an allowed domain; a member limited to a portfolio that has no owner
    linked sees no figure at all.
    """
    if not auth_configured():
        origin = served_from()
        reached_from = None if origin is None else serving.remote_origin(*origin)
        if reached_from is not None and not settings.server.allow_anonymous:
            st.title("CS Analytics")
            st.error(t("auth.exposed", origin=widgets.md_escape(reached_from)))
            st.stop()
        return OPEN_VIEWER
    if not sign_in_available():
        st.title("CS Analytics")
        st.error(t("auth.missing_authlib"))
        st.stop()
    if not st.user.is_logged_in:
        st.title("CS Analytics")
        st.info(t("auth.sign_in_required"))
        st.button(t("auth.sign_in"), on_click=st.login, type="primary")
        st.stop()
    email = st.user.get("email")
    try:
        access = decide(email, data.current_snapshot(), settings)
    except AccessDenied as exc:
        st.title("CS Analytics")
        st.error(t(f"auth.denied.{exc.reason}", email=widgets.md_escape(exc.email or "")))
        st.button(t("auth.sign_out"), on_click=st.logout)
        st.stop()
    viewer = Viewer(name=str(access.name or st.user.get("name") or email), role=access.role,
                    email=email, user_id=access.user_id, signed_in=True,
                    owner_scope=access.owner_scope)
    if viewer.sees_nothing:
        account_box(viewer)
        st.title("CS Analytics")
        st.warning(t("auth.not_linked"))
        st.stop()
    return viewer


def choose_language(default: str) -> None:
    """The language switch; seeded once from ?lang= or the configured default."""
    filters.restore(LANG_KEY)
    if LANG_KEY not in st.session_state:
        wanted = st.query_params.get("lang", default)
        st.session_state[LANG_KEY] = wanted if wanted in LANGUAGES else default
    st.sidebar.radio(t("frame.language"), LANGUAGES, key=LANG_KEY, horizontal=True,
                     format_func=lambda code: {"ja": "日本語", "en": "English"}[code])
    filters.keep(LANG_KEY)
    if st.session_state[LANG_KEY] == default:
        st.query_params.pop("lang", None)
    elif st.query_params.get("lang") != st.session_state[LANG_KEY]:
        st.query_params["lang"] = st.session_state[LANG_KEY]


def navigation() -> StreamlitPage:
    """The menu. Every page has a stable URL, /<name>; the default page is also the app's
    root, so its own URL is a hidden second entry (Streamlit gives the default page the root
    alone)."""
    sections: dict[str, list] = {t(f"nav.section.{s}"): [] for s in SECTIONS}
    for spec in PAGES:
        title = t(f"nav.{spec.name}")
        section = sections[t(f"nav.section.{spec.section}")]
        if spec.name == DEFAULT_PAGE:
            section.append(st.Page(spec.path, title=title, icon=spec.icon, default=True,
                                   url_path=ROOT_PATH))
            section.append(st.Page(spec.path, title=title, icon=spec.icon, url_path=spec.name,
                                   visibility="hidden"))
        else:
            section.append(st.Page(spec.path, title=title, icon=spec.icon, url_path=spec.name))
    return st.navigation(sections)


try:
    settings = data.settings()
except CsAnalyticsError as exc:
    st.error(t("frame.config_error", error=str(exc)))
    st.stop()

choose_language(settings.general.language)
viewer = resolve_viewer(settings)
set_viewer(viewer)
account_box(viewer)
page = navigation()
snapshot = data.current_snapshot()
if snapshot is not None:
    try:
        filters.sidebar(snapshot, settings, viewer)
    except CsAnalyticsError as exc:
        st.sidebar.error(str(exc))
widgets.banner(snapshot)
widgets.damage_notice(snapshot, None if snapshot is not None else data.snapshot_damage())
widgets.access_notice(viewer.signed_in, settings.server.allow_anonymous)
try:
    page.run()
except CsAnalyticsError as exc:  # e.g. a filter this snapshot cannot apply: one sentence
    st.error(str(exc))
