"""Times shown to users are in the configured zone, with its label."""

import datetime as dt

import pytest

from cs_analytics import clock
from cs_analytics.config import settings_from_dict
from cs_analytics.errors import ConfigError


def test_a_utc_build_time_reads_in_tokyo_by_default():
    settings = settings_from_dict({})
    assert clock.local_text("2026-12-06T20:05:00", settings) == "2026-12-07 05:05 JST"
    assert clock.local_text(dt.datetime(2026, 12, 6, 20, 5, tzinfo=dt.UTC),
                            settings) == "2026-12-07 05:05 JST"


def test_another_zone_is_configurable():
    settings = settings_from_dict({"general": {"timezone": "Europe/London"}})
    assert clock.local_text("2026-07-01T12:00:00+00:00", settings) == "2026-07-01 13:00 BST"


def test_an_unknown_zone_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match="general.timezone"):
        settings_from_dict({"general": {"timezone": "Mars/Olympus"}})
