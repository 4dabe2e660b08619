"""The workspace: the folder holding playbook.toml, data/, outputs/ and notebooks/.

Found the way git finds `.git`: an explicit folder wins, then $PLAYBOOK_HOME, else the
nearest folder at or above the working directory that holds playbook.toml. So a notebook
opened in `notebooks/daily/` (where JupyterLab starts its kernel) finds the workspace two
levels up, and `data/` and `outputs/` are always the workspace's.

`playbook init` creates a workspace with copies of the notebooks shipped in the package and
records a fingerprint of each copy in `notebooks/.shipped.json`. A copy whose fingerprint
still matches is unedited, so `playbook init --upgrade` may replace it with a newer shipped
version; an edited copy is the owner's and is never touched. The fingerprint covers each
cell's kind, source and tags, not outputs: running a notebook is not editing it.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     _ = init_workspace(folder)
...     ws = find_workspace(start=Path(folder) / "notebooks" / "daily")
...     ws.root == Path(folder).resolve(), ws.data_dir.name, sorted(notebook_states(ws).values())[0]
(True, 'data', 'current')
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from opslib.errors import MissingFileError

__all__ = ["Workspace", "WorkspaceNotFound", "HOME_VAR", "SETTINGS_NAME", "SHIPPED_NOTEBOOKS",
           "find_workspace", "folder_or_workspace", "init_workspace", "upgrade_workspace",
           "notebook_states", "upgrade_notice"]

HOME_VAR = "PLAYBOOK_HOME"
SETTINGS_NAME = "playbook.toml"
MANIFEST_NAME = ".shipped.json"
CADENCES = ("daily", "weekly", "monthly")
SHIPPED_NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
TEMPLATE = Path(__file__).resolve().parent / "workspace_template"


class WorkspaceNotFound(MissingFileError):
    """No folder at or above the working directory holds playbook.toml."""


@dataclass(frozen=True)
class Workspace:
    """A workspace root and the folders inside it."""

    root: Path

    @property
    def settings_file(self) -> Path:
        return self.root / SETTINGS_NAME

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def outputs_dir(self) -> Path:
        return self.root / "outputs"

    @property
    def notebooks_dir(self) -> Path:
        return self.root / "notebooks"


def _named(folder: str | os.PathLike, how: str) -> Workspace:
    root = Path(folder).expanduser().resolve()
    if not (root / SETTINGS_NAME).is_file():
        raise MissingFileError(f"{how} '{root}' is not a playbook workspace (it has no "
                               f"{SETTINGS_NAME})", file=str(root),
                               fix=f"Run `playbook init {root}` to create one there, or name "
                                   f"the folder that holds your {SETTINGS_NAME}.")
    return Workspace(root)


def find_workspace(folder: str | os.PathLike | None = None, *,
                   start: str | os.PathLike | None = None) -> Workspace:
    """The workspace: `folder`, else $PLAYBOOK_HOME, else the nearest folder at or above
    `start` (default: the working directory) that holds playbook.toml."""
    if folder:
        return _named(folder, "workspace folder")
    if os.environ.get(HOME_VAR):
        return _named(os.environ[HOME_VAR], HOME_VAR)
    here = Path(start or os.getcwd()).resolve()
    looked = [here, *here.parents]
    for candidate in looked:
        if (candidate / SETTINGS_NAME).is_file():
            return Workspace(candidate)
    raise WorkspaceNotFound(
        f"no playbook workspace found: {HOME_VAR} is not set and none of these folders holds "
        f"{SETTINGS_NAME}: {', '.join(str(p) for p in looked)}", file=str(here),
        fix=f"Run `playbook init` to create a workspace, work inside one, or set {HOME_VAR} "
            f"to its folder.")


def folder_or_workspace(folder: str | os.PathLike | None, name: str) -> Path:
    """`folder` when given, else the workspace's `name` folder (data, outputs, notebooks)."""
    return Path(folder) if folder else find_workspace().root / name


# ---------------------------------------------------------------------------------------
# Notebook copies


def _fingerprint(path: Path) -> str:
    """A hash of the cells' kinds, sources and tags (outputs and counts left out)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = [[c["cell_type"], "".join(c["source"]),
              sorted(c.get("metadata", {}).get("tags", []))] for c in notebook["cells"]]
    return hashlib.sha256(json.dumps(cells).encode("utf-8")).hexdigest()


def _shipped() -> dict[str, Path]:
    """'daily/kpis.ipynb' -> the notebook shipped in the package."""
    return {f"{c}/{p.name}": p for c in CADENCES
            for p in sorted((SHIPPED_NOTEBOOKS / c).glob("*.ipynb"))}


def _manifest_path(ws: Workspace) -> Path:
    return ws.notebooks_dir / MANIFEST_NAME


def _read_manifest(ws: Workspace) -> dict[str, str]:
    """Fingerprints of the copies init wrote; unreadable means none (nothing is replaced)."""
    try:
        return json.loads(_manifest_path(ws).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _copy(ws: Workspace, name: str, source: Path, manifest: dict[str, str]) -> None:
    target = ws.notebooks_dir / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    manifest[name] = _fingerprint(target)


def _write_manifest(ws: Workspace, manifest: dict[str, str]) -> None:
    _manifest_path(ws).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n",
                                  encoding="utf-8")


def notebook_states(ws: Workspace) -> dict[str, str]:
    """Each shipped notebook's copy in the workspace: 'current' (same as shipped),
    'outdated' (unedited, the package has a newer one), 'edited' or 'missing'."""
    manifest = _read_manifest(ws)
    states = {}
    for name, source in _shipped().items():
        copy = ws.notebooks_dir / name
        if not copy.is_file():
            states[name] = "missing"
            continue
        try:
            mine = _fingerprint(copy)
        except (ValueError, KeyError, TypeError):  # not a notebook any more: the owner's
            states[name] = "edited"
            continue
        if mine == _fingerprint(source):
            states[name] = "current"
        else:
            states[name] = "outdated" if manifest.get(name) == mine else "edited"
    return states


def upgrade_notice(ws: Workspace) -> str | None:
    """One line for `playbook run` when the package has newer or new notebooks."""
    states = notebook_states(ws)
    outdated = [n.removesuffix(".ipynb") for n, s in states.items() if s == "outdated"]
    missing = [n.removesuffix(".ipynb") for n, s in states.items() if s == "missing"]
    parts = []
    if outdated:
        parts.append(f"newer versions of {len(outdated)} notebook(s) you have not edited "
                     f"({', '.join(outdated)})")
    if missing:
        parts.append(f"{len(missing)} notebook(s) your workspace lacks ({', '.join(missing)})")
    if not parts:
        return None
    return (f"The installed playbook has {' and '.join(parts)}. Run `playbook init --upgrade` "
            f"to update them; notebooks you edited are left alone.")


def init_workspace(folder: str | os.PathLike = ".") -> str:
    """Create a workspace in `folder`: playbook.toml, README.md, notebooks/, data/, outputs/.

    Refuses (naming what exists) when any of the files it writes is already there.
    """
    ws = Workspace(Path(folder).expanduser().resolve())
    taken = [p for p in (ws.settings_file, ws.root / "README.md", ws.notebooks_dir)
             if p.exists()]
    if taken:
        raise MissingFileError(f"'{ws.root}' already holds {', '.join(p.name for p in taken)}; "
                               f"`playbook init` never overwrites", file=str(taken[0]),
                               fix="Choose an empty folder, or run `playbook init --upgrade` "
                                   "in an existing workspace to update its notebooks.")
    ws.root.mkdir(parents=True, exist_ok=True)
    for name in (SETTINGS_NAME, "README.md"):
        shutil.copyfile(TEMPLATE / name, ws.root / name)
    manifest: dict[str, str] = {}
    for name, source in _shipped().items():
        _copy(ws, name, source, manifest)
    _write_manifest(ws, manifest)
    for folder_ in (ws.data_dir, ws.outputs_dir):
        folder_.mkdir(exist_ok=True)
    return (f"Created a playbook workspace in {ws.root}: {SETTINGS_NAME} (edit the [store] "
            f"section first), README.md, {len(manifest)} notebooks in notebooks/, data/ and "
            f"outputs/. Next: cd into it and run `playbook demo` or `playbook import ...`, "
            f"then `playbook run daily` or `playbook lab`.")


def upgrade_workspace(folder: str | os.PathLike | None = None) -> str:
    """Bring the workspace's unedited notebook copies up to the shipped versions, add new
    ones, and list the edited ones left alone."""
    ws = find_workspace(folder)
    states = notebook_states(ws)
    manifest = _read_manifest(ws)
    shipped = _shipped()
    changed = {s: [n for n, state in states.items() if state == s]
               for s in ("outdated", "missing", "edited")}
    for name in changed["outdated"] + changed["missing"]:
        _copy(ws, name, shipped[name], manifest)
    for name in [n for n, state in states.items() if state == "current"]:
        manifest[name] = _fingerprint(ws.notebooks_dir / name)  # unedited, as shipped
    _write_manifest(ws, manifest)
    lines = [f"Workspace {ws.root}: {len(changed['outdated'])} notebook(s) updated, "
             f"{len(changed['missing'])} added, {len(changed['edited'])} edited by you and "
             f"left alone."]
    lines += [f"  updated  notebooks/{n}" for n in changed["outdated"]]
    lines += [f"  added    notebooks/{n}" for n in changed["missing"]]
    lines += [f"  kept     notebooks/{n} (edited; compare it with the new version in "
              f"{shipped[n]})" for n in changed["edited"]]
    return "\n".join(lines)
