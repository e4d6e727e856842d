"""Leader election over a `coordination.k8s.io` Lease, so replicas never act together.

Why not Kopf's peering: with equal priorities every replica pauses (and `/healthz` fails
meanwhile), with distinct ones a newly started replica of higher priority acts at once
while the old one is still finishing its pass, and it needs two cluster-wide CRDs. A Lease
is the Kubernetes convention (client-go's leaderelection, controller-runtime) and the rule
is simple to reason about:

- The holder renews every `retry_period`. If it has not renewed for `renew_deadline`, it
  stops acting at once: every pass in flight is cancelled and the process exits, to come
  back as a standby.
- A standby takes the Lease only when its record has not changed for `lease_duration`,
  measured on the standby's own monotonic clock from when it saw the change (no clock skew
  between nodes is involved). Since `renew_deadline < lease_duration`, the old holder has
  stopped at least `lease_duration - renew_deadline` before anyone else starts.
- Writes use the Lease's resourceVersion, so two standbys racing for it cannot both win.
- A holder shutting down cleanly releases the Lease: its successor starts within one
  `retry_period`. After a crash (SIGKILL, node loss) it starts within `lease_duration +
  retry_period`.

The synchronous `kubernetes` client runs in a thread with a request timeout shorter than
the renew deadline, so a frozen API server costs the leadership, never a hang.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaseTimings:
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    @classmethod
    def for_duration(cls, lease_duration: float) -> LeaseTimings:
        """client-go's proportions (15 s / 10 s / 2 s) scaled to `lease_duration`."""
        return cls(lease_duration, lease_duration * 2 / 3, max(0.2, lease_duration * 2 / 15))

    def __post_init__(self) -> None:
        if not 0 < self.retry_period < self.renew_deadline < self.lease_duration:
            raise ValueError("lease timings need 0 < retry_period < renew_deadline < lease_duration")


def _now_micro() -> datetime:
    return datetime.now(UTC)


def default_identity() -> str:
    """The pod name (HOSTNAME) plus a random suffix: a restarted container is a new candidate."""
    return f"{os.environ.get('HOSTNAME') or 'strategy-operator'}-{uuid.uuid4().hex[:8]}"


def _load_api() -> Any:
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.CoordinationV1Api()


class LeaderElector:
    """Acquires, keeps and releases one Lease for this process."""

    def __init__(
        self,
        namespace: str,
        name: str,
        *,
        identity: str | None = None,
        timings: LeaseTimings = LeaseTimings(),
        api: Any | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.namespace = namespace
        self.name = name
        self.identity = identity or default_identity()
        self.timings = timings
        self._api = api
        self._clock = clock
        self._observed: tuple[Any, ...] | None = None  # (holder, renewTime, transitions) last seen
        self._observed_at = 0.0
        self._last_renewal: float | None = None
        self.leading = False
        self.acquired_at: float | None = None
        # Kubernetes calls must return well within the renew deadline.
        self._request_timeout = (min(2.0, timings.retry_period), max(0.5, timings.renew_deadline / 3))

    def _api_client(self) -> Any:
        if self._api is None:
            self._api = _load_api()
        return self._api

    # -- one attempt, in a thread ------------------------------------------------------------

    def _try_acquire_or_renew(self) -> bool:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        api = self._api_client()
        now = self._clock()
        timeout = self._request_timeout
        try:
            lease = api.read_namespaced_lease(self.name, self.namespace, _request_timeout=timeout)
        except ApiException as exc:
            if exc.status != 404:
                raise
            body = client.V1Lease(
                metadata=client.V1ObjectMeta(name=self.name, namespace=self.namespace),
                spec=client.V1LeaseSpec(
                    holder_identity=self.identity,
                    lease_duration_seconds=max(1, round(self.timings.lease_duration)),
                    acquire_time=_now_micro(),
                    renew_time=_now_micro(),
                    lease_transitions=0,
                ),
            )
            try:
                api.create_namespaced_lease(self.namespace, body, _request_timeout=timeout)
            except ApiException as create_exc:
                if create_exc.status == 409:
                    return False  # another candidate created it first
                raise
            return True
        spec = lease.spec or client.V1LeaseSpec()
        record = (spec.holder_identity, spec.renew_time, spec.lease_transitions)
        if record != self._observed:
            self._observed, self._observed_at = record, now
        holder = spec.holder_identity or ""
        if holder and holder != self.identity and now < self._observed_at + self.timings.lease_duration:
            return False  # held, and renewed recently as far as we have seen
        if holder != self.identity:
            spec.acquire_time = _now_micro()
            spec.lease_transitions = (spec.lease_transitions or 0) + 1
        spec.holder_identity = self.identity
        spec.renew_time = _now_micro()
        spec.lease_duration_seconds = max(1, round(self.timings.lease_duration))
        lease.spec = spec
        try:
            # resourceVersion is in lease.metadata: a concurrent writer makes this a 409.
            api.replace_namespaced_lease(self.name, self.namespace, lease, _request_timeout=timeout)
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        self._observed = (spec.holder_identity, spec.renew_time, spec.lease_transitions)
        self._observed_at = now
        return True

    def _release_sync(self) -> None:
        from kubernetes.client.exceptions import ApiException

        api = self._api_client()
        try:
            lease = api.read_namespaced_lease(self.name, self.namespace, _request_timeout=self._request_timeout)
            if lease.spec is None or lease.spec.holder_identity != self.identity:
                return
            lease.spec.holder_identity = None
            lease.spec.lease_duration_seconds = 1
            lease.spec.renew_time = _now_micro()
            api.replace_namespaced_lease(self.name, self.namespace, lease, _request_timeout=self._request_timeout)
        except ApiException as exc:
            logger.warning("could not release Lease %s/%s: %s %s", self.namespace, self.name, exc.status, exc.reason)

    async def _attempt(self, limit: float | None = None) -> bool:
        bound = sum(self._request_timeout) * 3 + 1.0
        if limit is not None:
            bound = max(0.05, min(bound, limit))
        try:
            return await asyncio.wait_for(asyncio.to_thread(self._try_acquire_or_renew), bound)
        except Exception as exc:  # noqa: BLE001 - any failure is "not renewed this time"
            logger.warning("Lease %s/%s: %s: %s", self.namespace, self.name, type(exc).__name__, exc)
            return False

    # -- the life cycle -------------------------------------------------------------------------

    async def acquire(self) -> None:
        """Wait until this process holds the Lease."""
        logger.info("waiting to lead: Lease %s/%s, identity %s", self.namespace, self.name, self.identity)
        while not await self._attempt():
            await asyncio.sleep(self.timings.retry_period)
        self.leading = True
        self._last_renewal = self.acquired_at = self._clock()
        logger.info("became the leader (Lease %s/%s, identity %s)", self.namespace, self.name, self.identity)

    async def keep(self, on_lost: Callable[[], None]) -> None:
        """Renew until the renew deadline passes without a renewal; then call `on_lost` once."""
        while self.leading:
            assert self._last_renewal is not None
            deadline = self._last_renewal + self.timings.renew_deadline
            await asyncio.sleep(max(0.0, min(self.timings.retry_period, deadline - self._clock())))
            # An attempt never runs past the deadline: a hung API server costs the leadership on time.
            if await self._attempt(limit=deadline - self._clock()):
                self._last_renewal = self._clock()
                continue
            if self._clock() >= deadline:
                self.leading = False
                logger.error(
                    "lost the leadership: the Lease %s/%s was not renewed for %g s; stopping",
                    self.namespace,
                    self.name,
                    self.timings.renew_deadline,
                )
                on_lost()

    def must_stop_by(self) -> float | None:
        """Monotonic time by which this holder has to have stopped acting."""
        if not self.leading or self._last_renewal is None:
            return None
        return self._last_renewal + self.timings.renew_deadline

    async def release(self) -> None:
        if not self.leading:
            return
        self.leading = False
        try:
            await asyncio.wait_for(asyncio.to_thread(self._release_sync), sum(self._request_timeout) * 2 + 1)
        except Exception as exc:  # noqa: BLE001 - the Lease then expires on its own
            logger.warning("could not release Lease %s/%s: %s", self.namespace, self.name, type(exc).__name__)
        else:
            logger.info("released the Lease %s/%s", self.namespace, self.name)
