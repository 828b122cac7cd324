"""Who is using the app, as decided once per run by app.py (`resolve_viewer`).

Pages ask `viewer()` what the user may do; they never look at login state themselves, so access
rules change in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

VIEWER_KEY = "_viewer"


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
    def author(self) -> str:
        """What user-entered records (notes, reviews, acknowledgements) are signed with."""
        return self.email or self.name


OPEN_VIEWER = Viewer(name="local", role="manager")


def set_viewer(viewer: Viewer) -> None:
    st.session_state[VIEWER_KEY] = viewer


def viewer() -> Viewer:
    return st.session_state.get(VIEWER_KEY, OPEN_VIEWER)


def auth_configured() -> bool:
    """True when `[auth]` is present in .streamlit/secrets.toml (login required)."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False
    except Exception:  # a broken secrets file: treat as configured so the app fails closed
        return True


def ensure_navigation() -> None:
    """Run the page through app.py (st.navigation), never on its own.

    When the first request after the server starts is a page URL (a shared link, a bookmark),
    Streamlit runs that file directly in its older pages-folder mode, without app.py's frame.
    The first st.navigation call switches the server out of that mode for good; a page that
    finds itself running alone switches it and reruns, which goes through app.py."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
