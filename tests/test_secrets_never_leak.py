"""Secrets (issue 9): Salesforce, Metabase and Slack credentials never appear in CLI output, error
messages, the refresh log, snapshots, side stores or pages — through failing and succeeding
refreshes and alert runs, in real processes."""

import subprocess
import sys

from cs_analytics.userdata import notes
from cs_analytics.warehouse.store import Store
from tests.fakes.http import FakeServer, Request, Response
from tests.fakes.metabase import FakeMetabase
from tests.fakes.salesforce import (FakeSalesforce, add_contract, errors, populate,
                                    set_up_writeback)

SF_SESSION = "00DSECRET!AQ-session-7f3a9c"
SF_BAD_SESSION = "00DSECRET!AQ-expired-0000"
MB_KEY = "mb_SECRET-metabase-key-4242"
MB_BAD_KEY = "mb_SECRET-wrong-key-1313"
SLACK_PATH = "/services/T0SECRET/B0SECRET/hooksecret9999"


class FakeSlack(FakeServer):
    """Fails the first delivery with a 500, then accepts."""

    def handle(self, request: Request) -> Response:
        if request.path != SLACK_PATH:
            return Response(404, "no_service", content_type="text/plain")
        if len(self.requests) == 1:
            return Response(500, f"internal_error for {SLACK_PATH}", content_type="text/plain")
        return Response(200, "ok", content_type="text/plain")


def cli(args, env):
    result = subprocess.run([sys.executable, "-m", "cs_analytics", *args], env=env,
                            capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


def test_no_secret_reaches_any_output(tmp_path):
    home = tmp_path / "data"
    config = tmp_path / "cs_analytics.toml"
    with FakeSalesforce(page_size=2) as org, FakeMetabase(api_key=MB_KEY) as metabase, \
            FakeSlack() as slack:
        populate(org)
        org.tokens.add(SF_SESSION)
        metabase.set_card(12, ["取引先ID", "日付", "配信数", "ログイン数"],
                          [["001A", "2026-03-02", 3, 20], ["001B", "2026-03-02", 1, 4]])
        config.write_text(
            "[general]\nas_of = 2026-03-31\n"
            "[salesforce]\nbackoff_seconds = 0\ntimeout_seconds = 5\n"
            f'[metabase]\nurl = "{metabase.url}/"\ntimeout_seconds = 5\n'
            '[[metabase.cards]]\nid = 12\ntable = "usage"\n'
            "[alerts]\nbackoff_seconds = 0.01\nmax_attempts = 1\n", encoding="utf-8")
        base = {**{k: v for k, v in __import__("os").environ.items()
                   if not k.startswith(("SF_", "METABASE", "SLACK"))},
                "CS_ANALYTICS_HOME": str(home), "CS_ANALYTICS_CONFIG": str(config),
                "CS_ANALYTICS_SECRETS": str(tmp_path / "no-secrets.toml"),
                "SF_INSTANCE_URL": org.url, "SLACK_WEBHOOK_URL": slack.url + SLACK_PATH}
        good = {**base, "SF_SESSION_ID": SF_SESSION, "METABASE_API_KEY": MB_KEY}

        outputs, codes = [], []

        def run(args, env):
            code, out = cli(args, env)
            codes.append((args[0], code))
            outputs.append(out)

        run(["refresh", "--source", "all"], {**good, "METABASE_API_KEY": MB_BAD_KEY})
        run(["refresh", "--source", "all"], {**good, "SF_SESSION_ID": SF_BAD_SESSION})
        org.fail(r"/query", Response(400, errors("MALFORMED_QUERY",
                                                 f"bad session {SF_SESSION}")))
        run(["refresh", "--source", "salesforce"], good)
        run(["refresh", "--source", "all"], good)
        run(["alerts"], good)   # the first run only records the signals already shown
        # A new customer with no contact and a contract ending soon enters signals.
        org.add("Account", Id="001D", Name="デルタ株式会社", Industry="製造", OwnerId="005A",
                Type="Customer")
        add_contract(org, Id="800D1", AccountId="001D", StartDate="2025-05-01",
                     EndDate="2026-04-30", Amount__c=2_400_000)
        run(["refresh", "--source", "salesforce"], good)
        run(["status", "--format", "json"], good)
        run(["metrics", "--format", "json"], good)
        run(["health", "--format", "json"], good)
        # The write-back: a dry run, then a push whose refusals and a refused Task echo the
        # session, then refresh --push.
        set_up_writeback(org)
        notes.add_note(Store(home), "001A", "QBRの準備メモ", "tanaka@example.com")
        org.reject("Account", "001A", "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                   f"session {SF_SESSION} may not write", times=1)
        org.reject("Task", Store(home).userdata_db().execute(
            "SELECT 'cs-note-' || record_id || '-' || token FROM salesforce_outbox"
        ).fetchone()[0], "INVALID_SESSION_ID", f"bad session {SF_SESSION}", times=1)
        run(["push", "--dry-run"], good)
        run(["push"], good)
        run(["refresh", "--source", "salesforce", "--push"], good)
        pushes = codes[-3:]
        run(["alerts", "--dry-run"], good)
        run(["alerts"], good)   # Slack answers 500 (its body echoes the webhook path)
        run(["alerts"], good)   # retried and accepted
        run(["config", "--defaults"], good)
        slack_requests = len(slack.requests)

    assert slack_requests >= 2, "an alert failed once and was delivered on the next run"
    assert pushes == [("push", 0), ("push", 1), ("refresh", 0)], pushes
    assert "refused: Account" in outputs[codes.index(("push", 1))]
    assert ("alerts", 1) in codes[-4:] and codes[-2] == ("alerts", 0), codes
    assert [c for _, c in codes[:3]] == [1, 1, 1], codes   # the failing refreshes failed
    assert codes[3] == ("refresh", 0), outputs[3]          # and the good one published
    assert Store(home).has_snapshot()

    # Every byte the product wrote: outputs, the refresh log, side stores, snapshots, inbox.
    haystack = "\n".join(outputs).encode("utf-8")
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.suffix == ".duckdb" for p in files) and any(p.name == "meta.sqlite" for p in files)
    blobs = [haystack] + [p.read_bytes() for p in files]

    from streamlit.testing.v1 import AppTest

    import os
    os.environ.update({"CS_ANALYTICS_HOME": str(home), "CS_ANALYTICS_CONFIG": str(config)})
    try:
        for page in ("data", "overview", "weekly_check"):
            at = AppTest.from_file(str(__import__("pathlib").Path(__file__).parent.parent / "app.py"),
                                   default_timeout=60)
            at.query_params["lang"] = "en"
            at.run()
            if page != "overview":
                at.switch_page(f"pages/{page}.py").run()
            assert not at.exception
            shown = [str(getattr(e, "value", "")) for kind in ("markdown", "caption", "error",
                     "info", "warning", "success", "text") for e in getattr(at, kind)]
            shown += [df.value.to_csv() for df in at.dataframe]
            blobs.append("\n".join(shown).encode("utf-8"))
    finally:
        os.environ.pop("CS_ANALYTICS_HOME", None)
        os.environ.pop("CS_ANALYTICS_CONFIG", None)

    for secret in (SF_SESSION, SF_BAD_SESSION, MB_KEY, MB_BAD_KEY, SLACK_PATH, "hooksecret9999",
                   "T0SECRET"):
        for blob in blobs:
            for encoding in ("utf-8", "utf-16-le"):
                assert secret.encode(encoding) not in blob, f"{secret} leaked"
