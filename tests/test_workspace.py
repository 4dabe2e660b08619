"""The workspace: found like git finds .git (parameter, $PLAYBOOK_HOME, upward search);
`playbook init` creates one and `--upgrade` updates only the notebooks the owner left alone."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from opslib import workspace
from opslib.cli import main
from opslib.config import Settings, load_settings
from opslib.errors import MissingFileError
from opslib.views.base import load_report
from opslib.workspace import (Workspace, WorkspaceNotFound, find_workspace, init_workspace,
                              notebook_states, upgrade_notice, upgrade_workspace)


@pytest.fixture(autouse=True)
def _no_workspace_env(monkeypatch):
    """Each test chooses its own environment."""
    monkeypatch.delenv("PLAYBOOK_HOME", raising=False)
    monkeypatch.delenv("PLAYBOOK_SETTINGS", raising=False)


def _workspace(folder: Path, name: str = "Shop") -> Path:
    """A bare workspace: playbook.toml naming the store, and a nested notebook folder."""
    (folder / "notebooks" / "daily").mkdir(parents=True)
    (folder / "playbook.toml").write_text(f'[store]\nname = "{name}"\n', encoding="utf-8")
    return folder


def test_upward_search_from_a_notebook_folder(tmp_path, monkeypatch):
    """Run from notebooks/daily (where JupyterLab starts a kernel), the workspace is found
    two levels up, with data/ and outputs/ beside playbook.toml."""
    root = _workspace(tmp_path / "shop")
    monkeypatch.chdir(root / "notebooks" / "daily")
    ws = find_workspace()
    assert ws.root == root.resolve()
    assert (ws.data_dir, ws.outputs_dir) == (root.resolve() / "data", root.resolve() / "outputs")
    assert load_settings().store.name == "Shop"


def test_home_variable_beats_upward_search(tmp_path, monkeypatch):
    """$PLAYBOOK_HOME wins over the workspace around the working directory."""
    here = _workspace(tmp_path / "here", "Here")
    there = _workspace(tmp_path / "there", "There")
    monkeypatch.chdir(here / "notebooks" / "daily")
    monkeypatch.setenv("PLAYBOOK_HOME", str(there))
    assert find_workspace().root == there.resolve()
    assert load_settings().store.name == "There"


def test_parameter_beats_home_variable(tmp_path, monkeypatch):
    """An explicit folder wins over $PLAYBOOK_HOME and the upward search."""
    here = _workspace(tmp_path / "here")
    there = _workspace(tmp_path / "there")
    chosen = _workspace(tmp_path / "chosen")
    monkeypatch.chdir(here)
    monkeypatch.setenv("PLAYBOOK_HOME", str(there))
    assert find_workspace(chosen).root == chosen.resolve()


def test_settings_variable_beats_the_workspace_settings(tmp_path, monkeypatch):
    """$PLAYBOOK_SETTINGS names the settings file; the workspace's is used otherwise."""
    root = _workspace(tmp_path / "shop", "Workspace")
    other = tmp_path / "other.toml"
    other.write_text('[store]\nname = "Other"\n', encoding="utf-8")
    monkeypatch.chdir(root / "notebooks" / "daily")
    monkeypatch.setenv("PLAYBOOK_SETTINGS", str(other))
    assert load_settings().store.name == "Other"
    assert load_settings(root / "playbook.toml").store.name == "Workspace"


def test_nothing_found_says_where_it_looked(tmp_path, monkeypatch):
    """Outside any workspace the error lists every folder searched and says what to do;
    settings fall back to the defaults."""
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    with pytest.raises(WorkspaceNotFound) as caught:
        find_workspace()
    message = str(caught.value)
    for folder in (deep, deep.parent, tmp_path):
        assert str(folder.resolve()) in message
    assert "PLAYBOOK_HOME" in message and "playbook init" in message
    assert load_settings() == Settings()


def test_home_variable_without_settings_is_an_error(tmp_path, monkeypatch):
    """$PLAYBOOK_HOME naming a folder without playbook.toml is an error naming it."""
    monkeypatch.setenv("PLAYBOOK_HOME", str(tmp_path))
    with pytest.raises(MissingFileError, match="PLAYBOOK_HOME .* not a playbook workspace"):
        find_workspace()


def test_report_opens_the_workspace_data_from_a_notebook_folder(tmp_path, monkeypatch,
                                                                small_demo_dir):
    """A notebook's setup with data_dir None reads the workspace's data/, wherever the
    kernel starts."""
    root = _workspace(tmp_path / "shop")
    (root / "data").symlink_to(small_demo_dir, target_is_directory=True)
    monkeypatch.chdir(root / "notebooks" / "daily")
    report = load_report(report_date="2025-11-30")
    assert report.store.has("orders") and report.settings.store.name == "Shop"


def test_commands_default_to_the_workspace_folders(tmp_path, monkeypatch):
    """`playbook demo` run in a notebook folder writes into the workspace's data/."""
    root = _workspace(tmp_path / "shop")
    monkeypatch.chdir(root / "notebooks" / "daily")
    result = CliRunner().invoke(main, ["demo", "--size", "small", "--years", "1",
                                       "--until", "2025-11-30"])
    assert result.exit_code == 0, result.output
    assert (root / "data" / "tables" / "orders.parquet").exists()
    assert not (root / "notebooks" / "daily" / "data").exists()


def test_schedule_names_the_workspace_notebooks(tmp_path, monkeypatch):
    """Scheduled jobs run with no working folder, so they name the notebooks folder."""
    root = _workspace(tmp_path / "shop")
    monkeypatch.chdir(root)
    result = CliRunner().invoke(main, ["schedule", "show", "--method", "cron"])
    assert result.exit_code == 0, result.output
    assert f"--notebooks {root.resolve() / 'notebooks'}" in result.output


# ---------------------------------------------------------------------------------------
# playbook init


def test_init_creates_a_workspace(tmp_path):
    """init writes a commented playbook.toml, README, the notebooks, data/ and outputs/."""
    result = CliRunner().invoke(main, ["init", str(tmp_path / "shop")])
    assert result.exit_code == 0, result.output
    ws = Workspace((tmp_path / "shop").resolve())
    assert ws.data_dir.is_dir() and ws.outputs_dir.is_dir()
    shipped = sorted(p.relative_to(workspace.SHIPPED_NOTEBOOKS)
                     for p in workspace.SHIPPED_NOTEBOOKS.glob("*/*.ipynb"))
    assert sorted(p.relative_to(ws.notebooks_dir)
                  for p in ws.notebooks_dir.glob("*/*.ipynb")) == shipped
    assert len(shipped) == 19
    assert set(notebook_states(ws).values()) == {"current"}
    assert "playbook run" in (ws.root / "README.md").read_text(encoding="utf-8")


def test_init_template_documents_every_setting(tmp_path):
    """The settings init writes load, and spell out every key of every section."""
    init_workspace(tmp_path)
    text = (tmp_path / "playbook.toml").read_text(encoding="utf-8")
    settings = load_settings(tmp_path / "playbook.toml")
    keys = {line.split(" =")[0] for line in text.splitlines() if " = " in line}
    # [goals] is off until the owner sets one: its keys are shown as a commented example.
    commented = {line[2:].split(" =")[0] for line in text.splitlines()
                 if line.startswith("# ") and " = " in line}
    for section, values in settings.to_dict().items():
        assert f"[{section}]" in text
        documented = commented if section == "goals" else keys
        assert set(values) - {"bands", "social"} <= documented, section


def test_init_refuses_to_overwrite(tmp_path):
    """init in an existing workspace stops, names what exists, and changes nothing."""
    (tmp_path / "playbook.toml").write_text('[store]\nname = "Mine"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["init", str(tmp_path)])
    assert result.exit_code == 2
    assert "playbook.toml" in result.output and "never overwrites" in result.output
    assert (tmp_path / "playbook.toml").read_text(encoding="utf-8") == '[store]\nname = "Mine"\n'
    assert not (tmp_path / "notebooks").exists()


def _edit(path: Path, text: str) -> None:
    """Append a markdown cell, as an owner (or a newer release) would."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"].append({"cell_type": "markdown", "id": f"x{len(nb['cells'])}",
                        "metadata": {}, "source": [text]})
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


@pytest.fixture
def newer_release(tmp_path, monkeypatch):
    """A workspace made by init, then a package whose kpis and cash notebooks are newer."""
    shipped = tmp_path / "shipped"
    shutil.copytree(workspace.SHIPPED_NOTEBOOKS, shipped)
    monkeypatch.setattr(workspace, "SHIPPED_NOTEBOOKS", shipped)
    init_workspace(tmp_path / "shop")
    _edit(shipped / "daily" / "kpis.ipynb", "New in this release.")
    _edit(shipped / "weekly" / "cash.ipynb", "New in this release.")
    return Workspace((tmp_path / "shop").resolve()), shipped


def test_upgrade_updates_unedited_and_keeps_edited(newer_release):
    """--upgrade replaces the unedited copy, keeps the owner's edited one and lists it."""
    ws, shipped = newer_release
    _edit(ws.notebooks_dir / "weekly" / "cash.ipynb", "My own note.")
    mine = (ws.notebooks_dir / "weekly" / "cash.ipynb").read_bytes()
    result = CliRunner().invoke(main, ["init", "--upgrade", str(ws.root)])
    assert result.exit_code == 0, result.output
    assert (ws.notebooks_dir / "daily" / "kpis.ipynb").read_bytes() == \
        (shipped / "daily" / "kpis.ipynb").read_bytes()
    assert (ws.notebooks_dir / "weekly" / "cash.ipynb").read_bytes() == mine
    assert "updated  notebooks/daily/kpis.ipynb" in result.output
    assert "kept     notebooks/weekly/cash.ipynb (edited" in result.output
    assert notebook_states(ws)["daily/kpis.ipynb"] == "current"
    assert notebook_states(ws)["weekly/cash.ipynb"] == "edited"


def test_running_a_notebook_is_not_editing_it(newer_release):
    """A copy saved with outputs and execution counts still counts as unedited."""
    ws, _ = newer_release
    path = ws.notebooks_dir / "daily" / "kpis.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    for count, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        cell["execution_count"] = count + 1
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hi\n"]}]
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert notebook_states(ws)["daily/kpis.ipynb"] == "outdated"


def test_upgrade_adds_a_new_notebook(newer_release):
    """A notebook new in the package is added by --upgrade (and announced before)."""
    ws, shipped = newer_release
    shutil.copy(shipped / "daily" / "kpis.ipynb", shipped / "daily" / "zz_new.ipynb")
    assert "zz_new" in upgrade_notice(ws)
    text = upgrade_workspace(ws.root)
    assert "added    notebooks/daily/zz_new.ipynb" in text
    assert (ws.notebooks_dir / "daily" / "zz_new.ipynb").is_file()


def test_run_says_when_the_package_has_newer_notebooks(newer_release, monkeypatch):
    """`playbook run` names the unedited notebooks the package has newer versions of."""
    ws, _ = newer_release
    monkeypatch.chdir(ws.root)
    result = CliRunner().invoke(main, ["run", "daily"])
    assert "newer versions of 2 notebook(s) you have not edited (daily/kpis, weekly/cash)" \
        in result.output
    assert "playbook init --upgrade" in result.output


def test_run_uses_the_workspace_notebooks(tmp_path, monkeypatch):
    """`playbook run` looks for notebooks in the workspace's notebooks/, not the package."""
    init_workspace(tmp_path)
    (tmp_path / "data" / "tables").mkdir()
    (tmp_path / "notebooks" / "daily" / "kpis.ipynb").rename(
        tmp_path / "notebooks" / "daily" / "my_kpis.ipynb")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run", "daily", "--only", "nope"])
    assert result.exit_code == 2
    listed = result.output.split("one of ")[1]
    assert "my_kpis" in listed and "kpis," not in listed.replace("my_kpis", "")


# ---------------------------------------------------------------------------------------
# playbook lab


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_lab_serves_the_workspace_with_the_playbook_kernel(tmp_path):
    """`playbook lab` serves the workspace root, and new notebooks get the playbook's
    kernel, on this installation's Python."""
    init_workspace(tmp_path)
    port, token = _free_port(), "t0ken"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PLAYBOOK_HOME", "PLAYBOOK_SETTINGS")}
    extra = ["--allow-root"] if os.geteuid() == 0 else []  # Jupyter refuses root otherwise
    lab = subprocess.Popen([sys.executable, "-m", "opslib", "lab", "--", "--no-browser",
                            f"--port={port}", f"--IdentityProvider.token={token}", *extra],
                           cwd=tmp_path / "notebooks", env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        api = f"http://127.0.0.1:{port}/api"
        headers = {"Authorization": f"token {token}"}
        for _ in range(120):
            try:
                specs = requests.get(f"{api}/kernelspecs", headers=headers, timeout=2).json()
                break
            except requests.ConnectionError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start within 60 s")
        root = requests.get(f"{api}/contents", headers=headers, timeout=5).json()
    finally:
        lab.terminate()
        lab.wait(timeout=30)
    assert specs["default"] == "store-ops-playbook"
    kernel = specs["kernelspecs"]["store-ops-playbook"]["spec"]["argv"][0]
    assert Path(kernel) == Path(sys.executable)
    assert {"playbook.toml", "notebooks", "data", "outputs"} <= \
        {item["name"] for item in root["content"]}


def test_a_broken_copy_or_manifest_is_never_overwritten(newer_release):
    """A copy that is no longer valid JSON, or a damaged manifest, counts as edited."""
    ws, _ = newer_release
    broken = ws.notebooks_dir / "daily" / "kpis.ipynb"
    broken.write_text("{ half a notebook", encoding="utf-8")
    assert notebook_states(ws)["daily/kpis.ipynb"] == "edited"
    (ws.notebooks_dir / ".shipped.json").write_text("garbage", encoding="utf-8")
    upgrade_workspace(ws.root)
    assert broken.read_text(encoding="utf-8") == "{ half a notebook"
    assert notebook_states(ws)["weekly/cash.ipynb"] == "edited"
