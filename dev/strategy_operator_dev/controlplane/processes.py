"""The control plane's child processes and their cleanup: groups, owners, stale work directories, exit hooks."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from strategy_operator_dev.controlplane.errors import ControlPlaneError
from strategy_operator_dev.groupwatch import kill_group

WORKDIR_PREFIX = "strategy-operator-cp-"
OWNER_FILE = "owner.pid"
PGIDS_FILE = "pgids"
LOG_TAIL_LINES = 40

if TYPE_CHECKING:
    from strategy_operator_dev.controlplane.plane import ControlPlane

live_lock = threading.Lock()
live_planes: set[ControlPlane] = set()


def stop_all_live() -> None:
    with live_lock:
        planes = list(live_planes)
    for plane in planes:
        with contextlib.suppress(Exception):
            plane.stop()


atexit.register(stop_all_live)


def install_sigterm_cleanup() -> None:
    """Turn SIGTERM into a normal interpreter exit so atexit and fixture teardown run.

    Only when nobody else handles SIGTERM and only from the main thread (Python's rule);
    Kopf and others that install their own handler keep it.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def _exit_on_sigterm(signum: int, frame: object) -> None:
        stop_all_live()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit_on_sigterm)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def group_belongs_to(pgid: int, workdir: Path) -> bool:
    """True when the group's leader still runs with `workdir` on its command line (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pgid}/cmdline").read_bytes()
    except OSError:
        return False
    return str(workdir).encode() in cmdline


def reap_stale_workdirs(base: Path | None = None) -> list[Path]:
    """Remove work directories (and kill their process groups) left by launchers that died.

    Returns the directories removed. A directory is stale when the pid in its owner file is
    gone; its recorded process groups are killed only if they still run from that directory.
    """
    base = base or Path(tempfile.gettempdir())
    removed = []
    for workdir in base.glob(WORKDIR_PREFIX + "*"):
        owner = owner_of(workdir)
        if owner is None or owner == os.getpid() or pid_alive(owner):
            continue
        kill_recorded_groups(workdir)
        shutil.rmtree(workdir, ignore_errors=True)
        removed.append(workdir)
    return removed


def owner_of(workdir: Path) -> int | None:
    try:
        return int((workdir / OWNER_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def kill_recorded_groups(workdir: Path) -> None:
    with contextlib.suppress(OSError, ValueError):
        for line in (workdir / PGIDS_FILE).read_text().split():
            pgid = int(line)
            if group_belongs_to(pgid, workdir):
                kill_group(pgid, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        (workdir / PGIDS_FILE).unlink()


def claim_explicit_workdir(workdir: Path) -> None:
    """Take over a caller-chosen workdir, finishing off a previous launcher that was killed."""
    owner = owner_of(workdir)
    if owner is not None and owner != os.getpid() and pid_alive(owner):
        raise ControlPlaneError(f"{workdir} is in use by another control plane (launcher pid {owner})")
    kill_recorded_groups(workdir)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def describe_failure(self, what: str) -> str:
        return f"{self.name} {what}; last lines of {self.log_path}:\n{self.log_tail()}"

    def clashed_on_port(self) -> bool:
        tail = self.log_tail(200).lower()
        return "address already in use" in tail or "bind: address" in tail

    def terminate(self, timeout: float) -> None:
        if self.popen.poll() is not None:
            kill_group(self.popen.pid, signal.SIGKILL)  # stray grandchildren, if any
            return
        kill_group(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            kill_group(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout)
