"""Run the benchmarks: `python -m benchmarks [NAME ...]` from the project folder.

NAME is any of morning, growth, engine, import, pages (default: all of them). Demo stores
are generated on first use under --work and reused; each benchmark prints a Markdown
section and all of them are written to WORK/results.md, for docs/benchmarks.md.

    python -m benchmarks                      # everything: about 45 minutes on 2 cores
    python -m benchmarks engine --reps 5
    python -m benchmarks --quick              # small stores, 1 repetition: a smoke run

--quick swaps every store for a smaller one (medium → small, large → medium) and the
1,000,000-line import for 20,000 lines; its numbers check that the benchmarks work, they
are not results.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from benchmarks import engine, imports, morning, pages, runs
from benchmarks.common import count_rows, demo_store, machine
from opslib.config import load_settings

NAMES = ("morning", "growth", "engine", "import", "pages")
DATE = dt.date(2025, 11, 30)
IMPORT_LINES = 1_000_000


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
                             "repeated to about 200 MB through its example mapping")
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

    command = "python -m benchmarks " + " ".join(
        [*args.names, f"--reps {args.reps}", *(["--quick"] if args.quick else [])])
    text = f"Command: `{command}`\n\nMachine: {machine()}\n\n" + "\n".join(sections)
    (work / "results.md").write_text(text, encoding="utf-8")
    print(f"\nMachine: {machine()}\nwritten to {work / 'results.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
