"""A writer process for the lock and crash tests: `python writer_child.py MODE ARGS...`.

Modes (MARKER is a file the child creates once it is where the test wants it):

* `slow-import MARKER RELEASE -- playbook args`: run the `playbook` command; each commit
  first creates MARKER and waits until the test creates RELEASE (by then the tables are
  read and the result staged). MARKER `-`: no pause.
* `slow-raw MARKER RELEASE DATA SETTINGS`: the run's import step on DATA, commits paused
  likewise; prints its report.
* `hold-lock MARKER SECONDS DATA`: hold DATA's lock for SECONDS (MARKER once held).
* `die-after-move PATTERN -- playbook args`: run the command and die (os._exit, no clean-up)
  right after the commit's first rename onto a name starting with PATTERN; `die-at-move N`
  just before its Nth rename; `pause-after-move PATTERN MARKER SECONDS` pauses there instead.
* `demo-swap-die DATA`: `playbook demo`'s tables swap into DATA, dying between its renames.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def _pause_commits(marker: str, release: str) -> None:
    from opslib.ingest import commit

    if marker == "-":
        return
    real = commit.Transaction.commit

    def slow(self):
        Path(marker).touch()
        deadline = time.monotonic() + 120
        while not Path(release).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        real(self)

    commit.Transaction.commit = slow


def _playbook(args: list[str]) -> None:
    from opslib.cli import main

    main(args, prog_name="playbook")


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode == "slow-import":
        _pause_commits(argv[1], argv[2])
        _playbook(argv[argv.index("--") + 1:])
    elif mode == "slow-raw":
        from opslib.config import load_settings
        from opslib.runs.runner import import_dropped_files

        _pause_commits(argv[1], argv[2])
        print(import_dropped_files(Path(argv[3]), settings=load_settings(argv[4])), flush=True)
    elif mode == "hold-lock":
        from opslib.datalock import data_lock

        with data_lock(argv[3], "test holding the lock"):
            Path(argv[1]).touch()
            time.sleep(float(argv[2]))
    elif mode in ("die-after-move", "die-at-move", "pause-after-move"):
        from opslib.ingest import commit

        real, seen = commit._move, [0]

        def moving(source, target):
            seen[0] += 1
            if mode == "die-at-move" and seen[0] == int(argv[1]):
                os._exit(9)
            real(source, target)
            if Path(target).name.startswith(argv[1]):
                if mode == "die-after-move":
                    os._exit(9)
                if mode == "pause-after-move":
                    Path(argv[2]).touch()
                    time.sleep(float(argv[3]))

        commit._move = moving
        _playbook(argv[argv.index("--") + 1:])
    elif mode == "demo-swap-die":
        import opslib.demo.writer as writer
        from opslib.schema import TABLES

        def replace(source, target):
            os.replace(source, target)
            if Path(target).name.startswith(".tables-old-"):
                os._exit(9)

        writer.os = type("FakeOs", (), {"replace": staticmethod(replace)})
        with writer.StagedStore(Path(argv[1])) as store:
            store.write("customers", TABLES["customers"].arrow_schema().empty_table()
                        .to_pandas())
            store.commit()
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
