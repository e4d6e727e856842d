"""A node whose launcher is killed outright is cleaned up by `python -m strategy_operator_dev.node cleanup`.

SIGKILL leaves no chance for atexit or signal handlers: the children die by their
parent-death signal, and what they leave outside the processes (the network namespace and its
bind mount, cgroup directories, sysctls, the work directory) is the cleanup command's job.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from strategy_operator_dev.node import HostSnapshot


def test_a_killed_launcher_leaves_nothing_after_cleanup(node) -> None:
    before = node.host_now()
    launcher = subprocess.Popen(
        [sys.executable, "-m", "strategy_operator_dev.node", "up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while not any(line.startswith("# workdir") for line in lines):
            line = launcher.stdout.readline()
            assert line and time.monotonic() < deadline, "the node did not come up:\n" + "".join(lines[-30:])
            lines.append(line)
        name = next(line.split()[-1] for line in lines if line.startswith("# workdir"))
        workdir = Path(next(line.split()[2].rstrip(";") for line in lines if line.startswith("# workdir")))
        during = node.host_now()
        assert name in during.netns and workdir.is_dir()
        assert any(c.split("/")[1:2] == [name] for c in during.cgroups)
    finally:
        launcher.send_signal(signal.SIGKILL)
        launcher.wait(30)

    cleaned = subprocess.run(
        [sys.executable, "-m", "strategy_operator_dev.node", "cleanup"], capture_output=True, text=True, timeout=120
    )
    assert cleaned.returncode == 0 and name in cleaned.stdout, cleaned.stdout + cleaned.stderr
    changes = before.differences(HostSnapshot.take(node.netns.host_path))
    assert not changes, json.dumps(changes, indent=1)[:3000]
    assert not workdir.exists()
