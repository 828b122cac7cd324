"""Salesforce login modes (SPEC §5), secrets from the environment or secrets.toml, and secrets
never appearing in output, errors or the refresh log."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from cs_analytics.cli import main
from cs_analytics.errors import ConfigError, SourceError
from cs_analytics.ingest import salesforce
from cs_analytics.ingest.refresh import refresh
from cs_analytics.secrets import Secrets, load_secrets
from cs_analytics.warehouse.store import RefreshLog, Store
from tests.fakes.http import Response
from tests.fakes.salesforce import errors, password_secrets
from tests.fakes.salesforce import connector_settings


def pull(org, tmp_path, secrets, session=True, settings=None):
    store = Store(tmp_path / "data")
    result = refresh(settings or connector_settings(), store, source="salesforce",
                     secrets=Secrets(secrets),
                     salesforce_session=org.session() if session else None)
    return store, result


def account_count(store):
    return store.open_current().scalar("SELECT count(*) FROM accounts")


# ---------------------------------------------------------------------------- choosing a mode


@pytest.mark.parametrize("values, mode", [
    ({"SF_USERNAME": "u", "SF_PASSWORD": "p", "SF_SECURITY_TOKEN": "t"}, "password_token"),
    ({"SF_USERNAME": "u", "SF_PASSWORD": "p", "SF_CONSUMER_KEY": "k",
      "SF_CONSUMER_SECRET": "s"}, "password_oauth"),
    ({"SF_USERNAME": "u", "SF_PASSWORD": "p", "SF_SECURITY_TOKEN": "t", "SF_CONSUMER_KEY": "k",
      "SF_CONSUMER_SECRET": "s"}, "password_oauth"),
    ({"SF_CONSUMER_KEY": "k", "SF_CONSUMER_SECRET": "s", "SF_DOMAIN": "acme.my"},
     "client_credentials"),
    ({"SF_INSTANCE_URL": "https://acme.my.salesforce.com", "SF_SESSION_ID": "x"}, "session"),
])
def test_the_secrets_select_the_login_mode(values, mode):
    assert salesforce.credentials(Secrets(values)).mode == mode


@pytest.mark.parametrize("values, message", [
    ({}, "Salesforce is not configured: set SF_USERNAME, SF_PASSWORD and SF_SECURITY_TOKEN"),
    ({"SF_USERNAME": "u"}, "SF_USERNAME is set but SF_PASSWORD is missing"),
    ({"SF_USERNAME": "u", "SF_PASSWORD": "p"},
     "SF_USERNAME and SF_PASSWORD need SF_SECURITY_TOKEN, or SF_CONSUMER_KEY and "
     "SF_CONSUMER_SECRET of a connected app"),
    ({"SF_CONSUMER_KEY": "k", "SF_CONSUMER_SECRET": "s"},
     "OAuth client credentials need your My Domain: set SF_DOMAIN to e.g. yourcompany.my"),
    ({"SF_CONSUMER_KEY": "k"}, "OAuth client credentials need SF_CONSUMER_KEY and "
                               "SF_CONSUMER_SECRET: set SF_CONSUMER_SECRET"),
    ({"SF_SESSION_ID": "x"}, "Salesforce session login needs both SF_INSTANCE_URL and "
                             "SF_SESSION_ID: set SF_INSTANCE_URL"),
    ({"SF_INSTANCE_URL": "acme.my.salesforce.com", "SF_SESSION_ID": "x"},
     "SF_INSTANCE_URL must be a URL like https://yourcompany.my.salesforce.com"),
])
def test_incomplete_secrets_say_what_is_missing(values, message):
    with pytest.raises(SourceError) as exc_info:
        salesforce.credentials(Secrets(values))
    assert str(exc_info.value).startswith(message)


@pytest.mark.parametrize("value, domain", [
    (None, "login"), ("test", "test"), ("acme.my", "acme.my"),
    ("https://acme.my.salesforce.com/", "acme.my"), ("acme--uat.sandbox.my.salesforce.com",
                                                     "acme--uat.sandbox.my"),
])
def test_my_domain_may_be_given_as_a_url(value, domain):
    assert salesforce.normalise_domain(value) == domain


# ---------------------------------------------------------------------------- each login flow


def test_username_password_and_security_token_log_in_through_soap(org, tmp_path):
    store, result = pull(org, tmp_path, password_secrets(org))
    assert org.logins == [("soap", "login.salesforce.com")]
    assert result.salesforce.auth_mode == "password_token"
    assert account_count(store) == 3


def test_sandbox_logins_go_to_the_test_domain(org, tmp_path):
    pull(org, tmp_path, password_secrets(org, SF_DOMAIN="test"))
    assert org.logins == [("soap", "test.salesforce.com")]


def test_username_password_and_connected_app_use_the_oauth_password_flow(org, tmp_path):
    u = org.user
    secrets = {"SF_USERNAME": u["username"], "SF_PASSWORD": u["password"],
               "SF_SECURITY_TOKEN": u["security_token"], "SF_CONSUMER_KEY": u["consumer_key"],
               "SF_CONSUMER_SECRET": u["consumer_secret"]}
    store, result = pull(org, tmp_path, secrets)
    assert org.logins == [("password", "login.salesforce.com")]
    token_request = next(r for r in org.requests if r.path == "/services/oauth2/token")
    assert token_request.form()["password"] == u["password"] + u["security_token"]
    assert account_count(store) == 3


def test_client_credentials_log_in_at_my_domain(org, tmp_path):
    u = org.user
    secrets = {"SF_CONSUMER_KEY": u["consumer_key"], "SF_CONSUMER_SECRET": u["consumer_secret"],
               "SF_DOMAIN": "https://acme.my.salesforce.com"}
    store, result = pull(org, tmp_path, secrets)
    assert org.logins == [("client_credentials", "acme.my.salesforce.com")]
    assert result.salesforce.auth_mode == "client_credentials"
    assert account_count(store) == 3


def test_client_credentials_at_another_domain_fail_clearly(org, tmp_path):
    u = org.user
    secrets = {"SF_CONSUMER_KEY": u["consumer_key"], "SF_CONSUMER_SECRET": u["consumer_secret"],
               "SF_DOMAIN": "other.my"}
    with pytest.raises(SourceError) as exc_info:
        pull(org, tmp_path, secrets)
    assert str(exc_info.value) == (
        "Salesforce login failed (OAuth client credentials (SF_CONSUMER_KEY + "
        "SF_CONSUMER_SECRET + SF_DOMAIN)): invalid_grant: request not supported on this domain")


def test_a_session_id_works_against_any_reachable_instance_url(org, tmp_path):
    """No routing adapter: the connector's own session reaches http://127.0.0.1:PORT."""
    token = org.issue_token()
    store, result = pull(org, tmp_path, {"SF_INSTANCE_URL": org.url + "/",
                                         "SF_SESSION_ID": token}, session=False)
    assert org.logins == []
    assert result.salesforce.instance_url == org.url
    assert store.open_current().scalar(
        "SELECT sf_url FROM accounts WHERE account_id = '001A'") == \
        f"{org.url}/lightning/r/Account/001A/view"
    assert all(r.headers["Authorization"] == f"Bearer {token}" for r in org.requests)


# ---------------------------------------------------------------------------- secrets


SECRET_VALUES = {"SF_PASSWORD": "pw-SECRET-1234", "SF_SECURITY_TOKEN": "TOKEN-SECRET-5678",
                 "SF_CONSUMER_KEY": "CKEY-SECRET-9012", "SF_CONSUMER_SECRET": "CSECRET-SECRET-3456"}


def test_redact_masks_every_secret_form():
    secrets = Secrets({"SF_USERNAME": "cs-bot@example.com", **SECRET_VALUES,
                       "SF_SESSION_ID": "00D!AQ/session+id=="})
    text = ("pw-SECRET-1234TOKEN-SECRET-5678 00D%21AQ%2Fsession%2Bid%3D%3D "
            "Q0tFWS1TRUNSRVQtOTAxMjpDU0VDUkVULVNFQ1JFVC0zNDU2 for cs-bot@example.com")
    assert secrets.redact(text) == "*** *** *** for cs-bot@example.com"
    creds = salesforce.credentials(Secrets({"SF_USERNAME": "u", **SECRET_VALUES}))
    shown = repr(secrets) + repr(creds)
    assert not any(value in shown for value in SECRET_VALUES.values())


def test_secrets_echoed_by_salesforce_never_reach_errors_or_the_log(org, tmp_path):
    store = Store(tmp_path / "data")
    fault = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
             'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
             'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
             '<detail><sf:LoginFault><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>'
             f'<sf:exceptionMessage>bad password {org.user["password"]}'
             f'{org.user["security_token"]}</sf:exceptionMessage></sf:LoginFault></detail>'
             '</soapenv:Fault></soapenv:Body></soapenv:Envelope>')
    org.fail(r"/services/Soap/u/", Response(500, fault, content_type="text/xml"))
    messages = []
    with pytest.raises(SourceError) as exc_info:
        refresh(connector_settings(), store, source="salesforce",
                secrets=Secrets(password_secrets(org)), salesforce_session=org.session(),
                progress=messages.append)
    text = str(exc_info.value) + "\n".join(messages) + json.dumps(RefreshLog(store).recent())
    assert "bad password ***" in str(exc_info.value)
    for value in SECRET_VALUES.values():
        assert value not in text


def cli_env(tmp_path, **secrets):
    config = tmp_path / "cs_analytics.toml"
    config.write_text("[general]\nas_of = 2026-03-31\n[salesforce]\nbackoff_seconds = 0\n"
                      "timeout_seconds = 5\n", encoding="utf-8")
    return {"CS_ANALYTICS_HOME": str(tmp_path / "data"), "CS_ANALYTICS_CONFIG": str(config),
            "CS_ANALYTICS_SECRETS": str(tmp_path / "no-secrets.toml"), **secrets}


def test_cli_refresh_shows_progress_and_a_summary_without_secrets(org, tmp_path):
    token = org.issue_token()
    env = cli_env(tmp_path, SF_INSTANCE_URL=org.url, SF_SESSION_ID=token)
    result = CliRunner().invoke(main, ["refresh", "--source", "salesforce"], env=env)
    assert result.exit_code == 0, result.output
    assert "… Salesforce Account: 3 records fetched (full pull)" in result.stderr
    assert ("warning: Salesforce Task: 1 records skipped because AccountId "
            "(activities.account_id) is empty, e.g. 00T4") in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["salesforce", "users", "User", "→", "users", "2", "fetched",
                                "(full)"]
    assert lines[-2] == "rows: users 2, accounts 3, contracts 3, activities 6, usage 0"
    assert lines[-1].startswith("snapshot ") and "(data as of 2026-03-31)" in lines[-1]
    assert token not in result.output

    # The same session, echoed back by a failing server, is masked in the error and the log.
    org.fail(r"/query", Response(400, errors("MALFORMED_QUERY", f"session {token} is odd")))
    result = CliRunner().invoke(main, ["refresh", "--source", "salesforce"], env=env)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith(
        "error: Salesforce rejected the query for User (MALFORMED_QUERY: session *** is odd)")
    assert token not in result.output
    status = CliRunner().invoke(main, ["status", "--format", "json"], env=env)
    assert token not in status.output
    assert json.loads(status.output)["refreshes"][0]["outcome"] == "failed"


def test_cli_refresh_without_salesforce_configured(tmp_path):
    result = CliRunner().invoke(main, ["refresh", "--source", "salesforce"],
                                env=cli_env(tmp_path))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: Salesforce is not configured: set SF_USERNAME")


def test_secrets_come_from_the_environment_before_secrets_toml(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text('SF_USERNAME = "file-user"\nSF_PASSWORD = "file-password"\n'
                    '[salesforce]\nsecurity_token = "file-token"\nusername = "ignored"\n'
                    '[metabase]\napi_key = "mb-key"\n', encoding="utf-8")
    secrets = load_secrets({"SF_PASSWORD": "env-password", "SF_DOMAIN": " "}, [path])
    assert secrets.get("SF_USERNAME") == "file-user"
    assert secrets.get("SF_PASSWORD") == "env-password"
    assert secrets.get("SF_SECURITY_TOKEN") == "file-token"
    assert secrets.get("METABASE_API_KEY") == "mb-key"
    assert secrets.get("SF_DOMAIN") is None
    assert secrets.origin("SF_PASSWORD") == "environment"
    assert secrets.origin("SF_USERNAME") == str(path)


def test_a_broken_secrets_file_is_reported_without_its_contents(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text('SF_PASSWORD = "unterminated-SECRET\n', encoding="utf-8")
    with pytest.raises(ConfigError) as exc_info:
        load_secrets({}, [path])
    assert str(exc_info.value).startswith(f"{path}: not valid TOML")
    assert "SECRET" not in str(exc_info.value)


def test_watermarks_follow_the_org(org, tmp_path):
    """Switching SF_INSTANCE_URL to another org pulls everything again."""
    token = org.issue_token()
    store, _ = pull(org, tmp_path, {"SF_INSTANCE_URL": org.url, "SF_SESSION_ID": token},
                    session=False)
    _, again = pull(org, tmp_path, {"SF_INSTANCE_URL": org.url, "SF_SESSION_ID": token},
                    session=False)
    assert not any(o.full for o in again.salesforce.objects)
    _, moved = pull(org, tmp_path, password_secrets(org))
    assert all(o.full for o in moved.salesforce.objects)
    assert moved.published.as_of == dt.date(2026, 3, 31)


def test_redact_masks_a_webhook_path_echoed_without_its_host():
    secrets = Secrets({"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T01/B02/xyzSECRET"})
    assert secrets.redact("no_service for /services/T01/B02/xyzSECRET") == "no_service for ***"
    assert secrets.redact("see services/T01/B02/xyzSECRET") == "see ***"
