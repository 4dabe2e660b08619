"""`playbook check`: validate a data folder against the contract and explain the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from opslib.config import Settings, redact_password
from opslib.errors import MissingFileError, SchemaViolation
from opslib.ingest.commit import finish_interrupted
from opslib.schema import TABLES, Violation, validate_store

__all__ = ["CheckReport", "check_store", "check_engine"]


@dataclass
class CheckReport:
    """Row counts of the present tables, the absent ones, and every violation found."""

    counts: dict[str, int]
    violations: list[Violation] = field(default_factory=list)
    recovered: str | None = None  # what finishing an interrupted import's recovery did
    engine: str | None = None  # the engine whose tables were checked (not the Parquet files)

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def absent(self) -> list[str]:
        return [name for name in TABLES if name not in self.counts]

    def text(self) -> str:
        """A readable report: one line per table, then each violation with examples."""
        broken = {v.table for v in self.violations}
        lines = [self.recovered, ""] if self.recovered else []
        if self.engine:
            lines += [f"Tables as {self.engine} sees them (columns and row counts):", ""]
        for name in TABLES:
            if name in broken:
                lines.append(f"FAIL  {name}")
            elif name in self.counts:
                lines.append(f"ok    {name}: {self.counts[name]:,} rows")
            else:
                lines.append(f"--    {name}: absent (no data of that kind; reports say so)")
        if self.violations:
            lines += ["", f"{len(self.violations)} problem(s):"]
            for v in self.violations:
                rows = "the whole column" if v.failing_rows < 0 else f"{v.failing_rows:,} row(s)"
                example = ", ".join(repr(e) for e in v.examples[:5])
                lines.append(f"  {v.table}.{v.column or '*'}: {v.rule}; {rows}"
                             + (f"; e.g. {example}" if example else ""))
            lines += ["", "Fix the source data (or the mapping) and import again."]
        else:
            lines += ["", f"All {len(self.counts)} present tables meet the contract."]
        return "\n".join(lines)


def check_store(data_dir: Path) -> CheckReport:
    """Validate data_dir/tables; raise MissingFileError if there is no tables folder.

    An import interrupted during its commit (a journal or set-aside previous versions left
    in the folder) is undone first, under the data folder's lock, and the report says so:
    otherwise a table it had set aside would read as absent.
    """
    recovered = finish_interrupted(Path(data_dir))
    if not (Path(data_dir) / "tables").is_dir():
        raise MissingFileError(f"no tables folder in '{data_dir}'", file=str(data_dir),
                               fix="Run `playbook demo --data DIR` or `playbook import` first, "
                                   "or pass --data with the right folder.")
    counts, violations = validate_store(Path(data_dir))
    return CheckReport(counts, violations, recovered=recovered)


def check_engine(data_dir: Path, settings: Settings) -> CheckReport:
    """Open the store through the engine [engine] names and check that it reaches every
    table it holds, with the contract's columns; count their rows on the engine."""
    from opslib.store import Store

    store = Store.open(data_dir, settings)
    counts: dict[str, int] = {}
    violations: list[Violation] = []
    for name in TABLES:
        if not store.has(name):
            continue
        try:
            counts[name] = int(store.table(name).count().to_pandas())
        except SchemaViolation as err:
            violations.append(Violation(name, err.column, err.what, -1))
            counts[name] = 0
    engine = settings.engine
    where = f", tables: {engine.tables}" if engine.tables else ""
    url = redact_password(engine.url or "local[*]")
    return CheckReport(counts, violations, engine=f"{engine.kind} ({url}{where})")
