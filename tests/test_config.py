"""Settings: defaults, validation messages naming the key, file and environment overrides."""

import datetime as dt
import tomllib

import pytest

from cs_analytics import config
from cs_analytics.config import Settings, load_settings, settings_from_dict
from cs_analytics.errors import ConfigError


def test_missing_default_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("CS_ANALYTICS_CONFIG", raising=False)
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    assert load_settings() == Settings()


def test_file_from_environment_is_read(tmp_path, monkeypatch):
    path = tmp_path / "team.toml"
    path.write_text("[general]\nfiscal_year_start_month = 4\nas_of = 2026-03-31\n", encoding="utf-8")
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(path))
    settings = load_settings()
    assert settings.general.fiscal_year_start_month == 4
    assert settings.general.as_of == dt.date(2026, 3, 31)
    assert settings.general.renewal_grace_days == 31
    assert settings.source_path == str(path)


def test_explicit_missing_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="configuration file not found: .*nope.toml"):
        load_settings()


def test_data_home_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CS_ANALYTICS_HOME", str(tmp_path))
    assert config.data_home() == tmp_path


@pytest.mark.parametrize("raw, message", [
    ({"health": {"wieghts": {}}},
     "unknown key 'health.wieghts' (known keys here: bands, conversion_basis, onboarding_days, "
     "onboarding_thresholds, thresholds, weights, windows)"),
    ({"general": {"fiscal_year_start_month": "4"}},
     "general.fiscal_year_start_month: expected a whole number, got str '4'"),
    ({"general": {"renewal_grace_days": 3.5}},
     "general.renewal_grace_days: expected a whole number, got float 3.5"),
    ({"health": {"weights": {"logins": "high"}}},
     "health.weights.logins: expected a number, got str 'high'"),
    ({"access": {"restrict_members_to_own_accounts": "yes"}},
     "access.restrict_members_to_own_accounts: expected true or false, got str 'yes'"),
    ({"general": {"as_of": "2026-03-31"}},
     "general.as_of: expected a date like 2026-03-31, got str '2026-03-31'"),
    ({"general": {"fiscal_year_start_month": 13}},
     "general.fiscal_year_start_month: expected a month number from 1 to 12"),
    ({"health": {"bands": {"healthy": 50, "caution": 60, "warning": 25}}},
     "health.bands: expected healthy > caution > warning"),
    ({"health": {"thresholds": {"logins": [[8, 50], [4, 80]]}}},
     "health.thresholds.logins: expected inputs in strictly increasing order"),
    ({"health": {"weights": {"nps": 10}}},
     "health.weights.nps: expected one of deliveries, logins, touchpoints, meetings, conversion, renewal"),
    ({"segments": {"matrix": {"high": {"healthy": "X"}}}},
     "segments.matrix.high.healthy: expected one of S, A, B, C"),
    ({"alerts": {"mode": "hourly"}}, "alerts.mode: expected 'each' or 'digest'"),
    ({"salesforce": {"objects": {"deals": {"table": "deals", "object": "Opportunity"}}}},
     "salesforce.objects.deals.table: expected one of users, accounts, contracts, activities, usage"),
    ({"metabase": {"cards": [{"id": "12"}]}},
     "metabase.cards[0].id: expected a whole number, got str '12'"),
])
def test_invalid_settings_name_the_key(raw, message):
    with pytest.raises(ConfigError) as err:
        settings_from_dict(raw)
    assert str(err.value) == message


def test_error_names_the_file(tmp_path):
    path = tmp_path / "cs.toml"
    path.write_text("[snapshots]\nkeep = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value) == f"{path}: snapshots.keep: expected at least 1"


def test_broken_toml_is_one_clear_error(tmp_path):
    path = tmp_path / "cs.toml"
    path.write_text("[general\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path)


def test_defaults_document_every_setting_and_parse_back():
    text = config.defaults_toml()
    for key, _value, doc in config.iter_settings():
        assert doc, f"{key} has no documentation"
    assert settings_from_dict(tomllib.loads(text)) == Settings()


def test_repository_config_file_is_valid():
    settings = load_settings(config.REPO_ROOT / "cs_analytics.toml")
    assert settings.snapshots.keep >= 1


def test_configuration_doc_is_current():
    doc = (config.REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert config.defaults_toml() in doc, "regenerate with: python -m cs_analytics config --docs"
