"""Who is using the app, as decided once per run by app.py (`resolve_viewer`).

Pages ask `viewer()` what the user may do; they never look at login state themselves, so access
rules change in one place.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass

import streamlit as st
from streamlit import runtime
from streamlit.runtime.runtime import Runtime
from streamlit.runtime.scriptrunner import script_runner

from cs_analytics.app.ui.i18n import t
from cs_analytics.app.ui.widgets import md_escape
from streamlit.runtime.pages_manager import PagesManager

VIEWER_KEY = "_viewer"
# What Streamlit runs instead of app.py in its pages-folder mode (see ensure_navigation); a
# Streamlit without it leaves only the mode's flag to go by.
_PAGES_FOLDER_RUNNER = getattr(getattr(script_runner, "_mpa_v1", None), "__code__", None)


@dataclass(frozen=True)
class Viewer:
    """The person behind the session.

    owner_scope: the owners whose accounts this viewer may see; None = every account.
    signed_in: False when the app runs open (no [auth] in .streamlit/secrets.toml).
    """

    name: str
    role: str = "manager"               # member | manager | executive
    email: str | None = None
    user_id: str | None = None
    signed_in: bool = False
    owner_scope: tuple[str, ...] | None = None

    @property
    def can_manage_data(self) -> bool:
        """Refresh, upload and configuration: managers and executives."""
        return self.role in ("manager", "executive")

    @property
    def sees_nothing(self) -> bool:
        """Limited to a portfolio but linked to no owner: no page may show a figure."""
        return self.owner_scope is not None and len(self.owner_scope) == 0

    @property
    def author(self) -> str:
        """What user-entered records (notes, reviews, acknowledgements) are signed with."""
        return self.email or self.name


OPEN_VIEWER = Viewer(name="local", role="manager")


def set_viewer(viewer: Viewer) -> None:
    st.session_state[VIEWER_KEY] = viewer


def viewer() -> Viewer:
    return st.session_state.get(VIEWER_KEY, OPEN_VIEWER)


def sign_in_available() -> bool:
    """Whether Streamlit can run the sign-in flow (its auth extra, Authlib, is installed)."""
    return importlib.util.find_spec("authlib") is not None


def account_box(current: Viewer) -> None:
    """The sidebar's line about who is using the app: the signed-in name and role with a
    sign-out button, or that the app runs open (without sign-in)."""
    box = st.sidebar.container(border=True)
    if not current.signed_in:
        box.caption(t("auth.open_mode"))
        return
    box.caption(t("auth.signed_in_as", name=md_escape(current.name),
                  role=t(f"auth.role.{current.role}")))
    if current.email and current.email != current.name:
        box.caption(md_escape(current.email))
    box.button(t("auth.sign_out"), on_click=st.logout, key="sign_out", width="stretch")


def served_from() -> tuple[str | None, str | None, dict[str, str]] | None:
    """How this session reaches the server: the server's listening address (None or "":
    every interface), the connection's peer (None for localhost) and the request's HTTP
    headers — or None when no HTTP server runs the script (AppTest)."""
    if type(runtime.get_instance()) is not Runtime:  # AppTest runs scripts on a stand-in
        return None
    return st.get_option("server.address"), st.context.ip_address, dict(st.context.headers)


def auth_configured() -> bool:
    """True when `[auth]` is present in .streamlit/secrets.toml (login required)."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False
    except Exception:  # a broken secrets file: treat as configured so the app fails closed
        return True


def ensure_navigation() -> None:
    """Run every script through app.py's st.navigation, never in Streamlit's older
    pages-folder mode. A new server starts in that mode because of the pages/ folder, until
    the first st.navigation call switches it out for good. A session that began in that mode
    runs a page URL (a shared link, a bookmark) as that file alone, without app.py's frame,
    and the app's root as that mode's main page. Called first by app.py and by every page:
    a script started by that mode switches it off and reruns (same URL, same query
    parameters) before drawing anything. The run is recognised by the mode's runner on the
    call stack, not by the mode's flag alone: when several first visitors arrive at once,
    another session may switch the flag off after this run began in the old mode."""
    if PagesManager.uses_pages_directory or _started_in_pages_folder_mode():
        PagesManager.uses_pages_directory = False
        st.rerun()


def _started_in_pages_folder_mode() -> bool:
    if _PAGES_FOLDER_RUNNER is None:
        return False
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is _PAGES_FOLDER_RUNNER:
            return True
        frame = frame.f_back
    return False
