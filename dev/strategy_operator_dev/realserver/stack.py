"""The real alchemiscale 0.8.0 stack on loopback: Neo4j, moto's S3, the user and compute APIs.

    with RealAlchemiscale.start() as stack:
        stack.user_api_url, stack.user.identifier, stack.user.key
        stack.driver("create_network", {...})   # real gufe objects via the real AlchemiscaleClient

Every process listens on 127.0.0.1 only, runs in its own process group and is stopped by
its group id. It dies with this process, however this process dies: a `GroupWatch`
(groupwatch.py) kills the whole group, grandchildren included (gunicorn's workers), when
this process's end of a pipe closes; started from the main thread it also gets a
parent-death SIGTERM (`procs.die_with_parent`), and Neo4j stops when its stdin closes. The
last resort is `timeout`, under which each one runs: nothing outlives `lifetime`. Nothing
is shared between two stacks: each has its own data directory, ports, passwords and keys,
all random.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strategy_operator_dev.groupwatch import GroupWatch, kill_group
from strategy_operator_dev.procs import die_with_parent, free_port
from strategy_operator_dev.realserver.build import Built, build_all, find_java

DRIVER = Path(__file__).resolve().parent / "driver.py"
DEFAULT_LIFETIME = 2 * 3600.0
NEO4J_START_TIMEOUT = 240.0
API_START_TIMEOUT = 120.0
DRIVER_TIMEOUT = 900.0
LOG_TAIL_LINES = 30


class StackError(RuntimeError):
    """The real-server stack could not be started or a step of it failed."""


def _start_in_own_group(argv: list[str], **popen_args: Any) -> tuple[subprocess.Popen[bytes], GroupWatch]:
    """`argv` as the leader of a new session and process group that dies with this process.

    `timeout` passes a parent-death SIGTERM (set only from the main thread: see procs.py)
    on to the whole group.
    """
    popen = subprocess.Popen(argv, start_new_session=True, preexec_fn=die_with_parent(signal.SIGTERM), **popen_args)
    try:
        return popen, GroupWatch(popen.pid)
    except BaseException:
        kill_group(popen.pid, signal.SIGKILL)
        popen.wait()
        raise


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    watch: GroupWatch

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def failure(self, what: str) -> StackError:
        return StackError(f"{self.name} {what}; last lines of {self.log_path}:\n{self.log_tail()}")

    def stop(self, timeout: float = 30.0) -> None:
        pgid = self.popen.pid  # a session leader: its pid is the group id
        if self.popen.poll() is None:
            kill_group(pgid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                kill_group(pgid, signal.SIGKILL)
                self.popen.wait(timeout)
        kill_group(pgid, signal.SIGKILL)  # stray grandchildren (gunicorn workers), if any
        self.watch.release()
        if self.popen.stdin is not None:
            with contextlib.suppress(OSError):
                self.popen.stdin.close()


@dataclass(frozen=True)
class Identity:
    identifier: str
    key: str = field(repr=False)
    scopes: tuple[str, ...] = ()


_live_lock = threading.Lock()
_live: set[RealAlchemiscale] = set()


def _stop_all_live() -> None:
    with _live_lock:
        stacks = list(_live)
    for stack in stacks:
        with contextlib.suppress(Exception):
            stack.stop()


atexit.register(_stop_all_live)


def _answers_http(url: str, timeout: float = 2.0) -> bool:
    """Whether anything answers HTTP at `url` (an error status counts: /info needs a token)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass(eq=False)
class RealAlchemiscale:
    """A running stack. Create it with `RealAlchemiscale.start()`; stop it with `stop()` or `with`."""

    built: Built
    workdir: Path
    lifetime: float
    user: Identity
    admin: Identity
    compute: Identity
    neo4j_port: int
    s3_port: int
    user_api_port: int
    compute_api_port: int
    _neo4j_password: str = field(repr=False)
    _jwt_secret: str = field(repr=False)
    _processes: dict[str, _Process] = field(default_factory=dict, repr=False)
    _owner_workdir: bool = True
    _born: float = field(default_factory=time.monotonic, repr=False)
    started_in: float = 0.0
    attached: bool = False

    # -- start ------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        *,
        user_scopes: tuple[str, ...] = ("acme-*-*",),
        lifetime: float = DEFAULT_LIFETIME,
        workdir: Path | None = None,
        built: Built | None = None,
    ) -> RealAlchemiscale:
        began = time.monotonic()
        built = built or build_all()
        stack = cls(
            built=built,
            workdir=Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="strategy-operator-realserver-")),
            lifetime=lifetime,
            user=Identity("alice", "alice-" + secrets.token_urlsafe(18), tuple(user_scopes)),
            # Creates networks in any scope, so tests can have objects the user may not see.
            admin=Identity("admin", "admin-" + secrets.token_urlsafe(18), ("*-*-*",)),
            compute=Identity("compute-1", "compute-" + secrets.token_urlsafe(18), ("*-*-*",)),
            neo4j_port=free_port(),
            s3_port=free_port(),
            user_api_port=free_port(),
            compute_api_port=free_port(),
            _neo4j_password=secrets.token_urlsafe(18),
            _jwt_secret=secrets.token_hex(32),
            _owner_workdir=workdir is None,
        )
        with _live_lock:
            _live.add(stack)
        try:
            stack._start_all()
        except BaseException:
            stack.stop()
            raise
        stack.started_in = time.monotonic() - began
        stack._write_attach_file()
        return stack

    # `up` leaves this file (mode 0600) in its workdir so that tests can use its stack
    # (`REALSERVER_ATTACH=<workdir>`) instead of starting their own.
    ATTACH_FILE = "stack.json"

    def _write_attach_file(self) -> None:
        path = self.workdir / self.ATTACH_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(
                {
                    "user": [self.user.identifier, self.user.key, list(self.user.scopes)],
                    "admin": [self.admin.identifier, self.admin.key, list(self.admin.scopes)],
                    "compute": [self.compute.identifier, self.compute.key, list(self.compute.scopes)],
                    "ports": [self.neo4j_port, self.s3_port, self.user_api_port, self.compute_api_port],
                    "neo4j_password": self._neo4j_password,
                    "jwt_secret": self._jwt_secret,
                },
                out,
            )

    @classmethod
    def attach(cls, workdir: Path) -> RealAlchemiscale:
        """The stack another process started (and still owns) in `workdir`; `stop()` stops nothing."""
        saved = json.loads((Path(workdir) / cls.ATTACH_FILE).read_text())
        stack = cls(
            built=build_all(),
            workdir=Path(workdir),
            lifetime=0,
            user=Identity(saved["user"][0], saved["user"][1], tuple(saved["user"][2])),
            admin=Identity(saved["admin"][0], saved["admin"][1], tuple(saved["admin"][2])),
            compute=Identity(saved["compute"][0], saved["compute"][1], tuple(saved["compute"][2])),
            neo4j_port=saved["ports"][0],
            s3_port=saved["ports"][1],
            user_api_port=saved["ports"][2],
            compute_api_port=saved["ports"][3],
            _neo4j_password=saved["neo4j_password"],
            _jwt_secret=saved["jwt_secret"],
            _owner_workdir=False,
        )
        stack.attached = True
        return stack

    def _start_all(self) -> None:
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        neo4j = self._spawn(
            "neo4j",
            self.built.runner.argv(find_java(), self.workdir / "neo4j", self.neo4j_port),
            extra_env={"NEO4J_RUNNER_PASSWORD": self._neo4j_password},
            stdin=subprocess.PIPE,
        )
        self._spawn("s3", [str(self.built.venv.bin("moto_server")), "-H", "127.0.0.1", "-p", str(self.s3_port)])
        self._wait_until(self._processes["s3"], 60, lambda: _answers_http(f"{self.s3_url}/"), "did not answer HTTP")
        self._wait_until(
            neo4j, NEO4J_START_TIMEOUT, lambda: "NEO4J_RUNNER_READY" in neo4j.log_tail(5), "did not report Bolt ready"
        )
        self.driver(
            "setup",
            {
                "users": [
                    {"identifier": i.identifier, "key": i.key, "scopes": list(i.scopes)}
                    for i in (self.user, self.admin)
                ],
                "computes": [
                    {
                        "identifier": self.compute.identifier,
                        "key": self.compute.key,
                        "scopes": list(self.compute.scopes),
                    }
                ],
            },
        )
        self.start_user_api()
        self.start_compute_api()

    def start_user_api(self) -> None:
        self._start_api("user-api", ["api"], self.user_api_port, self.user_api_url)

    def start_compute_api(self) -> None:
        self._start_api("compute-api", ["compute", "api"], self.compute_api_port, self.compute_api_url)

    def stop_user_api(self) -> None:
        """Stop the user API (an outage); `start_user_api()` brings it back on the same port."""
        if "user-api" not in self._processes:
            raise StackError("the user API is not run by this process (an attached stack cannot be stopped)")
        self._processes.pop("user-api").stop()

    def _start_api(self, name: str, command: list[str], port: int, url: str) -> None:
        if name in self._processes and self._processes[name].popen.poll() is None:
            raise StackError(f"{name} is already running")
        # --workers 1 as in the reference deployment; gunicorn's own timeout is generous
        # because a cold first request imports a lot.
        # gunicorn 27's control socket defaults to one path per user: two servers would share it.
        argv = [
            str(self.built.venv.bin("alchemiscale")),
            *command,
            "--workers",
            "1",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loglevel",
            "warning",
            "--config-json",
            json.dumps({"control_socket_disable": True}),
        ]
        process = self._spawn(name, argv)
        self._wait_until(process, API_START_TIMEOUT, lambda: _answers_http(f"{url}/info"), "did not answer GET /info")

    def _spawn(
        self,
        name: str,
        argv: list[str],
        *,
        extra_env: dict[str, str] | None = None,
        stdin: int | None = subprocess.DEVNULL,
    ) -> _Process:
        log_path = self.workdir / "logs" / f"{name}.log"
        remaining = max(1, int(self.lifetime - (time.monotonic() - self._born)))
        env = self.server_env()
        env.update(extra_env or {})
        with open(log_path, "ab") as log:
            popen, watch = _start_in_own_group(
                # `timeout` bounds the server's life and, on expiry or SIGTERM, signals its whole group.
                ["timeout", "-k", "10", str(remaining), *argv],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=stdin,
                env=env,
                cwd=self.workdir,
            )
        process = _Process(name, popen, log_path, watch)
        self._processes[name] = process
        return process

    def _wait_until(self, process: _Process, timeout: float, ready: Callable[[], bool], failure: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise process.failure(f"exited with code {process.popen.returncode} before it was ready")
            if ready():
                return
            time.sleep(0.25)
        raise process.failure(f"{failure} within {timeout:.0f} s")

    # -- addresses and settings -----------------------------------------------------------

    @property
    def user_api_url(self) -> str:
        return f"http://127.0.0.1:{self.user_api_port}"

    @property
    def compute_api_url(self) -> str:
        return f"http://127.0.0.1:{self.compute_api_port}"

    @property
    def s3_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def neo4j_url(self) -> str:
        return f"bolt://127.0.0.1:{self.neo4j_port}"

    def server_env(self) -> dict[str, str]:
        """The environment every server process and driver gets (settings are read from it)."""
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.update(
            {
                "NEO4J_URL": self.neo4j_url,
                "NEO4J_USER": "neo4j",
                "NEO4J_PASS": self._neo4j_password,
                "NEO4J_DBNAME": "neo4j",
                "JWT_SECRET_KEY": self._jwt_secret,
                "JWT_EXPIRE_SECONDS": "3600",
                "JWT_ALGORITHM": "HS256",
                "AWS_ACCESS_KEY_ID": "realserver-test",
                "AWS_SECRET_ACCESS_KEY": "realserver-test-secret",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_S3_BUCKET": "alchemiscale",
                "AWS_S3_PREFIX": "objectstore",
                "AWS_ENDPOINT_URL": self.s3_url,
                "ALCHEMISCALE_API_HOST": "127.0.0.1",
                "ALCHEMISCALE_API_PORT": str(self.user_api_port),
                "ALCHEMISCALE_COMPUTE_API_HOST": "127.0.0.1",
                "ALCHEMISCALE_COMPUTE_API_PORT": str(self.compute_api_port),
                "REALSERVER_USER_API_URL": self.user_api_url,
                "REALSERVER_COMPUTE_API_URL": self.compute_api_url,
                "REALSERVER_USER_IDENTIFIER": self.user.identifier,
                "REALSERVER_USER_KEY": self.user.key,
                "REALSERVER_ADMIN_IDENTIFIER": self.admin.identifier,
                "REALSERVER_ADMIN_KEY": self.admin.key,
                "REALSERVER_COMPUTE_IDENTIFIER": self.compute.identifier,
                "REALSERVER_COMPUTE_KEY": self.compute.key,
                "REALSERVER_WORKDIR": str(self.workdir),
                "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    # -- the driver: real gufe / alchemiscale code, run in the server's venv -----------------

    def driver(self, command: str, args: dict[str, Any] | None = None, *, timeout: float = DRIVER_TIMEOUT) -> Any:
        """Run one `driver.py` command in the server venv; JSON in, JSON out."""
        log_path = self.workdir / "logs" / "driver.log"
        request = json.dumps({"command": command, "args": args or {}})
        with open(log_path, "ab") as log:
            log.write(f"\n>>> {command}\n".encode())
            log.flush()
            popen, watch = _start_in_own_group(
                ["timeout", "-k", "5", str(int(timeout)), str(self.built.venv.python), str(DRIVER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=self.server_env(),
                cwd=self.workdir,
            )
            try:
                stdout, _ = popen.communicate(request.encode(), timeout=timeout + 15)
            except subprocess.TimeoutExpired:
                kill_group(popen.pid, signal.SIGKILL)  # before it is reaped: the group id is still ours
                popen.wait()
                raise StackError(
                    f"driver command {command!r} took longer than {timeout:.0f} s; log: {log_path}"
                ) from None
            finally:
                watch.release()
        lines = stdout.decode(errors="replace").splitlines()
        answers = [line for line in lines if line.startswith("DRIVER_RESULT ")]
        if popen.returncode != 0 or not answers:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])
            raise StackError(
                f"driver command {command!r} failed (exit {popen.returncode}); last lines of {log_path}:\n{tail}"
            )
        return json.loads(answers[-1][len("DRIVER_RESULT ") :])

    # -- stop ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self._processes) and all(p.popen.poll() is None for p in self._processes.values())

    def logs(self) -> dict[str, Path]:
        return {name: p.log_path for name, p in self._processes.items()}

    def process_groups(self) -> dict[str, int]:
        """Each running server's process group id (its `timeout`'s pid), by name."""
        return {name: p.popen.pid for name, p in self._processes.items()}

    def watchdogs(self) -> dict[str, int]:
        """The pid of each server's `GroupWatch` watchdog, by name."""
        return {name: p.watch.pid for name, p in self._processes.items() if p.watch.pid is not None}

    def stop(self) -> None:
        for name in ("user-api", "compute-api", "s3", "neo4j"):
            process = self._processes.pop(name, None)
            if process is not None:
                process.stop()
        for process in list(self._processes.values()):
            process.stop()
        self._processes.clear()
        with _live_lock:
            _live.discard(self)
        if self._owner_workdir and os.environ.get("REALSERVER_KEEP_WORKDIR") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> RealAlchemiscale:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
