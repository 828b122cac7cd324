"""Access control (issue 9, issue 21 items 0–4): with [auth] configured every page needs a
sign-in; the email must be an active user (role from the users table), an admin email or an
allowed domain; managers and executives see everything and may refresh/upload; members see the
team's data but cannot change it, or only their own portfolio when
access.restrict_members_to_own_accounts is on — and nothing at all when no owner is linked to
them. Without [auth] the app serves this computer only. Names from data are plain text.

The real sign-in flow (a local OpenID Connect provider, Chromium) is in
tests/test_browser_access.py."""

import importlib.metadata
import re
import socket
import subprocess
import sys

import pandas as pd
import pytest

from cs_analytics.app import serving
from cs_analytics.app.access import Access, AccessDenied, decide
from cs_analytics.app.ui import session
from cs_analytics.app.ui.i18n import translate
from cs_analytics.app.ui.nav import PAGES
from cs_analytics.app.ui.widgets import md_escape
from cs_analytics.config import REPO_ROOT, settings_from_dict
from cs_analytics.metrics import team
from cs_analytics.outputs.links import SalesforceOrg, salesforce_org
from cs_analytics.secrets import Secrets
from cs_analytics.warehouse.store import Store
from test_app_common import demo_home, make_app, running_server, texts, use_home  # noqa: F401
from test_browser import _free_port

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


def as_read(markdown: str) -> str:
    """Markdown source as a reader sees it: escapes and invisible word joiners removed."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_unknown_email_sees_no_data_and_is_refused_in_the_ui_language(demo_home, use_home,
                                                                      lang):
    use_home(demo_home)
    at = signed_in("stranger@evil.example", lang=lang)
    refusal = [as_read(e.value) for e in at.error]
    assert refusal == [translate(lang, "auth.denied.not_a_user",
                                 email="stranger@evil.example")]
    if lang == "ja":  # no English sentence leaks into the Japanese refusal
        assert "not an active user" not in refusal[0] and "ask your" not in refusal[0]
        assert "アクセスできません" in refusal[0]
    assert [b.label for b in at.button] == [translate(lang, "auth.sign_out")]
    assert not at.dataframe and not at.metric and not at.get("plotly_chart")


def test_requirements_hold_streamlits_auth_extra():
    """A fresh clone installs what st.login needs (Authlib, httpx): without it, pressing
    Sign in shows StreamlitMissingAuthlibError with a traceback."""
    text = (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8")
    pinned = {re.split(r"[\[=<>~ ]", line, maxsplit=1)[0].lower()
              for line in text.splitlines() if line.strip() and not line.startswith("#")}
    extra = [re.split(r"[\[=<>~ ;]", r, maxsplit=1)[0].lower()
             for r in importlib.metadata.requires("streamlit") if 'extra == "auth"' in r]
    assert extra and set(extra) <= pinned, (extra, pinned)
    assert "streamlit[auth]==" in text


def test_signed_in_sidebar_shows_name_role_and_sign_out(demo_home, use_home):
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    email = email_of(snap, "member")
    name = snap.scalar("SELECT name FROM users WHERE email = ?", [email])
    at = signed_in(email, lang="ja")
    box = " ".join(as_read(c.value) for c in at.sidebar.caption)
    assert f"{name} としてサインイン中（メンバー）" in box.replace("**", "")
    assert email in box
    assert [b.label for b in at.sidebar.button] == ["サインアウト"]
    at = signed_in(email_of(snap, "manager"), lang="en")
    assert "(manager)" in " ".join(c.value for c in at.sidebar.caption)


# --------------------------------------------------------------------------- item 1


@pytest.fixture
def restricted(tmp_path, monkeypatch):
    config = tmp_path / "cs.toml"
    config.write_text("[access]\nrestrict_members_to_own_accounts = true\n"
                      "allowed_domains = [\"partner.example\"]\n", encoding="utf-8")
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(config))


@pytest.mark.parametrize("page", [p.name for p in PAGES])
def test_a_member_linked_to_no_owner_sees_no_figure_on_any_page(demo_home, use_home, restricted,
                                                                page):
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    any_account = snap.scalar("SELECT min(account_id) FROM accounts")
    at = signed_in("new@partner.example", lang="en", query={"account_id": any_account})
    if page != "overview":
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    assert [w.value for w in at.warning] == [translate("en", "auth.not_linked")]
    assert not at.metric and not at.dataframe and not at.get("plotly_chart")
    assert not at.get("download_button") and not at.selectbox and not at.text_area
    shown = texts(at) + " ".join(c.value for c in at.sidebar.caption)
    names = [r[0] for r in snap.rows("SELECT name FROM accounts")]
    assert not any(name in shown for name in names)
    assert [b.label for b in at.sidebar.button] == ["Sign out"]


# --------------------------------------------------------------------------- item 2


def test_restricted_weekly_review_is_the_members_own_portfolio(demo_home, use_home, restricted,
                                                               tmp_path):
    home = tmp_path / "home"
    import shutil

    shutil.copytree(demo_home, home)
    use_home(home)
    store = Store(home)
    snap = store.open_current()
    member_id, email, name = snap.rows(
        "SELECT u.user_id, u.email, u.name FROM users u JOIN accounts a ON a.owner_id = "
        "u.user_id WHERE u.role = 'member' GROUP BY ALL ORDER BY count(*) DESC LIMIT 1")[0]
    from cs_analytics.userdata import reviews

    week = reviews.last_complete_week(snap.as_of)  # the week the page opens on
    reviews.save_review(store, team.ALL_TEAM, week, author="boss", results="会社全体の秘密")
    at = signed_in(email, lang="ja")  # (AppTest formats the week picker in the default one)
    at.switch_page("pages/weekly_review.py").run()
    assert not at.exception, at.exception
    picker = at.selectbox(key="review_team")
    assert picker.options == [translate("ja", "review.portfolio_of", name=name)]
    assert picker.value == member_id
    own = team.week_numbers(snap, [member_id], week, None)
    everyone = team.week_numbers(snap, team.team_owner_ids(snap, team.ALL_TEAM), week, None)
    assert own["meetings"] != everyone["meetings"] or own["accounts"] != everyone["accounts"]
    shown = {m.label: m.value for m in at.metric}
    assert shown[translate("ja", "review.meetings")] == str(own["meetings"])
    assert "会社全体の秘密" not in [t.value for t in at.text_area]
    at.text_area(key=f"review_results_{member_id}_{week}").input("my week")
    at.button[0].click().run()  # Save
    assert reviews.get_review(store, member_id, week)["results"] == "my week"
    assert reviews.get_review(store, team.ALL_TEAM, week)["results"] == "会社全体の秘密"


def test_portfolio_teams_and_their_owners():
    """Within a portfolio scope a team is its one owner; any other key has nobody."""
    class Snap:
        def query(self, sql, params):
            return pd.DataFrame({"team": params["scope"], "manager_id": [None],
                                 "name": ["佐藤"], "members": [1]})

    assert list(team.teams(Snap(), ("u1",))["team"]) == ["u1"]
    assert team.team_owner_ids(None, "u1", ("u1",)) == ["u1"]
    assert team.team_owner_ids(None, team.ALL_TEAM, ("u1",)) == []
    assert team.team_owner_ids(None, "m1", ("u1",)) == []


# --------------------------------------------------------------------------- item 3


def test_loopback_addresses():
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.1.1", "LOCALHOST"):
        assert serving.is_loopback(host), host
    for host in (None, "", "0.0.0.0", "::", "192.168.1.10", "cs.example.co.jp", "10.0.0.1"):
        assert not serving.is_loopback(host), host


def test_where_a_request_shows_the_app_is_reachable_from():
    local = {"Host": "localhost:8501"}
    assert serving.remote_origin("127.0.0.1", None, local) is None
    assert serving.remote_origin("127.0.0.1", None, {"Host": "[::1]:8501"}) is None
    assert serving.remote_origin(None, None, local) == "0.0.0.0"
    assert serving.remote_origin("0.0.0.0", None, local) == "0.0.0.0"
    assert serving.remote_origin("127.0.0.1", "10.1.2.3", local) == "10.1.2.3"
    assert serving.remote_origin("127.0.0.1", None, {**local, "X-Forwarded-For": "10.1.2.3"}) \
        == "x-forwarded-for: 10.1.2.3"
    assert serving.remote_origin("127.0.0.1", None, {"Host": "cs.example.co.jp"}) \
        == "cs.example.co.jp"


@pytest.mark.parametrize("origin", [("0.0.0.0", None, {"Host": "10.0.0.5:8501"}),
                                    ("", None, {"Host": "localhost:8501"}),
                                    ("127.0.0.1", "10.0.0.9", {"Host": "localhost:8501"}),
                                    ("127.0.0.1", None, {"Host": "localhost:8501",
                                                         "X-Forwarded-For": "203.0.113.7"})])
def test_without_sign_in_a_request_from_elsewhere_is_refused(demo_home, use_home, monkeypatch,
                                                             origin):
    use_home(demo_home)
    monkeypatch.setattr(session, "served_from", lambda: origin)
    at = make_app("ja")
    at.run()
    assert not at.exception, at.exception
    assert [as_read(e.value) for e in at.error] == [translate(
        "ja", "auth.exposed", origin=serving.remote_origin(*origin))]
    assert not at.metric and not at.dataframe and not at.get("plotly_chart")


def test_anonymous_network_access_only_when_configured_and_then_said_on_every_page(
        demo_home, use_home, monkeypatch, tmp_path):
    use_home(demo_home)
    config = tmp_path / "cs.toml"
    config.write_text("[server]\nallow_anonymous = true\n", encoding="utf-8")
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(config))
    monkeypatch.setattr(session, "served_from", lambda: ("0.0.0.0", "10.0.0.9", {}))
    at = make_app("en")
    at.run()
    assert not at.exception and at.metric
    for page in ("overview", "account", "data"):
        if page != "overview":
            at.switch_page(f"pages/{page}.py").run()
        assert translate("en", "frame.open_anonymous") in [w.value for w in at.warning], page


def test_open_local_app_says_so_on_every_page(demo_home, use_home, monkeypatch):
    use_home(demo_home)
    monkeypatch.setattr(session, "served_from",
                        lambda: ("127.0.0.1", None, {"Host": "localhost:8501"}))
    at = make_app("ja")
    at.run()
    for page in ("overview", "revenue", "account", "weekly_review", "glossary"):
        if page != "overview":
            at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, page
        assert "🔓 " + translate("ja", "frame.open_local") in [c.value for c in at.caption], page
        assert translate("ja", "auth.open_mode") in [c.value for c in at.sidebar.caption]


def _this_machines_network_address() -> str | None:
    """An address of this machine other than loopback (none in a network-less sandbox)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # no packet is sent: picks the outgoing interface
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if serving.is_loopback(address) else address


def _started(command: list[str], env: dict, port: int):
    return running_server(command, f"http://127.0.0.1:{port}",
                          f"the app did not start: {' '.join(command)}", env=env)


def _reachable(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=3):
            return True
    except OSError:
        return False


@pytest.fixture
def no_secrets(tmp_path, demo_home):
    import os

    return {**os.environ, "CS_ANALYTICS_HOME": str(demo_home),
            "CS_ANALYTICS_SECRETS": str(tmp_path / "no-secrets.toml"),
            "CS_ANALYTICS_CONFIG": str(REPO_ROOT / "cs_analytics.toml")}


@pytest.mark.parametrize("how", ["make run (cs_analytics serve)", "streamlit run app.py"])
def test_without_sign_in_the_app_listens_on_this_computer_only(no_secrets, how):
    """However it is started from the repository, the server without [auth] cannot be reached
    through the machine's network address (and is, on purpose, with allow_anonymous)."""
    network = _this_machines_network_address()
    if network is None:
        pytest.skip("this machine has no network address to try")
    port = _free_port()
    if how.startswith("make"):
        command = [sys.executable, "-m", "cs_analytics", "serve", "--port", str(port),
                   "--headless"]
        makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
        assert "$(PY) -m cs_analytics serve" in makefile and "streamlit run" not in makefile
    else:
        command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port",
                   str(port), "--server.headless", "true"]
    with _started(command, no_secrets, port):
        assert _reachable("127.0.0.1", port)
        assert not _reachable(network, port)


def test_serve_refuses_the_network_without_sign_in_unless_anonymous_is_allowed(no_secrets,
                                                                                tmp_path):
    refused = subprocess.run([sys.executable, "-m", "cs_analytics", "serve", "--address",
                              "0.0.0.0"], cwd=REPO_ROOT, env=no_secrets, capture_output=True,
                             text=True, timeout=60)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("error: refusing to serve on 0.0.0.0 without sign-in")
    network = _this_machines_network_address()
    if network is None:
        return
    config = tmp_path / "cs.toml"
    config.write_text("[server]\nallow_anonymous = true\n", encoding="utf-8")
    port = _free_port()
    with _started([sys.executable, "-m", "cs_analytics", "serve", "--address", "0.0.0.0",
                   "--port", str(port), "--headless"],
                  {**no_secrets, "CS_ANALYTICS_CONFIG": str(config)}, port):
        assert _reachable(network, port)


# --------------------------------------------------------------------------- item 4


HOSTILE = "Evil http://evil.example/x www.evil.example bob@evil.example"


def test_names_from_data_cannot_become_links():
    """GFM turns a URL, "www." name or e-mail inside plain text into a link whatever the
    escaping (it links the parsed text); md_escape leaves none of those patterns, the same
    way remark-gfm's autolink-literal finds them."""
    shown = md_escape(HOSTILE)
    parsed = re.sub(r"\\(.)", r"\1", shown)  # the text GFM links, escapes resolved
    assert not re.search(r"(?i)(https?://|www\.)", parsed)
    assert not re.search(r"[-.\w+]+@[-\w]+(\.[-\w]+)+", parsed)
    assert as_read(shown) == HOSTILE, "reads the same"


def test_salesforce_links_only_to_the_configured_org():
    anywhere = SalesforceOrg()
    assert anywhere.link("https://acme.my.salesforce.com/lightning/r/Account/001/view")
    assert anywhere.link("https://acme.lightning.force.com/lightning/r/Account/001/view")
    for bad in ("javascript:alert(1)", "http://acme.my.salesforce.com/x",
                "https://evil.example/x", "https://my.salesforce.com.evil.example/x",
                "https://user:pw@acme.my.salesforce.com/x", "https://acme.my.salesforce.com:8443/",
                "https://evil.example/acme.my.salesforce.com", " ", None, float("nan"),
                "https://acme.my.salesforce.com/\njavascript:x"):
        assert anywhere.link(bad) is None, bad
    acme = salesforce_org(Secrets({"SF_DOMAIN": "acme.my"}))
    assert acme.link("https://acme.my.salesforce.com/x")
    assert acme.link("https://acme.lightning.force.com/x")
    assert acme.link("https://other.my.salesforce.com/x") is None
    legacy = salesforce_org(Secrets({"SF_INSTANCE_URL": "https://na1.salesforce.com"}))
    assert legacy.link("https://na1.salesforce.com/001") and not legacy.link(
        "https://acme.my.salesforce.com/001")
    assert salesforce_org(Secrets({"SF_DOMAIN": "login"})) == SalesforceOrg()


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


@pytest.fixture
def hostile_home(tmp_path):
    """Accounts whose names and Salesforce links come from a hostile file."""
    from conftest import build_snapshot, contract

    home = tmp_path / "hostile"
    build_snapshot(home, as_of="2026-03-31", users=[
        {"user_id": "u1", "name": "Owner www.owner.example", "role": "manager"}], accounts=[
        {"account_id": "a1", "name": HOSTILE, "owner_id": "u1", "industry": "http://ind.example",
         "sf_url": "https://acme.my.salesforce.com/lightning/r/Account/a1/view"},
        {"account_id": "a2", "name": "Phish", "owner_id": "u1",
         "sf_url": "javascript:alert(document.cookie)"},
        {"account_id": "a3", "name": "Lookalike", "owner_id": "u1",
         "sf_url": "https://acme.my.salesforce.com.evil.example/login"}],
        contracts=[contract(f"c{i}", f"a{i}", "2025-04-01", "2026-09-30", mrr=100_000)
                   for i in (1, 2, 3)])
    return home


def test_the_salesforce_button_and_columns_link_only_to_the_org(hostile_home, use_home):
    from cs_analytics.app.ui import widgets
    from cs_analytics.app.ui.widgets import Col

    use_home(hostile_home)
    for account, expected in (("a1", "https://acme.my.salesforce.com/lightning/r/Account/a1/"
                                     "view"), ("a2", None), ("a3", None)):
        at = make_app("en", {"account_id": account})
        at.run()
        at.switch_page("pages/account.py").run()
        assert not at.exception, at.exception
        buttons = [b.proto.url for b in at.get("link_button")]
        assert buttons == ([expected] if expected else []), account
    frame = pd.DataFrame({"sf_url": ["https://acme.my.salesforce.com/x", "javascript:alert(1)",
                                     "https://evil.example/", None]})
    shown, _ = widgets._display_frame(frame, {"sf_url": Col("col.salesforce", "url")})
    assert shown.column(0).to_pylist() == ["https://acme.my.salesforce.com/x", None, None, None]


def test_names_from_data_are_shown_escaped_on_the_account_page(hostile_home, use_home):
    use_home(hostile_home)
    at = make_app("en", {"account_id": "a1"})
    at.run()
    at.switch_page("pages/account.py").run()
    assert not at.exception
    heading = [h.value for h in at.subheader if "Evil" in h.value]
    assert heading == [md_escape(HOSTILE)]
    facts = " ".join(c.value for c in at.caption)
    assert md_escape("Owner www.owner.example") in facts
    assert md_escape("http://ind.example") in facts


def test_slack_alerts_link_only_to_the_org(tmp_path):
    from conftest import build_snapshot, contract
    from cs_analytics.outputs.alerts import messages
    from cs_analytics.outputs.alerts.run import shown_signals
    from cs_analytics.config import Settings

    good = "https://acme.my.salesforce.com/lightning/r/Account/a1/view"
    snap = build_snapshot(tmp_path, as_of="2026-03-31", accounts=[
        {"account_id": "a1", "name": "A1", "owner_id": "u1", "sf_url": good},
        {"account_id": "a2", "name": "A2", "owner_id": "u1", "sf_url": "javascript:alert(1)"}],
        contracts=[contract(f"c{i}", f"a{i}", "2025-04-01", "2026-09-30", mrr=100_000)
                   for i in (1, 2)],
        activities=[{"activity_id": f"x{i}", "account_id": f"a{i}", "date": "2025-10-01",
                     "type": "meeting"} for i in (1, 2)])
    shown = {s.account_id: s for s in shown_signals(snap, SalesforceOrg())}
    assert shown["a1"].sf_url == good and shown["a2"].sf_url is None
    texts_sent = {a: messages.plain_text(messages.alert_message(s, Settings(), snap.as_of))
                  for a, s in shown.items()}
    assert f"<{good}|" in texts_sent["a1"]
    assert "javascript" not in texts_sent["a2"]
