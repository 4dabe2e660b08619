"""The errors the playbook raises: one base class, a few kinds, structured fields.

Every message has three parts: what failed, expected vs found, how to fix it.

>>> err = SchemaViolation("orders", column="created_at", found="text",
...                       expected="a UTC timestamp", fix="Re-import the export.")
>>> str(err)
"table 'orders' column 'created_at': expected a UTC timestamp, found text. Re-import the export."
>>> isinstance(err, OpslibError)
True
"""

from __future__ import annotations

__all__ = [
    "OpslibError",
    "MissingFileError",
    "MissingTableError",
    "SchemaViolation",
    "SettingsError",
    "BadParameter",
    "DataQualityWarning",
]


class OpslibError(Exception):
    """Base class of every error the playbook raises on purpose."""

    def __init__(
        self,
        what: str,
        *,
        expected: str | None = None,
        found: object = None,
        fix: str | None = None,
        table: str | None = None,
        column: str | None = None,
        line: int | None = None,
        file: str | None = None,
    ) -> None:
        self.what = what
        self.expected = expected
        self.found = found
        self.fix = fix
        self.table = table
        self.column = column
        self.line = line
        self.file = file
        super().__init__(self._message())

    def _message(self) -> str:
        text = self.what
        if self.expected is not None:
            text += f": expected {self.expected}, found {self.found}"
        if not text.endswith("."):
            text += "."
        return f"{text} {self.fix}" if self.fix else text


class MissingFileError(OpslibError):
    """A file or folder the user named does not exist."""


class MissingTableError(OpslibError):
    """A canonical table is absent: the store has no data of that kind."""

    def __init__(self, table: str) -> None:
        super().__init__(
            f"no '{table}' data in this store",
            table=table,
            fix=f"Import or add data/tables/{table}.parquet to see this section.",
        )


class SchemaViolation(OpslibError):
    """A table is present but unreadable or breaks the data contract."""

    def __init__(self, table: str, *, column: str | None = None, rule: str | None = None,
                 failing_rows: int = 0, examples: list | None = None, **fields) -> None:
        self.rule = rule
        self.failing_rows = failing_rows
        self.examples = examples or []
        where = f"table '{table}'" + (f" column '{column}'" if column else "")
        what = fields.pop("what", where)
        super().__init__(what, table=table, column=column, **fields)


class SettingsError(OpslibError):
    """playbook.toml has a bad or unknown value."""


class BadParameter(OpslibError):
    """A command-line option or notebook parameter is not acceptable."""


class DataQualityWarning(UserWarning):
    """Something in the data looks wrong but does not stop a report."""


class DatabaseError(OpslibError):
    """The database cannot be reached or read."""
