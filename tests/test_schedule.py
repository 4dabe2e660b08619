"""`playbook schedule`: crontab lines, systemd timers, install/remove, foreground scheduler."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from opslib.runs import schedule
from opslib.cli import main
from opslib.config import Settings
from opslib.errors import MissingFileError, SettingsError

COMMAND = ["/opt/shop/venv/bin/playbook"]


def jobs_for(settings: Settings, tmp_path: Path, settings_file: Path | None = None):
    return schedule.planned_jobs(settings, command=COMMAND, data_dir=tmp_path / "data",
                                 out_dir=tmp_path / "out", settings_file=settings_file)


def test_crontab_lines_for_given_times(tmp_path):
    """Times from settings, flock around absolute commands, logs in OUT/logs, catch-up on."""
    settings = Settings.from_dict({"store": {"timezone": "UTC"}, "runs": {
        "daily_at": "05:30", "weekly_at": "06:15", "monthly_at": "07:45"}})
    text = schedule.crontab_block(jobs_for(settings, tmp_path, tmp_path / "shop.toml"),
                                  zone="UTC", machine=dt.timezone.utc)
    out, data = tmp_path / "out", tmp_path / "data"
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == [
        f"{minute} {hour} {day} * {dow} flock -n {out}/logs/.{cadence}.cron.lock "
        f"/opt/shop/venv/bin/playbook run {cadence} --catch-up --data {data} --out {out} "
        f"--settings {tmp_path}/shop.toml >> {out}/logs/{cadence}.log 2>&1"
        for minute, hour, day, dow, cadence in [("30", "5", "*", "*", "daily"),
                                                ("15", "6", "*", "1", "weekly"),
                                                ("45", "7", "1", "*", "monthly")]]
    assert text.splitlines()[0] == f"# >>> store-ops-playbook {out} >>>"
    assert text.splitlines()[-1] == f"# <<< store-ops-playbook {out} <<<"


def test_crontab_converts_store_time_to_the_machine_clock(tmp_path):
    """A New York store on a UTC machine: 06:00 store time is 11:00 or 10:00 UTC (DST)."""
    settings = Settings.from_dict({"store": {"timezone": "America/New_York"}})
    text = schedule.crontab_block(jobs_for(settings, tmp_path), zone="America/New_York",
                                  machine=dt.timezone.utc)
    today = dt.datetime.now(ZoneInfo("America/New_York")).date()
    expected = dt.datetime.combine(today, dt.time(6), tzinfo=ZoneInfo("America/New_York"))
    hour = expected.astimezone(dt.timezone.utc).hour
    assert f"\n0 {hour} * * * flock" in text


def test_crontab_quotes_paths_and_escapes_percent(tmp_path):
    """A path with a space is quoted; % (a newline to cron) is escaped."""
    settings = Settings.from_dict({"store": {"timezone": "UTC"}})
    jobs = schedule.planned_jobs(settings, command=COMMAND, data_dir=tmp_path / "my data",
                                 out_dir=tmp_path / "100%", settings_file=None)
    text = schedule.crontab_block(jobs, zone="UTC", machine=dt.timezone.utc)
    assert f"--data '{tmp_path}/my data'" in text
    assert "100\\%/logs/daily.log" in text and "--settings" not in text


def test_bad_time_setting_is_an_error(tmp_path):
    """A time that is not HH:MM names the settings key."""
    settings = Settings.from_dict({"runs": {"daily_at": "6am"}})
    with pytest.raises(SettingsError, match="runs.daily_at"):
        jobs_for(settings, tmp_path)


def test_systemd_timers_are_persistent_and_in_store_time(tmp_path):
    """Each cadence has a oneshot service and a Persistent=true timer in the store's zone."""
    settings = Settings.from_dict({"store": {"timezone": "Europe/Paris"}})
    units = schedule.systemd_units(jobs_for(settings, tmp_path), zone="Europe/Paris")
    assert sorted(units) == [f"store-ops-playbook-{c}.{kind}" for c in
                             ("daily", "monthly", "weekly") for kind in ("service", "timer")]
    assert "OnCalendar=*-*-* 06:00:00 Europe/Paris\nPersistent=true" in \
        units["store-ops-playbook-daily.timer"]
    assert "OnCalendar=Mon *-*-* 07:00:00 Europe/Paris" in units["store-ops-playbook-weekly.timer"]
    assert "OnCalendar=*-*-01 08:00:00 Europe/Paris" in units["store-ops-playbook-monthly.timer"]
    service = units["store-ops-playbook-daily.service"]
    assert f"ExecStart=/opt/shop/venv/bin/playbook run daily --catch-up --data " \
           f"{tmp_path}/data --out {tmp_path}/out\n" in service
    assert f"StandardOutput=append:{tmp_path}/out/logs/daily.log" in service


@pytest.fixture
def fake_crontab(tmp_path):
    """A `crontab` stand-in that keeps the table in a file (-l lists, - replaces)."""
    table = tmp_path / "crontab.txt"
    script = tmp_path / "crontab"
    script.write_text(f"""#!/bin/sh
if [ "$1" = "-l" ]; then
  [ -f "{table}" ] || {{ echo "no crontab for user" >&2; exit 1; }}
  cat "{table}"
elif [ "$1" = "-" ]; then
  cat > "{table}"
fi
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, table


def test_install_and_remove_keep_other_crontab_lines(tmp_path, fake_crontab):
    """Install adds one block (re-install replaces it); remove takes only that block away."""
    script, table = fake_crontab
    table.write_text("0 1 * * * /usr/bin/backup\n")
    settings = Settings.from_dict({"store": {"timezone": "UTC"}})
    jobs = jobs_for(settings, tmp_path)
    message = schedule.install(jobs, zone="UTC", method="cron", crontab=str(script))
    assert "Installed 3 crontab lines" in message
    schedule.install(jobs, zone="UTC", method="cron", crontab=str(script))
    text = table.read_text()
    assert text.startswith("0 1 * * * /usr/bin/backup\n")
    assert text.count("run daily --catch-up") == 1 and text.count(">>> store-ops-playbook") == 1
    assert (tmp_path / "out" / "logs").is_dir()
    assert "Removed" in schedule.remove(tmp_path / "out", method="cron", crontab=str(script))
    assert table.read_text() == "0 1 * * * /usr/bin/backup\n"
    assert "nothing removed" in schedule.remove(tmp_path / "out", method="cron",
                                                crontab=str(script))


def test_install_without_cron_says_what_to_do(tmp_path):
    """No crontab command: a clear error pointing to cron or the foreground scheduler."""
    jobs = jobs_for(Settings(), tmp_path)
    with pytest.raises(MissingFileError, match="schedule run"):
        schedule.install(jobs, zone="UTC", method="cron", crontab="no-such-crontab-command")


def test_foreground_scheduler_never_skips_late_jobs(tmp_path):
    """Unlimited misfire grace (APScheduler's default is one second), coalesced, one at once."""
    settings = Settings.from_dict({"store": {"timezone": "Europe/London"}})
    scheduler = schedule.build_scheduler(jobs_for(settings, tmp_path), zone="Europe/London",
                                         job=lambda cadence: None)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert sorted(jobs) == ["daily", "monthly", "weekly"]
    for job in jobs.values():
        assert job.misfire_grace_time is None and job.coalesce and job.max_instances == 1
    start = dt.datetime(2025, 11, 26, 12, 0, tzinfo=ZoneInfo("Europe/London"))
    fire = {name: job.trigger.get_next_fire_time(None, start) for name, job in jobs.items()}
    assert fire["daily"] == dt.datetime(2025, 11, 27, 6, 0, tzinfo=ZoneInfo("Europe/London"))
    assert fire["weekly"] == dt.datetime(2025, 12, 1, 7, 0, tzinfo=ZoneInfo("Europe/London"))
    assert fire["monthly"] == dt.datetime(2025, 12, 1, 8, 0, tzinfo=ZoneInfo("Europe/London"))


def test_foreground_scheduler_catches_up_on_start(tmp_path):
    """Before waiting for the next slot, every cadence is run once (with catch-up)."""
    ran = []
    schedule.serve(jobs_for(Settings(), tmp_path), settings=Settings(),
                   data_dir=tmp_path / "data", out_dir=tmp_path / "out", job=ran.append,
                   echo=lambda line: None, start=False)
    assert ran == ["daily", "weekly", "monthly"]


def test_scheduled_run_reports_errors_without_raising(tmp_path):
    """A scheduled job that cannot run (no data yet) prints the error and keeps going."""
    lines = []
    schedule.scheduled_run("daily", data_dir=tmp_path / "none", out_dir=tmp_path / "out",
                           settings=Settings(), echo=lines.append)
    assert lines and lines[-1].startswith("Error: daily run:")


def test_schedule_show_command_prints_crontab(tmp_path):
    """`playbook schedule show --method cron` prints the three lines with absolute paths."""
    result = CliRunner().invoke(main, ["schedule", "show", "--method", "cron", "--data",
                                       str(tmp_path / "data"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert result.output.count("flock -n") == 3
    assert f"--out {tmp_path}/out" in result.output
    assert os.path.isabs(result.output.split("flock -n ")[1].split()[1])
