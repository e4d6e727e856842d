"""Results of tasks and transformations. (part of `SandboxState`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from strategy_operator_dev.sandbox.state.records import (
    NO_SUCH_OBJECT,
    BadRequest,
)

if TYPE_CHECKING:
    from strategy_operator_dev.sandbox.state import SandboxState


def _refs(self: SandboxState, refs: Iterable[str], ok: bool) -> list[str]:
    return self._unordered(sk for sk in dict.fromkeys(refs) if self.results[sk].ok is ok)


def transformation_results(self: SandboxState, transformation_sk: str, ok: bool = True) -> list[str]:
    with self._lock:
        tasks = self._tasks_of_transformation.get(str(transformation_sk), ())
        return self._refs((r for t in tasks for r in self._results_of_task.get(t, ())), ok)


def task_results(self: SandboxState, task_sk: str, ok: bool = True) -> list[str]:
    with self._lock:
        return self._refs(self._results_of_task.get(str(task_sk), ()), ok)


def result_payload(self: SandboxState, ref_sk: str) -> bytes:
    """The stored result of a ref. Upstream falls back to the location recorded on the ref
    when the route's object-store path misses, so the route (results or failures) and the
    transformation in the URL do not matter once the ref exists."""
    with self._lock:
        ref = self.results.get(str(ref_sk))
        if ref is None:
            raise BadRequest(NO_SUCH_OBJECT)
        return ref.payload
