"""`playbook run`: execute a cadence's notebooks with papermill and file the reports.

For each cadence and report date the runner executes every notebook of
`notebooks/<cadence>/` in its own fresh kernel (up to `jobs` at once), exports the result
to HTML in this process, and files `OUT/<cadence>/<date>/<name>.ipynb`, `<name>.html` and
`run.json`, then rewrites `OUT/index.html`.

* Kernels come from a small pool started ahead of need: each has already imported what
  the notebooks import (pandas, Ibis, Altair, opslib...) before it is handed a notebook,
  and each runs exactly one notebook, so nothing leaks from one notebook to another.
* The kernel is the project's own (`store-ops-playbook`, this interpreter), installed
  on first use, so cron never picks up another Python.
* Success is papermill's verdict (its exception), never the look of the output file. A
  kernel that dies is retried once; a notebook that outlives its time limit is killed.
* A date's files are written to a temporary folder and swapped into place when the run
  is complete, so a report only appears complete and re-running a date replaces it whole
  (with `only`, just the notebook named: the date's other reports and figures are kept).
* One lock per cadence: a second run of the same cadence stops at once.
* Before the notebooks, the tables they declare they read (`READS` in `opslib.views`) are
  checked against the data contract; a notebook reading a table that breaks it is failed
  without running, naming table, column and rule. The others run.
* Kernels die with the run (see opslib.runs.kernels); SIGTERM stops a run cleanly (kernels
  killed, temporary folders removed, RunInterrupted), and a run removes what runs killed
  earlier left in the temporary folder.

>>> period_end("weekly", dt.date(2025, 11, 28)), period_end("monthly", dt.date(2025, 11, 28))
(datetime.date(2025, 11, 23), datetime.date(2025, 10, 31))
>>> [d.isoformat() for d in due_dates("daily", until=dt.date(2025, 11, 30),
...                                   last_ok=dt.date(2025, 11, 27))]
['2025-11-28', '2025-11-29', '2025-11-30']
"""

from __future__ import annotations

import datetime as dt
import fcntl
import html
import json
import logging
import os
import ast
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from opslib.config import Settings
from opslib.errors import BadParameter, MissingFileError, OpslibError
from opslib.runs import reports
from opslib.runs.kernels import (STARTUP_SECONDS, KernelPool, clear_stale_run_folders,
                                 imported_modules, run_folder)
from opslib.schema import TABLES, Violation, validate_store
from opslib.workspace import SHIPPED_NOTEBOOKS

__all__ = [
    "CADENCES", "KERNEL_NAME", "NOTEBOOKS_DIR", "RunLocked", "RunInterrupted", "NotebookResult",
    "RunResult", "RunReport", "run", "period_end", "period_start", "due_dates",
    "find_notebooks", "ensure_kernel", "cadence_lock", "settings_toml", "import_dropped_files",
    "notebook_reads", "contract_breaks",
]

CADENCES = ("daily", "weekly", "monthly")
_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # opslib/
KERNEL_NAME = "store-ops-playbook"
# The notebooks shipped in the package; `playbook run` passes the workspace's copies instead.
NOTEBOOKS_DIR = SHIPPED_NOTEBOOKS
# Settings the kernels never see: where failure notices go (a webhook URL is a secret).
NOTIFY_KEYS = ("webhook_url", "smtp_host", "smtp_port", "smtp_user", "mail_from", "mail_to",
               "send_digest", "reports_url")
SECRET_ENV = ("PLAYBOOK_SMTP_PASSWORD",)
_ERROR_CHARS = 300
# Store.open loads Ibis's DuckDB backend on first use (about half a second): warm it up too.
ENGINE_MODULES = ["ibis.backends.duckdb"]
# Outcomes are reported by the runner; papermill's own log lines would repeat them.
_QUIET = logging.NullHandler()


class RunLocked(OpslibError):
    """Another `playbook run` of the same cadence holds the lock."""


class RunInterrupted(OpslibError):
    """The run was stopped by SIGTERM before it finished."""


class _Terminated(BaseException):
    """Raised by the SIGTERM handler: a BaseException, so no `except Exception` swallows it."""


# ---------------------------------------------------------------------------------------
# Periods


def period_end(cadence: str, day: dt.date) -> dt.date:
    """The report date of the last complete period of `cadence` ending on or before `day`.

    Daily: the day itself; weekly: the Sunday ending the last complete Monday–Sunday week;
    monthly: the last day of the last complete calendar month.
    """
    if cadence == "daily":
        return day
    if cadence == "weekly":
        return day - dt.timedelta(days=(day.weekday() + 1) % 7)
    if cadence == "monthly":
        following = day + dt.timedelta(days=1)
        return day if following.month != day.month else day.replace(day=1) - dt.timedelta(1)
    raise BadParameter(f"cadence '{cadence}'", expected=f"one of {', '.join(CADENCES)}",
                       found=repr(cadence), fix="Use daily, weekly, monthly or all.")


def period_start(cadence: str, end: dt.date) -> dt.date:
    """The first day of the period whose report date is `end`."""
    if cadence == "weekly":
        return end - dt.timedelta(days=6)
    if cadence == "monthly":
        return end.replace(day=1)
    return end


def _previous_end(cadence: str, end: dt.date) -> dt.date:
    return period_end(cadence, period_start(cadence, end) - dt.timedelta(days=1))


def due_dates(cadence: str, *, until: dt.date, last_ok: dt.date | None) -> list[dt.date]:
    """Report dates after `last_ok` up to the period ending on or before `until`, oldest first.

    With no successful run yet, only the latest period is due.
    """
    end = period_end(cadence, until)
    if last_ok is None or last_ok >= end:
        return [end] if last_ok is None or last_ok < end else []
    dates = []
    while end > last_ok:
        dates.append(end)
        end = _previous_end(cadence, end)
    return sorted(dates)


# ---------------------------------------------------------------------------------------
# Notebooks, kernel, settings


def find_notebooks(cadence: str, *, notebooks_dir: Path | None = None,
                   only: str | None = None) -> list[Path]:
    """The notebooks of a cadence, in name order; `only` keeps one (by name or number)."""
    folder = Path(notebooks_dir or NOTEBOOKS_DIR) / cadence
    found = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if only is None:
        return found
    wanted = only.removesuffix(".ipynb")
    chosen = [p for p in found if wanted in (p.stem, re.sub(r"^\d+[_-]", "", p.stem))]
    return chosen


def ensure_kernel() -> Any:
    """Install the project kernel for this interpreter when missing; return a spec manager.

    The kernel spec lives in this environment (`sys.prefix`) and the returned manager
    looks only there, so a kernel of the same name elsewhere can never be picked up.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    kernels = Path(sys.prefix) / "share" / "jupyter" / "kernels"
    manager = KernelSpecManager(kernel_dirs=[str(kernels)])
    try:
        spec = manager.get_kernel_spec(KERNEL_NAME)
        if _same_interpreter(Path(spec.argv[0]), Path(sys.executable)):
            return manager
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import write_kernel_spec

    # As ipykernel's install(), without leaving its temporary folder behind.
    with tempfile.TemporaryDirectory() as staging:
        source = write_kernel_spec(Path(staging) / KERNEL_NAME,
                                   overrides={"display_name": "Store Ops Playbook"},
                                   python_arguments=["-Xfrozen_modules=off"])
        manager.install_kernel_spec(str(source), kernel_name=KERNEL_NAME, prefix=sys.prefix)
    return manager


def _same_interpreter(a: Path, b: Path) -> bool:
    """python and python3 of one environment are the same interpreter (one links the other)."""
    return a == b or (a.parent == b.parent and a.exists() and a.resolve() == b.resolve())


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):  # e.g. [loyalty] tiers: an array of inline tables
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}"
                               for k, v in value.items()) + "}"
    return json.dumps(str(value), ensure_ascii=False)


def _toml_table(prefix: str, data: dict[str, Any]) -> list[str]:
    plain = [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in data.items()
             if not isinstance(v, dict)]
    lines = [f"[{prefix}]", *plain, ""]
    for key, value in data.items():
        if isinstance(value, dict):
            lines += _toml_table(f"{prefix}.{json.dumps(key)}", value)
    return lines


def settings_toml(settings: Settings) -> str:
    """The resolved settings as a playbook.toml for the kernels, without notification keys.

    >>> import tomllib
    >>> s = Settings.from_dict({"runs": {"webhook_url": "https://hooks.invalid/T0/secret"},
    ...                         "targets": {"bands": {"net_sales": {"low": 100.0}}}})
    >>> text = settings_toml(s)
    >>> "secret" in text, Settings.from_dict(tomllib.loads(text)).targets.bands
    (False, {'net_sales': {'low': 100.0}})
    """
    data = settings.to_dict()
    for key in NOTIFY_KEYS:
        data.get("runs", {}).pop(key, None)
    lines = ["# Resolved settings handed to the report kernels (notification keys left out)."]
    for section, values in data.items():
        lines += _toml_table(section, values)
    return "\n".join(lines)


def import_dropped_files(data_dir: Path, *, settings: Settings) -> str:
    """Import files dropped into DATA/raw/<source>/ since the last run; say what happened."""
    try:
        from opslib.ingest import import_raw_folder
    except ImportError:
        return "Importing dropped files is not available yet: reports use the tables as they are."
    return import_raw_folder(data_dir, settings=settings).text()


# ---------------------------------------------------------------------------------------
# What the notebooks read, checked against the data contract before they run


def _module_reads(module: str) -> tuple[str, ...] | None:
    """The `READS` of an opslib module, read from its source (not imported); None if none."""
    base = _PACKAGE_DIR.joinpath(*module.split(".")[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                target = node.targets[0] if isinstance(node, ast.Assign) else \
                    getattr(node, "target", None)
                if isinstance(target, ast.Name) and target.id == "READS":
                    return tuple(ast.literal_eval(node.value))
            return None
    return None


def notebook_reads(notebook: Path) -> set[str] | None:
    """What a notebook reads: tables ("orders") and single columns ("orders.created_at").

    Declared by `READS` in the `opslib.views` page modules the notebook imports, plus the
    setup's own (`opslib.views.READS`). None when no page module it imports declares any:
    such a notebook is not checked before it runs.
    """
    modules = [m for m in imported_modules([notebook]) if m.startswith("opslib.views.")]
    pages = [reads for m in modules if (reads := _module_reads(m)) is not None]
    if not pages:
        return None
    return {entry for reads in pages for entry in reads} | set(_module_reads("opslib.views") or ())


def contract_breaks(data_dir: Path, tables: set[str]) -> list[Violation]:
    """The data-contract violations of the present `tables`, as `playbook check` finds them
    (their references to other tables included)."""
    wanted = set(tables) | {fk.table for name in tables for fk in TABLES[name].foreign_keys}
    _, found = validate_store(data_dir, only=wanted)
    return [v for v in found if v.table in tables]


def _concerns(violation: Violation, reads: set[str]) -> bool:
    """Whether a violation is about something a notebook reads (its table or its column)."""
    table = violation.table
    return table in reads or f"{table}.{violation.column}" in reads or (
        violation.column is None and any(r.startswith(f"{table}.") for r in reads))


def _describe(violation: Violation) -> str:
    rows = "the whole column" if violation.failing_rows < 0 else \
        f"{violation.failing_rows:,} row(s)"
    return f"{violation.table}.{violation.column or '*'}: {violation.rule} ({rows})"


def _contract_gate(notebooks: list[Path], *, data_dir: Path,
                   echo: Callable[[str], None]) -> dict[Path, list[Violation]]:
    """The notebooks that read a table breaking the contract, with the violations."""
    reads = {nb: found for nb in notebooks if (found := notebook_reads(nb)) is not None}
    tables = {entry.split(".")[0] for found in reads.values() for entry in found}
    breaks = contract_breaks(data_dir, tables & set(TABLES)) if tables else []
    blocked = {nb: [v for v in breaks if _concerns(v, found)] for nb, found in reads.items()}
    for violation in {id(v): v for found in blocked.values() for v in found}.values():
        echo(f"Data contract broken: {_describe(violation)}; the notebooks that read it are "
             f"not run (see `playbook check`).")
    return {nb: found for nb, found in blocked.items() if found}


def _not_run(violations: list[Violation]) -> tuple[str, list[dict]]:
    """The error and warnings of a notebook failed for reading a table that breaks the
    contract (rules, never example values: the page may be shared)."""
    error = _one_line("not run: it reads data that breaks the data contract: "
                      + "; ".join(_describe(v) for v in violations)
                      + ". Run `playbook check`, fix the source data and import again.")
    warnings = [{"code": "contract_break", "table": v.table, "column": v.column,
                 "rule": v.rule, "rows": v.failing_rows,
                 "message": f"{_describe(v)}: breaks the data contract"}
                for v in violations]
    return error, warnings


# ---------------------------------------------------------------------------------------
# Signals


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into RunInterrupted, raised in the main thread once the cleanup (kernels
    killed, temporary folders removed) is done; a second SIGTERM meanwhile is ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except _Terminated:
        raise RunInterrupted("the run was stopped (SIGTERM) before it finished: its kernels "
                             "were stopped and the dates it had not finished were not filed",
                             fix="Run it again; reports filed before are unchanged.") from None
    finally:
        signal.signal(signal.SIGTERM, previous)


# ---------------------------------------------------------------------------------------
# Locks


@contextmanager
def cadence_lock(out_dir: Path, cadence: str) -> Iterator[None]:
    """Hold the run lock of a cadence; RunLocked at once if another run holds it."""
    folder = Path(out_dir) / cadence
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / ".lock", "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunLocked(f"a {cadence} run is already in progress in '{out_dir}' "
                            f"({holder})",
                            fix="Wait for it to finish; this run was not started.") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} since {dt.datetime.now():%Y-%m-%d %H:%M:%S}")
        handle.flush()
        yield
    finally:
        handle.close()


# ---------------------------------------------------------------------------------------
# Results


@dataclass
class NotebookResult:
    """How one notebook of a run went; paths are relative to OUT."""

    name: str
    status: str  # "ok", "failed" or "timed out"
    seconds: float
    attempts: int
    ipynb: str | None
    html: str | None
    error: str | None = None
    kpis: dict[str, float | None] = field(default_factory=dict)
    warnings: list[dict] = field(default_factory=list)
    lists: dict[str, dict] = field(default_factory=dict)  # action lists' rows, by name

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("kpis")
        data.pop("lists")
        return data


@dataclass
class RunResult:
    """One cadence for one date: its notebooks, figures and warnings."""

    cadence: str
    date: dt.date
    started_at: dt.datetime
    finished_at: dt.datetime
    notebooks: list[NotebookResult]
    kpis: dict[str, float | None]
    warnings: list[dict]
    folder: Path
    lists: dict[str, dict] = field(default_factory=dict)  # name -> {"notebook", "rows", "file"}

    @property
    def ok(self) -> bool:
        return all(nb.status == "ok" for nb in self.notebooks)

    def to_json(self) -> dict[str, Any]:
        return {
            "cadence": self.cadence,
            "date": self.date.isoformat(),
            "period": {"start": period_start(self.cadence, self.date).isoformat(),
                       "end": self.date.isoformat()},
            "status": "ok" if self.ok else "failed",
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "finished_at": self.finished_at.isoformat(timespec="seconds"),
            "seconds": round((self.finished_at - self.started_at).total_seconds(), 2),
            "notebooks": [nb.to_json() for nb in self.notebooks],
            "kpis": self.kpis,
            "lists": self.lists,
            "warnings": self.warnings,
        }

    def failure_lines(self) -> list[str]:
        return [f"FAILED {self.cadence} {self.date} {nb.name}: {nb.status}: {nb.error}"
                for nb in self.notebooks if nb.status != "ok"]


@dataclass
class RunReport:
    """Everything one `playbook run` did, for the command line and notifications."""

    runs: list[RunResult] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    import_failed: str | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.import_failed is None and all(r.ok for r in self.runs)

    def failure_lines(self) -> list[str]:
        lines = [f"FAILED import: {self.import_failed}"] if self.import_failed else []
        return lines + [line for r in self.runs for line in r.failure_lines()]

    def text(self) -> str:
        """One line per run, then warnings, failures and notices (`messages` are echoed live)."""
        lines = []
        for r in self.runs:
            good = sum(nb.status == "ok" for nb in r.notebooks)
            lines.append(f"{r.cadence} {r.date}: {good}/{len(r.notebooks)} notebooks ok in "
                         f"{(r.finished_at - r.started_at).total_seconds():.1f} s -> "
                         f"{r.folder}")
            warned = [w for w in r.warnings if w.get("code") != "no_data"]
            lines += [f"WARNING {r.cadence} {r.date}: {w.get('message')}" for w in warned]
        return "\n".join(lines + self.failure_lines() + self.notices)


# ---------------------------------------------------------------------------------------
# Running


@dataclass
class _Unit:
    """One cadence-date being run: its notebooks and its temporary folder."""

    cadence: str
    date: dt.date
    notebooks: list[Path]
    staging: Path
    started_at: dt.datetime | None = None
    results: dict[str, NotebookResult] = field(default_factory=dict)
    kept: list[NotebookResult] = field(default_factory=list)


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _ERROR_CHARS else text[:_ERROR_CHARS - 1] + "…"


def _execute(source: Path, target: Path, *, pool: KernelPool, parameters: dict[str, Any],
             timeout: int) -> tuple[str, str | None, int]:
    """Run one notebook; return (status, error summary, attempts). Never raises."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    for attempt in (1, 2):
        try:
            km = pool.take()
        except OpslibError as err:
            return "failed", _one_line(str(err)), attempt
        timed_out = threading.Event()

        def stop(km=km, timed_out=timed_out) -> None:
            timed_out.set()
            process = getattr(km.provisioner, "process", None)
            if process is not None:
                process.kill()

        watchdog = threading.Timer(timeout, stop)
        watchdog.start()
        try:
            papermill.execute_notebook(
                str(source), str(target), parameters=parameters, km=km,
                kernel_name=KERNEL_NAME, progress_bar=False, log_output=False,
                execution_timeout=timeout + 30, start_timeout=STARTUP_SECONDS)
            return "ok", None, attempt
        except papermill.PapermillExecutionError as err:
            where = f" (at In [{err.exec_count}])" if err.exec_count else ""
            return "failed", _one_line(f"{err.ename}: {err.evalue}{where}"), attempt
        except (DeadKernelError, CellTimeoutError) as err:
            if timed_out.is_set() or isinstance(err, CellTimeoutError):
                return "timed out", f"stopped after {timeout} s (runs.notebook_timeout_" \
                                    f"seconds)", attempt
            if attempt == 2:
                return "failed", "the kernel died twice (out of memory, or the process " \
                                 "was killed)", attempt
            pool.reserve(1)
        except Exception as err:  # papermill or nbclient trouble: report it, go on
            return "failed", _one_line(f"{type(err).__name__}: {err}"), attempt
        finally:
            watchdog.cancel()
            pool.retire(km)
    raise AssertionError("unreachable")


def _finish_notebook(unit: _Unit, source: Path, *, status: str, error: str | None,
                     attempts: int, seconds: float,
                     extra_warnings: tuple[dict, ...] | list[dict] = ()) -> NotebookResult:
    """Read the run notebook, write its HTML beside it, and summarise the outcome."""
    import nbformat

    name = source.stem
    ipynb = unit.staging / f"{name}.ipynb"
    final = Path(unit.cadence) / unit.date.isoformat()
    if ipynb.exists():
        nb = nbformat.read(ipynb, as_version=4)
    else:  # the kernel never ran it: keep an error page all the same
        nb = nbformat.v4.new_notebook()
    kpis, warnings = reports.collect_outputs(nb)
    lists = reports.collect_lists(nb)
    warnings = list(extra_warnings) + warnings
    try:
        page = reports.export_html(nb, title=f"{name} · {unit.cadence} {unit.date}",
                                   error=None if status == "ok" else f"{status}: {error}",
                                   warnings=warnings)
    except Exception as err:
        status, error = "failed", _one_line(f"HTML export failed: {type(err).__name__}: {err}")
        page = f"<!DOCTYPE html><p style='color:#c62828'>{html.escape(error)}</p>"
    reports.write_text_atomic(unit.staging / f"{name}.html", page)
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Store Ops Playbook",
                                 "language": "python"}
    if status != "ok":
        nb.metadata["opslib_run"] = {"status": status, "error": error}
    reports.write_text_atomic(ipynb, nbformat.writes(nb))
    return NotebookResult(name=name, status=status, seconds=round(seconds, 2),
                          attempts=attempts, ipynb=(final / ipynb.name).as_posix(),
                          html=(final / f"{name}.html").as_posix(), error=error, kpis=kpis,
                          warnings=warnings, lists=lists)


def _finish_unit(unit: _Unit, *, out_dir: Path) -> RunResult:
    """Write run.json and swap the date's folder into place."""
    from opslib.tables import _swap_into_place

    results = sorted([unit.results[p.stem] for p in unit.notebooks] + unit.kept,
                     key=lambda nb: nb.name)
    kpis: dict[str, float | None] = {}
    warnings: list[dict] = []
    owner: dict[str, str] = {}
    for nb in results:
        for figure, value in nb.kpis.items():
            if figure in owner and owner[figure] != nb.name:
                warnings.append({"code": "duplicate_figure", "notebook": nb.name,
                                 "message": f"figure '{figure}' is recorded by both "
                                            f"'{owner[figure]}' and '{nb.name}'; the first "
                                            f"is kept"})
                continue
            owner[figure] = nb.name
            kpis[figure] = value
        for warning in nb.warnings:
            item = {"notebook": nb.name, **warning}
            same = [w for w in warnings if w.get("code") == warning.get("code")
                    and w.get("message") == warning.get("message")]
            if not same:
                warnings.append(item)
    lists, list_owner = {}, {}
    for nb in results:
        for name, payload in nb.lists.items():
            if name in list_owner:
                warnings.append({"code": "duplicate_list", "notebook": nb.name,
                                 "message": f"list '{name}' is made by both "
                                            f"'{list_owner[name]}' and '{nb.name}'; the "
                                            f"first is kept"})
                continue
            list_owner[name], lists[name] = nb.name, payload
    counts = reports.write_lists(unit.staging, lists)
    final = Path(unit.cadence) / unit.date.isoformat() / reports.LISTS_DIR
    folder = out_dir / unit.cadence / unit.date.isoformat()
    result = RunResult(cadence=unit.cadence, date=unit.date, started_at=unit.started_at,
                       finished_at=dt.datetime.now().astimezone(), notebooks=results,
                       kpis=kpis, warnings=warnings, folder=folder,
                       lists={name: {"notebook": list_owner[name], "rows": rows,
                                     "file": (final / f"{name}.csv").as_posix()}
                              for name, rows in counts.items()})
    reports.write_run_json(unit.staging, result.to_json())
    _swap_into_place(unit.staging, folder)
    return result


def _keep_others(unit: _Unit, folder: Path) -> None:
    """For a run of some notebooks only (`--only`): copy the date's other reports into the
    temporary folder and keep their run.json entries, so the swap replaces just those run."""
    import nbformat

    if not folder.is_dir():
        return
    rerun = {p.stem for p in unit.notebooks}
    for path in folder.iterdir():
        if path.is_file() and path.name != reports.RUN_FILE and path.stem not in rerun:
            shutil.copy2(path, unit.staging / path.name)
    try:
        entries = json.loads((folder / reports.RUN_FILE).read_text(encoding="utf-8"))["notebooks"]
    except (OSError, ValueError, KeyError):
        entries = []
    for entry in entries:
        ipynb = unit.staging / f"{entry['name']}.ipynb"
        if entry["name"] in rerun or not ipynb.is_file():
            continue
        kept = nbformat.read(ipynb, as_version=4)
        kpis, _ = reports.collect_outputs(kept)
        unit.kept.append(NotebookResult(**entry, kpis=kpis, lists=reports.collect_lists(kept)))


def _clear_leftovers(out_dir: Path, cadence: str) -> None:
    """Remove temporary folders a killed run left (we hold the cadence lock)."""
    root = out_dir / cadence
    for leftover in list(root.glob(".*.tmp-*")) + list(root.glob(".*.old-*")):
        shutil.rmtree(leftover, ignore_errors=True)


def _kernel_env(settings_file: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    env["PLAYBOOK_SETTINGS"] = str(settings_file)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def run(cadence: str, *, data_dir: Path, out_dir: Path, settings: Settings,
        date: dt.date | None = None, jobs: int | None = None, only: str | None = None,
        catch_up: bool = False, notebooks_dir: Path | None = None,
        echo: Callable[[str], None] = lambda line: None, progress: bool = False) -> RunReport:
    """Run `cadence` (daily, weekly, monthly or all) for report date `date`; see the module.

    `date` defaults to yesterday in the store's time zone; weekly and monthly runs report
    on the last complete period ending on or before it. With `catch_up`, every period after
    the cadence's last successful run up to that date is run, oldest first. Notebook
    failures are in the returned report (never raised); a held lock raises RunLocked.
    """
    cadences = list(CADENCES) if cadence == "all" else [cadence]
    if not set(cadences) <= set(CADENCES):
        raise BadParameter(f"cadence '{cadence}'", expected="daily, weekly, monthly or all",
                           found=repr(cadence), fix="Use one of those four words.")
    data_dir, out_dir = Path(data_dir).resolve(), Path(out_dir).resolve()
    notebooks_dir = Path(notebooks_dir or NOTEBOOKS_DIR).resolve()
    if not (data_dir / "tables").is_dir():
        raise MissingFileError(f"no tables folder in data folder '{data_dir}'",
                               file=str(data_dir),
                               fix="Run `playbook demo` (or import your data) first, or pass "
                                   "--data with the right folder.")
    day = date or settings.yesterday()
    jobs = max(1, jobs or os.cpu_count() or 1)
    report = RunReport()
    folders, killed = clear_stale_run_folders()
    if folders:
        report.messages.append(f"Removed what {folders} earlier run(s) left behind: their "
                               f"temporary folders and {killed} kernel process(es).")

    plan: list[tuple[str, list[Path]]] = []
    for name in cadences:
        notebooks = find_notebooks(name, notebooks_dir=notebooks_dir, only=only)
        if notebooks:
            plan.append((name, notebooks))
        elif only:
            if cadence != "all":
                available = [p.stem for p in find_notebooks(name, notebooks_dir=notebooks_dir)]
                raise BadParameter(f"--only '{only}'", expected=f"a {name} notebook, one of "
                                   f"{', '.join(available) or '(none yet)'}", found=repr(only),
                                   fix=f"Check the name in notebooks/{name}/.")
        else:
            report.messages.append(f"No {name} notebooks yet (notebooks/{name}/ is empty): "
                                   f"nothing to run for {name}.")
    if only and not plan:
        raise BadParameter(f"--only '{only}'", expected="the name of a notebook",
                           found=repr(only), fix="See the notebooks/ folders for names.")
    for line in report.messages:
        echo(line)
    if not plan:
        return report

    with ExitStack() as stack:
        stack.enter_context(_stop_on_sigterm())
        for name, _ in plan:
            stack.enter_context(cadence_lock(out_dir, name))
        units: list[_Unit] = []
        stack.callback(lambda: [shutil.rmtree(u.staging, ignore_errors=True) for u in units])
        for name, notebooks in plan:
            _clear_leftovers(out_dir, name)
            last = reports.last_successful(out_dir, name) if catch_up else None
            dates = due_dates(name, until=day, last_ok=last) if catch_up else \
                [period_end(name, day)]
            if catch_up and not dates:
                report.messages.append(f"{name}: up to date (last successful run "
                                       f"{last}); nothing to catch up.")
                echo(report.messages[-1])
            for when in dates:
                staging = out_dir / name / f".{when.isoformat()}.tmp-{uuid.uuid4().hex[:8]}"
                staging.mkdir(parents=True)
                units.append(_Unit(name, when, notebooks, staging))
                if only:
                    _keep_others(units[-1], out_dir / name / when.isoformat())
        if not units:
            return report
        _run_units(units, report=report, data_dir=data_dir, out_dir=out_dir,
                   settings=settings, jobs=jobs, notebooks_dir=notebooks_dir, echo=echo,
                   progress=progress)
    report.notices = _notify(report, settings=settings, data_dir=data_dir, out_dir=out_dir,
                             digests=only is None)
    return report


def _notify(report: RunReport, *, settings: Settings, data_dir: Path, out_dir: Path,
            digests: bool) -> list[str]:
    """The failure notice when something failed, then with `send_digest` (and `digests`,
    false for an `--only` run) the digest of each cadence run (opslib.runs.digest)."""
    notices = [] if report.ok else _failure_notice(report, settings=settings)
    if settings.runs.send_digest and digests:
        from opslib.runs.digest import send_digests

        notices += send_digests([r.to_json() for r in report.runs], data_dir=data_dir,
                                out_dir=out_dir, settings=settings)
    return notices


def _failure_notice(report: RunReport, *, settings: Settings) -> list[str]:
    from opslib.runs.notify import send_failure_notice

    failed = [r for r in report.runs if not r.ok]
    what = ", ".join(f"{r.cadence} {r.date}" for r in failed) or "the import step"
    details = {"status": "failed", "store": settings.store.name,
               "runs": [{"cadence": r.cadence, "date": r.date.isoformat(),
                         "folder": str(r.folder)} for r in failed],
               "failures": report.failure_lines()}
    return send_failure_notice(subject=f"{settings.store.name}: playbook run failed ({what})",
                               lines=report.failure_lines(), details=details,
                               runs=settings.runs)


def _import_step(data_dir: Path, *, settings: Settings) -> tuple[str, str | None]:
    try:
        return import_dropped_files(data_dir, settings=settings), None
    except OpslibError as err:
        return f"Importing dropped files failed: {err}", _one_line(str(err))


def _run_units(units: list[_Unit], *, report: RunReport, data_dir: Path, out_dir: Path,
               settings: Settings, jobs: int, notebooks_dir: Path,
               echo: Callable[[str], None], progress: bool) -> None:
    """Execute every notebook of every unit on a shared kernel pool, oldest unit first."""
    specs = ensure_kernel()
    logging.getLogger("papermill").addHandler(_QUIET)
    tasks = [(unit, source) for unit in units for source in unit.notebooks]
    timeout = settings.runs.notebook_timeout_seconds
    with run_folder() as work_dir:
        _run_tasks(tasks, units, report=report, data_dir=data_dir, out_dir=out_dir,
                   settings=settings, jobs=jobs, notebooks_dir=notebooks_dir, echo=echo,
                   progress=progress, specs=specs, timeout=timeout, work_dir=work_dir)
    report.runs.sort(key=lambda r: (r.date, CADENCES.index(r.cadence)))


def _run_tasks(tasks: list[tuple[_Unit, Path]], units: list[_Unit], *, report: RunReport,
               data_dir: Path, out_dir: Path, settings: Settings, jobs: int,
               notebooks_dir: Path, echo: Callable[[str], None], progress: bool, specs: Any,
               timeout: int, work_dir: Path) -> None:
    """Start the kernels, import, check the contract, then run every notebook; on an
    interruption kill the kernels and let nothing more be filed."""
    settings_file = work_dir / "playbook.toml"
    settings_file.write_text(settings_toml(settings), encoding="utf-8")
    remaining = {id(unit): len(unit.notebooks) for unit in units}
    lock = threading.Lock()
    stopping = threading.Event()
    blocked: dict[Path, list[Violation]] = {}
    pool: KernelPool | None = None
    workers: ThreadPoolExecutor | None = None
    bar = None

    def work(unit: _Unit, source: Path) -> None:
        start = time.monotonic()
        with lock:
            unit.started_at = unit.started_at or dt.datetime.now().astimezone()
        extra: list[dict] = []
        if source in blocked:
            (error, extra), status, attempts = _not_run(blocked[source]), "failed", 0
        else:
            status, error, attempts = _execute(
                source, unit.staging / f"{source.stem}.ipynb", pool=pool, timeout=timeout,
                parameters={"data_dir": str(data_dir), "report_date": unit.date.isoformat(),
                            "settings_file": str(settings_file)})
        if stopping.is_set():
            return
        result = _finish_notebook(unit, source, status=status, error=error, attempts=attempts,
                                  seconds=time.monotonic() - start, extra_warnings=extra)
        with lock:
            unit.results[source.stem] = result
            remaining[id(unit)] -= 1
            done = remaining[id(unit)] == 0
            if bar is not None:
                bar.update(1)
            else:
                echo(f"{result.status:>9}  {unit.cadence} {unit.date} {result.name} "
                     f"({result.seconds:.1f} s)")
        if done:
            finished = _finish_unit(unit, out_dir=out_dir)
            with lock:
                report.runs.append(finished)
                retention = settings.runs.retention_days
                reports.prune_runs(out_dir, retention_days=retention,
                                   keep=[run.folder for run in report.runs])
                cutoff = reports.retention_cutoff(out_dir, retention_days=retention)
                if cutoff is not None and finished.date < cutoff:
                    echo(f"note: {finished.cadence} {finished.date} is more than {retention} "
                         f"days older than the newest report: the next run removes it (raise "
                         f"[runs] retention_days in playbook.toml to keep it)")
                reports.write_index(out_dir, store_name=settings.store.name,
                                    currency=settings.store.currency)

    try:
        pool = KernelPool(kernel_name=KERNEL_NAME, specs=specs, size=min(jobs, len(tasks)),
                          work_dir=work_dir, cwd=notebooks_dir, env=_kernel_env(settings_file),
                          modules=imported_modules([s for _, s in tasks]) + ENGINE_MODULES)
        pool.reserve(len(tasks))
        # Import and check while the kernels start: they import libraries, they read no data.
        imported, report.import_failed = _import_step(data_dir, settings=settings)
        echo(imported)
        blocked.update(_contract_gate(sorted({s for _, s in tasks}), data_dir=data_dir,
                                      echo=echo))
        pool.cancel(sum(source in blocked for _, source in tasks))
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(tasks), unit="notebook", desc="catching up", file=sys.stderr)
        workers = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="notebook")
        for future in [workers.submit(work, unit, source) for unit, source in tasks]:
            future.result()
    except BaseException:
        stopping.set()
        if pool is not None:
            pool.abort()
        raise
    finally:
        if workers is not None:
            workers.shutdown(cancel_futures=stopping.is_set())
        if bar is not None:
            bar.close()
        if pool is not None:
            pool.close()
