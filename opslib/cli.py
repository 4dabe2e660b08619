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
from opslib.workspace import find_workspace, folder_or_workspace

DATA_HELP = "Data folder holding tables/ (default: the workspace's data/)."
SETTINGS_HELP = ("playbook.toml to use (default: $PLAYBOOK_SETTINGS, else the workspace's: "
                 "$PLAYBOOK_HOME, else the nearest folder upward holding one).")


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
@click.option("--data", "data_dir", default=None, type=click.Path(),
              help="Folder to write the demo store into (its tables/ is replaced; default: "
                   "the workspace's data/).")
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
    data_dir = folder_or_workspace(data_dir, "data")
    counts = generate(data_dir, size=size, until=until, years=years, seed=seed,
                      settings=settings)
    total = sum(counts.values())
    click.echo(f"Demo store '{settings.store.name}' written to {data_dir}/tables: "
               f"{len(counts)} tables, {total:,} rows ({counts.get('orders', 0):,} orders).")


@main.command()
@click.option("--data", "data_dir", default=None, type=click.Path(),
              help=DATA_HELP)
@click.option("--settings", "settings_file", default=None, type=click.Path(),
              help=SETTINGS_HELP)
def check(data_dir: str, settings_file: str | None) -> None:
    """Validate every table in DATA/tables against the data contract.

    An import killed during its commit is undone first (under the data folder's lock), and
    the output says so. With another engine in [engine], also check the tables it reads.
    """
    from opslib.checks import check_engine, check_store

    settings = load_settings(settings_file)
    data = folder_or_workspace(data_dir, "data")
    reports = []
    if settings.engine.kind != "postgres" and not settings.engine.tables:
        reports.append(check_store(data))  # the Parquet files the engine reads
    if settings.engine.kind != "duckdb":
        reports.append(check_engine(data, settings))
    click.echo("\n\n".join(report.text() for report in reports))
    if not all(report.ok for report in reports):
        sys.exit(1)


OUT_HELP = "Reports folder (default: the workspace's outputs/)."


@main.command(name="run")
@click.argument("cadence", type=click.Choice(["daily", "weekly", "monthly", "all"]))
@click.option("--date", "date", default=None, metavar="YYYY-MM-DD", callback=_date_option,
              help="Report date D (default: yesterday in the store's time zone); weekly and "
                   "monthly report on the last complete period ending on or before D.")
@click.option("--data", "data_dir", default=None, type=click.Path(),
              help=DATA_HELP)
@click.option("--out", "out_dir", default=None, type=click.Path(),
              help=OUT_HELP)
@click.option("--settings", "settings_file", default=None, type=click.Path(),
              help=SETTINGS_HELP)
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Notebooks run at once (default: the number of cores).")
@click.option("--only", default=None, metavar="NAME",
              help="Run one notebook of the cadence (its file name without .ipynb).")
@click.option("--notebooks", "notebooks_dir", default=None, type=click.Path(file_okay=False),
              help="Folder holding daily/, weekly/ and monthly/ (default: the workspace's "
                   "notebooks/, your copies).")
@click.option("--catch-up", is_flag=True,
              help="Also run every period after the last successful run, oldest first.")
def run_command(cadence: str, date: dt.date | None, data_dir: str | None, out_dir: str | None,
                settings_file: str | None, jobs: int | None, only: str | None,
                notebooks_dir: str | None, catch_up: bool) -> None:
    """Run a cadence's notebooks into dated HTML reports, run.json and OUT/index.html.

    The notebooks are the workspace's copies (your edits win); a line says when the
    installed playbook has newer versions of copies you have not edited.
    """
    from opslib.runs.runner import run
    from opslib.workspace import upgrade_notice

    if notebooks_dir is None:
        workspace = find_workspace()
        notebooks_dir = workspace.notebooks_dir
        notice = upgrade_notice(workspace)
        if notice:
            click.secho(notice, fg="yellow")
    report = run(cadence, data_dir=folder_or_workspace(data_dir, "data"),
                 out_dir=folder_or_workspace(out_dir, "outputs"),
                 settings=load_settings(settings_file), date=date, jobs=jobs,
                 only=only, catch_up=catch_up, notebooks_dir=Path(notebooks_dir),
                 echo=click.echo, progress=catch_up)
    click.echo(report.text())
    if not report.ok:
        click.secho(f"{len(report.failure_lines())} failure(s); see the lines above.",
                    fg="red", err=True)
        sys.exit(1)


@main.command(name="schedule")
@click.argument("action", type=click.Choice(["show", "install", "remove", "run"]))
@click.option("--data", "data_dir", default=None, type=click.Path(),
              help=DATA_HELP)
@click.option("--out", "out_dir", default=None, type=click.Path(),
              help=OUT_HELP)
@click.option("--settings", "settings_file", default=None, type=click.Path(),
              help=SETTINGS_HELP)
@click.option("--method", type=click.Choice(["auto", "systemd", "cron"]), default="auto",
              show_default=True, help="systemd user timers, crontab lines, or auto-detect.")
def schedule_command(action: str, data_dir: str, out_dir: str, settings_file: str | None,
                     method: str) -> None:
    """Show, install or remove the daily/weekly/monthly schedule, or run it in the foreground."""
    from opslib.runs import schedule

    settings = load_settings(settings_file)
    source = None if settings.source == "defaults" else Path(settings.source)
    data_dir = folder_or_workspace(data_dir, "data")
    out_dir = folder_or_workspace(out_dir, "outputs")
    notebooks_dir = find_workspace().notebooks_dir
    jobs = schedule.planned_jobs(settings, data_dir=data_dir, out_dir=out_dir,
                                 settings_file=source, notebooks_dir=notebooks_dir)
    zone = settings.store.timezone
    if action == "show":
        click.echo(schedule.show(jobs, zone=zone, method=method))
    elif action == "install":
        click.echo(schedule.install(jobs, zone=zone, method=method))
    elif action == "remove":
        click.echo(schedule.remove(out_dir, method=method))
    else:
        schedule.serve(jobs, settings=settings, data_dir=data_dir, out_dir=out_dir,
                       notebooks_dir=notebooks_dir, echo=click.echo)


IMPORT_SOURCES = ("shopify-orders", "shopify-products", "shopify-customers",
                  "shopify-inventory", "woocommerce-orders", "csv", "postgres")


@main.command(name="import")
@click.argument("source", type=click.Choice(IMPORT_SOURCES))
@click.argument("files", nargs=-1, required=True)
@click.option("--data", "data_dir", default=None, type=click.Path(),
              help="Data folder to import into (tables/, raw/, rejected/ and the ledger; "
                   "default: the workspace's data/).")
@click.option("--mapping", "mapping", default=None, type=click.Path(),
              help="TOML mapping for SOURCE csv: a file, or the name of a shipped one "
                   "(superstore, uci-online-retail, ...: see docs/data-sources.md); optional "
                   "for woocommerce-orders (the shipped mapping is used).")
@click.option("--settings", "settings_file", default=None, type=click.Path(),
              help=SETTINGS_HELP)
def import_command(source: str, files: tuple[str, ...], data_dir: str, mapping: str | None,
                   settings_file: str | None) -> None:
    """Import exports (FILES) of SOURCE, or for postgres a connection URL, into DATA.

    Prints the reconciliation (rows read = loaded + rejected + duplicates skipped) and exits
    0 only when every row is accounted for.
    """
    from opslib import ingest

    settings = load_settings(settings_file)
    data_dir = folder_or_workspace(data_dir, "data")
    if source == "postgres":
        if len(files) != 1 or mapping:
            raise click.UsageError("postgres takes one connection URL, e.g. "
                                   "postgresql://user@localhost:5432/shop, and no --mapping.")
        report = ingest.import_postgres(files[0], data_dir=data_dir, settings=settings)
    else:
        report = ingest.import_files(source, files, data_dir=data_dir, mapping=mapping,
                                     settings=settings)
    click.echo(report.text())
    if not report.ok:
        sys.exit(1)


@main.command(name="template")
@click.argument("table", type=click.Choice(["content_calendar", "purchase_orders",
                                            "competitor_prices", "promotions"]))
@click.option("--out", "out", default=None, type=click.Path(),
              help="File to write (default: TABLE.csv in the current folder).")
@click.option("--settings", "settings_file", default=None, type=click.Path(),
              help=SETTINGS_HELP + " Its time zone is the one the import reads the times in.")
def template_command(table: str, out: str | None, settings_file: str | None) -> None:
    """Write an empty CSV with TABLE's columns, to fill in by hand and import as csv."""
    from opslib.ingest.templates import write_template

    settings = load_settings(settings_file)
    path = write_template(table, Path(out) if out else Path(f"{table}.csv"))
    again = f" --settings {settings_file}" if settings_file else ""
    click.echo(f"Wrote {path}. Fill it in (dates as YYYY-MM-DD, times in "
               f"{settings.store.timezone}), then: playbook import csv {path}{again}")


@main.command(name="serve")
@click.option("--data", "data_dir", default=None, type=click.Path(),
              help=DATA_HELP)
@click.option("--host", default="localhost", show_default=True,
              help="Address to listen on; anything but localhost needs a login set up.")
@click.option("--port", type=click.IntRange(1, 65535), default=8866, show_default=True,
              help="Port to listen on.")
@click.option("--settings", "settings_file", default=None, type=click.Path(),
              help=SETTINGS_HELP)
@click.option("--idle-timeout", type=click.IntRange(1, None), default=900, show_default=True,
              help="Seconds after which an idle page's kernel stops (open tabs included).")
@click.option("--warm", type=click.IntRange(0, None), default=1, show_default=True,
              help="Kernels per page started ahead of visitors (0: one per visit).")
@click.option("--set-password", is_flag=True,
              help="Choose the staff password (stored as a hash in DATA), then exit.")
def serve_command(data_dir: str, host: str, port: int, settings_file: str | None,
                  idle_timeout: int, warm: int, set_password: bool) -> None:
    """Serve the staff pages (Voila, login required) until stopped with Ctrl-C."""
    from opslib.serve import server as serve

    data_dir = folder_or_workspace(data_dir, "data")
    if set_password:
        password = click.prompt("Staff password", hide_input=True,
                                confirmation_prompt="Repeat the password")
        path = serve.set_password(data_dir, password)
        click.echo(f"Staff password saved (as an argon2 hash) in {path}.")
        return
    from opslib.ingest.commit import finish_interrupted

    settings = load_settings(settings_file)
    recovered = finish_interrupted(data_dir)  # pages must not show a half-done import
    if recovered:
        click.echo(recovered)
    serve.serve(data_dir, settings=settings, host=host, port=port,
                idle_timeout=idle_timeout, warm=warm, echo=click.echo)


@main.command(name="init")
@click.argument("folder", required=False, type=click.Path(file_okay=False))
@click.option("--upgrade", is_flag=True,
              help="In an existing workspace: update the notebooks you have not edited to the "
                   "installed version, add new ones, and list the edited ones left alone.")
def init_command(folder: str | None, upgrade: bool) -> None:
    """Create a workspace in FOLDER (default: here): a commented playbook.toml, your copies
    of the notebooks in notebooks/daily|weekly|monthly, data/, outputs/ and a README.

    Never overwrites an existing workspace.
    """
    from opslib.workspace import init_workspace, upgrade_workspace

    click.echo(upgrade_workspace(folder) if upgrade else init_workspace(folder or "."))


@main.command(name="lab", context_settings={"ignore_unknown_options": True})
@click.argument("jupyter_options", nargs=-1, type=click.UNPROCESSED)
def lab_command(jupyter_options: tuple[str, ...]) -> None:
    """Open the workspace in JupyterLab on the playbook's kernel.

    Other options go to JupyterLab, e.g. `playbook lab --no-browser --port 8890`.
    """
    from opslib.lab import start_lab

    start_lab(find_workspace(), list(jupyter_options))


if __name__ == "__main__":
    main()
