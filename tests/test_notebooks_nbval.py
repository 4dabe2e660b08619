"""Every notebook runs as the owner opens it: `pytest --nbval-lax` starts each notebook's
kernel in the notebook's own folder (as JupyterLab does), with no parameters passed, in a
workspace made by `playbook init` holding the small demo store."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from demo_data import DEMO_SEED
from opslib.config import load_settings
from opslib.demo import generate
from opslib.workspace import SHIPPED_NOTEBOOKS, init_workspace


@pytest.mark.slow
def test_every_notebook_runs_from_its_own_folder(tmp_path):
    """All notebooks pass nbval (no cell raises) when run in place, in one pytest run."""
    init_workspace(tmp_path)
    settings = load_settings(tmp_path / "playbook.toml")
    # The demo ends yesterday, so the notebooks' default report date has data, as after
    # `playbook demo`.
    generate(tmp_path / "data", size="small", seed=DEMO_SEED, settings=settings)
    notebooks = sorted((tmp_path / "notebooks").glob("*/*.ipynb"))
    assert len(notebooks) == len(list(SHIPPED_NOTEBOOKS.glob("*/*.ipynb"))) == 19
    env = {k: v for k, v in os.environ.items() if k not in ("PLAYBOOK_HOME", "PLAYBOOK_SETTINGS")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
         "-p", "no:cacheprovider", "--nbval-cell-timeout=300", "notebooks"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    for notebook in notebooks:  # each one was collected and run
        assert f"{notebook.relative_to(tmp_path)} ." in done.stdout, notebook
