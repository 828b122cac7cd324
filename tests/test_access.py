"""Access control (issue 9): with [auth] configured every page needs a sign-in; the email must be
an active user (role from the users table), an admin email or an allowed domain; managers and
executives see everything and may refresh/upload; members see the team's data but cannot change
it, or only their own portfolio when access.restrict_members_to_own_accounts is on."""

import pytest

from cs_analytics.access import Access, AccessDenied, decide
from cs_analytics.config import settings_from_dict
from cs_analytics.store import Store
from test_app_common import demo_home, make_app, texts, use_home  # noqa: F401

AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-cookie",
        "client_id": "test", "client_secret": "test",
        "server_metadata_url": "https://login.example.com/.well-known/openid-configuration"}


def users(snap):
    return {r[0]: r[1:] for r in snap.rows(
        "SELECT user_id, email, role FROM users ORDER BY user_id")}


def email_of(snap, role):
    return next(email for email, r in users(snap).values() if r == role)


# --------------------------------------------------------------------------- the rules


def test_active_users_get_their_role(demo_home):
    snap = Store(demo_home).open_current()
    settings = settings_from_dict({})
    for user_id, (email, role) in users(snap).items():
        access = decide(email.upper(), snap, settings)  # emails compare case-insensitively
        assert (access.role, access.user_id, access.owner_scope) == (role, user_id, None)
    assert decide(email_of(snap, "executive"), snap, settings).can_manage_data
    assert decide(email_of(snap, "manager"), snap, settings).can_manage_data
    assert not decide(email_of(snap, "member"), snap, settings).can_manage_data


def test_unknown_and_missing_emails_are_refused(demo_home):
    snap = Store(demo_home).open_current()
    settings = settings_from_dict({})
    with pytest.raises(AccessDenied, match="stranger@evil.example is not an active user"):
        decide("stranger@evil.example", snap, settings)
    with pytest.raises(AccessDenied, match="did not provide an email"):
        decide(None, snap, settings)


def test_inactive_users_are_refused(make_snapshot):
    snap = make_snapshot(users=[{"user_id": "u1", "name": "退職者", "email": "gone@example.co.jp",
                                 "role": "manager", "active": False}],
                         as_of="2026-03-31")
    with pytest.raises(AccessDenied):
        decide("gone@example.co.jp", snap, settings_from_dict({}))


def test_allowed_domains_and_admin_emails(make_snapshot):
    snap = make_snapshot(users=[{"user_id": "u1", "name": "佐藤", "email": "sato@example.co.jp",
                                 "role": "member"}],
                         as_of="2026-03-31")
    settings = settings_from_dict({"access": {"allowed_domains": ["partner.example"],
                                              "admin_emails": ["Boss@Example.co.jp"]}})
    assert decide("new@partner.example", snap, settings) == Access(role="member")
    assert decide("boss@example.co.jp", None, settings) == Access(role="manager")
    restricted = settings_from_dict({"access": {"allowed_domains": ["partner.example"],
                                                "restrict_members_to_own_accounts": True}})
    assert decide("new@partner.example", snap, restricted).owner_scope == ()
    assert decide("sato@example.co.jp", snap, restricted).owner_scope == ("u1",)


# --------------------------------------------------------------------------- in the app


def signed_in(email, query=None, lang="en"):
    at = make_app(lang, query)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": email, "name": "Test"}
    at.run()
    assert not at.exception, at.exception
    return at


def test_every_page_needs_sign_in(demo_home, use_home):
    use_home(demo_home)
    for page in ("overview", "revenue", "account", "data", "kpi_report"):
        at = make_app("en")
        at.secrets["auth"] = AUTH
        at.user = {"is_logged_in": False}
        at.run()
        if page != "overview":
            at.switch_page(f"pages/{page}.py").run()
        assert not at.exception
        assert [b.label for b in at.button] == ["Sign in"], page
        assert not at.dataframe and not at.metric and not at.get("plotly_chart"), page


def test_unknown_email_sees_no_data(demo_home, use_home):
    use_home(demo_home)
    at = signed_in("stranger@evil.example")
    assert "Access denied: stranger@evil.example is not an active user" in texts(at)
    assert [b.label for b in at.button] == ["Sign out"]
    assert not at.dataframe and not at.metric and not at.get("plotly_chart")


def test_managers_may_upload_and_refresh_members_may_not(demo_home, use_home):
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    for role in ("executive", "manager"):
        at = signed_in(email_of(snap, role))
        at.switch_page("pages/data.py").run()
        assert at.file_uploader, role
        assert "Only managers and executives" not in texts(at)
    at = signed_in(email_of(snap, "member"))
    at.switch_page("pages/data.py").run()
    assert not at.file_uploader
    assert "Only managers and executives can import or refresh data." in texts(at)
    assert not [b for b in at.button if "efresh" in b.label]


def test_members_see_the_team_by_default(demo_home, use_home):
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    at = signed_in(email_of(snap, "member"))
    at.switch_page("pages/account.py").run()
    owners = snap.scalar("SELECT count(DISTINCT owner_id) FROM accounts")
    listed = at.selectbox(key="account_pick").options
    assert len(listed) == snap.scalar("SELECT count(*) FROM accounts") and owners > 1


def test_restricted_members_see_only_their_portfolio(demo_home, use_home, tmp_path, monkeypatch):
    use_home(demo_home)
    config = tmp_path / "cs.toml"
    config.write_text("[access]\nrestrict_members_to_own_accounts = true\n", encoding="utf-8")
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(config))
    snap = Store(demo_home).open_current()
    member_id, email = snap.rows(
        "SELECT u.user_id, u.email FROM users u JOIN accounts a ON a.owner_id = u.user_id "
        "WHERE u.role = 'member' GROUP BY ALL ORDER BY count(*) DESC LIMIT 1")[0]
    own = dict(snap.rows("SELECT account_id, name FROM accounts WHERE owner_id = ?", [member_id]))
    other_id, other_name = snap.rows(
        "SELECT account_id, name FROM accounts WHERE owner_id <> ? ORDER BY 1 LIMIT 1",
        [member_id])[0]

    at = signed_in(email, query={"account_id": other_id})
    at.switch_page("pages/account.py").run()
    assert not at.exception
    options = at.selectbox(key="account_pick").options  # "name (owner)" labels
    assert len(options) == len(own)
    assert all(any(label.startswith(name) for name in own.values()) for label in options)
    assert at.selectbox(key="account_pick").value in own
    assert other_name not in texts(at), "a link does not open another owner's account"

    at.switch_page("pages/team.py").run()
    assert not at.exception
    shown = texts(at) + " ".join(str(df.value.to_dict()) for df in at.dataframe)
    assert other_name not in shown

    at.switch_page("pages/kpi_report.py").run()
    assert "company-wide figures" in texts(at)
    assert not at.metric

    # managers keep the whole picture under the same settings
    at = signed_in(email_of(snap, "manager"), query={"account_id": other_id})
    at.switch_page("pages/account.py").run()
    assert at.selectbox(key="account_pick").value == other_id
