"""What a one-node cluster may change on the host, recorded before and compared after.

The node runs inside its own network namespace, so its interfaces, routes, iptables rules and
listening sockets never touch the host's. What is not namespaced is recorded here: the
sysctls the kubelet sets, the mount table, the list of named network namespaces and the cgroup
hierarchies. `HostSnapshot.take()` reads them *from the host's network namespace*, whatever
namespace the calling thread is in (commands run through `nsenter --net=<host ns>`).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

# kubelet's setupKernelTunables: it writes these when protectKernelDefaults is false.
KUBELET_SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
CGROUP_ROOT = Path("/sys/fs/cgroup")
# Every node's namespace, workdir and cgroup root start with it (launcher.py).
NAME_PREFIX = "so-e2e-"


def read_sysctls(names: tuple[str, ...] = KUBELET_SYSCTLS) -> dict[str, str]:
    values = {}
    for name in names:
        try:
            values[name] = (Path("/proc/sys") / name).read_text().strip()
        except OSError:
            continue
    return values


def restore_sysctls(values: dict[str, str]) -> list[str]:
    """Write back every recorded value that differs now; returns the names restored."""
    restored = []
    for name, value in values.items():
        path = Path("/proc/sys") / name
        try:
            if path.read_text().strip() != value:
                path.write_text(value + "\n")
                restored.append(name)
        except OSError:
            continue
    return restored


def cgroup_directories() -> set[str]:
    """Cgroup directories relative to /sys/fs/cgroup: every hierarchy's top level (where a
    kubelet ignoring its cgroup root would put `kubepods`) and everything below a node's own
    root. Deeper cgroups elsewhere belong to the machine's other programs, which create and
    remove them all the time (one per job on a shared machine)."""
    found: set[str] = set()
    if not CGROUP_ROOT.is_dir():
        return found
    for hierarchy in CGROUP_ROOT.iterdir():
        if not hierarchy.is_dir() or hierarchy.is_symlink():
            continue
        found.add(hierarchy.name)
        for top in hierarchy.iterdir():
            if not top.is_dir():
                continue
            found.add(os.path.relpath(top, CGROUP_ROOT))
            if top.name.startswith(NAME_PREFIX):
                for directory, _subdirs, _files in os.walk(top):
                    found.add(os.path.relpath(directory, CGROUP_ROOT))
    return found


def _ancestors(pid: int) -> set[int]:
    seen = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return seen


def _held_by_strangers(fields: list[str], owner_pid: int) -> bool:
    pids = [int(p) for p in re.findall(r"pid=(\d+)", " ".join(fields[6:]))]
    if not pids:
        return False
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if owner_pid in _ancestors(pid) or NAME_PREFIX.encode() in cmdline:
            return False
    return True


def _on_loopback(local: str) -> bool:
    address = local.rsplit(":", 1)[0].strip("[]").split("%", 1)[0]
    address = address.removeprefix("::ffff:")  # IPv4-mapped
    return address.startswith("127.") or address == "::1"


@dataclass(frozen=True)
class HostSnapshot:
    sysctls: dict[str, str]
    iptables: str
    mounts: list[str]
    netns: list[str]
    listening: list[str]
    cgroups: set[str] = field(repr=False)

    @classmethod
    def take(cls, host_netns: str, owner_pid: int | None = None) -> HostSnapshot:
        owner_pid = owner_pid or os.getpid()

        def in_host(*argv: str) -> str:
            result = subprocess.run(
                ["nsenter", f"--net={host_netns}", *argv], capture_output=True, text=True, timeout=30
            )
            if result.returncode != 0:
                raise RuntimeError(f"{' '.join(argv)} in the host's network namespace: {result.stderr.strip()}")
            return result.stdout

        iptables = "\n".join(
            line
            for line in in_host("iptables-save").splitlines()
            # Comments carry a timestamp; counters change with traffic.
            if not line.startswith("#")
        )
        # Netid and local address of every listening socket off loopback (the rule is about
        # the host's interfaces) that is not another program's: on a shared machine other
        # programs open and close ports all the time, so a socket counts unless every process
        # holding it is known to be unrelated to this run (not a descendant of `owner_pid`,
        # and no node directory on its command line).
        listening = sorted(
            f"{fields[0]} {fields[4]}"
            for fields in (line.split() for line in in_host("ss", "-Hltnup").splitlines())
            if len(fields) > 4 and not _on_loopback(fields[4]) and not _held_by_strangers(fields, owner_pid)
        )
        # (root, mount point) of every mount in this process's mount namespace, the host's.
        mounts = sorted(" ".join(line.split()[3:5]) for line in Path("/proc/self/mountinfo").read_text().splitlines())
        return cls(
            sysctls=read_sysctls(),
            iptables=iptables,
            mounts=mounts,
            netns=sorted(in_host("ip", "netns", "list").split()),
            listening=listening,
            cgroups=cgroup_directories(),
        )

    def differences(self, later: HostSnapshot) -> dict[str, object]:
        """What changed between this snapshot and `later`; empty when the host is as it was."""
        changes: dict[str, object] = {}
        if self.sysctls != later.sysctls:
            changes["sysctls"] = {
                k: (self.sysctls.get(k), later.sysctls.get(k))
                for k in set(self.sysctls) | set(later.sysctls)
                if self.sysctls.get(k) != later.sysctls.get(k)
            }
        if self.iptables != later.iptables:
            before, after = set(self.iptables.splitlines()), set(later.iptables.splitlines())
            changes["iptables"] = {"added": sorted(after - before), "removed": sorted(before - after)}
        for name in ("mounts", "netns", "listening"):
            before, after = set(getattr(self, name)), set(getattr(later, name))
            if before != after:
                changes[name] = {"added": sorted(after - before), "removed": sorted(before - after)}
        if self.cgroups != later.cgroups:
            changes["cgroups"] = {
                "added": sorted(later.cgroups - self.cgroups)[:20],
                "removed": sorted(self.cgroups - later.cgroups)[:20],
            }
        return changes
