"""`playbook schedule`: run the playbook every morning, and catch up after a night off.

Three jobs, at times from `[runs]` in playbook.toml (store time): daily at `daily_at`,
weekly on Monday at `weekly_at`, monthly on the 1st at `monthly_at`. Each job is
`playbook run <cadence> --catch-up`, so a machine that was off gets the missed reports on
its next run. Installed as a systemd user timer (Persistent=true: a run missed while the
machine was off happens at boot) where systemd runs, else as crontab lines wrapped in
`flock`. Every command uses absolute paths and logs to OUT/logs/. `playbook schedule run`
is a foreground scheduler for machines with neither.

>>> jobs = planned_jobs(Settings(), command=["/opt/pb/bin/playbook"], data_dir=Path("/d"),
...                     out_dir=Path("/o"), settings_file=None)
>>> [(j.cadence, j.hour, j.minute, j.day_of_week, j.day) for j in jobs]
[('daily', 6, 0, '*', '*'), ('weekly', 7, 0, 'mon', '*'), ('monthly', 8, 0, '*', '1')]
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from opslib.config import Settings
from opslib.errors import MissingFileError, OpslibError, SettingsError

__all__ = [
    "Job", "planned_jobs", "playbook_command", "crontab_block", "systemd_units",
    "has_systemd", "show", "install", "remove", "build_scheduler", "scheduled_run",
    "serve",
]

UNIT_PREFIX = "store-ops-playbook"
_DAYS = {"daily": ("*", "*"), "weekly": ("mon", "*"), "monthly": ("*", "1")}
_SYSTEMD_DAYS = {"daily": "*-*-*", "weekly": "Mon *-*-*", "monthly": "*-*-01"}
_CRON_DOW = {"*": "*", "mon": "1"}


@dataclass(frozen=True)
class Job:
    """One scheduled cadence: when (store time) and the command that runs it."""

    cadence: str
    hour: int
    minute: int
    day_of_week: str  # "*" or "mon"
    day: str  # "*" or "1"
    argv: tuple[str, ...]
    log_file: Path
    lock_file: Path


def playbook_command() -> list[str]:
    """The absolute command that starts this installation's `playbook`."""
    script = Path(sys.executable).with_name("playbook")
    if script.is_file():
        return [str(script)]
    return [str(Path(sys.executable)), "-m", "opslib"]


def _time_of(key: str, value: str) -> tuple[int, int]:
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", value)
    if not match:
        raise SettingsError(f"settings key 'runs.{key}'", expected="a time HH:MM such as "
                            "'06:00'", found=repr(value), fix="Fix it in playbook.toml.")
    return int(match[1]), int(match[2])


def planned_jobs(settings: Settings, *, command: list[str] | None = None, data_dir: Path,
                 out_dir: Path, settings_file: Path | None,
                 notebooks_dir: Path | None = None) -> list[Job]:
    """The three jobs with absolute paths, times in the store's time zone (a job runs with
    no working folder, so the workspace's notebooks folder is named too)."""
    command = command or playbook_command()
    data_dir, out_dir = Path(data_dir).resolve(), Path(out_dir).resolve()
    jobs = []
    for cadence in ("daily", "weekly", "monthly"):
        hour, minute = _time_of(f"{cadence}_at", getattr(settings.runs, f"{cadence}_at"))
        argv = [*command, "run", cadence, "--catch-up", "--data", str(data_dir),
                "--out", str(out_dir)]
        if settings_file is not None:
            argv += ["--settings", str(Path(settings_file).resolve())]
        if notebooks_dir is not None:
            argv += ["--notebooks", str(Path(notebooks_dir).resolve())]
        dow, day = _DAYS[cadence]
        jobs.append(Job(cadence, hour, minute, dow, day, tuple(argv),
                        out_dir / "logs" / f"{cadence}.log",
                        out_dir / "logs" / f".{cadence}.cron.lock"))
    return jobs


def _machine_time(job: Job, zone: str, machine: dt.tzinfo) -> tuple[int, int]:
    """The job's store time of day as the machine's clock shows it today."""
    today = dt.datetime.now(ZoneInfo(zone)).date()
    local = dt.datetime.combine(today, dt.time(job.hour, job.minute), tzinfo=ZoneInfo(zone))
    moved = local.astimezone(machine)
    return moved.hour, moved.minute


def _cron_escape(text: str) -> str:
    return text.replace("%", r"\%")  # cron turns an unescaped % into a newline


def crontab_block(jobs: list[Job], *, zone: str, machine: dt.tzinfo | None = None) -> str:
    """The crontab lines, between markers naming the reports folder.

    Cron reads times on the machine's clock, so store times are converted to it; every
    job runs with --catch-up, so a shift by a daylight-saving change is caught up.
    """
    machine = machine or dt.datetime.now().astimezone().tzinfo
    out_dir = jobs[0].log_file.parent.parent
    lines = [f"# >>> {UNIT_PREFIX} {out_dir} >>>",
             f"# Store time zone {zone}; times below are on this machine's clock. "
             f"Managed by `playbook schedule install|remove`."]
    for job in jobs:
        hour, minute = _machine_time(job, zone, machine)
        command = " ".join(shlex.quote(part) for part in job.argv)
        lines.append(f"{minute} {hour} {job.day} * {_CRON_DOW[job.day_of_week]} "
                     + _cron_escape(f"flock -n {shlex.quote(str(job.lock_file))} {command} "
                                    f">> {shlex.quote(str(job.log_file))} 2>&1"))
    lines.append(f"# <<< {UNIT_PREFIX} {out_dir} <<<")
    return "\n".join(lines) + "\n"


def _systemd_quote(text: str) -> str:
    if re.fullmatch(r"[\w@%+=:,./-]+", text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_units(jobs: list[Job], *, zone: str) -> dict[str, str]:
    """File name → text of a oneshot service and a persistent timer per cadence."""
    units = {}
    for job in jobs:
        name = f"{UNIT_PREFIX}-{job.cadence}"
        command = " ".join(_systemd_quote(part) for part in job.argv)
        log = _systemd_quote(str(job.log_file))
        units[f"{name}.service"] = (
            f"[Unit]\nDescription=Store Ops Playbook: {job.cadence} reports\n\n"
            f"[Service]\nType=oneshot\nExecStart={command}\n"
            f"StandardOutput=append:{log}\nStandardError=append:{log}\n")
        units[f"{name}.timer"] = (
            f"[Unit]\nDescription=Store Ops Playbook: {job.cadence} reports schedule\n\n"
            f"[Timer]\nOnCalendar={_SYSTEMD_DAYS[job.cadence]} "
            f"{job.hour:02d}:{job.minute:02d}:00 {zone}\nPersistent=true\n\n"
            f"[Install]\nWantedBy=timers.target\n")
    return units


def has_systemd() -> bool:
    """Whether a systemd user manager answers on this machine."""
    if shutil.which("systemctl") is None:
        return False
    try:
        probe = subprocess.run(["systemctl", "--user", "show-environment"],
                               capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _method(method: str) -> str:
    if method == "auto":
        return "systemd" if has_systemd() else "cron"
    if method not in ("systemd", "cron"):
        raise SettingsError(f"schedule method '{method}'", expected="auto, systemd or cron",
                            found=repr(method), fix="Pass --method auto, systemd or cron.")
    return method


def _unit_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def show(jobs: list[Job], *, zone: str, method: str = "auto") -> str:
    """What `install` would install, as text."""
    chosen = _method(method)
    if chosen == "cron":
        return "# crontab lines (playbook schedule install adds them):\n" + \
            crontab_block(jobs, zone=zone)
    parts = [f"# systemd user units in {_unit_dir()} (playbook schedule install adds them):"]
    for name, text in systemd_units(jobs, zone=zone).items():
        parts.append(f"# --- {name}\n{text}")
    return "\n".join(parts)


def _crontab(crontab: str, *args: str, text: str | None = None) -> subprocess.CompletedProcess:
    if shutil.which(crontab) is None:
        raise MissingFileError(f"the '{crontab}' command is not installed",
                               fix="Install cron (e.g. the 'cron' package), or use "
                                   "`playbook schedule run` in the foreground.")
    return subprocess.run([crontab, *args], input=text, capture_output=True, text=True,
                          timeout=30)


def _without_block(current: str, out_dir: Path) -> str:
    begin, end = f"# >>> {UNIT_PREFIX} {out_dir} >>>", f"# <<< {UNIT_PREFIX} {out_dir} <<<"
    kept, inside = [], False
    for line in current.splitlines():
        if line == begin:
            inside = True
        elif line == end:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept) + ("\n" if kept else "")


def _read_crontab(crontab: str) -> str:
    listed = _crontab(crontab, "-l")
    return listed.stdout if listed.returncode == 0 else ""  # 1 = no crontab yet


def _write_crontab(crontab: str, text: str) -> None:
    written = _crontab(crontab, "-", text=text)
    if written.returncode != 0:
        raise OpslibError("the crontab could not be written", expected="crontab to accept "
                          "the new lines", found=written.stderr.strip() or written.returncode,
                          fix="Check that cron is installed and you may use it.")


def install(jobs: list[Job], *, zone: str, method: str = "auto",
            crontab: str = "crontab") -> str:
    """Install the schedule (replacing an earlier one for the same OUT); say what was done."""
    out_dir = jobs[0].log_file.parent.parent
    jobs[0].log_file.parent.mkdir(parents=True, exist_ok=True)
    if _method(method) == "cron":
        current = _without_block(_read_crontab(crontab), out_dir)
        _write_crontab(crontab, current + crontab_block(jobs, zone=zone))
        return f"Installed 3 crontab lines (see `crontab -l`); logs go to {out_dir / 'logs'}."
    unit_dir = _unit_dir()
    unit_dir.mkdir(parents=True, exist_ok=True)
    for name, text in systemd_units(jobs, zone=zone).items():
        (unit_dir / name).write_text(text, encoding="utf-8")
    timers = [f"{UNIT_PREFIX}-{job.cadence}.timer" for job in jobs]
    for args in (["daemon-reload"], ["enable", "--now", *timers]):
        done = subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True,
                              timeout=60)
        if done.returncode != 0:
            raise OpslibError(f"`systemctl --user {' '.join(args)}` failed",
                              expected="exit code 0", found=done.stderr.strip(),
                              fix="Check `systemctl --user status`, or use --method cron.")
    return (f"Installed and started {', '.join(timers)} in {unit_dir} (see `systemctl --user "
            f"list-timers`); logs go to {out_dir / 'logs'}. For runs while you are logged "
            f"out: `loginctl enable-linger`.")


def remove(out_dir: Path, *, method: str = "auto", crontab: str = "crontab") -> str:
    """Remove the schedule installed for OUT; say what was removed."""
    out_dir = Path(out_dir).resolve()
    if _method(method) == "cron":
        current = _read_crontab(crontab)
        kept = _without_block(current, out_dir)
        if kept == current or (not kept.strip() and not current.strip()):
            return f"No playbook crontab lines for {out_dir}; nothing removed."
        _write_crontab(crontab, kept)
        return f"Removed the playbook crontab lines for {out_dir}."
    unit_dir = _unit_dir()
    timers = [f"{UNIT_PREFIX}-{c}.timer" for c in ("daily", "weekly", "monthly")]
    subprocess.run(["systemctl", "--user", "disable", "--now", *timers], capture_output=True,
                   timeout=60)
    removed = []
    for cadence in ("daily", "weekly", "monthly"):
        for suffix in ("service", "timer"):
            path = unit_dir / f"{UNIT_PREFIX}-{cadence}.{suffix}"
            if path.exists():
                path.unlink()
                removed.append(path.name)
    subprocess.run(["systemctl", "--user", "daemon-reload"], capture_output=True, timeout=60)
    return f"Removed {', '.join(removed)}." if removed else "No playbook timers installed."


def build_scheduler(jobs: list[Job], *, zone: str, job: Callable[[str], None]):
    """An APScheduler BlockingScheduler with the three jobs, none ever skipped for lateness.

    APScheduler drops a run that starts more than `misfire_grace_time` late (one second by
    default), e.g. after the machine slept; here the grace is unlimited and missed runs
    coalesce into one.
    """
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    scheduler = BlockingScheduler(timezone=ZoneInfo(zone), job_defaults={
        "misfire_grace_time": None, "coalesce": True, "max_instances": 1})
    for planned in jobs:
        trigger = CronTrigger(hour=planned.hour, minute=planned.minute,
                              day_of_week=planned.day_of_week, day=planned.day,
                              timezone=ZoneInfo(zone))
        scheduler.add_job(job, trigger, args=[planned.cadence], id=planned.cadence,
                          name=f"playbook run {planned.cadence} --catch-up",
                          misfire_grace_time=None, coalesce=True, max_instances=1)
    return scheduler


def scheduled_run(cadence: str, *, data_dir: Path, out_dir: Path, settings: Settings,
                  notebooks_dir: Path | None = None,
                  echo: Callable[[str], None] = print) -> None:
    """One scheduled job: `playbook run <cadence> --catch-up`, reported, never raising."""
    from opslib.runs.runner import run

    try:
        report = run(cadence, data_dir=data_dir, out_dir=out_dir, settings=settings,
                     catch_up=True, notebooks_dir=notebooks_dir, echo=echo)
        echo(report.text())
    except OpslibError as err:
        echo(f"Error: {cadence} run: {err}")


def serve(jobs: list[Job], *, settings: Settings, data_dir: Path, out_dir: Path,
          notebooks_dir: Path | None = None, echo: Callable[[str], None] = print,
          job: Callable[[str], None] | None = None, start: bool = True):
    """Catch up every cadence now, then run the jobs on time until interrupted."""
    job = job or functools.partial(scheduled_run, data_dir=data_dir, out_dir=out_dir,
                                   settings=settings, notebooks_dir=notebooks_dir, echo=echo)
    for planned in jobs:
        job(planned.cadence)
    zone = settings.store.timezone
    scheduler = build_scheduler(jobs, zone=zone, job=job)
    now = dt.datetime.now(ZoneInfo(zone))
    for planned in jobs:
        upcoming = scheduler.get_job(planned.cadence).trigger.get_next_fire_time(None, now)
        echo(f"{planned.cadence}: next run {upcoming:%Y-%m-%d %H:%M %Z}")
    if start:
        echo("Scheduler running in the foreground; stop it with Ctrl+C.")
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            pass
    return scheduler
