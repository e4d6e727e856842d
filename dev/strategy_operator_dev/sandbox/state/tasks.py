"""Task creation, listings and status transitions. (part of `SandboxState`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from strategy_operator.scopedkey import ScopedKey
from strategy_operator_dev.sandbox.state.records import (
    MAX_PRIORITY,
    NO_SUCH_OBJECT,
    TASK_STATUSES,
    USER_SETTABLE_STATUSES,
    BadRequest,
    ServerFault,
    TaskRecord,
    _parse_sk,
)

if TYPE_CHECKING:
    from strategy_operator_dev.sandbox.state import SandboxState


def create_tasks(  # noqa: C901 - upstream's validation order, check by check, decides which 400 a bad request gets
    self: SandboxState,
    transformations: Sequence[ScopedKey | str],
    extends: Sequence[ScopedKey | str | None] | None = None,
    creator: str | None = None,
) -> list[str]:
    """Create waiting, unactioned tasks; all-or-nothing. Output is grouped by type
    (Transformation first, then NonTransformation) as upstream does."""
    tf_keys = [_parse_sk(t) for t in transformations]
    if extends is None:
        ext_keys: list[ScopedKey | None] = [None] * len(tf_keys)
    elif len(extends) != len(tf_keys):
        raise BadRequest("`extends` must either be `None` or have the same length as `transformations`")
    else:
        ext_keys = [None if not e else _parse_sk(e) for e in extends]
    for ext in ext_keys:
        if ext is not None and ext.qualname != "Task":
            raise BadRequest(f"`extends` ScopedKey ({ext}) does not correspond to a `Task`")
    groups: dict[str, list[tuple[ScopedKey, ScopedKey | None]]] = {"Transformation": [], "NonTransformation": []}
    for tf, ext in zip(tf_keys, ext_keys):
        if tf.qualname not in groups:
            raise BadRequest(f"Got an unsupported `Transformation` type: {tf.qualname}")
        groups[tf.qualname].append((tf, ext))
    with self._lock:
        parents: dict[str, TaskRecord] = {}
        for ext in ext_keys:
            if ext is not None and (parent := self.tasks.get(str(ext))) is not None:
                if parent.status in ("invalid", "deleted"):
                    raise BadRequest(f"Cannot extend a `deleted` or `invalid` Task: {parent.sk}")
                parents[parent.sk] = parent
        planned: list[tuple[str, str, str | None]] = []
        for qualname, members in groups.items():
            for tf, ext in members:
                record = self.transformation_records.get(str(tf))
                if record is None or record.qualname != qualname:
                    raise ServerFault(f"no {qualname} {tf}")
                if ext is not None:
                    parent = parents.get(str(ext))
                    if parent is None:
                        raise ServerFault(f"no Task {ext}")
                    if parent.transformation != str(tf):
                        raise BadRequest(f"{ext} extends a Transformation other than {tf}")
                scope = (tf_keys[-1] if self.last_scope_bug else tf).scope
                planned.append((f"Task-{self._new_task_token()}-{scope}", str(tf), str(ext) if ext else None))
        created = []
        for task_sk, tf_sk, ext_sk in planned:
            self.tasks[task_sk] = TaskRecord(task_sk, tf_sk, creator=creator, extends=ext_sk)
            self._tasks_of_transformation[tf_sk].append(task_sk)
            self._status_counts[tf_sk]["waiting"] += 1
            if ext_sk is not None:
                self._extended_by.setdefault(ext_sk, set()).add(task_sk)
            created.append(task_sk)
        return created


def transformation_tasks(
    self: SandboxState, transformation_sk: str, *, status: str | None = None, extends: str | None = None
) -> dict[str, str | None]:
    """{task SK: extended SK or None}; with `extends`, only tasks reaching it via EXTENDS."""
    with self._lock:
        candidates = self._tasks_of_transformation.get(str(transformation_sk), [])
        if extends is not None:
            below = self._descendants(extends)
            candidates = [t for t in candidates if t in below]
        return {
            sk: self.tasks[sk].extends
            for sk in self._unordered(candidates)
            if status is None or self.tasks[sk].status == status
        }


def _descendants(self: SandboxState, task_sk: str) -> set[str]:
    found: set[str] = set()
    stack = [task_sk]
    while stack:
        for child in self._extended_by.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def network_tasks(self: SandboxState, network_sk: str, status: str | None = None) -> list[str]:
    with self._lock:
        network = self.networks.get(str(network_sk))
        if network is None:
            return []
        return self._unordered(
            sk
            for tf in network.transformations
            for sk in self._tasks_of_transformation[tf]
            if status is None or self.tasks[sk].status == status
        )


def task_transformation(self: SandboxState, task_sk: str) -> str:
    with self._lock:
        task = self.tasks.get(str(task_sk))
        if task is None:
            raise BadRequest(NO_SUCH_OBJECT)
        if task.extends is not None and len(self._results_of_task.get(task.extends, [])) > 1:
            raise ServerFault("extended task has more than one result")  # upstream defect
        return task.transformation


def task_networks(self: SandboxState, task_sk: str) -> list[str]:
    with self._lock:
        task = self.tasks.get(str(task_sk))
        if task is None:
            return []
        return self._unordered(self._networks_of_transformation.get(task.transformation, ()))


def task_statuses(self: SandboxState, task_sks: list[str | None]) -> list[str | None]:
    with self._lock:
        return [t.status if sk is not None and (t := self.tasks.get(str(sk))) else None for sk in task_sks]


def task_status(self: SandboxState, task_sk: str) -> str:
    with self._lock:
        task = self.tasks.get(str(task_sk))
        if task is None:
            raise ServerFault(f"no Task {task_sk}")
        return task.status


def set_task_status(self: SandboxState, task_sks: list[str | None], status: str) -> list[str | None]:
    """User-requested status changes (waiting/invalid/deleted), per the lifecycle table.

    Any other valid status gives the 400 upstream gives; the compute-side transitions are
    `claim_task`/`complete_task`/`expire_task`.
    """
    self.check_user_status(status)
    with self._lock:
        out: list[str | None] = []
        for sk in task_sks:
            task = self.tasks.get(str(sk)) if sk is not None else None
            if task is None:
                out.append(None)
                continue
            if status == "waiting":
                if task.status not in ("waiting", "running", "error"):
                    out.append(None)
                    continue
                self._set_status(task, "waiting")
                self._release_claim(task)
            else:
                forbidden = "deleted" if status == "invalid" else "invalid"
                if task.status == forbidden:
                    out.append(None)
                    continue
                self._terminate(task, status)
            out.append(task.sk)
        return out


def check_user_status(status: str) -> None:
    """A status string a user may request; an unknown one crashes upstream (500)."""
    if status not in TASK_STATUSES:
        raise ServerFault(f"{status!r} is not a valid TaskStatusEnum")
    if status not in USER_SETTABLE_STATUSES:
        raise BadRequest(
            f"Cannot set status to 'TaskStatusEnum.{status}', must be one of 'waiting', 'invalid', 'deleted'"
        )


def _release_claim(self: SandboxState, task: TaskRecord) -> None:
    task.claim = None
    task.claimed_at = None


def _unaction_everywhere(self: SandboxState, task_sk: str) -> None:
    for network_sk in self._hubs_of_task.pop(task_sk, set()):
        self._actions[network_sk].pop(task_sk, None)
    self._applies.pop(task_sk, None)


def _terminate(self: SandboxState, task: TaskRecord, status: str) -> None:
    """invalid/deleted: the task leaves every hub; tasks extending it (transitively) are
    forced into the same status, but leave only the hubs that also action this task
    (upstream's query binds the hub variable to this task's hubs)."""
    self._set_status(task, status)
    hubs = set(self._hubs_of_task.get(task.sk, ()))
    self._unaction_everywhere(task.sk)
    self._release_claim(task)
    for child_sk in self._descendants(task.sk):
        child = self.tasks[child_sk]
        self._set_status(child, status)
        self._applies.pop(child_sk, None)
        for network_sk in hubs:
            if self._actions[network_sk].pop(child_sk, None) is not None:
                self._hubs_of_task[child_sk].discard(network_sk)


def task_priorities(self: SandboxState, task_sks: list[str | None]) -> list[int | None]:
    with self._lock:
        return [t.priority if sk is not None and (t := self.tasks.get(str(sk))) else None for sk in task_sks]


def set_task_priorities(self: SandboxState, task_sks: list[str | None], priority: int) -> list[str | None]:
    if not (1 <= priority <= MAX_PRIORITY):
        raise BadRequest("priority must be between 1 and 2**63 - 1, inclusive")
    with self._lock:
        out: list[str | None] = []
        for sk in task_sks:
            task = self.tasks.get(str(sk)) if sk is not None else None
            if task is not None:
                task.priority = priority
            out.append(task.sk if task else None)
        return out
