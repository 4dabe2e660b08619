"""The `playbook` command: help for everything, readable errors, check's exit codes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner

from opslib.cli import main
from opslib.tables import write_table

ROOT = Path(__file__).resolve().parents[1]


def _commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")


def test_every_command_and_option_has_help():
    """A command or option without help text fails this test."""
    for name, command in _commands(main):
        assert command.help, f"'playbook {name}' has no help text"
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                assert param.help, f"'playbook {name} {param.opts[0]}' has no help text"


def test_documented_commands_exist():
    """Every `playbook <command>` the README mentions is a real command."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    mentioned = set(re.findall(r"playbook ([a-z]+)", readme))
    assert mentioned, "the README mentions no playbook command"
    assert mentioned <= set(main.commands), mentioned - set(main.commands)


def test_python_m_opslib_is_the_same_command():
    """`python -m opslib --help` works like `playbook --help`."""
    done = subprocess.run([sys.executable, "-m", "opslib", "--help"], capture_output=True,
                          text=True, check=True)
    assert "check" in done.stdout and "demo" in done.stdout


def test_check_without_tables_folder_says_how_to_fix(tmp_path):
    """A data folder with no tables/ exits 2 with a one-line error and no traceback."""
    result = CliRunner().invoke(main, ["check", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "no tables folder" in result.output and "playbook demo" in result.output
    assert "Traceback" not in result.output


def test_check_reports_broken_table_and_exits_1(tmp_path):
    """A broken table gives exit 1 and names table, column, rule and an example."""
    frame = pd.DataFrame({
        "date_day": pd.to_datetime(["2024-01-01", "2024-01-02"]).date,
        "subscribers": [100, 90], "new_subscribers": [5, -1], "unsubscribes": [1, 1],
        "spam_complaints": [0, 0], "hard_bounces": [0, 0]})
    write_table(tmp_path, "email_list_daily", frame)
    result = CliRunner().invoke(main, ["check", "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert "email_list_daily.new_subscribers: must be ≥ 0; 1 row(s); e.g. -1" in result.output


def test_check_passes_on_valid_data(tmp_path):
    """Valid tables give exit 0, one line per table, absent ones marked as such."""
    frame = pd.DataFrame({
        "date_day": pd.to_datetime(["2024-01-01"]).date, "subscribers": [100],
        "new_subscribers": [5], "unsubscribes": [1], "spam_complaints": [0],
        "hard_bounces": [0]})
    write_table(tmp_path, "email_list_daily", frame)
    result = CliRunner().invoke(main, ["check", "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "ok    email_list_daily: 1 rows" in result.output
    assert "--    orders: absent" in result.output


def test_bad_settings_file_is_a_readable_error(tmp_path):
    """A bad settings value stops the command with the key named."""
    (tmp_path / "tables").mkdir()
    bad = tmp_path / "playbook.toml"
    bad.write_text('[store]\ntimezone = "Atlantis"\n')
    result = CliRunner().invoke(main, ["check", "--data", str(tmp_path), "--settings", str(bad)])
    assert result.exit_code == 2
    assert "store.timezone" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("value", ["2024-13-01", "yesterday"])
def test_bad_date_option_quotes_the_value(tmp_path, value):
    """`--until` with a non-date quotes what was typed and shows the format."""
    result = CliRunner().invoke(main, ["demo", "--data", str(tmp_path), "--until", value])
    assert result.exit_code == 2
    assert f"'{value}' is not a date" in result.output and "YYYY-MM-DD" in result.output


def test_a_bad_settings_file_is_named_with_its_line(tmp_path):
    """A bad value in `--settings other.toml` names that file and the key's line, never
    "playbook.toml" (which the user did not give)."""
    (tmp_path / "tables").mkdir()
    bad = tmp_path / "bad.toml"
    bad.write_text('# my shop\n[store]\nname = "Shop"\ntimezone = "Atlantis"\n')
    result = CliRunner().invoke(main, ["check", "--data", str(tmp_path), "--settings", str(bad)])
    assert result.exit_code == 2
    assert f"'store.timezone' in {bad}, line 4" in result.output
    assert f"Fix it in {bad}." in result.output and "playbook.toml" not in result.output


@pytest.mark.parametrize("value", ["2025-13-01", "last friday"])
def test_run_date_error_names_the_option(tmp_path, value):
    """`playbook run --date` with a non-date names --date and quotes the value, before any
    work starts."""
    result = CliRunner().invoke(main, ["run", "daily", "--data", str(tmp_path), "--date", value])
    assert result.exit_code == 2
    assert "'--date'" in result.output and f"'{value}' is not a date" in result.output


def test_every_command_that_reads_settings_takes_settings(tmp_path, monkeypatch):
    """The README promises `--settings FILE` on every command but init and lab; `template`
    uses it for the time zone the import will read the times in."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "all but `init`" in readme and "and `lab`" in readme
    for name, command in main.commands.items():
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert ("--settings" in options) == (name not in ("init", "lab")), name
    settings = tmp_path / "shop.toml"
    settings.write_text('[store]\ntimezone = "Asia/Tokyo"\n')
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["template", "promotions", "--settings", str(settings)])
    assert result.exit_code == 0, result.output
    assert "times in Asia/Tokyo" in result.output
    assert f"playbook import csv promotions.csv --settings {settings}" in result.output


def test_the_staff_password_minimum_is_documented():
    """The 10-character minimum the server enforces is written where the password is chosen."""
    from opslib.serve.server import MIN_PASSWORD_LENGTH

    for doc in ("README.md", "docs/staff-pages.md"):
        text = " ".join((ROOT / doc).read_text(encoding="utf-8").split())
        assert f"at least {MIN_PASSWORD_LENGTH} characters" in text, doc
