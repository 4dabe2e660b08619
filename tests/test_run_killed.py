"""A killed `playbook run`: its kernels die with it, and what it leaves is cleared next time.

The run is a real `playbook run daily` process on the small demo store. While these tests
run, this process is a child subreaper (Linux), so the run's orphans are re-parented to it
rather than to the machine's init: what stays alive is what the run left alive, whatever
the init of the machine does with orphans.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from demo_data import DEMO_UNTIL
from opslib.runs import runner
from opslib.runs.kernels import RUN_LOCK, clear_stale_run_folders

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux process semantics")

PR_SET_CHILD_SUBREAPER = 36
PLAYBOOK = Path(sys.executable).with_name("playbook")


@pytest.fixture
def subreaper(tmp_path):
    """Orphans of the run become children of this process while the test runs; whatever
    the run under tmp_path leaves alive is killed afterwards."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    try:
        yield
    finally:
        left = run_processes(tmp_path)
        for process in left:
            process.kill()
        gone_within(left, 5)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def run_processes(tmp: Path) -> list[psutil.Process]:
    """Live processes started for a run whose temporary folders are under `tmp`."""
    found = []
    for process in psutil.process_iter():
        try:
            settings = process.environ().get("PLAYBOOK_SETTINGS", "")
            if settings.startswith(f"{tmp}{os.sep}") and \
                    process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.Error:
            continue
    return found


def gone_within(processes: list[psutil.Process], seconds: float) -> list[psutil.Process]:
    """Wait for the processes to end (reaping those re-parented to us); return survivors."""
    deadline = time.monotonic() + seconds
    while True:
        alive = []
        for process in processes:
            try:
                os.waitpid(process.pid, os.WNOHANG)
            except ChildProcessError:
                pass
            try:
                if process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def start_run(data: Path, out: Path, tmp: Path, settings_file: Path,
              *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(PLAYBOOK), "run", "daily", "--data", str(data), "--out", str(out), "--date",
         DEMO_UNTIL.isoformat(), "--settings", str(settings_file), *extra],
        env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_run_takes_its_kernels_with_it(signum, subreaper, small_demo_dir,
                                                demo_settings, tmp_path):
    """Killed while its notebooks run, a daily run leaves no kernel alive; SIGTERM cleans up
    and says why it stopped; what SIGKILL leaves is removed when the next run starts."""
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    settings_file = tmp_path / "playbook.toml"
    settings_file.write_text(runner.settings_toml(demo_settings), encoding="utf-8")
    run = start_run(small_demo_dir, out, tmp, settings_file)
    try:
        deadline = time.monotonic() + 120
        while len(kernels := run_processes(tmp)) < 3:  # the zygote and two kernels
            assert run.poll() is None and time.monotonic() < deadline, run.stdout.read()
            time.sleep(0.2)
        run.send_signal(signum)
        output = run.communicate(timeout=60)[0]
    finally:
        if run.poll() is None:
            run.kill()
    assert not gone_within(kernels, 10), "kernels outlived their run"
    assert not run_processes(tmp)
    assert not list((out / "daily").glob(f"{DEMO_UNTIL}*")), "a partial report was filed"
    left = sorted(p.name for p in tmp.iterdir())
    if signum == signal.SIGTERM:
        assert run.returncode == 2
        assert "the run was stopped (SIGTERM)" in output
        assert left == []
        assert not list((out / "daily").glob(".*.tmp-*"))  # no staging folder either
        return
    assert run.returncode == -signal.SIGKILL
    assert len(left) == 1 and left[0].startswith("playbook-run-")
    rerun = start_run(small_demo_dir, out, tmp, settings_file, "--only", "returns_refunds")
    output = rerun.communicate(timeout=300)[0]
    assert rerun.returncode == 0, output
    assert "Removed what 1 earlier run(s) left behind" in output
    assert list(tmp.iterdir()) == []
    assert (out / "daily" / DEMO_UNTIL.isoformat() / "returns_refunds.html").is_file()


def sleeper(folder: Path) -> subprocess.Popen:
    """A process that looks like a kernel of the run that made `folder`."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                            env={**os.environ, "PLAYBOOK_SETTINGS": str(folder / "playbook.toml")},
                            start_new_session=True)


def test_only_folders_of_runs_that_are_over_are_cleared(tmp_path):
    """A locked folder (a live run) and its kernels stay; an unlocked one goes with its
    orphan kernels; an older version's folder (no lock file) goes once an hour old."""
    folders = {name: tmp_path / f"playbook-run-{name}" for name in
               ("live", "dead", "old_recent", "old_stale")}
    for folder in folders.values():
        folder.mkdir()
        (folder / "playbook.toml").write_text("")
    for name in ("live", "dead"):
        (folders[name] / RUN_LOCK).write_text("")
    hour_ago = time.time() - 3700
    os.utime(folders["old_stale"], (hour_ago, hour_ago))
    held = open(folders["live"] / RUN_LOCK)
    fcntl.flock(held, fcntl.LOCK_EX)
    processes = {name: sleeper(folder) for name, folder in folders.items()}
    try:
        assert clear_stale_run_folders(tmp_path) == (2, 2)
        remaining = sorted(p.name for p in tmp_path.iterdir())
        assert remaining == ["playbook-run-live", "playbook-run-old_recent"]
        for name, process in processes.items():
            ended = process.wait(timeout=10) if name in ("dead", "old_stale") else None
            assert (ended == -signal.SIGKILL) if ended is not None else process.poll() is None
    finally:
        held.close()
        for process in processes.values():
            process.kill()
            process.wait()
