"""An installed package works: a wheel built from the repository, installed (not editable)
into a fresh virtual environment, creates a workspace, fills it and runs the daily notebooks;
a notebook executed from its own folder finds the workspace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "opslib", "notebooks", "examples")


def _run(args: list, *, cwd: Path, env: dict, timeout: int = 900) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}: {done.stdout[-4000:]}{done.stderr[-4000:]}"
    return done.stdout


@pytest.mark.slow
def test_wheel_in_a_fresh_environment(tmp_path):
    """pip wheel, pip install into a new venv, then init, demo, run daily and nbconvert;
    then imports through the shipped mappings (WooCommerce's, and one named with --mapping)."""
    source = tmp_path / "source"  # a copy, so building leaves the working tree alone
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        else:
            shutil.copy(ROOT / name, source / name)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PLAYBOOK_HOME", "PLAYBOOK_SETTINGS", "VIRTUAL_ENV", "PYTHONPATH")}
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "wheels",
          source], cwd=tmp_path, env=env)
    wheel = next((tmp_path / "wheels").glob("store_ops_playbook-*.whl"))
    _run([sys.executable, "-m", "venv", tmp_path / "venv"], cwd=tmp_path, env=env)
    bin_dir = tmp_path / "venv" / "bin"
    _run([bin_dir / "python", "-m", "pip", "install", "-q", wheel], cwd=tmp_path, env=env)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    where = _run([bin_dir / "python", "-c", "import opslib; print(opslib.__file__)"],
                 cwd=tmp_path, env=env)
    assert Path(where.strip()).is_relative_to(tmp_path / "venv"), where

    playbook = bin_dir / "playbook"
    _run([playbook, "init", "shop"], cwd=tmp_path, env=env)
    shop = tmp_path / "shop"
    _run([playbook, "demo", "--size", "small"], cwd=shop, env=env)
    out = _run([playbook, "run", "daily"], cwd=shop, env=env)
    runs = list((shop / "outputs" / "daily").glob("*/run.json"))
    assert len(runs) == 1, out
    run = json.loads(runs[0].read_text(encoding="utf-8"))
    assert run["status"] == "ok" and len(run["notebooks"]) == 7, out
    assert "newer versions" not in out  # a fresh workspace is up to date

    daily = shop / "notebooks" / "daily"
    _run([bin_dir / "jupyter", "nbconvert", "--to", "notebook", "--execute", "kpis.ipynb",
          "--output", tmp_path / "kpis_run.ipynb"], cwd=daily, env=env)
    executed = json.loads((tmp_path / "kpis_run.ipynb").read_text(encoding="utf-8"))
    errors = [o for c in executed["cells"] for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors

    (tmp_path / "wc.csv").write_text(
        "Date,Order #,Status,Customer,Customer type,Product(s),Items sold,Coupon(s),Net Sales\n"
        "2024-03-05 14:22:10,1201,Completed,Ann Lee,new,Cap,1,,12.00\n", encoding="utf-8")
    fresh = tmp_path / "fresh"
    out = _run([playbook, "import", "woocommerce-orders", tmp_path / "wc.csv", "--data", fresh],
               cwd=tmp_path, env=env)
    assert "rows read 1 = loaded 1" in out, out
    (tmp_path / "lines.csv").write_text(
        "Row ID,Order ID,Order Date,Ship Date,Ship Mode,Customer ID,Customer Name,Segment,"
        "Country,City,State,Postal Code,Region,Product ID,Category,Sub-Category,Product Name,"
        "Sales,Quantity,Discount,Profit\n"
        "1,CA-1,11/28/2016,12/14/2016,Second Class,CG-1,Claire Gute,Consumer,United States,"
        "Henderson,Kentucky,42420,South,FUR-1,Furniture,Bookcases,Bookcase,261.96,2,0,41.91\n",
        encoding="utf-8")
    out = _run([playbook, "import", "csv", tmp_path / "lines.csv", "--mapping", "superstore",
                "--data", fresh], cwd=tmp_path, env=env)
    assert "rows read 1 = loaded 1" in out, out
