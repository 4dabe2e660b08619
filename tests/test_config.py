"""Settings: resolution order, defaults, and clear errors naming the key."""

from __future__ import annotations

import datetime as dt
import tomllib

import pytest

from opslib.config import Settings, load_settings
from opslib.errors import MissingFileError, SettingsError
from opslib.runs.runner import settings_toml


def test_defaults_without_any_file(tmp_path, monkeypatch):
    """No --settings, no $PLAYBOOK_SETTINGS, no ./playbook.toml: sensible defaults."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLAYBOOK_SETTINGS", raising=False)
    settings = load_settings()
    assert settings.source == "defaults"
    assert settings.service.ship_within_hours == 24


def test_resolution_order(tmp_path, monkeypatch):
    """An explicit file beats the environment variable, which beats ./playbook.toml."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "playbook.toml").write_text('[store]\nname = "Local"\n')
    (tmp_path / "env.toml").write_text('[store]\nname = "FromEnv"\n')
    (tmp_path / "explicit.toml").write_text('[store]\nname = "Explicit"\n')
    monkeypatch.delenv("PLAYBOOK_SETTINGS", raising=False)
    assert load_settings().store.name == "Local"
    monkeypatch.setenv("PLAYBOOK_SETTINGS", str(tmp_path / "env.toml"))
    assert load_settings().store.name == "FromEnv"
    assert load_settings(tmp_path / "explicit.toml").store.name == "Explicit"


def test_missing_explicit_file_is_an_error(tmp_path):
    """A settings file that was asked for but does not exist is not silently ignored."""
    with pytest.raises(MissingFileError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


@pytest.mark.parametrize("toml, key, words", [
    ('[store]\ntimezone = "Mars/Base"\n', "store.timezone", "IANA time zone"),
    ('[store]\ncurrency = "pounds"\n', "store.currency", "ISO 4217"),
    ('[service]\nship_within_hours = -4\n', "service.ship_within_hours", "whole number"),
    ('[service]\nship_whithin_hours = 4\n', "service.ship_whithin_hours", "one of"),
    ('[targets]\nalert_band = 3\n', "targets.alert_band", "between 0 and 1"),
    ('[storefront]\nname = "x"\n', "storefront", "sections"),
])
def test_bad_values_name_the_key_and_what_is_accepted(tmp_path, toml, key, words):
    """Each bad value gives a SettingsError naming the key and the accepted values."""
    path = tmp_path / "playbook.toml"
    path.write_text(toml)
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert f"'{key}'" in str(caught.value) and words in str(caught.value)


def test_invalid_toml_syntax(tmp_path):
    """Broken TOML is a SettingsError naming the file."""
    path = tmp_path / "playbook.toml"
    path.write_text("[store\nname=")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(path)


def test_yesterday_is_in_the_store_time_zone():
    """At 23:30 UTC on 1 March it is already 2 March in Tokyo: yesterday there is 1 March."""
    now = dt.datetime(2024, 3, 1, 23, 30, tzinfo=dt.timezone.utc)
    tokyo = Settings.from_dict({"store": {"timezone": "Asia/Tokyo"}})
    london = Settings.from_dict({"store": {"timezone": "Europe/London"}})
    assert tokyo.yesterday(now) == dt.date(2024, 3, 1)
    assert london.yesterday(now) == dt.date(2024, 2, 29)


def test_example_settings_file_is_valid():
    """The example playbook.toml shipped with the project loads without error."""
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "playbook.toml"
    assert load_settings(example).store.timezone


def test_loyalty_tiers_are_read_lowest_first(tmp_path):
    """[loyalty] tiers from playbook.toml, with min_orders defaulting to 1; they reach the
    notebook kernel through to_dict and come back the same."""
    path = tmp_path / "playbook.toml"
    path.write_text('[loyalty]\ntiers = [{ name = "Friend", min_spend = 0 },\n'
                    '  { name = "VIP", min_spend = 500, min_orders = 4 }]\nwindow_days = 365\n')
    loyalty = load_settings(path).loyalty
    assert [(t.name, t.min_spend, t.min_orders) for t in loyalty.tiers] == \
        [("Friend", 0.0, 1), ("VIP", 500.0, 4)]
    assert loyalty.window_days == 365
    assert Settings.from_dict(load_settings(path).to_dict()).loyalty == loyalty
    handed = tomllib.loads(settings_toml(load_settings(path)))  # what a run's kernels read
    assert Settings.from_dict(handed).loyalty == loyalty
    assert Settings().loyalty.tiers[-1].name == "Gold"


@pytest.mark.parametrize("tiers, key, words", [
    ("[]", "loyalty.tiers", "a list of tiers"),
    ('[{ name = "A", min_spend = 100 }, { name = "B", min_spend = 50, min_orders = 2 }]',
     "loyalty.tiers[2]", "a tier above 'A'"),
    ('[{ name = "A" }, { name = "A", min_spend = 50 }]', "loyalty.tiers[2].name",
     "not used by another tier"),
    ('[{ name = "A", min_spend = -5 }]', "loyalty.tiers[1].min_spend", "0 or more"),
    ('[{ name = "A", min_orders = 1.5 }]', "loyalty.tiers[1].min_orders", "whole number"),
    ('[{ name = "A", spend = 5 }]', "loyalty.tiers[1]", "name, min_spend and min_orders"),
    ('[{ name = "A" }, { name = "B" }]', "loyalty.tiers[2]", "at least one higher"),
])
def test_bad_loyalty_tiers_name_the_tier_file_and_line(tmp_path, tiers, key, words):
    """A bad tier names itself (its place in the list), the file and the line of tiers."""
    path = tmp_path / "shop.toml"
    path.write_text(f'[store]\nname = "x"\n\n[loyalty]\ntiers = {tiers}\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert f"'{key}'" in message and words in message, message
    assert f"{path}, line 5" in message and caught.value.line == 5
