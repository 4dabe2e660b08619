"""Run the benchmarks: `python -m benchmarks [NAME ...]` from the project folder.

NAME is any of morning, growth, engine, import, pages, forecast (default: all of them).
Demo stores are generated on first use under --work and reused; each benchmark prints a
Markdown section and all of them are written to WORK/results.md, for docs/benchmarks.md.

    python -m benchmarks                      # everything: about 45 minutes on 2 cores
    python -m benchmarks engine --reps 5
    python -m benchmarks --quick              # small stores, 1 repetition: a smoke run
    python -m benchmarks forecast --superstore SAMPLE   # forecast accuracy vs libraries

--quick swaps every store for a smaller one (medium → small, large → medium) and the
1,000,000-line import for 20,000 lines, and scores forecasts on the small store only, at 2
report dates with 4 origins each; its numbers check that the benchmarks work, they are not
results.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from benchmarks import engine, forecast, imports, morning, pages, runs
from benchmarks.common import count_rows, demo_store, machine
from opslib.config import load_settings

NAMES = ("morning", "growth", "engine", "import", "pages", "forecast")
DATE = dt.date(2025, 11, 30)
IMPORT_LINES = 1_000_000
# Forecast accuracy: demo stores to FORECAST_UNTIL, report dates every other month end of
# its last year (the small store as in issue 18: two years, New York time).
FORECAST_UNTIL = dt.date(2026, 11, 30)
FORECAST_DATES = tuple(dt.date(y, m, 1) - dt.timedelta(days=1) for y, m in (
    (2026, 1), (2026, 3), (2026, 5), (2026, 7), (2026, 9), (2026, 11)))
FORECAST_STORES = (("small", 2, "America/New_York"), ("medium", 3, "Europe/London"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=[], metavar="NAME",
                        help=f"any of {', '.join(NAMES)} (default: all)")
    parser.add_argument("--work", type=Path, default=Path("benchmarks/.work"),
                        help="folder for demo stores and scratch files (default: %(default)s)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each side")
    parser.add_argument("--quick", action="store_true", help="small stores, a smoke run")
    parser.add_argument("--superstore", type=Path, metavar="SAMPLE",
                        help="the Superstore sample CSV: `import` then also measures it "
                             "repeated to about 200 MB through its example mapping; "
                             "`forecast` also scores weekly demand per product and "
                             "sub-category")
    parser.add_argument("--forecast-env", type=Path, default=Path("benchmarks/.venv-forecast"),
                        help="virtual environment for the forecasting libraries, made on "
                             "first use (default: %(default)s)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in NAMES]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(NAMES)}")
    names = args.names or list(NAMES)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    medium, large = ("small", "medium") if args.quick else ("medium", "large")
    zone = load_settings(None).store.timezone
    sections: list[str] = []

    def section(title: str, body: str) -> None:
        text = f"### {title}\n\n{body}\n"
        print("\n" + text, flush=True)
        sections.append(text)

    if "morning" in names:
        store = demo_store(work, medium, 3, DATE)
        sides = morning.compare(store, day=DATE, work=work, reps=args.reps)
        section(f"Morning run ({medium} store)", morning.report(
            sides, orders=count_rows(store, "orders"), day=DATE, reps=args.reps))
    if "growth" in names:
        found = runs.growth(work, sizes=(medium, large), date=DATE, reps=args.reps)
        section("Growth with history, and scale", runs.report(found, date=DATE,
                                                              reps=args.reps))
    if "engine" in names:
        store = demo_store(work, large, 3, DATE)
        sides = engine.compare(store, day=DATE, zone=zone, reps=args.reps)
        section(f"Engine: daily KPI set ({large} store)", engine.report(
            sides, orders=count_rows(store, "orders"), lines=count_rows(store, "order_lines"),
            day=DATE, reps=args.reps))
        # Spark local: the small store's daily pages in a quick run, else every cadence.
        sizes, cadences = (("small",), ("daily",)) if args.quick else ((medium, large),
                                                                         engine.CADENCES)
        found = {}
        for size in sizes:
            store = demo_store(work, size, 3, DATE)
            found[size] = (count_rows(store, "orders"), engine.compare_engines(
                store, day=DATE, zone=zone, reps=args.reps, cadences=cadences))
        section("Engine: Spark local against DuckDB, per cadence", engine.report_engines(
            found, day=DATE, reps=args.reps, cadences=cadences))
    if "import" in names:
        lines = 20_000 if args.quick else IMPORT_LINES
        file = imports.shopify_file(work, demo_store(work, large, 3, DATE), lines, zone)
        sides = imports.compare(file, work=work, reps=args.reps)
        section("Import: Shopify orders export", imports.report(sides, file=file, lines=lines,
                                                                reps=args.reps))
        if args.superstore:
            file = imports.superstore_file(work, args.superstore.resolve(),
                                           2 if args.quick else imports.SUPERSTORE_COPIES)
            sides = imports.compare(file, work=work, reps=args.reps,
                                    mapping=imports.SUPERSTORE_MAPPING)
            rows = sides.runs["bare read"][-1].stdout.strip()
            section("Import: Superstore through a mapping", imports.report(
                sides, file=file, lines=int(rows), reps=args.reps))
    if "pages" in names:
        store = demo_store(work, medium, 3, DATE)
        times = pages.measure_pages(store, reps=args.reps)
        section(f"Staff pages ({medium} store)", pages.report(
            times, orders=count_rows(store, "orders"), reps=args.reps))

    if "forecast" in names:
        cases, read = [], {}
        stores = FORECAST_STORES[:1] if args.quick else FORECAST_STORES
        dates = FORECAST_DATES[-2:] if args.quick else FORECAST_DATES
        for size, years, zone in stores:
            store = demo_store(work, size, years, FORECAST_UNTIL, zone=zone)
            name = f"{size} store, {years} years, {zone}"
            panel, read[name] = forecast.store_panel(store, FORECAST_UNTIL, zone, name)
            cases += [(panel, date) for date in dates]
        dropped = None
        if args.superstore:
            panels, dropped = forecast.superstore_panels(args.superstore.resolve())
            last = panels["product"].days[-1].date()
            cases += [(panel, last) for panel in panels.values()]
        found = forecast.run(cases, work=work, env=args.forecast_env.resolve(),
                             origins_count=4 if args.quick else forecast.ORIGINS)
        section("Forecast accuracy: the product against forecasting libraries",
                forecast.report(found, read_seconds=read, dropped=dropped))
        (work / "forecast.md").write_text(forecast.brief(found) + "\n", encoding="utf-8")

    command = "python -m benchmarks " + " ".join(
        [*args.names, f"--reps {args.reps}", *(["--quick"] if args.quick else [])])
    text = f"Command: `{command}`\n\nMachine: {machine()}\n\n" + "\n".join(sections)
    (work / "results.md").write_text(text, encoding="utf-8")
    print(f"\nMachine: {machine()}\nwritten to {work / 'results.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
