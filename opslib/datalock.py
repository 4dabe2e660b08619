"""One writer at a time per data folder: an OS file lock on `DATA/.lock`.

Everything that writes `DATA/tables` (an import, a run's import step, `playbook demo`, the
recovery of an interrupted import) holds this lock, so two writers never read the same
tables and overwrite each other's result. A second writer waits up to a bound, saying who
holds the lock, then stops with `DataLocked` having changed nothing. The lock is the kernel's
(`flock`): it goes away with the process that held it, even one killed with `kill -9`.

Within one thread the lock is re-entrant (an import that recovers an earlier one first).

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as folder, data_lock(folder, "an example"):
...     holder(folder)["what"]
'an example'
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from opslib.errors import OpslibError

__all__ = ["DataLocked", "data_lock", "holder", "LOCK_FILE", "WAIT_ENV", "DEFAULT_WAIT"]

LOCK_FILE = ".lock"
WAIT_ENV = "PLAYBOOK_LOCK_WAIT"  # seconds a second writer waits (default DEFAULT_WAIT)
DEFAULT_WAIT = 600.0
_POLL = 0.2
_REMIND = 60.0  # seconds between "still waiting" lines

_held: dict[tuple[Path, int], int] = {}  # (lock file, thread) -> depth
_held_guard = threading.Lock()


class DataLocked(OpslibError):
    """Another process is still writing the data folder after the wait."""


def _wait_seconds() -> float:
    value = os.environ.get(WAIT_ENV)
    if value is None:
        return DEFAULT_WAIT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise DataLocked(f"{WAIT_ENV} is not a number of seconds", expected="a number ≥ 0",
                         found=repr(value), fix=f"Set {WAIT_ENV}=600, for example, or unset it.")
    return seconds


def holder(data_dir: str | os.PathLike) -> dict | None:
    """Who holds (or last held) the lock: {"pid", "started", "what"}, or None if unknown."""
    try:
        return json.loads((Path(data_dir) / LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _describe(info: dict | None) -> str:
    if not info:
        return "another process"
    return (f"the {info.get('what', 'writer')} started by process {info.get('pid', '?')} "
            f"at {info.get('started', '?')}")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def data_lock(data_dir: str | os.PathLike, what: str, *, wait: float | None = None,
              echo: Callable[[str], None] = _stderr) -> Iterator[None]:
    """Hold the data folder's write lock while the block runs.

    `what` says what this writer is doing (shown to a writer that has to wait). If another
    process holds the lock, wait up to `wait` seconds (default: $PLAYBOOK_LOCK_WAIT, else
    600), telling `echo` why, then raise DataLocked.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = (data_dir / LOCK_FILE).resolve()
    key = (path, threading.get_ident())
    with _held_guard:
        if key in _held:
            _held[key] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    limit = _wait_seconds() if wait is None else wait
    handle = open(path, "a+", encoding="utf-8")
    try:
        _acquire(handle, data_dir, limit, echo)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "what": what, "started":
                                 dt.datetime.now().astimezone().isoformat(timespec="seconds")}))
        handle.flush()
        with _held_guard:
            _held[key] = 1
        try:
            yield
        finally:
            with _held_guard:
                del _held[key]
    finally:
        handle.close()  # releases the lock


def _acquire(handle, data_dir: Path, limit: float, echo: Callable[[str], None]) -> None:
    """flock `handle`, polling up to `limit` seconds."""
    start = time.monotonic()
    reminded = None
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if reminded is not None:
                echo(f"Data folder '{data_dir}' is free again; going on.")
            return
        except BlockingIOError:
            pass
        waited = time.monotonic() - start
        who = _describe(holder(data_dir))
        if waited >= limit:
            raise DataLocked(f"data folder '{data_dir}' is still in use by {who} "
                             f"(waited {waited:.0f} s); nothing was changed",
                             fix=f"Run this again when it has finished (or set {WAIT_ENV} "
                                 f"to wait longer).") from None
        if reminded is None or time.monotonic() - reminded >= _REMIND:
            echo(f"Data folder '{data_dir}' is in use: waiting for {who} "
                 f"(up to {limit:.0f} s, {waited:.0f} s so far)...")
            reminded = time.monotonic()
        time.sleep(min(_POLL, max(limit - waited, 0.01)))
