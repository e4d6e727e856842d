"""A process group that dies with the process that started it, whichever thread started it.

    group = subprocess.Popen(argv, start_new_session=True)   # its pid is its group id
    watch = GroupWatch(group.pid)                            # from now on it dies with us
    ...
    watch.release()                                          # after stopping it ourselves

`GroupWatch` starts a tiny watchdog (this file, run as a script: standard library only, no
import of the package) holding the read end of a pipe whose only write end stays in the
launcher. When the launcher process ends, however it ends (SIGKILL included), the kernel
closes that end; the watchdog reads EOF, sends the whole group SIGTERM and, after `grace`
seconds, SIGKILL. It exits by itself, doing nothing, as soon as the group is gone.

Why not `procs.die_with_parent` (PR_SET_PDEATHSIG) alone: that signal follows the *thread*
that forked, so a child started off the main thread would be killed when that thread ends;
and it reaches only the child, while a server's real work runs in its grandchildren
(gunicorn's workers, the JVM under `timeout`), which a signal to the group reaches as long as
they stay in it (none of ours starts a session of its own). A pipe's end is closed when the
process ends, not a thread, and no signal handler or grace period of the server can keep the
watchdog from it. The watchdog lives in a session of its own, outside the group it kills.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_GRACE = 5.0
_POLL = 0.5


class GroupWatch:
    """Kill process group `pgid` (SIGTERM, then SIGKILL after `grace` s) when this process dies."""

    def __init__(self, pgid: int, grace: float = DEFAULT_GRACE) -> None:
        self.pgid = pgid
        read_end, self._write_end = os.pipe()  # both close-on-exec: no other child inherits them
        try:
            self.process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-I", str(Path(__file__).resolve()), str(read_end), str(pgid), str(grace)],
                pass_fds=(read_end,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
        except BaseException:
            os.close(self._write_end)
            raise
        finally:
            os.close(read_end)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def release(self, timeout: float = 30.0) -> None:
        """The group was stopped by its owner: let the watchdog go (it kills any remnant first)."""
        if self.process is None:
            return
        os.close(self._write_end)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


# -- process groups, and the watchdog itself (standard library only: it also runs as a script) --


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_group(pgid: int, sig: int) -> None:
    """Signal the group, if it is still there."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def watch(fd: int, pgid: int, grace: float) -> None:
    """Wait for EOF on `fd` (the launcher's end closed), then end group `pgid`."""
    while group_alive(pgid):
        ready, _, _ = select.select([fd], [], [], _POLL)
        if ready and not os.read(fd, 64):
            kill_group(pgid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while group_alive(pgid) and time.monotonic() < deadline:
                time.sleep(0.05)
            kill_group(pgid, signal.SIGKILL)
            return


if __name__ == "__main__":
    # Only the launcher ends this process (by closing the pipe); a terminal's signals do not.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    watch(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
