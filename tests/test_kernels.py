"""Report kernels: warm before use, one notebook each, forked or started the ordinary way."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
import pytest

from opslib.errors import OpslibError
from opslib.runs.kernels import KernelPool, imported_modules, stop_kernel
from opslib.runs.runner import KERNEL_NAME, ensure_kernel


def ask(km, code: str) -> str:
    """Run `code` in the kernel and return what it printed."""
    client = km.blocking_client()
    client.start_channels()
    printed: list[str] = []
    try:
        client.wait_for_ready(timeout=60)
        client.execute_interactive(code, timeout=60, output_hook=lambda msg: printed.append(
            msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None)
    finally:
        client.stop_channels()
    return "".join(printed).strip()


@pytest.mark.parametrize("fork", [True, False])
def test_pool_hands_out_warm_separate_kernels(tmp_path, fork):
    """Each kernel is its own process of this Python, with the notebooks' modules loaded."""
    pool = KernelPool(kernel_name=KERNEL_NAME, specs=ensure_kernel(), size=2, work_dir=tmp_path,
                      cwd=tmp_path, env=dict(os.environ), modules=["fractions", "opslib.display"],
                      fork=fork)
    pool.reserve(2)
    try:
        first, second = pool.take(), pool.take()
        answers = [ask(km, "import os, sys\nprint(os.getpid(), os.getppid(), sys.executable, "
                           "'fractions' in sys.modules, 'opslib.display' in sys.modules, "
                           "'__opslib_warm_up' in globals())") for km in (first, second)]
        pids = {answer.split()[0] for answer in answers}
        assert len(pids) == 2 and str(os.getpid()) not in pids
        for answer in answers:
            parent, executable, *flags = answer.split()[1:]
            assert (parent == str(os.getpid())) is not fork  # forked: the helper's child
            assert executable == sys.executable
            assert flags == ["True", "True", "False"]  # modules warm, no warm-up leftovers
        stop_kernel(first)
        assert not first.is_alive()
        ask(second, "x = 1")
        assert ask(second, "print(x)") == "1"
        pool.retire(second)
    finally:
        pool.close()


def test_pool_does_not_fork_after_an_import_started_a_thread(tmp_path):
    """A module that starts a thread on import makes the pool start kernels the usual way."""
    (tmp_path / "starts_a_thread.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), "
        "daemon=True).start()\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    pool = KernelPool(kernel_name=KERNEL_NAME, specs=ensure_kernel(), size=1, work_dir=tmp_path,
                      cwd=tmp_path, env=env, modules=["starts_a_thread"], fork=True)
    pool.reserve(1)
    try:
        km = pool.take()
        assert ask(km, "import os\nprint(os.getppid())") == str(os.getpid())
        pool.retire(km)
    finally:
        pool.close()


def test_pool_reports_a_kernel_that_cannot_start(tmp_path):
    """A kernel that cannot start is an error handed to whoever takes it."""
    pool = KernelPool(kernel_name=KERNEL_NAME, specs=ensure_kernel(), size=1, work_dir=tmp_path,
                      cwd=tmp_path / "no-such-folder", env=dict(os.environ), modules=[],
                      fork=False)
    pool.reserve(1)
    try:
        with pytest.raises(OpslibError, match="the report kernel did not start"):
            pool.take()
    finally:
        pool.close()


def test_imported_modules_reads_top_level_imports(tmp_path):
    """Import lines of code cells, first appearance first; relative imports and magics skipped."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import pandas as pd, json\nfrom opslib import views"),
                nbformat.v4.new_code_cell("%matplotlib inline"),
                nbformat.v4.new_markdown_cell("import nothing"),
                nbformat.v4.new_code_cell("from . import local\nimport json\nimport altair")]
    path = tmp_path / "a.ipynb"
    nbformat.write(nb, path)
    assert imported_modules([path, Path(tmp_path / "missing.ipynb")]) == \
        ["pandas", "json", "opslib", "opslib.views", "altair"]


def test_forked_kernels_die_with_the_zygote(tmp_path):
    """However the zygote ends (SIGKILL here), the kernels forked from it end at once."""
    pool = KernelPool(kernel_name=KERNEL_NAME, specs=ensure_kernel(), size=2, work_dir=tmp_path,
                      cwd=tmp_path, env=dict(os.environ), modules=[], fork=True)
    pool.reserve(2)
    try:
        kernels = [pool.take(), pool.take()]
        pids = [km.provisioner.process.pid for km in kernels]
        pool._zygote.process.kill()
        deadline = time.monotonic() + 5
        while any(km.is_alive() for km in kernels) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid, km in zip(pids, kernels) if km.is_alive()]
    finally:
        pool.close()


@pytest.mark.parametrize("fork", [True, False])
def test_abort_kills_kernels_in_use_and_stops_handing_out(tmp_path, fork):
    """abort() (a stopped run) kills the kernels handed out and those waiting; take() fails."""
    pool = KernelPool(kernel_name=KERNEL_NAME, specs=ensure_kernel(), size=2, work_dir=tmp_path,
                      cwd=tmp_path, env=dict(os.environ), modules=[], fork=fork)
    pool.reserve(3)
    try:
        in_use = pool.take()
        assert in_use.is_alive()
        pool.abort()
        deadline = time.monotonic() + 5
        while in_use.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not in_use.is_alive()
        with pytest.raises(OpslibError, match="stopped"):
            pool.take()
    finally:
        pool.close()


def test_close_after_abort_does_not_wait_for_a_kernel_killed_while_warming_up(tmp_path):
    """A run stopped while a kernel is importing its modules ends at once: close() does not
    wait out the start-up timeout on the kernel that abort() killed."""
    (tmp_path / "slow_to_import.py").write_text("import time\ntime.sleep(60)\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    pool = KernelPool(kernel_name=KERNEL_NAME, specs=ensure_kernel(), size=1, work_dir=tmp_path,
                      cwd=tmp_path, env=env, modules=["slow_to_import"], fork=False)
    pool.reserve(1)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "kernel-1.json").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(3)  # the kernel is up and importing slow_to_import
        pool.abort()
    finally:
        started = time.monotonic()
        pool.close()
    assert time.monotonic() - started < 15
