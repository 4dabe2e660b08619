"""Settings from playbook.toml: store, service levels, stock rules, targets, runs.

Found by an explicit path, else the PLAYBOOK_SETTINGS environment variable, else the
workspace's playbook.toml (see opslib.workspace: $PLAYBOOK_HOME, else the nearest folder at
or above the working directory holding one), else defaults. Unknown keys and bad values are
errors that name the key.

>>> s = Settings.from_dict({"store": {"timezone": "Europe/Paris", "currency": "EUR"}})
>>> s.store.timezone, s.service.ship_within_hours
('Europe/Paris', 24)
>>> Settings.from_dict({"store": {"timezone": "Mars/Olympus"}})
Traceback (most recent call last):
...
opslib.errors.SettingsError: settings key 'store.timezone': expected an IANA time zone name such as 'Europe/London' or 'America/New_York', found 'Mars/Olympus'. Fix it in playbook.toml.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opslib.errors import MissingFileError, SettingsError
from opslib.workspace import WorkspaceNotFound, find_workspace

__all__ = ["Settings", "load_settings", "ENV_VAR"]

ENV_VAR = "PLAYBOOK_SETTINGS"


@dataclass(frozen=True)
class StoreSettings:
    name: str = "Demo Store"
    timezone: str = "Europe/London"
    currency: str = "GBP"


@dataclass(frozen=True)
class ServiceSettings:
    ship_within_hours: int = 24
    first_response_hours: int = 24
    unresolved_after_days: int = 3


@dataclass(frozen=True)
class StockSettings:
    low_cover_days: int = 14
    bestseller_count: int = 20
    safety_days: int = 7
    cover_days: int = 28


@dataclass(frozen=True)
class TargetSettings:
    alert_band: float = 0.30
    bands: dict[str, dict[str, float]] = field(default_factory=dict)
    social: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSettings:
    retention_days: int = 400
    stale_after_days: int = 2
    notebook_timeout_seconds: int = 600
    daily_at: str = "06:00"
    weekly_at: str = "07:00"
    monthly_at: str = "08:00"
    webhook_url: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""  # password from $PLAYBOOK_SMTP_PASSWORD, never from a file
    mail_from: str = ""
    mail_to: str = ""


_SECTIONS = {
    "store": StoreSettings,
    "service": ServiceSettings,
    "stock": StockSettings,
    "targets": TargetSettings,
    "runs": RunSettings,
}


def _fail(key: str, expected: str, found: object) -> SettingsError:
    return SettingsError(f"settings key '{key}'", expected=expected, found=repr(found),
                         fix="Fix it in playbook.toml.")


def _check_value(key: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool) or isinstance(default, str):
        if type(value) is not type(default):
            raise _fail(key, f"a {type(default).__name__}", value)
    elif isinstance(default, int):
        if type(value) is not int or value < 0:
            raise _fail(key, "a whole number, 0 or more", value)
    elif isinstance(default, float):
        if type(value) not in (int, float) or not 0 < value <= 1:
            raise _fail(key, "a fraction between 0 and 1 (0.3 means 30%)", value)
        value = float(value)
    return value


def _check_store(s: StoreSettings) -> None:
    try:
        ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail("store.timezone", "an IANA time zone name such as 'Europe/London' or "
                    "'America/New_York'", s.timezone) from None
    if not re.fullmatch(r"[A-Z]{3}", s.currency):
        raise _fail("store.currency", "a three-letter ISO 4217 code such as 'EUR' or 'USD'",
                    s.currency)


def _check_targets(t: TargetSettings) -> None:
    for name, band in t.bands.items():
        if not isinstance(band, dict) or set(band) - {"low", "high"}:
            raise _fail(f"targets.bands.{name}", "a table with 'low' and/or 'high'", band)
        for bound, value in band.items():
            if type(value) not in (int, float):
                raise _fail(f"targets.bands.{name}.{bound}", "a number", value)
    allowed = {"reach", "engagement_rate", "followers_gained"}
    for platform, goals in t.social.items():
        if not isinstance(goals, dict) or set(goals) - allowed:
            raise _fail(f"targets.social.{platform}", f"a table with keys among {sorted(allowed)}",
                        goals)


@dataclass(frozen=True)
class Settings:
    """The resolved settings; `source` says which file they came from (or 'defaults')."""

    store: StoreSettings = field(default_factory=StoreSettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    stock: StockSettings = field(default_factory=StockSettings)
    targets: TargetSettings = field(default_factory=TargetSettings)
    runs: RunSettings = field(default_factory=RunSettings)
    source: str = "defaults"

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, source: str = "defaults") -> "Settings":
        """Build and validate settings from a parsed TOML document."""
        unknown = set(raw) - set(_SECTIONS)
        if unknown:
            raise _fail(sorted(unknown)[0], f"one of the sections {sorted(_SECTIONS)}",
                        sorted(unknown)[0])
        built: dict[str, Any] = {}
        for section, kind in _SECTIONS.items():
            values = raw.get(section, {})
            if not isinstance(values, dict):
                raise _fail(section, "a [section] table", values)
            known = {f.name: f for f in fields(kind)}
            defaults = kind()
            checked = {}
            for key, value in values.items():
                if key not in known:
                    raise _fail(f"{section}.{key}", f"one of {sorted(known)}", key)
                default = getattr(defaults, key)
                if isinstance(default, dict):
                    if not isinstance(value, dict):
                        raise _fail(f"{section}.{key}", "a table", value)
                    checked[key] = value
                else:
                    checked[key] = _check_value(f"{section}.{key}", value, default)
            built[section] = kind(**checked)
        _check_store(built["store"])
        _check_targets(built["targets"])
        return cls(**built, source=source)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.store.timezone)

    def today(self, now: dt.datetime | None = None) -> dt.date:
        """Today's date in the store's time zone."""
        now = now or dt.datetime.now(dt.timezone.utc)
        return now.astimezone(self.zone).date()

    def yesterday(self, now: dt.datetime | None = None) -> dt.date:
        """The last complete day in the store's time zone: the default report date."""
        return self.today(now) - dt.timedelta(days=1)

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain data (for handing to a kernel); `source` is left out."""
        data = asdict(self)
        data.pop("source")
        return data


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Resolve settings: `path`, else $PLAYBOOK_SETTINGS, else the workspace's playbook.toml,
    else defaults (when no workspace is found)."""
    chosen = path or os.environ.get(ENV_VAR)
    if not chosen:
        try:
            chosen = find_workspace().settings_file
        except WorkspaceNotFound:
            return Settings()
    chosen = Path(chosen)
    if not chosen.is_file():
        raise MissingFileError(f"settings file '{chosen}' does not exist",
                               file=str(chosen),
                               fix=f"Create it (see playbook.toml in the project) or unset "
                                   f"{ENV_VAR}.")
    try:
        raw = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise SettingsError(f"settings file '{chosen}' is not valid TOML ({err})",
                            file=str(chosen), fix="Fix the syntax at the line shown.") from err
    return Settings.from_dict(raw, source=str(chosen.resolve()))
