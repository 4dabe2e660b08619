"""Promises the project makes about itself: the README's commands and CI agree."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _command_after(marker: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split(f"<!-- {marker} -->", 1)[1]
    return re.search(r"```sh\n(.+?)\n```", block, flags=re.S).group(1)


def test_readme_has_exactly_two_quick_start_commands():
    """One command installs and runs the main job on the demo; one installs and tests."""
    main = _command_after("main-command")
    tests = _command_after("test-command")
    assert "\n" not in main and "\n" not in tests
    assert "pip install" in main and "playbook demo" in main
    assert "pip install" in tests and "pytest" in tests


def test_ci_runs_the_readme_test_command():
    """.ci/run reads the test command from the README rather than keeping its own copy."""
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "<!-- test-command -->" in script
    assert "pytest" not in script.replace("passed", "")  # no second, drifting test command


def test_example_settings_and_data_readme_are_shipped():
    """The example playbook.toml and data/README.md exist (data/ is otherwise ignored)."""
    assert (ROOT / "playbook.toml").is_file()
    assert (ROOT / "data" / "README.md").is_file()
    ignored = (ROOT / ".gitignore").read_text()
    assert "/data/*" in ignored and "!/data/README.md" in ignored and "/outputs/" in ignored
