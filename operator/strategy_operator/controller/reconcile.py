"""One pass over one NetworkStrategy: resolve the server, snapshot, plan, apply, report.

Knows nothing of Kopf: it takes a plain view of the resource and returns the status change to
write and the events to post (`outcomes`). The strategy's compute runs in an executor so the
event loop (and every other resource) keeps going while a large network is weighed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from datetime import datetime, timedelta
from typing import Any

from strategy_operator.alchemiscale.errors import TransientError
from strategy_operator.alchemiscale.execution import execute_plan
from strategy_operator.alchemiscale.gufe_objects import CacheStats, GufeObjects
from strategy_operator.alchemiscale.observation import Observation, build_snapshot
from strategy_operator.alchemiscale.server_strategy import check_server_strategy
from strategy_operator.api.v1alpha1 import NetworkStrategySpec, NetworkStrategyStatus, Status
from strategy_operator.controller import outcomes
from strategy_operator.controller.config import OperatorConfig
from strategy_operator.controller.outcomes import Event, PassOutcome, ResourceView, TaskChanges
from strategy_operator.controller.resolve import resolve, verify_of
from strategy_operator.controller.scheduling import effective_interval, is_woken, wake_token
from strategy_operator.controller.secrets import CredentialsSecretUnavailable, SecretSource
from strategy_operator.controller.sessions import Session, SessionCache
from strategy_operator.engine import Plan, Snapshot, plan_iteration
from strategy_operator.engine.iteration import WeightSource
from strategy_operator.scopedkey import parse_network_key
from strategy_operator.stratocaster.adapter import GufeWeights
from strategy_operator.stratocaster.loading import AllowedStrategies
from strategy_operator.stratocaster.loading import build_strategy as build_gufe_strategy


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
        base = NetworkStrategyStatus(observed_generation=resource.generation, effective_sleep_interval=interval)
        if is_woken(resource.annotations, resource.status):
            base = base.with_changes(
                status=Status.awake, exception=None, traceback=None, last_wake_token=wake_token(resource.annotations)
            )
        previous = resource.status.merged(base)
        secrets_seen: list[str] = []
        try:
            async with asyncio.timeout(self.config.iteration_timeout):
                return await self._iterate(resource, sessions, now, interval, base, previous, secrets_seen, mode_now)
        except (TransientError, CredentialsSecretUnavailable, TimeoutError) as exc:
            if isinstance(exc, TimeoutError):
                wrapped = TransientError(
                    f"the iteration took longer than {self.config.iteration_timeout:g} s and was abandoned"
                )
                wrapped.__cause__ = exc
                exc = wrapped
            return outcomes.transient(
                resource,
                previous,
                base,
                exc,
                now=now,
                interval=interval,
                first_backoff=max(1.0, self.config.tick),
                failures_before=transient_failures,
                secrets_seen=secrets_seen,
            )
        except Exception as exc:  # noqa: BLE001 - every other failure is the resource's error state
            return outcomes.failed(resource, previous, base, exc, now=now, secrets_seen=secrets_seen)

    async def _iterate(
        self,
        resource: ResourceView,
        sessions: SessionCache,
        now: datetime,
        interval: int,
        base: NetworkStrategyStatus,
        previous: NetworkStrategyStatus,
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
        events = await self._check_server_strategy(session, spec)
        dormant = previous.status is Status.dormant
        last_count = previous.last_iteration_result_count or 0
        next_due = now + timedelta(seconds=interval)

        if dormant:
            counted = await session.snapshotter.observe_counts()
            if counted.result_count == last_count:
                outcome = outcomes.unchanged_dormant(
                    resource,
                    previous,
                    base,
                    now=now,
                    next_due=next_due,
                    result_count=counted.result_count,
                    task_counts=counted.task_counts,
                )
                outcome.events[:0] = events
                return outcome

        observation = await session.snapshotter.observe()
        state = {"status": "dormant" if dormant else "awake", "lastIterationResultCount": last_count}
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
            return outcomes.disabled(resource, previous, now=now)

        if not plan.ran:
            outcome = outcomes.unchanged(base, next_due=next_due, task_counts=observation.task_counts)
            outcome.events[:0] = events
            return outcome

        tasks = TaskChanges.of(await execute_plan(session.client, spec.network, plan))
        if plan.summary.tasks_deferred:
            # The rest of a capped plan follows at the next tick, not a whole interval later.
            next_due = now + timedelta(seconds=min(interval, max(1.0, self.config.tick)))
        outcome = outcomes.iterated(
            resource,
            previous,
            base,
            plan,
            tasks,
            now=now,
            next_due=next_due,
            task_counts=observation.task_counts,
            creation_cap=self.config.max_tasks_created_per_iteration,
        )
        outcome.events[:0] = events
        return outcome

    async def _check_server_strategy(self, session: Session, spec: NetworkStrategySpec) -> list[Event]:
        """Once per session (start, wake, new server) and per resync interval: a strategy stored
        on the server is rarely set, and its Strategist sleeps long too."""
        checked = session.server_strategy_checked
        if checked is not None and time.monotonic() - checked < self.config.resync_interval:
            return []
        taken_over = await check_server_strategy(session.client, spec.network, take_over=spec.take_over_server_strategy)
        session.server_strategy_checked = time.monotonic()
        return [Event("Normal", "ServerStrategyDisabled", taken_over)] if taken_over else []
