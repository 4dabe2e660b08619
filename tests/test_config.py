"""Settings: resolution order, defaults, and clear errors naming the key."""

from __future__ import annotations

import datetime as dt

import pytest

from opslib.config import Settings, load_settings
from opslib.errors import MissingFileError, SettingsError


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
