"""All-or-nothing writes across several tables and files.

An import changes several things at once: some canonical tables, the rejected rows, the
import ledger and the copy of the export in data/raw/. Everything is first written under a
staging folder inside the data folder; `commit` then renames each staged item into place,
keeping the previous version aside until every rename has succeeded. If one rename fails,
the ones already done are undone at once; if the process dies half-way, the journal left in
the data folder lets `recover` put the previous versions back before the next import or run.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from opslib.tables import write_table

__all__ = ["Transaction", "recover", "JOURNAL"]

JOURNAL = ".import-journal.json"


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
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
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
        """Rename everything into place; on any failure put every previous version back."""
        journal = Path(self.data_dir) / JOURNAL
        try:
            for move in self._moves:
                Path(move.target).parent.mkdir(parents=True, exist_ok=True)
                move.had_old = Path(move.target).exists()
            _write_journal(journal, self._moves)
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


def _write_journal(journal: Path, moves: list[_Move]) -> None:
    temp = journal.with_name(journal.name + ".tmp")
    temp.write_text(json.dumps([m.__dict__ for m in moves], indent=1), encoding="utf-8")
    os.replace(temp, journal)


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
    """Undo an import that died half-way (a journal is left); True if anything was undone.

    Also clears staging folders of imports that died before committing.
    """
    data_dir = Path(data_dir)
    journal = data_dir / JOURNAL
    undone = False
    if journal.exists():
        moves = [_Move(**m) for m in json.loads(journal.read_text(encoding="utf-8"))]
        _roll_back(moves)
        journal.unlink()
        undone = True
    for leftover in data_dir.glob(".import-staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    return undone
