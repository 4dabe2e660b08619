"""Report kernels: started ahead of need, warmed up, each used for one notebook only.

The cost of a notebook run that is not the notebook's own work is the kernel's start-up:
a Python process, IPython, then pandas, Ibis, Altair and opslib imported again by every
notebook. `KernelPool` starts kernels before they are needed and runs the notebooks'
imports in them before handing them out, so that cost overlaps with other notebooks.

On Linux it goes one step further: a *zygote* process imports IPython and the notebooks'
modules once, and every kernel is a `fork` of it, so a kernel is ready in a fraction of a
second with those modules already loaded. Each kernel is still a separate process that
runs one notebook and is then stopped: nothing a notebook does can reach another. The
zygote starts no threads before forking. Elsewhere (or if the zygote cannot start), kernels
are started the ordinary way from the project kernel spec.

Kernels die with their run, even one killed with SIGKILL: the zygote asks Linux to kill it
when the run exits, and each forked kernel asks the same of the zygote (its single-threaded
parent); kernels started the ordinary way watch their parent (ipykernel's parent poller).
Each run works in a locked `run_folder`; `clear_stale_run_folders` removes what runs that
died anyway (an older version, a power cut) left behind, kernels included.

>>> imported_modules([])
[]
"""

from __future__ import annotations

import ast
import ctypes
import fcntl
import functools
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opslib.errors import OpslibError

__all__ = ["KernelPool", "imported_modules", "stop_kernel", "STARTUP_SECONDS", "run_folder",
           "stale_run_folders", "kill_run_processes", "clear_stale_run_folders"]

STARTUP_SECONDS = 120
RUN_PREFIX = "playbook-run-"
RUN_LOCK = "run.lock"
# A run folder without a lock file was made by an older version, which could not say whether
# its run lives: it counts as left over once untouched for this long (its run wrote a
# kernel connection file at least once per notebook, and notebooks time out).
UNLOCKED_STALE_SECONDS = 3600
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

_WARM_UP = """\
def __opslib_warm_up(names):
    import importlib
    # Tracebacks show code and the error, never local variables (customer data).
    get_ipython().InteractiveTB.set_mode("Context")
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:
            pass
__opslib_warm_up({names!r})
del __opslib_warm_up
"""


def imported_modules(paths: list[Path]) -> list[str]:
    """Modules the notebooks import at top level, in order of first appearance.

    For `from package import name`, `package.name` is listed too (it may be a submodule;
    warming up tolerates names that are not).
    """
    names: list[str] = []
    for path in paths:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for cell in nb.get("cells", []):
            if cell.get("cell_type") != "code":
                continue
            try:
                tree = ast.parse("".join(cell.get("source", [])))
            except SyntaxError:
                continue  # a cell with magics: its imports are simply not warmed up
            for node in tree.body:
                if isinstance(node, ast.Import):
                    found = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    # `from opslib.views.daily import kpis`: kpis may be a module itself
                    found = [node.module] + [f"{node.module}.{alias.name}"
                                             for alias in node.names if alias.name != "*"]
                else:
                    continue
                names += [n for n in found if n not in names]
    return names


# ---------------------------------------------------------------------------------------
# The zygote: one process that imports everything once and forks kernels.


def _zygote_main() -> None:
    """Import IPython's kernel and the given modules, then fork a kernel per request.

    Requests arrive on stdin, one JSON object a line ({connection_file, cwd, env, log});
    the answer is the new kernel's process id on stdout.
    """
    _die_with_parent(int(sys.argv[2]))  # the run, even while importing
    modules = json.loads(sys.argv[1])
    import importlib

    from ipykernel.kernelapp import IPKernelApp  # noqa: F401 (imported to be inherited)

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:
            pass
    if threading.active_count() > 1:  # an import started a thread: forking is not safe
        print("threads", flush=True)
        return
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # kernels are reaped automatically
    print("ready", flush=True)
    zygote = os.getpid()
    for line in sys.stdin:  # ends when the run closes the pipe or dies: so does the zygote
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _become_kernel(request, parent=zygote)
        print(pid, flush=True)


def _die_with_parent(parent: int) -> None:
    """Have Linux SIGKILL this process when `parent` exits (at once if it already has).

    The signal follows the thread that forked us: the zygote has only one, and the pool's
    thread that starts the zygote outlives it.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os._exit(1)


def _become_kernel(request: dict[str, Any], *, parent: int) -> None:
    """In the forked child: tie our life to the zygote's, detach, redirect output, and run
    an IPython kernel."""
    code = 1
    try:
        _die_with_parent(parent)
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.environ.clear()
        os.environ.update(request["env"])
        if request.get("cwd"):
            os.chdir(request["cwd"])
        sys.argv = [sys.executable, "-m", "ipykernel_launcher", "-f", request["connection_file"]]
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=["-f", request["connection_file"]])
        code = 0
    finally:
        os._exit(code)


class _ForkedProcess:
    """Enough of subprocess.Popen for jupyter_client to watch and stop a forked kernel."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stdin = self.stdout = self.stderr = None
        self._handle = os.pidfd_open(pid)

    def poll(self) -> int | None:
        return self.wait(timeout=0) if self.returncode is None else self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        if self.returncode is None:
            ready, _, _ = select.select([self._handle], [], [], timeout)
            if ready:
                self.returncode = -1  # not our child: its exit code is not ours to read
                os.close(self._handle)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class _Zygote:
    """The forking process, shared by every kernel of one pool."""

    def __init__(self, modules: list[str], *, env: dict[str, str]) -> None:
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from opslib.runs.kernels import _zygote_main; _zygote_main()",
             json.dumps(modules), str(os.getpid())], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)

    def wait_ready(self) -> None:
        """Wait until the zygote has imported everything; OSError if it cannot fork."""
        if self.process.stdout.readline().strip() != "ready":
            self.close()
            raise OSError("the kernel zygote did not start (or an import started a thread)")

    def fork(self, request: dict[str, Any]) -> int:
        with self._lock:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            answer = self.process.stdout.readline()
        if not answer.strip().isdigit():
            raise OSError("the kernel zygote stopped answering")
        return int(answer)

    def close(self) -> None:
        try:
            self.process.stdin.close()
        except OSError:
            pass
        self.process.kill()
        self.process.wait()


@functools.cache
def _kernel_manager_class() -> type:
    """A kernel manager that can fork its kernel and closes the clients it handed out.

    nbclient leaves open the clients of a kernel manager it was given (it does not own it).
    """
    from jupyter_client import KernelManager
    from jupyter_client.provisioning import LocalProvisioner

    class ForkProvisioner(LocalProvisioner):
        zygote: _Zygote | None = None
        log_path: str = ""

        async def launch_kernel(self, cmd: list[str], **kwargs: Any):
            pid = self.zygote.fork({
                "connection_file": self.parent.connection_file, "cwd": kwargs.get("cwd"),
                "env": kwargs.get("env") or dict(os.environ), "log": self.log_path})
            self.process = _ForkedProcess(pid)
            self.pid, self.pgid = pid, None
            return self.connection_info

    class OneNotebookKernelManager(KernelManager):
        def client(self, **kwargs: Any):
            made = super().client(**kwargs)
            self.__dict__.setdefault("_opslib_clients", []).append(made)
            return made

        def use_zygote(self, zygote: _Zygote, log_path: str) -> None:
            import uuid

            self.kernel_id = str(uuid.uuid4())
            provisioner = ForkProvisioner(kernel_id=self.kernel_id,
                                          kernel_spec=self.kernel_spec, parent=self)
            provisioner.zygote, provisioner.log_path = zygote, log_path
            self.provisioner = provisioner

    return OneNotebookKernelManager


def stop_kernel(km: Any) -> None:
    """Close the kernel's clients and stop the kernel at once (it ran its one notebook)."""
    for made in km.__dict__.get("_opslib_clients", []):
        try:
            made.stop_channels()
        except Exception:
            pass
    try:
        km.shutdown_kernel(now=True)
    except Exception:
        pass


class KernelPool:
    """Kernels started ahead of need (at most `size` waiting), each used for one notebook.

    `reserve(n)` asks for n more kernels and `cancel(n)` takes back the request for those
    not started yet; `take()` hands out a warm one (or raises the error that stopped it from
    starting); `close()` stops the ones nobody took; `abort()` kills every kernel at once.
    """

    def __init__(self, *, kernel_name: str, specs: Any, size: int, work_dir: Path,
                 cwd: Path, env: dict[str, str], modules: list[str],
                 fork: bool = True) -> None:
        self._kernel_name = kernel_name
        self._specs = specs
        self._work_dir = work_dir
        self._cwd = cwd
        self._env = env
        self._modules = modules
        self._warm_up = _WARM_UP.format(names=modules)
        self._ready: queue.Queue = queue.Queue()
        self._slots = threading.Semaphore(size)
        self._wake = threading.Condition()
        self._demand = 0
        self._count = 0
        self._closed = False
        self._aborted = False  # abort() killed every kernel: close() waits for no starter
        self._stoppers: list[threading.Thread] = []
        self._started: list[Any] = []  # every kernel manager, for abort()
        self._zygote: _Zygote | None = None
        self._zygote_wanted = fork and sys.platform == "linux" and hasattr(os, "pidfd_open")
        self._zygote_lock = threading.Lock()
        self._starters = [threading.Thread(target=self._start_loop, daemon=True,
                                           name=f"kernel-starter-{i}") for i in range(size)]
        for thread in self._starters:
            thread.start()

    def reserve(self, count: int) -> None:
        """Ask for `count` more kernels (one per notebook run, plus retries)."""
        with self._wake:
            self._demand += count
            self._wake.notify_all()

    def cancel(self, count: int) -> None:
        """Take back up to `count` requested kernels that have not started yet."""
        with self._wake:
            self._demand = max(0, self._demand - count)

    def take(self) -> Any:
        """A warm kernel manager; raises if the kernel could not be started, or once the
        pool is closed."""
        while True:
            if self._closed:
                raise OpslibError("the run was stopped before this notebook had a kernel")
            try:
                item = self._ready.get(timeout=0.2)
                break
            except queue.Empty:
                continue
        self._slots.release()
        if isinstance(item, BaseException):
            raise item
        return item

    def retire(self, km: Any) -> None:
        """Stop a used kernel in the background (close() waits for it)."""
        stopper = threading.Thread(target=stop_kernel, args=(km,), name="kernel-stopper")
        with self._wake:
            self._stoppers.append(stopper)
        stopper.start()

    def _start_loop(self) -> None:
        while True:
            with self._wake:
                while not self._closed and self._demand == 0:
                    self._wake.wait()
                if self._closed:
                    return
                self._demand -= 1
                self._count += 1
                number = self._count
            self._slots.acquire()
            try:
                self._ready.put(self._start(number))
            except BaseException as err:  # handed to the notebook that takes it
                self._ready.put(err)

    def _zygote_or_none(self) -> _Zygote | None:
        with self._zygote_lock:
            if self._zygote is None and self._zygote_wanted and not self._closed:
                self._zygote = _Zygote(self._modules, env=self._env)
                try:
                    self._zygote.wait_ready()
                except OSError:
                    self._zygote = None
                    self._zygote_wanted = False  # start kernels the ordinary way
            return self._zygote

    def _start(self, number: int) -> Any:
        log_path = self._work_dir / f"kernel-{number}.log"
        km = _kernel_manager_class()(
            kernel_name=self._kernel_name, kernel_spec_manager=self._specs,
            client_class="jupyter_client.asynchronous.AsyncKernelClient",
            transport="ipc", ip=str(self._work_dir / f"k{number}"),
            connection_file=str(self._work_dir / f"kernel-{number}.json"))
        zygote = self._zygote_or_none()
        with self._wake:
            if self._closed:
                raise OpslibError("the run was stopped before this kernel started")
            self._started.append(km)
        if zygote is not None:
            km.use_zygote(zygote, str(log_path))
        client = None
        try:
            with open(log_path, "ab") as log:
                km.start_kernel(cwd=str(self._cwd), env=self._env, stdout=log, stderr=log)
            client = km.blocking_client()
            client.start_channels()
            client.wait_for_ready(timeout=STARTUP_SECONDS)
            client.execute_interactive(self._warm_up, store_history=False,
                                       timeout=STARTUP_SECONDS, output_hook=lambda msg: None)
        except Exception as err:
            stop_kernel(km)
            tail = log_path.read_text(errors="replace").strip()[-300:]
            raise OpslibError(f"the report kernel did not start ({type(err).__name__}: {err})",
                              fix=f"Check the installation. Kernel output: {tail or '(none)'}"
                              ) from err
        finally:
            if client is not None:
                client.stop_channels()
        return km

    def abort(self) -> None:
        """Kill every kernel now, in use or not (the run is being stopped); close() after.

        Notebooks running in them end with a dead kernel; take() raises from now on.
        """
        with self._wake:
            self._closed = True
            self._aborted = True
            self._wake.notify_all()
            started = list(self._started)
        zygote = self._zygote  # without the lock: a starter holds it while the zygote imports
        if zygote is not None:
            zygote.close()  # its forked kernels die with it
        for km in started:
            process = getattr(km.provisioner, "process", None)
            if process is not None:
                process.kill()

    def close(self) -> None:
        """Stop starting kernels, stop those nobody took, and stop the zygote."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        # After abort() a starter may still wait, up to STARTUP_SECONDS, on a kernel that was
        # killed under it: don't wait for it (a daemon thread; what it starts dies with us).
        for thread in [] if self._aborted else self._starters:
            while thread.is_alive():
                self._drain()
                thread.join(timeout=0.05)
        self._drain()
        for stopper in self._stoppers:
            stopper.join()
        with self._zygote_lock:
            if self._zygote is not None:
                self._zygote.close()
                self._zygote = None

    def _drain(self) -> None:
        while True:
            try:
                item = self._ready.get_nowait()
            except queue.Empty:
                return
            self._slots.release()
            if not isinstance(item, BaseException):
                stop_kernel(item)


# ---------------------------------------------------------------------------------------
# Run folders: a run's settings, connection files and kernel logs, locked while it lives.


@contextmanager
def run_folder() -> Iterator[Path]:
    """A private temporary folder for one run, locked until the run ends, then removed.

    It is made under a hidden name and renamed once locked, so a `playbook-run-*` folder is
    locked for as long as its run lives; the lock goes with the process however it ends.
    """
    hidden = Path(tempfile.mkdtemp(prefix=f".{RUN_PREFIX}"))
    lock = open(hidden / RUN_LOCK, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        folder = hidden.with_name(hidden.name[1:])
        hidden.rename(folder)
    except BaseException:
        lock.close()
        shutil.rmtree(hidden, ignore_errors=True)
        raise
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        lock.close()


def _left_over(folder: Path) -> bool:
    """Whether the run that made `folder` is over."""
    try:
        age = time.time() - folder.stat().st_mtime
    except FileNotFoundError:
        return False
    if folder.name.startswith("."):  # its run died while making it (or makes it right now)
        return age > 60
    try:
        with open(folder / RUN_LOCK) as lock:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return True
    except BlockingIOError:
        return False
    except FileNotFoundError:
        return age > UNLOCKED_STALE_SECONDS


def stale_run_folders(root: Path | None = None) -> list[Path]:
    """Run folders in the temporary folder (or `root`) whose run is over."""
    root = Path(root or tempfile.gettempdir())
    found = sorted(root.glob(f"{RUN_PREFIX}*")) + sorted(root.glob(f".{RUN_PREFIX}*"))
    return [folder for folder in found if folder.is_dir() and _left_over(folder)]


def kill_run_processes(folder: Path) -> list[int]:
    """Kill this user's processes started for a run folder: its kernels and zygote, known by
    the settings file the run gave them (PLAYBOOK_SETTINGS). Returns their ids (Linux)."""
    marker = f"PLAYBOOK_SETTINGS={folder}{os.sep}".encode()
    killed = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if entry.stat().st_uid != os.getuid() or int(entry.name) == os.getpid():
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if any(item.startswith(marker) for item in environ):
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
            except ProcessLookupError:
                pass
    return killed


def clear_stale_run_folders(root: Path | None = None) -> tuple[int, int]:
    """Remove the run folders of runs that are over and kill the kernels they left alive;
    return (folders removed, processes killed)."""
    folders = stale_run_folders(root)
    killed = sum(len(kill_run_processes(folder)) for folder in folders)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    return len(folders), killed
