"""Who may see what once login is configured ([auth] in .streamlit/secrets.toml).

The signed-in email must belong to an active user of the current snapshot (role from the users
table), or to `access.admin_emails` (managers), or to a domain in `access.allowed_domains`
(members). Executives and managers see everything and may refresh, upload and change settings;
members see the whole team's data — the CS team covers for each other — unless
`access.restrict_members_to_own_accounts` limits them to their own portfolio.
"""

from __future__ import annotations

from dataclasses import dataclass

from cs_analytics.config import Settings
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.warehouse.store import Snapshot

ROLES = ("member", "manager", "executive")


class AccessDenied(CsAnalyticsError):
    """The signed-in person is not allowed in. `reason` names the case (the app says it in
    its own language): "no_email" or "not_a_user"."""

    MESSAGES = {
        "no_email": "your sign-in did not provide an email address",
        "not_a_user": "{email} is not an active user of CS Analytics; ask your CS manager to "
                      "add you to the users table",
    }

    def __init__(self, reason: str, email: str | None = None):
        self.reason, self.email = reason, email
        super().__init__(self.MESSAGES[reason].format(email=email))


@dataclass(frozen=True)
class Access:
    role: str                                 # member | manager | executive
    user_id: str | None = None
    name: str | None = None
    owner_scope: tuple[str, ...] | None = None  # None = every account; () = none at all

    @property
    def can_manage_data(self) -> bool:
        return self.role in ("manager", "executive")

    def may_see_owner(self, owner_id: str | None) -> bool:
        return self.owner_scope is None or owner_id in self.owner_scope

    @property
    def sees_nothing(self) -> bool:
        """Restricted to a portfolio, but linked to no owner: no figure may be shown."""
        return self.owner_scope is not None and len(self.owner_scope) == 0


def decide(email: str | None, snap: Snapshot | None, settings: Settings) -> Access:
    """The access of a signed-in email; AccessDenied when it has none."""
    email = (email or "").strip().lower()
    if not email or "@" not in email:
        raise AccessDenied("no_email")
    rules = settings.access
    if email in {e.strip().lower() for e in rules.admin_emails}:
        return Access(role="manager")
    user = _user_by_email(snap, email)
    if user is not None:
        user_id, name, role = user
        role = role if role in ROLES else "member"
        scope = (user_id,) if role == "member" and rules.restrict_members_to_own_accounts else None
        return Access(role=role, user_id=user_id, name=name, owner_scope=scope)
    domain = email.rsplit("@", 1)[1]
    if domain in {d.strip().lower().lstrip("@") for d in rules.allowed_domains}:
        # Without a user row there is no portfolio to restrict to: nothing, when restricted
        # (the app then shows no figure at all, not the unfiltered company).
        scope = () if rules.restrict_members_to_own_accounts else None
        return Access(role="member", owner_scope=scope)
    raise AccessDenied("not_a_user", email)


def _user_by_email(snap: Snapshot | None, email: str):
    if snap is None:
        return None
    rows = snap.rows(
        "SELECT user_id, name, role FROM users WHERE lower(trim(email)) = ? "
        "AND coalesce(active, true) ORDER BY user_id LIMIT 1", [email])
    return rows[0] if rows else None
