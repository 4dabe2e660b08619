"""The `playbook` command: a few lines per command over the library.

Each command parses options, calls one library function, and turns the library's own
exceptions into a short message that quotes what the user typed and says how to fix it.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from opslib.config import load_settings
from opslib.errors import OpslibError

DATA_HELP = "Data folder holding tables/ (default: ./data)."
SETTINGS_HELP = "playbook.toml to use (default: $PLAYBOOK_SETTINGS, else ./playbook.toml)."


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date; write it as YYYY-MM-DD, "
                                 f"e.g. 2024-11-29.") from None


def _date_option(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    """Click callback: parse a YYYY-MM-DD option before the command runs."""
    return _date(value)


class _Group(click.Group):
    """Shows library errors as one readable line and exits with 2 (no traceback)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except OpslibError as err:
            click.secho(f"Error: {err}", fg="red", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="store-ops-playbook")
def main() -> None:
    """Store Ops Playbook: your shop's daily, weekly and monthly checks as notebooks."""


@main.command()
@click.option("--data", "data_dir", default="data", show_default=True, type=click.Path(),
              help="Folder to write the demo store into (its tables/ is replaced).")
@click.option("--size", type=click.Choice(["small", "medium", "large"]), default="medium",
              show_default=True, help="small ≈ 1 year for tests; medium ≈ 3 years, ~50,000 "
              "orders; large ≥ 1,000,000 orders for benchmarks.")
@click.option("--until", "until", default=None, metavar="YYYY-MM-DD", callback=_date_option,
              help="Last day of history (default: yesterday in the store's time zone).")
@click.option("--years", type=click.IntRange(1, 20), default=None,
              help="Years of history at the size's daily volume (default: by size).")
@click.option("--seed", type=int, default=7, show_default=True,
              help="Random seed: the same seed gives identical tables.")
@click.option("--settings", "settings_file", default=None, type=click.Path(),
              help=SETTINGS_HELP)
def demo(data_dir: str, size: str, until: dt.date | None, years: int | None, seed: int,
         settings_file: str | None) -> None:
    """Write a realistic demo store (every canonical table) into DATA/tables."""
    from opslib.demo import generate

    settings = load_settings(settings_file)
    counts = generate(Path(data_dir), size=size, until=until, years=years, seed=seed,
                      settings=settings)
    total = sum(counts.values())
    click.echo(f"Demo store '{settings.store.name}' written to {data_dir}/tables: "
               f"{len(counts)} tables, {total:,} rows ({counts.get('orders', 0):,} orders).")


@main.command()
@click.option("--data", "data_dir", default="data", show_default=True, type=click.Path(),
              help=DATA_HELP)
@click.option("--settings", "settings_file", default=None, type=click.Path(),
              help=SETTINGS_HELP)
def check(data_dir: str, settings_file: str | None) -> None:
    """Validate every table in DATA/tables against the data contract."""
    from opslib.checks import check_store

    load_settings(settings_file)
    report = check_store(Path(data_dir))
    click.echo(report.text())
    if not report.ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
