"""The package's layers: every opslib module imports only from its own layer or lower ones,
so the folders read as the architecture (README, "How it works")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "opslib"
# Lowest first; a module may import from its own layer and the ones before it.
LAYERS = [
    {"config", "errors", "workspace", "schema", "tables", "glossary"},
    {"store"},
    {"metrics"},
    {"display", "charts", "exports"},
    {"views"},
    {"datalock", "ingest", "demo", "checks"},
    {"runs", "serve"},
    {"lab", "cli", "__main__", "__init__"},
]


def _layer(top: str) -> int:
    return next(i for i, names in enumerate(LAYERS) if top in names)


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "notebooks" not in p.parts)


def _imported(path: Path) -> set[str]:
    """Top-level opslib names a module imports (anywhere in it, lazy imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.split(".")[0] == "opslib":
            parts = node.module.split(".")
            names.update([parts[1]] if len(parts) > 1 else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[1] for a in node.names
                         if a.name.startswith("opslib."))
    return names


def test_every_top_level_name_has_a_layer():
    """A new module or folder must be placed in a layer (and so in the README)."""
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in _modules()}
    assert tops <= set().union(*LAYERS), tops - set().union(*LAYERS)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_runs_back_up(path):
    """A module's opslib imports are all in its layer or below."""
    own = _layer(path.relative_to(PACKAGE).parts[0].removesuffix(".py"))
    upward = {name for name in _imported(path) if _layer(name) > own}
    assert not upward, f"{path.relative_to(PACKAGE)} imports {sorted(upward)} from above"
