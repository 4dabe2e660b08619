"""All-or-nothing writes across several tables and files.

An import changes several things at once: some canonical tables, the rejected rows, the
import ledger and the copy of the export in data/raw/. Everything is first written under a
staging folder inside the data folder; `commit` then renames each staged item into place,
keeping the previous version aside until every rename has succeeded. If one rename fails,
the ones already done are undone at once; if the process dies half-way, the journal left in
the data folder lets `recover` put the previous versions back before the next import or run
(and `playbook check` and `serve` do the same before reading: `finish_interrupted`). All of
it happens under the data folder's lock (`opslib.datalock`), so one import never reads
tables that another is replacing, nor has its staging folder cleared under it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from opslib.datalock import data_lock
from opslib.tables import write_table

__all__ = ["Transaction", "recover", "interrupted", "finish_interrupted", "JOURNAL",
           "DEMO_RETIRED"]

JOURNAL = ".import-journal.json"
_TOKEN_LENGTH = 10
_RETIRED = re.compile(rf"\.(.+)\.old-[0-9a-f]{{{_TOKEN_LENGTH}}}")  # .<name>.old-<token>
DEMO_RETIRED = ".tables-old-"  # `playbook demo` sets the previous tables/ aside under this name


def _move(source: Path, target: Path) -> None:
    """One rename (a seam the crash-safety tests break on purpose)."""
    os.replace(source, target)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@dataclass
class _Move:
    staged: str
    target: str
    retired: str
    had_old: bool = False
    done: bool = False


@dataclass
class Transaction:
    """Stage tables and files, then `commit()` them together."""

    data_dir: Path
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:_TOKEN_LENGTH])
    _moves: list[_Move] = field(default_factory=list)

    @property
    def staging(self) -> Path:
        return Path(self.data_dir) / f".import-staging-{self.token}"

    def _plan(self, staged: Path, target: Path) -> None:
        retired = target.with_name(f".{target.name}.old-{self.token}")
        self._moves.append(_Move(str(staged), str(target), str(retired)))

    def stage_table(self, name: str, frame: pd.DataFrame | pa.Table) -> None:
        """Write the full new version of a canonical table (month-partitioned Parquet)."""
        staged = write_table(self.staging, name, frame)
        self._plan(staged, Path(self.data_dir) / "tables" / staged.name)

    def stage_bytes(self, relative: str, data: bytes) -> None:
        """A file to place at data_dir/relative (replacing any previous one)."""
        staged = self.staging / "files" / uuid.uuid4().hex[:8]
        staged.parent.mkdir(parents=True, exist_ok=True)
        staged.write_bytes(data)
        self._plan(staged, Path(self.data_dir) / relative)

    def stage_copy(self, relative: str, source: Path) -> None:
        """A copy of `source`, byte for byte, to place at data_dir/relative."""
        staged = self.staging / "files" / uuid.uuid4().hex[:8]
        staged.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, staged)
        self._plan(staged, Path(self.data_dir) / relative)

    @property
    def targets(self) -> list[Path]:
        return [Path(m.target) for m in self._moves]

    def commit(self) -> None:
        """Rename everything into place; on any failure put every previous version back.

        Holds the data folder's lock (callers normally hold it already, since they read the
        tables they merge into), so `recover` never runs in the middle of a commit.
        """
        with data_lock(self.data_dir, "import commit"):
            self._commit()

    def _commit(self) -> None:
        journal = Path(self.data_dir) / JOURNAL
        try:
            for move in self._moves:
                Path(move.target).parent.mkdir(parents=True, exist_ok=True)
                move.had_old = Path(move.target).exists()
            _write_journal(journal, self._moves, Path(self.data_dir))
            for move in self._moves:
                if move.had_old:
                    _move(Path(move.target), Path(move.retired))
                _move(Path(move.staged), Path(move.target))
                move.done = True
        except BaseException:
            _undo(journal, self._moves)
            self.discard()
            raise
        journal.unlink(missing_ok=True)
        for move in self._moves:
            _remove(Path(move.retired))
        self.discard()

    def discard(self) -> None:
        """Forget everything staged (nothing in place is touched)."""
        shutil.rmtree(self.staging, ignore_errors=True)


_PATHS = ("staged", "target", "retired")


def _write_journal(journal: Path, moves: list[_Move], data_dir: Path) -> None:
    """The plan, its paths relative to the data folder (a recovery may start elsewhere)."""
    plan = [{**m.__dict__, **{k: os.path.relpath(getattr(m, k), data_dir) for k in _PATHS}}
            for m in moves]
    temp = journal.with_name(journal.name + ".tmp")
    temp.write_text(json.dumps(plan, indent=1), encoding="utf-8")
    os.replace(temp, journal)


def _read_journal(data_dir: Path) -> list[_Move]:
    plan = json.loads((data_dir / JOURNAL).read_text(encoding="utf-8"))
    return [_Move(**{**m, **{k: str(data_dir / m[k]) for k in _PATHS}}) for m in plan]


def _undo(journal: Path, moves: list[_Move]) -> None:
    """Put every previous version back and forget the plan (a failure inside the process;
    a process that dies instead leaves the journal for `recover`)."""
    _roll_back(moves)
    journal.unlink(missing_ok=True)


def _roll_back(moves: list[_Move]) -> None:
    for move in reversed(moves):
        target, retired = Path(move.target), Path(move.retired)
        if move.had_old:
            if retired.exists():
                _remove(target)
                os.replace(retired, target)
        elif not Path(move.staged).exists():
            _remove(target)  # it did not exist before: the new one goes


def recover(data_dir: str | Path) -> bool:
    """Undo an import that died half-way; True if anything was put back.

    Takes the data folder's lock (re-entrant: importers call it while holding it), so it
    never touches the staging folder or the commit of an import that is still running.
    Puts back the previous versions listed in the journal, a retired version whose new one
    is missing, and a `tables/` that `playbook demo` was swapping; clears the staging folders
    and retired files that dead imports left behind.
    """
    data_dir = Path(data_dir)
    with data_lock(data_dir, "recovery of an interrupted import"):
        journal = data_dir / JOURNAL
        undone = False
        if journal.exists():
            _roll_back(_read_journal(data_dir))
            journal.unlink()
            undone = True
        for retired in _retired(data_dir):
            target = retired.with_name(_RETIRED.fullmatch(retired.name).group(1))
            if target.exists():
                _remove(retired)  # the commit had finished; only the clean-up was cut short
            else:
                os.replace(retired, target)
                undone = True
        undone = _recover_demo_swap(data_dir) or undone
        for leftover in data_dir.glob(".import-staging-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        (data_dir / f"{JOURNAL}.tmp").unlink(missing_ok=True)  # died writing the journal
    return undone


def _retired(data_dir: Path) -> list[Path]:
    """Previous versions set aside by a commit (`.<name>.old-<token>`), anywhere in data_dir.

    os.walk, not rglob: a folder renamed by a live commit meanwhile is skipped, not an error.
    """
    found = []
    for folder, dirs, files in os.walk(data_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".import-staging-")]
        found += [Path(folder, name) for name in dirs + files if _RETIRED.fullmatch(name)]
    return sorted(found)


def _recover_demo_swap(data_dir: Path) -> bool:
    """`playbook demo` killed between its two renames leaves no tables/, only .tables-old-*."""
    old = sorted(data_dir.glob(DEMO_RETIRED + "*"), key=lambda p: p.stat().st_mtime)
    restored = False
    if old and not (data_dir / "tables").exists():
        os.replace(old.pop(), data_dir / "tables")
        restored = True
    for leftover in old:
        shutil.rmtree(leftover, ignore_errors=True)
    return restored


def interrupted(data_dir: str | Path) -> list[str]:
    """What an interrupted import (or demo swap) left in data_dir, as readable lines; [] if
    nothing. Cheap enough to call before every check, run and page server start."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return []
    found = []
    journal = data_dir / JOURNAL
    if journal.exists():
        try:
            names = ", ".join(os.path.relpath(m.target, data_dir)
                              for m in _read_journal(data_dir))
        except (ValueError, TypeError, KeyError, OSError):
            names = "unreadable plan"
        found.append(f"its journal {JOURNAL} (replacing {names})")
    found += [f"a previous version set aside as {p.relative_to(data_dir)}"
              for p in _retired(data_dir)]
    found += [f"a previous tables folder set aside by `playbook demo`: {p.name}"
              for p in data_dir.glob(DEMO_RETIRED + "*")]
    return found


def finish_interrupted(data_dir: str | Path) -> str | None:
    """Finish the recovery of an interrupted import, under the lock; say what was done.

    None when nothing was interrupted (or the writer that left the signs was alive and
    finished while we waited for the lock).
    """
    signs = interrupted(data_dir)
    if not signs:
        return None
    with data_lock(data_dir, "recovery of an interrupted import"):
        signs = interrupted(data_dir)  # a live import's commit may have finished meanwhile
        if not signs or not recover(data_dir):
            return None
    demo = any("playbook demo" in sign for sign in signs)
    return ("An interrupted " + ("`playbook demo`" if demo else "import") + " was found and "
            "undone (" + "; ".join(signs) + "): the tables are as they were before it. "
            + ("Run `playbook demo` again if you wanted the new demo store." if demo else
               "Import its file again (files in data/raw/ are imported again by the next "
               "run)."))
