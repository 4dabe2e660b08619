"""Settings from playbook.toml: store, service levels, stock rules, targets, runs, goals,
engine, loyalty tiers.

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
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opslib.errors import MissingFileError, SettingsError
from opslib.workspace import WorkspaceNotFound, find_workspace

__all__ = ["Settings", "LoyaltyTier", "load_settings", "ENV_VAR", "GOAL_KEYS", "EVERY_MONTH",
           "ENGINES", "redact_password"]

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
    service_level: float = 0.95  # chance a lead time's demand fits in the reorder point
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
    send_digest: bool = False  # post a digest after each run (opslib.runs.digest)
    reports_url: str = ""  # where OUT is served, for links in the digest


ENGINES = ("duckdb", "postgres", "spark")


@dataclass(frozen=True)
class EngineSettings:
    """Which engine computes the figures, and where it finds the canonical tables."""

    kind: str = "duckdb"
    url: str = ""  # postgres: postgresql://user@host/db; spark: local[N], spark://, sc://
    tables: str = ""  # spark: a Parquet folder or URI, or a database; postgres: a schema
    password_env: str = "PLAYBOOK_DB_PASSWORD"  # PostgreSQL password or Spark Connect token
    options: dict[str, Any] = field(default_factory=dict)  # Spark configuration


@dataclass(frozen=True)
class LoyaltyTier:
    """A loyalty tier: reached with at least `min_spend` and `min_orders` (see LoyaltySettings)."""

    name: str
    min_spend: float = 0.0
    min_orders: int = 1


@dataclass(frozen=True)
class LoyaltySettings:
    """Loyalty tiers, lowest first; a customer's tier is the highest whose thresholds they
    reach with their spend (gross − discounts) and orders up to D, over the last
    `window_days` days (0 = their whole history)."""

    tiers: tuple[LoyaltyTier, ...] = (
        LoyaltyTier("Bronze", 0.0, 1), LoyaltyTier("Silver", 200.0, 2),
        LoyaltyTier("Gold", 500.0, 4))
    window_days: int = 0


def _loyalty_tiers(value: Any) -> tuple[LoyaltyTier, ...]:
    """`[loyalty] tiers` checked: a list of tables with a name, min_spend and min_orders,
    each tier strictly above the one before (never lower in either threshold)."""
    example = '[{name = "Bronze", min_spend = 0, min_orders = 1}, ...]'
    if not isinstance(value, (list, tuple)) or not value:
        raise _fail("loyalty.tiers", f"a list of tiers such as {example}", value)
    tiers: list[LoyaltyTier] = []
    for i, raw in enumerate(value, start=1):
        key = f"loyalty.tiers[{i}]"
        raw = asdict(raw) if isinstance(raw, LoyaltyTier) else raw
        if not isinstance(raw, dict) or set(raw) - {"name", "min_spend", "min_orders"} \
                or "name" not in raw:
            raise _fail(key, "a table with name, min_spend and min_orders", raw)
        name, spend, count = raw["name"], raw.get("min_spend", 0), raw.get("min_orders", 1)
        if not isinstance(name, str) or not name.strip() or name in {t.name for t in tiers}:
            raise _fail(f"{key}.name", "a name not used by another tier", name)
        if type(spend) not in (int, float) or spend < 0:
            raise _fail(f"{key}.min_spend", "an amount, 0 or more", spend)
        if type(count) is not int or count < 0:
            raise _fail(f"{key}.min_orders", "a whole number, 0 or more", count)
        tier = LoyaltyTier(name, float(spend), count)
        if tiers and (tier.min_spend < tiers[-1].min_spend
                      or tier.min_orders < tiers[-1].min_orders
                      or (tier.min_spend, tier.min_orders) == (tiers[-1].min_spend,
                                                               tiers[-1].min_orders)):
            raise _fail(key, f"a tier above {tiers[-1].name!r} (tiers lowest first: no "
                        f"threshold lower than the tier before, at least one higher)", raw)
        tiers.append(tier)
    return tuple(tiers)


GOAL_KEYS = ("net_sales", "orders", "new_customers", "gross_profit")
EVERY_MONTH = "every_month"


@dataclass(frozen=True)
class GoalSettings:
    """Monthly goals: {EVERY_MONTH: value} and/or {"YYYY-MM": value}; empty = no goal.

    In playbook.toml a goal is a number (every month) or a table of months.
    """

    net_sales: dict[str, float] = field(default_factory=dict)
    orders: dict[str, float] = field(default_factory=dict)
    new_customers: dict[str, float] = field(default_factory=dict)
    gross_profit: dict[str, float] = field(default_factory=dict)

    def for_month(self, key: str, month: dt.date) -> float | None:
        """The goal `key` for the month starting `month` (its own value, else every month's).

        >>> GoalSettings(net_sales={"every_month": 100.0, "2025-12": 150.0}).for_month(
        ...     "net_sales", dt.date(2025, 12, 1))
        150.0
        """
        values = getattr(self, key)
        return values.get(f"{month:%Y-%m}", values.get(EVERY_MONTH))


def _goal_tables(values: dict[str, Any]) -> dict[str, Any]:
    """[goals] with a plain number read as {EVERY_MONTH: number}."""
    return {key: {EVERY_MONTH: value} if type(value) in (int, float) else value
            for key, value in values.items()}


def _check_goals(g: GoalSettings) -> None:
    for key in GOAL_KEYS:
        for month, value in getattr(g, key).items():
            if month != EVERY_MONTH and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
                raise _fail(f"goals.{key}.{month}", f"a month written \"YYYY-MM\" or "
                            f"{EVERY_MONTH}", month)
            if type(value) not in (int, float) or value < 0:
                raise _fail(f"goals.{key}.{month}", "a number, 0 or more", value)


_SECTIONS = {
    "store": StoreSettings,
    "service": ServiceSettings,
    "stock": StockSettings,
    "targets": TargetSettings,
    "runs": RunSettings,
    "goals": GoalSettings,
    "engine": EngineSettings,
    "loyalty": LoyaltySettings,
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


_SPARK_MASTER = re.compile(r"local(\[(\d+|\*)\])?|(spark|sc|k8s|mesos)://\S+|yarn")


def _check_stock(s: StockSettings) -> None:
    if not 0.5 <= s.service_level < 1:
        raise _fail("stock.service_level", "a share from 0.5 to 0.999 (0.95 means 95% of "
                    "lead times end with stock left)", s.service_level)


def _check_engine(e: EngineSettings) -> None:
    if e.kind not in ENGINES:
        raise _fail("engine.kind", f"one of {', '.join(ENGINES)}", e.kind)
    if e.kind == "duckdb" and (e.url or e.tables):
        raise _fail("engine.url" if e.url else "engine.tables",
                    "nothing for kind = 'duckdb' (it reads the workspace's data/tables)",
                    e.url or e.tables)
    if e.kind == "postgres":
        url = urlsplit(e.url)
        if url.scheme not in ("postgres", "postgresql"):
            raise _fail("engine.url", "a PostgreSQL URL such as "
                        "'postgresql://shop@db.example.com:5432/shop'", e.url)
        if url.password is not None:
            raise SettingsError("settings key 'engine.url'", expected="a URL without a "
                                "password", found="a password in the URL",
                                fix=f"Remove it from playbook.toml and set ${e.password_env} "
                                    f"in the environment instead.")
    if e.kind == "spark" and e.url and not _SPARK_MASTER.fullmatch(e.url):
        raise _fail("engine.url", "a Spark master such as 'local[2]', "
                    "'spark://host:7077' or a Spark Connect address 'sc://host:15002'", e.url)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", e.password_env):
        raise _fail("engine.password_env", "the name of an environment variable",
                    e.password_env)
    if e.options and e.kind != "spark":
        raise _fail("engine.options", "nothing unless kind = 'spark' (Spark configuration)",
                    e.options)
    for key, value in e.options.items():
        if not isinstance(value, (str, int, float, bool)):
            raise _fail(f"engine.options.{key}", "a string, number or true/false", value)


def redact_password(url: str) -> str:
    """The URL without its password (for messages).

    >>> redact_password("postgresql://shop:secret@localhost:5433/shop")
    'postgresql://shop@localhost:5433/shop'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"{parts.username or ''}@{host}", parts.path,
                       parts.query, parts.fragment))


def _check_runs(r: RunSettings) -> None:
    if r.send_digest and not (r.webhook_url or r.smtp_host):
        raise SettingsError("settings key 'runs.send_digest'", expected="webhook_url or "
                            "smtp_host set in [runs] to send the digest by",
                            found="send_digest = true with neither",
                            fix="Set webhook_url and/or smtp_host (with mail_from and "
                                "mail_to) in [runs] of playbook.toml, or set send_digest "
                                "= false.")
    if r.reports_url and urlsplit(r.reports_url).scheme not in ("http", "https"):
        raise _fail("runs.reports_url", "a web address starting with https:// or http:// "
                    "(or \"\" to give the reports' folder instead)", r.reports_url)


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
    goals: GoalSettings = field(default_factory=GoalSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    loyalty: LoyaltySettings = field(default_factory=LoyaltySettings)
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
            if section == "goals":
                values = _goal_tables(values)
            known = {f.name: f for f in fields(kind)}
            defaults = kind()
            checked = {}
            for key, value in values.items():
                if section == "stock" and key == "safety_days":
                    raise SettingsError("settings key 'stock.safety_days'", expected=(
                        "service_level, the share of lead times whose demand the stock "
                        "should cover (safety stock now comes from the forecast's error)"),
                        found=f"safety_days = {value!r}",
                        fix="In [stock] of playbook.toml replace safety_days with "
                            "service_level = 0.95 (or the level you want, 0.5 to 0.999).")
                if key not in known:
                    raise _fail(f"{section}.{key}", f"one of {sorted(known)}", key)
                default = getattr(defaults, key)
                if section == "loyalty" and key == "tiers":
                    checked[key] = _loyalty_tiers(value)
                elif isinstance(default, dict):
                    if not isinstance(value, dict):
                        raise _fail(f"{section}.{key}", "a table", value)
                    checked[key] = value
                else:
                    checked[key] = _check_value(f"{section}.{key}", value, default)
            built[section] = kind(**checked)
        _check_store(built["store"])
        _check_stock(built["stock"])
        _check_targets(built["targets"])
        _check_runs(built["runs"])
        _check_goals(built["goals"])
        _check_engine(built["engine"])
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
    text = chosen.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SettingsError(f"settings file '{chosen}' is not valid TOML ({err})",
                            file=str(chosen), fix="Fix the syntax at the line shown.") from err
    try:
        return Settings.from_dict(raw, source=str(chosen.resolve()))
    except SettingsError as err:
        raise _in_file(err, chosen, text) from None


def _in_file(err: SettingsError, path: Path, text: str) -> SettingsError:
    """The same error, naming the file read (and the key's line) instead of playbook.toml.

    >>> err = _fail("store.currency", "an ISO 4217 code", "pounds")
    >>> str(_in_file(err, Path("shop.toml"), '[store]\\ncurrency = "pounds"\\n'))
    "settings key 'store.currency' in shop.toml, line 2: expected an ISO 4217 code, found 'pounds'. Fix it in shop.toml."
    """
    key = re.search(r"'([^']+)'", err.what)
    line = _line_of(text, key.group(1)) if key else None
    where = f" in {path}" + (f", line {line}" if line else "")
    return SettingsError(err.what + where, expected=err.expected, found=err.found,
                         fix=(err.fix or "").replace("playbook.toml", str(path)),
                         file=str(path), line=line)


def _line_of(text: str, key: str) -> int | None:
    """The line of `section.name` (or of `[section]`) in a TOML text, if it is written plainly."""
    section, _, name = key.partition(".")
    name = re.split(r"[.\[]", name)[0]
    in_section = False
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.fullmatch(r"\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?", line)
        if header:
            in_section = header.group(1).split(".")[0] == section
            if in_section and not name:
                return number
        elif in_section and name and re.match(rf"\s*{re.escape(name)}\s*=", line):
            return number
    return None
