"""Process groups die with the process that started them, even when it is SIGKILLed.

The launcher is a child Python process, SIGKILLed as a crashed pytest would be; what it
started is found afterwards by the process group ids and pids it recorded, never by name.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from strategy_operator_dev.procs import die_with_parent


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of a process, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[2])


def live_members(groups: Iterable[int], pids: Iterable[int] = ()) -> list[int]:
    """Processes, zombies aside, in one of `groups` or among `pids`."""
    groups, pids = set(groups), set(pids)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _stat(int(entry))
        if stat is not None and stat[0] != "Z" and (stat[1] in groups or int(entry) in pids):
            found.append(int(entry))
    return found


def _wait_gone(groups: Iterable[int], pids: Iterable[int], timeout: float) -> tuple[float, list[int]]:
    began = time.monotonic()
    while True:
        left = live_members(groups, pids)
        if not left or time.monotonic() - began > timeout:
            return time.monotonic() - began, left
        time.sleep(0.1)


def _launch(script: str, *args: str) -> subprocess.Popen[str]:
    """The launcher: a child Python that prints one JSON line of what it started, then sleeps."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=die_with_parent(signal.SIGKILL),
    )


def _report(launcher: subprocess.Popen[str], timeout: float) -> dict:
    assert launcher.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([launcher.stdout], [], [], 1.0)[0]:
            line = launcher.stdout.readline()
            if not line:
                break
            if line.startswith("{"):
                return json.loads(line)
        elif launcher.poll() is not None:
            break
    raise AssertionError(f"the launcher reported nothing within {timeout:g} s (exit {launcher.poll()})")


def _sigkill(launcher: subprocess.Popen[str]) -> None:
    if launcher.poll() is None:
        launcher.send_signal(signal.SIGKILL)
    launcher.wait(30)


GROUPS_FROM_A_THREAD = """
    import json, subprocess, sys, threading, time
    from strategy_operator_dev.groupwatch import GroupWatch

    started = {}

    def start():  # off the main thread, which then ends: a parent-death signal would fire here
        # The group's processes ignore SIGTERM, as a server in a long shutdown would.
        group = subprocess.Popen(
            ["sh", "-c", "trap '' TERM; sleep 300 & sleep 300 & wait"], start_new_session=True
        )
        started["group"], started["watchdog"] = group.pid, GroupWatch(group.pid, grace=1.0).pid

    worker = threading.Thread(target=start)
    worker.start()
    worker.join()
    time.sleep(0.5)
    print(json.dumps(started), flush=True)
    time.sleep(300)
"""


def test_a_group_started_from_a_thread_dies_with_its_sigkilled_launcher_grandchildren_too() -> None:
    launcher = _launch(GROUPS_FROM_A_THREAD)
    try:
        started = _report(launcher, 30)
        group, watchdog = started["group"], started["watchdog"]
        assert len(live_members([group])) >= 3, "sh and its two sleeps outlive the thread that started them"
        assert live_members([], [watchdog]) == [watchdog]
    finally:
        _sigkill(launcher)
    took, left = _wait_gone([group], [watchdog], timeout=10)
    assert not left, f"still running {took:.1f} s after the launcher was killed: {left}"
    assert took < 5  # SIGTERM is ignored: SIGKILL after the 1 s grace


def test_a_group_its_owner_stopped_releases_its_watchdog() -> None:
    from strategy_operator_dev.groupwatch import GroupWatch

    group = subprocess.Popen(["sleep", "300"], start_new_session=True)
    watch = GroupWatch(group.pid)
    watchdog = watch.pid
    assert watchdog is not None and live_members([], [watchdog]) == [watchdog]
    group.kill()
    group.wait()
    began = time.monotonic()
    watch.release()
    assert time.monotonic() - began < 5 and watch.pid is None
    assert live_members([group.pid], [watchdog]) == []


REAL_STACK = """
    import json, sys, time
    from pathlib import Path
    from strategy_operator_dev.realserver.stack import RealAlchemiscale

    stack = RealAlchemiscale.start(workdir=Path(sys.argv[1]), lifetime=1200)
    ports = [stack.neo4j_port, stack.s3_port, stack.user_api_port, stack.compute_api_port]
    print(json.dumps({"groups": stack.process_groups(), "watchdogs": stack.watchdogs(), "ports": ports}), flush=True)
    time.sleep(1200)
"""


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a server would: TIME_WAIT aside
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
    return True


@pytest.mark.realserver
def test_the_real_stack_dies_with_its_sigkilled_launcher(tmp_path: Path) -> None:
    launcher = _launch(REAL_STACK, str(tmp_path / "stack"))
    try:
        started = _report(launcher, 900)
        groups, watchdogs, ports = started["groups"], started["watchdogs"], started["ports"]
        assert set(groups) == {"neo4j", "s3", "user-api", "compute-api"} and set(watchdogs) == set(groups)
        for name, group in groups.items():
            assert live_members([group]), f"{name} is not running"
        # timeout, gunicorn and its worker: the worker is the grandchild a parent-death signal misses.
        assert len(live_members([groups["user-api"]])) >= 3
        assert not any(_port_free(port) for port in ports)
    finally:
        _sigkill(launcher)
    took, left = _wait_gone(groups.values(), watchdogs.values(), timeout=30)
    assert not left, f"still running {took:.1f} s after the launcher was killed: {left}"
    assert took < 15, f"the stack took {took:.1f} s to die"
    assert [port for port in ports if not _port_free(port)] == []
    print(f"the real stack was gone {took:.1f} s after its launcher was SIGKILLed")
