"""Sign-in, open access and links in a real browser (issue 21, items 0, 3 and 4).

The real app (`streamlit run app.py`) with `[auth]` in a secrets.toml written for the test (in a
temporary folder, never in the repository) against a real local OpenID Connect provider
(oidc-provider-mock): a manager, a member and an unknown person sign in through the provider's
form; each sees what the role allows, the refusal is in the UI's language, and signing out
goes through the provider's end-session page back to the sign-in button. Then the app without
sign-in started on every interface, and an account whose name and Salesforce link are hostile.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from cs_analytics.app.ui.i18n import translate
from cs_analytics.warehouse.store import Store
from test_access import HOSTILE, hostile_home  # noqa: F401
from test_app_common import demo_home  # noqa: F401
from test_browser import ARTIFACTS, WIDTH, _free_port, browser, settle, start_server  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def idp():
    """A local OpenID Connect provider; its users are set per test (PUT /users/<sub>)."""
    import oidc_provider_mock

    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://127.0.0.1:{server.server_port}"


def write_auth_secrets(folder: Path, port: int, idp: str) -> Path:
    path = folder / "secrets.toml"
    path.write_text(f"""[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "a-test-cookie-secret-of-enough-length-0123456789"
client_id = "cs-analytics-test"
client_secret = "any-secret-the-mock-accepts"
server_metadata_url = "{idp}/.well-known/openid-configuration"
""", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def auth_server(demo_home, idp, tmp_path_factory):
    port = _free_port()
    secrets = write_auth_secrets(tmp_path_factory.mktemp("auth-secrets"), port, idp)
    with start_server(demo_home, "streamlit-auth.log", port=port,
                      args=(f"--secrets.files={secrets}",)) as base:
        yield base


def register(idp: str, email: str, name: str) -> None:
    response = httpx.put(f"{idp}/users/{quote(email)}", json={"email": email, "name": name})
    assert response.status_code == 204


def sign_in(browser, base: str, idp: str, email: str):
    """A new browser (no cookies) signing in as `email` through the provider's form."""
    context = browser.new_context(viewport={"width": WIDTH, "height": 1000}, locale="ja-JP")
    page = context.new_page()
    page.goto(base)
    page.get_by_role("button", name=translate("ja", "auth.sign_in")).click()
    page.wait_for_url(f"{idp}/oauth2/authorize**", timeout=60_000)
    page.get_by_placeholder("sub").fill(email)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{base}/**", timeout=60_000)
    page.wait_for_selector("h1", timeout=60_000)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)
    return context, page


def sidebar_text(page) -> str:
    """What the sidebar reads (the word joiners that keep e-mails from becoming links are
    invisible)."""
    return page.locator('[data-testid="stSidebar"]').inner_text().replace("\u2060", "")


def user_of(snap, role: str) -> tuple[str, str]:
    return snap.rows("SELECT email, name FROM users WHERE role = ? ORDER BY user_id LIMIT 1",
                     [role])[0]


def test_sign_in_as_manager_member_and_unknown_then_sign_out(auth_server, idp, browser,
                                                             demo_home):
    snap = Store(demo_home).open_current()
    overview = translate("ja", "overview.title")

    email, name = user_of(snap, "manager")
    register(idp, email, name)
    context, page = sign_in(browser, auth_server, idp, email)
    settle(page, overview)
    side = sidebar_text(page)
    assert f"{name} としてサインイン中（マネージャー）" in side and email in side
    assert page.locator('[data-testid="stMetric"]').count() > 0
    page.screenshot(path=str(ARTIFACTS / "signed-in-manager.png"))
    page.goto(f"{auth_server}/data")
    settle(page, translate("ja", "data.title"))
    assert page.locator('[data-testid="stFileUploader"]').count() == 1
    # Sign out from the sidebar: the provider's end-session page, then back to sign-in.
    page.locator('[data-testid="stSidebar"]').get_by_role(
        "button", name=translate("ja", "auth.sign_out")).click()
    page.wait_for_url(f"{idp}/oauth2/end_session**", timeout=60_000)
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{auth_server}/**", timeout=60_000)
    page.get_by_role("button", name=translate("ja", "auth.sign_in")).wait_for(timeout=60_000)
    assert page.locator('[data-testid="stMetric"]').count() == 0
    page.goto(f"{auth_server}/revenue")
    page.get_by_role("button", name=translate("ja", "auth.sign_in")).wait_for(timeout=60_000)
    assert page.locator('[data-testid="stMetric"]').count() == 0
    context.close()

    email, name = user_of(snap, "member")
    register(idp, email, name)
    context, page = sign_in(browser, auth_server, idp, email)
    settle(page, overview)
    assert f"{name} としてサインイン中（メンバー）" in sidebar_text(page)
    page.goto(f"{auth_server}/data")
    settle(page, translate("ja", "data.title"))
    assert page.locator('[data-testid="stFileUploader"]').count() == 0
    assert page.get_by_text(translate("ja", "data.not_allowed")).first.is_visible()
    context.close()

    stranger = "stranger@evil.example"
    register(idp, stranger, "Stranger")
    context, page = sign_in(browser, auth_server, idp, stranger)
    refusal = translate("ja", "auth.denied.not_a_user", email=stranger)
    alert = page.locator('[data-testid="stAlert"]').first
    alert.wait_for(timeout=60_000)
    assert alert.inner_text().replace("\u2060", "").strip() == refusal
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert "not an active user" not in page.locator("body").inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    page.get_by_role("button", name=translate("ja", "auth.sign_out")).wait_for()
    context.close()


def test_the_app_without_sign_in_refuses_to_serve_the_network(demo_home, browser, tmp_path):
    """Started by hand on every interface without [auth]: the app shows nothing but why."""
    empty = tmp_path / "secrets.toml"
    empty.write_text("", encoding="utf-8")
    with start_server(demo_home, "streamlit-exposed.log", address="0.0.0.0",
                      args=(f"--secrets.files={empty}",)) as base:
        page = browser.new_page(viewport={"width": WIDTH, "height": 1000}, locale="ja-JP")
        page.goto(base)
        alert = page.locator('[data-testid="stAlert"]').first
        alert.wait_for(timeout=60_000)
        assert alert.inner_text().strip() == translate("ja", "auth.exposed", origin="0.0.0.0")
        page.wait_for_timeout(1_000)
        assert page.locator('[data-testid="stMetric"]').count() == 0
        assert page.locator('[data-testid="stDataFrame"]').count() == 0
        page.close()


def test_names_are_plain_text_and_salesforce_links_go_to_the_org(hostile_home, browser):
    with start_server(hostile_home, "streamlit-links.log") as base:
        page = browser.new_page(viewport={"width": WIDTH, "height": 1000}, locale="ja-JP")
        for account, salesforce in (("a1", "https://acme.my.salesforce.com/lightning/r/"
                                           "Account/a1/view"), ("a2", None), ("a3", None)):
            page.goto(f"{base}/account?account_id={account}")
            settle(page, translate("ja", "account.title"))
            hrefs = [a.get_attribute("href") or "" for a in page.locator("a").all()]
            external = [h for h in hrefs if h.startswith(("http", "mailto", "javascript"))
                        and not h.startswith(base)]
            assert external == ([salesforce] if salesforce else []), (account, external)
            if account == "a1":
                heading = page.locator("h3").filter(has_text="Evil").first
                assert heading.inner_text().replace("\u2060", "").strip() == HOSTILE
        page.close()
