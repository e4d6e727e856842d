"""One pass over one NetworkStrategy: resolve the server, snapshot, plan, apply, report.

Knows nothing of Kopf: it takes a plain view of the resource and returns the status fields
to write and the events to post. The strategy's compute runs in an executor so the event
loop (and every other resource) keeps going while a large network is weighed.
"""

from __future__ import annotations

import asyncio
import time
import traceback as tracebacks
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from strategy_operator.alchemiscale.answers import ServerBusy, UnexpectedAnswer
from strategy_operator.alchemiscale.client import AlchemiscaleClient
from strategy_operator.alchemiscale.credentials import Credentials
from strategy_operator.alchemiscale.errors import AlchemiscaleError, TransientError
from strategy_operator.alchemiscale.execution import ExecutionReport, execute_plan
from strategy_operator.alchemiscale.gufe_objects import CacheStats, GufeObjects
from strategy_operator.alchemiscale.observation import Observation, build_snapshot
from strategy_operator.alchemiscale.pool import ClientPool
from strategy_operator.alchemiscale.server_strategy import check_server_strategy
from strategy_operator.alchemiscale.snapshotter import NetworkSnapshotter
from strategy_operator.api.v1alpha1 import NetworkStrategySpec, NetworkStrategyStatus
from strategy_operator.controller import conditions
from strategy_operator.controller.config import OperatorConfig
from strategy_operator.controller.credentials_policy import CredentialsPolicyError
from strategy_operator.controller.resolve import IterationError, resolve, verify_of
from strategy_operator.controller.scheduling import (
    effective_interval,
    format_time,
    is_woken,
    transient_backoff,
    wake_token,
)
from strategy_operator.controller.secrets import (
    CredentialsSecretError,
    CredentialsSecretUnavailable,
    SecretCredentials,
    SecretSource,
)
from strategy_operator.engine import Plan, Snapshot, plan_iteration
from strategy_operator.engine.iteration import WeightSource
from strategy_operator.scopedkey import parse_network_key
from strategy_operator.stratocaster.adapter import GufeWeights
from strategy_operator.stratocaster.loading import AllowedStrategies
from strategy_operator.stratocaster.loading import build_strategy as build_gufe_strategy
from strategy_operator.text import EXCEPTION_MESSAGE_MAX_LENGTH, TRACEBACK_MAX_LENGTH, bound_head, bound_tail, scrub
from strategy_operator.validation import describe


@dataclass(frozen=True)
class ResourceView:
    """What one pass needs to know about the resource (the status is the operator's latest)."""

    namespace: str
    name: str
    generation: int | None
    spec: Mapping[str, Any]
    status: Mapping[str, Any]
    annotations: Mapping[str, str]

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Event:
    type: str  # Normal or Warning
    reason: str
    message: str


@dataclass
class PassOutcome:
    """The result of one pass: a metric label, status fields to merge-patch, events to post."""

    result: str  # iterated | unchanged | error | transient | disabled
    status: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    log: str = ""
    tasks: tuple[int, int, int] = (0, 0, 0)  # existing actioned, created, cancelled
    error_type: str | None = None  # the alchemiscale error behind an error or transient outcome


@dataclass
class _Session:
    client: AlchemiscaleClient
    snapshotter: NetworkSnapshotter
    # When the server's own strategy for the network was last checked (monotonic seconds).
    server_strategy_checked: float | None = None


class SessionCache:
    """One resource's snapshotter, over the pool's shared client for its server and identity.

    The snapshotter (the network's caches) is the resource's own and is dropped with it; the
    client (connection pool, token) belongs to the `ClientPool` and is shared.
    """

    def __init__(self, pool: ClientPool | None = None, *, resync_interval: float | None = None) -> None:
        self.pool = pool if pool is not None else ClientPool()
        self.resync_interval = resync_interval
        self._session: _Session | None = None

    def requests_sent(self) -> int:
        """Requests sent to alchemiscale by the pool this cache draws its client from."""
        return self.pool.requests_sent()

    async def get(self, url: str, credentials: SecretCredentials, network: str, verify: bool | str) -> _Session:
        """The resource's session: the pool's client for (url, credentials, verify), its snapshotter."""
        client = await self.pool.acquire(self, url, Credentials(credentials.identifier, credentials.key), verify)
        session = self._session
        if session is not None and session.client is client and session.snapshotter.network == network:
            return session
        if session is not None:
            session.snapshotter.forget()
        self._session = _Session(client, NetworkSnapshotter(client, network, resync_interval=self.resync_interval))
        return self._session

    async def reset(self) -> None:
        """Start afresh (a wake): a full re-read of the network, and a new login for the shared client."""
        if self._session is not None:
            self._session.client.forget_token()
        await self.aclose()

    async def aclose(self) -> None:
        """Drop this resource's caches and let go of the shared client."""
        if self._session is not None:
            session, self._session = self._session, None
            session.snapshotter.forget()
        await self.pool.release(self)


def _task_counts(report: ExecutionReport) -> tuple[int, int, int]:
    """(existing tasks actioned, tasks created, tasks cancelled); created tasks are actioned too."""
    created = {task for tasks in report.created_tasks.values() for task in tasks}
    existing = sum(1 for task in report.actioned_tasks if task not in created)
    return existing, report.created, report.cancelled


def _summary_text(plan: Plan, tasks: tuple[int, int, int]) -> str:
    summary = plan.summary
    actioned, created, cancelled = tasks
    return (
        f"{summary.transformations_weighted} transformations weighted, "
        f"{summary.transformations_finished} finished, {summary.transformations_blocked} blocked "
        f"by errored tasks; tasks actioned {actioned}, created {created}, cancelled {cancelled}"
    )


def plan_observation(
    observation: Observation,
    spec: NetworkStrategySpec,
    state: Mapping[str, Any],
    weights_from: WeightSource | None = None,
    max_tasks_created: int | None = None,
) -> Plan:
    """Snapshot document, validation and the engine's plan: all CPU work, run off the event loop.

    `weights_from`: a stratocaster Strategy with its gufe inputs (a strategy named by import path);
    its `propose` runs here too. `max_tasks_created`: the operator's cap on tasks created by one
    iteration (the rest waits for the next ones).
    """
    document = build_snapshot(
        observation,
        strategy=spec.strategy.model_dump(mode="json", exclude_none=True),
        mode=spec.mode.value,
        task_scaling=spec.task_scaling.value,
        max_tasks_per_transformation=spec.max_tasks_per_transformation,
        state=dict(state),
    )
    document["maxTasksCreated"] = max_tasks_created
    return plan_iteration(Snapshot.model_validate(document), weights_from)


class IterationRunner:
    """Runs passes for every resource; one per operator, shared by all resources."""

    def __init__(
        self,
        config: OperatorConfig,
        secrets: SecretSource,
        executor: Executor | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.secrets = secrets
        self.executor = executor
        self.clock = clock
        self.allowed_strategies = AllowedStrategies(config.allowed_strategies)
        # Decoded networks and ProtocolDAGResults for strategies named by import path; made on first use.
        self._gufe_objects: GufeObjects | None = None

    @property
    def gufe_objects(self) -> GufeObjects:
        if self._gufe_objects is None:
            self._gufe_objects = GufeObjects(self.config.result_cache_entries)
        return self._gufe_objects

    def result_cache_stats(self) -> CacheStats | None:
        return None if self._gufe_objects is None else self._gufe_objects.results.stats()

    def interval_of(self, raw_spec: Mapping[str, Any]) -> int:
        raw = raw_spec.get("sleepInterval", 3600)
        try:
            own = int(raw)
        except (TypeError, ValueError):
            own = 3600
        return int(effective_interval(own, self.config.min_sleep_interval))

    async def run(
        self, resource: ResourceView, sessions: SessionCache, *, transient_failures: int, mode_now: Callable[[], str]
    ) -> PassOutcome:
        """One pass. `transient_failures` counts the consecutive transient failures before it."""
        now = self.clock()
        interval = self.interval_of(resource.spec)
        woken = is_woken(resource.annotations, resource.status)
        base: dict[str, Any] = {
            "observedGeneration": resource.generation,
            "effectiveSleepInterval": interval,
        }
        if woken:
            base.update(status="awake", exception=None, traceback=None, lastWakeToken=wake_token(resource.annotations))
        previous = {**resource.status, **{k: v for k, v in base.items()}}
        secrets_seen: list[str] = []
        try:
            async with asyncio.timeout(self.config.iteration_timeout):
                return await self._iterate(resource, sessions, now, interval, base, previous, secrets_seen, mode_now)
        except (TransientError, CredentialsSecretUnavailable) as exc:
            return self._transient(resource, now, interval, base, previous, exc, transient_failures, secrets_seen)
        except TimeoutError as exc:
            wrapped = TransientError(
                f"the iteration took longer than {self.config.iteration_timeout:g} s and was abandoned"
            )
            wrapped.__cause__ = exc
            return self._transient(resource, now, interval, base, previous, wrapped, transient_failures, secrets_seen)
        except Exception as exc:  # noqa: BLE001 - every other failure is the resource's error state
            return self._failed(resource, now, base, previous, exc, secrets_seen)

    async def _iterate(
        self,
        resource: ResourceView,
        sessions: SessionCache,
        now: datetime,
        interval: int,
        base: dict[str, Any],
        previous: Mapping[str, Any],
        secrets_seen: list[str],
        mode_now: Callable[[], str],
    ) -> PassOutcome:
        resolved = await resolve(
            resource.spec, resource.namespace, self.config, self.secrets, secrets_seen=secrets_seen
        )
        spec = resolved.spec
        # A class named by import path: refused, imported and its settings built before any
        # alchemiscale request, so a refusal or a broken class changes nothing there.
        gufe_strategy = (
            build_gufe_strategy(spec.strategy.name, spec.strategy.class_settings, self.allowed_strategies)
            if spec.strategy.is_import_path
            else None
        )
        session = await sessions.get(resolved.server.url, resolved.credentials, spec.network, verify_of(self.config))
        events: list[Event] = []
        checked = session.server_strategy_checked
        if checked is None or time.monotonic() - checked >= self.config.resync_interval:
            # Once per session (start, wake, new server) and per resync interval: a strategy
            # stored on the server is rarely set, and its Strategist sleeps long too.
            taken_over = await check_server_strategy(
                session.client, spec.network, take_over=spec.take_over_server_strategy
            )
            session.server_strategy_checked = time.monotonic()
            if taken_over:
                events.append(Event("Normal", "ServerStrategyDisabled", taken_over))
        status_now = previous.get("status") or "awake"
        last_count = int(previous.get("lastIterationResultCount") or 0)
        next_due = format_time(now + timedelta(seconds=interval))

        if status_now == "dormant":
            counted = await session.snapshotter.observe_counts()
            count = counted.result_count
            if count == last_count:
                fields = {
                    **base,
                    "nextIteration": next_due,
                    "exception": None,
                    "traceback": None,
                    "taskCounts": counted.task_counts,
                }
                fields["conditions"] = conditions.merge(
                    previous.get("conditions"),
                    conditions.dormant(f"no new results ({count} in total); next check at {next_due}"),
                    now=now,
                    generation=resource.generation,
                )
                return PassOutcome("unchanged", fields, events, log=f"dormant, still {count} results")

        observation = await session.snapshotter.observe()
        state = {"status": "dormant" if status_now == "dormant" else "awake", "lastIterationResultCount": last_count}
        weights_from: GufeWeights | None = None
        if gufe_strategy is not None:
            inputs = await self.gufe_objects.inputs(session.client, spec.network, observation.result_refs)
            weights_from = GufeWeights(
                spec.strategy.name,
                gufe_strategy,
                inputs.network,
                inputs.protocol_results,
                str(parse_network_key(spec.network).scope),
            )
        loop = asyncio.get_running_loop()
        plan: Plan = await loop.run_in_executor(
            self.executor,
            plan_observation,
            observation,
            spec,
            state,
            weights_from,
            self.config.max_tasks_created_per_iteration,
        )

        if mode_now() == "disabled":
            # The user disabled the strategy while it was being weighed: apply nothing.
            return self.disabled(resource, now, previous)

        tasks = (0, 0, 0)
        if plan.ran:
            report = await execute_plan(session.client, spec.network, plan)
            tasks = _task_counts(report)

        if not plan.ran:
            fields = {**base, "nextIteration": next_due, "taskCounts": observation.task_counts}
            return PassOutcome("unchanged", fields, events, log="dormant, no new results")

        summary = plan.summary
        iterations = int(previous.get("iterations") or 0) + 1
        text = _summary_text(plan, tasks)
        if summary.tasks_deferred:
            # The rest of a capped plan follows at the next tick, not a whole interval later.
            next_due = format_time(now + timedelta(seconds=min(interval, max(1.0, self.config.tick))))
            text += (
                f"; {summary.tasks_deferred} more task(s) deferred to the next iteration (at most "
                f"{self.config.max_tasks_created_per_iteration} created per iteration)"
            )
        fields = {
            **base,
            "status": plan.status,
            "iterations": iterations,
            "lastIteration": format_time(now),
            "lastIterationResultCount": plan.result_count,
            "exception": None,
            "traceback": None,
            "nextIteration": next_due,
            "taskCounts": observation.task_counts,
            "lastIterationSummary": {
                "transformationsWeighted": summary.transformations_weighted,
                "transformationsFinished": summary.transformations_finished,
                "transformationsBlocked": summary.transformations_blocked,
                "tasksActioned": tasks[0],
                "tasksCreated": tasks[1],
                "tasksCancelled": tasks[2],
                "tasksDeferred": summary.tasks_deferred,
            },
        }
        if plan.status == "dormant":
            message = f"iteration {iterations}: every transformation is finished; the strategy is dormant"
            if tasks[2]:
                message += f" (full mode: cancelled all {tasks[2]} tasks actioned on the network's hub)"
            new_conditions = conditions.dormant(message)
            if previous.get("status") != "dormant":
                events.append(Event("Normal", "Dormant", message))
        else:
            new_conditions = conditions.iterated(f"iteration {iterations}: {text}")
            if any(tasks):
                events.append(Event("Normal", "Iterated", f"iteration {iterations}: {text}"))
        fields["conditions"] = conditions.merge(
            previous.get("conditions"), new_conditions, now=now, generation=resource.generation
        )
        return PassOutcome("iterated", fields, events, log=f"iteration {iterations}: {text}", tasks=tasks)

    def _transient(
        self,
        resource: ResourceView,
        now: datetime,
        interval: int,
        base: dict[str, Any],
        previous: Mapping[str, Any],
        exc: BaseException,
        failures_before: int,
        secrets_seen: list[str],
    ) -> PassOutcome:
        failures = failures_before + 1
        delay = transient_backoff(failures, interval, first=max(1.0, self.config.tick))
        asked = getattr(exc, "retry_after", None)
        if asked is not None:
            delay = max(delay, asked)  # the server's (or proxy's) Retry-After
        retry_at = now + timedelta(seconds=delay)
        message = bound_head(scrub(f"{type(exc).__name__}: {exc}", secrets_seen))
        if isinstance(exc, CredentialsSecretUnavailable):
            reason, what = "AlchemiscaleUnreachable", "the Kubernetes API is unreachable"
        elif isinstance(exc, ServerBusy) and exc.status_code == 429:
            reason, what = "AlchemiscaleBusy", "alchemiscale asks for fewer requests (429)"
        elif isinstance(exc, UnexpectedAnswer):
            reason, what = "UnexpectedAnswer", "alchemiscale (or a proxy in front of it) answered unexpectedly"
        else:
            reason, what = "AlchemiscaleUnreachable", "alchemiscale is unreachable"
        text = f"{what} ({failures} attempt(s) in a row); retrying at {format_time(retry_at)}: {message}"
        fields = {**base, "nextIteration": format_time(retry_at)}
        fields["conditions"] = conditions.merge(
            previous.get("conditions"), conditions.unreachable(text, reason), now=now, generation=resource.generation
        )
        events = [Event("Warning", reason, text)] if failures == 1 else []
        return PassOutcome("transient", fields, events, log=text, error_type=type(exc).__name__)

    def _failed(
        self,
        resource: ResourceView,
        now: datetime,
        base: dict[str, Any],
        previous: Mapping[str, Any],
        exc: BaseException,
        secrets_seen: list[str],
    ) -> PassOutcome:
        kind = type(exc).__name__
        message = bound_head(scrub(str(exc) or kind, secrets_seen), EXCEPTION_MESSAGE_MAX_LENGTH)
        formatted = "".join(tracebacks.format_exception(exc))
        trace = bound_tail(scrub(formatted, secrets_seen), TRACEBACK_MAX_LENGTH)
        fields = {
            **base,
            "status": "error",
            "exception": {"type": kind, "message": message},
            "traceback": trace,
            "iterations": int(previous.get("iterations") or 0) + 1,
            "lastIteration": format_time(now),
            "nextIteration": None,
        }
        text = f"{kind}: {message}"
        fields["conditions"] = conditions.merge(
            previous.get("conditions"), conditions.failed(kind, text), now=now, generation=resource.generation
        )
        expected = isinstance(
            exc, (IterationError, AlchemiscaleError, CredentialsSecretError, CredentialsPolicyError, ValueError)
        )
        return PassOutcome(
            "error",
            fields,
            [Event("Warning", kind, bound_head(text))],
            log=text if expected else f"unexpected failure: {text}",
            error_type=kind if isinstance(exc, AlchemiscaleError) else None,
        )

    def disabled(self, resource: ResourceView, now: datetime, previous: Mapping[str, Any]) -> PassOutcome:
        fields: dict[str, Any] = {"observedGeneration": resource.generation, "nextIteration": None}
        fields["conditions"] = conditions.merge(
            previous.get("conditions"), conditions.disabled(), now=now, generation=resource.generation
        )
        return PassOutcome("disabled", fields, log="disabled")


def merged_status(previous: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """The status after merge-patching `fields` (None deletes a key) onto `previous`."""
    merged = dict(previous)
    for key, value in fields.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def validate_status(status: Mapping[str, Any]) -> None:
    """Raise ValueError when a status would be refused by the CRD schema (it would end the timer)."""
    try:
        NetworkStrategyStatus.model_validate(dict(status))
    except ValidationError as exc:
        raise ValueError(describe(exc, "status")) from None
