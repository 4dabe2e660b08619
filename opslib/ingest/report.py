"""What an import did: per file, rows read = loaded + rejected + duplicates skipped.

>>> r = FileResult(source="csv", file="a.csv", rows_read=5, rows_loaded=3, rows_rejected=1,
...                rows_duplicate=1, tables={"tickets": 3}, rejected_by_rule={"not_a_date": 1})
>>> r.adds_up, ImportReport([r]).ok
(True, True)
>>> print(ImportReport([r]).text().splitlines()[1])
  rows read 5 = loaded 3 + rejected 1 + duplicates skipped 1  ✓
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FileResult", "ImportReport"]


@dataclass
class FileResult:
    """The outcome of importing one file (or one database table set)."""

    source: str
    file: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    # rows that hold no record of their own (a products export's image-only rows): not
    # errors, so not rejected; counted by reason
    rows_skipped: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows added or changed
    rejected_by_rule: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None  # why the whole file was skipped (already imported)
    error: str | None = None  # why the file could not be imported (nothing written)
    unaccounted: list[int] = field(default_factory=list)  # lines in no outcome (a bug)
    rejected_path: str | None = None

    @property
    def adds_up(self) -> bool:
        """rows read = loaded + rejected + duplicates (+ skipped), and no line is
        unaccounted for."""
        return (self.rows_read == self.rows_loaded + self.rows_rejected + self.rows_duplicate
                + self.rows_skipped and not self.unaccounted)

    @property
    def ok(self) -> bool:
        return self.error is None and self.adds_up

    def lines(self) -> list[str]:
        head = f"{self.source}: {self.file}"
        if self.error:
            return [head, f"  FAILED, nothing written: {self.error}"]
        if self.skipped:
            return [head, f"  skipped: {self.skipped}"]
        mark = "✓" if self.adds_up else "✗ DOES NOT ADD UP"
        out = [head, f"  rows read {self.rows_read:,} = loaded {self.rows_loaded:,} + rejected "
                     f"{self.rows_rejected:,} + duplicates skipped {self.rows_duplicate:,}"
                     + (f" + skipped {self.rows_skipped:,}" if self.rows_skipped else "")
                     + f"  {mark}"]
        if self.skipped_by_reason:
            out.append("  skipped: " + ", ".join(f"{reason} {count:,}" for reason, count in
                                                  self.skipped_by_reason.items()))
        if self.unaccounted:
            shown = ", ".join(str(n) for n in self.unaccounted[:10])
            out.append(f"  {len(self.unaccounted):,} line(s) ended in no table and were not "
                       f"rejected (lines {shown}); nothing was written")
        if self.tables:
            out.append("  tables: " + ", ".join(f"{name} {count:,}"
                                                 for name, count in self.tables.items()))
        if self.rejected_by_rule:
            rules = ", ".join(f"{rule} {count:,}" for rule, count in
                              sorted(self.rejected_by_rule.items(), key=lambda kv: -kv[1]))
            out.append(f"  rejected by rule: {rules}")
            if self.rejected_path:
                out.append(f"  rejected rows kept in {self.rejected_path}")
        out += [f"  note: {note}" for note in self.notes]
        return out


@dataclass
class ImportReport:
    """Every file of one import run; `ok` only when each file adds up and none failed."""

    files: list[FileResult] = field(default_factory=list)
    recovered: bool = False  # an earlier import that died half-way was undone first

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    def text(self) -> str:
        """The reconciliation, one block per file, ready to print or log."""
        lines = []
        if self.recovered:
            lines.append("An earlier import had stopped half-way; its changes were undone "
                         "first (import its file again if it is not in data/raw/).")
        if not self.files:
            return "\n".join(lines + ["Nothing to import: no new files."])
        for result in self.files:
            lines += result.lines()
        failed = [f for f in self.files if not f.ok]
        lines.append("")
        if failed:
            lines.append(f"{len(failed)} of {len(self.files)} file(s) failed or did not add "
                         "up: see above.")
        else:
            lines.append(f"All {len(self.files)} file(s) accounted for.")
        return "\n".join(lines)
