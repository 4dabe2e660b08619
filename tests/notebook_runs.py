"""Running a playbook notebook in a test, and reading what it displayed.

A notebook is executed with papermill on the `python3` kernel, with the three parameters
the runner passes, exactly as `playbook run` does it.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import nbformat
import papermill
from demo_data import DEMO_UNTIL

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def write_settings(folder: Path, settings, extra: str = "") -> Path:
    """playbook.toml with the store section of `settings`, then `extra` TOML."""
    store = settings.store
    path = folder / "playbook.toml"
    path.write_text(f'[store]\nname = "{store.name}"\ntimezone = "{store.timezone}"\n'
                    f'currency = "{store.currency}"\n{extra}', encoding="utf-8")
    return path


def run_notebook(cadence: str, name: str, data_dir: Path, out_dir: Path, settings_file: Path,
                 day: dt.date = DEMO_UNTIL) -> nbformat.NotebookNode:
    """Execute notebooks/<cadence>/<name>.ipynb into out_dir and return the result."""
    target = out_dir / f"{name}.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS / cadence / f"{name}.ipynb"), str(target), kernel_name="python3",
        progress_bar=False,
        parameters={"data_dir": str(data_dir), "report_date": day.isoformat(),
                    "settings_file": str(settings_file)})
    return nbformat.read(target, as_version=4)


def displayed(nb: nbformat.NotebookNode, mime: str) -> list:
    """Every output of the given MIME type, in cell order."""
    return [o["data"][mime] for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if mime in o.get("data", {})]


def error_outputs(nb: nbformat.NotebookNode) -> list[str]:
    """'Name: message' of every error output."""
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def copy_without(src: Path, dst: Path, absent: tuple[str, ...]) -> Path:
    """A copy of a store folder without the `absent` tables."""
    shutil.copytree(src / "tables", dst / "tables",
                    ignore=lambda folder, names: [n for n in names
                                                  if n.removesuffix(".parquet") in absent])
    return dst
