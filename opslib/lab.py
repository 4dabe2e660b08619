"""`playbook lab`: JupyterLab at the workspace root, on the playbook's kernel.

The server runs on this installation's Python (so the notebooks' `python3` kernel is this
Python), opens new notebooks on the `store-ops-playbook` kernel (installed when missing),
and passes $PLAYBOOK_HOME to the kernels: a notebook finds the workspace wherever it sits.

>>> argv = lab_argv(Path("/shop"), ["--no-browser"])
>>> argv[1:3], argv[-1]
(['-m', 'jupyterlab'], '--no-browser')
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from opslib.runs.runner import KERNEL_NAME, ensure_kernel
from opslib.workspace import HOME_VAR, Workspace

__all__ = ["lab_argv", "start_lab"]


def lab_argv(root: Path, extra: list[str]) -> list[str]:
    """The command line that starts JupyterLab at `root`; `extra` options go last."""
    return [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}",
            f"--MappingKernelManager.default_kernel_name={KERNEL_NAME}", *extra]


def start_lab(workspace: Workspace, extra: list[str]) -> None:
    """Install the kernel if needed, then replace this process with JupyterLab."""
    ensure_kernel()
    env = {**os.environ, HOME_VAR: str(workspace.root)}
    os.chdir(workspace.root)
    os.execve(sys.executable, lab_argv(workspace.root, extra), env)
