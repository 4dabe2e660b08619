"""Finding an export's columns by name (with known aliases) and typed helpers over them.

>>> spec = {"order_number": Want(("Name",)), "total": Want(("Total", "Order Total"), False)}
>>> resolve_columns(["Name", "Order Total"], spec, what="orders export", file="o.csv")
{'order_number': 'Name', 'total': 'Order Total'}
>>> resolve_columns(["Total"], spec, what="orders export", file="o.csv")
Traceback (most recent call last):
...
opslib.ingest.readers.ImportFileError: orders export 'o.csv': required column 'Name' is missing (columns found: Total). Nothing was imported. Export the file again with all columns, or rename the column in the header.

A header read with the wrong delimiter is one joined column; the error says which one it uses:

>>> resolve_columns(["Name;Total"], spec, what="orders export", file="o.csv")
Traceback (most recent call last):
...
opslib.ingest.readers.ImportFileError: orders export 'o.csv': required column 'Name' is missing (columns found: Name;Total). Nothing was imported. The header looks like one column joined by ";" (the file seems to be ";"-separated): set delimiter = ";" or "auto" under [read] in the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from opslib.ingest.readers import ImportFileError, delimiter_name, joined_header_hint

__all__ = ["Want", "resolve_columns", "column_or_empty"]


@dataclass(frozen=True)
class Want:
    """A column an importer reads: its accepted header names and whether it is required."""

    names: tuple[str, ...]
    required: bool = True


def resolve_columns(header: list[str], spec: dict[str, Want], *, what: str,
                    file: str) -> dict[str, str]:
    """Field name -> header name actually present; ImportFileError if a required one is
    missing (matching ignores case and surrounding spaces)."""
    by_lower = {h.strip().lower(): h for h in header}
    found: dict[str, str] = {}
    for field_name, want in spec.items():
        match = next((by_lower[n.lower()] for n in want.names if n.lower() in by_lower), None)
        if match is not None:
            found[field_name] = match
        elif want.required:
            shown = ", ".join(header)
            alias = f" (or {', '.join(repr(n) for n in want.names[1:])})" \
                if len(want.names) > 1 else ""
            joined = next(filter(None, (joined_header_hint(header, n) for n in want.names)),
                          None)
            fix = "Export the file again with all columns, or rename the column in the header."
            if joined:
                name = delimiter_name(joined)
                fix = (f"The header looks like one column joined by {name} (the file seems "
                       f"to be {name}-separated): set delimiter = {name} or \"auto\" under "
                       "[read] in the mapping.")
            raise ImportFileError(
                f"{what} '{file}': required column '{want.names[0]}'{alias} is missing "
                f"(columns found: {shown}). Nothing was imported",
                file=file, line=1, column=want.names[0], fix=fix)
    return found


def column_or_empty(frame: pd.DataFrame, columns: dict[str, str], field_name: str) -> pd.Series:
    """The raw text of a field, or an all-empty column when the export does not have it."""
    if field_name in columns:
        return frame[columns[field_name]]
    return pd.Series([""] * len(frame), index=frame.index, dtype="str")
