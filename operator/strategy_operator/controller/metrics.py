"""Prometheus metrics of the operator, in a registry of their own (served on /metrics)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

STRATEGY_STATUSES = ("awake", "dormant", "error", "disabled")

# How one pass of a resource ended: a full iteration, a dormant check with no new results,
# a failure that set status=error, or a transient failure that will be retried.
ITERATION_RESULTS = ("iterated", "unchanged", "error", "transient")


class _StrategiesByStatus:
    """Reads the live count of resources per status at scrape time."""

    def __init__(self, source: Callable[[], Mapping[str, int]]) -> None:
        self._source = source

    def collect(self):  # noqa: ANN201 - the prometheus_client collector protocol
        family = GaugeMetricFamily("strategy_operator_strategies", "NetworkStrategies by status", labels=["status"])
        counts = self._source()
        for status in STRATEGY_STATUSES:
            family.add_metric([status], counts.get(status, 0))
        yield family


class _ResultCache:
    """The stratocaster adapter's ProtocolDAGResult cache, read at scrape time (absent until first used)."""

    def __init__(self, source: Callable[[], object | None]) -> None:
        self._source = source

    def collect(self):  # noqa: ANN201 - the prometheus_client collector protocol
        stats = self._source()
        entries = GaugeMetricFamily(
            "strategy_operator_result_cache_entries",
            "Decoded ProtocolDAGResults held for strategies named by import path",
        )
        capacity = GaugeMetricFamily(
            "strategy_operator_result_cache_capacity",
            "Most ProtocolDAGResults the cache holds (--result-cache-entries)",
        )
        lookups = CounterMetricFamily(
            "strategy_operator_result_cache_lookups",
            "ProtocolDAGResult cache lookups by outcome (a miss is a download)",
            labels=["outcome"],
        )
        evictions = CounterMetricFamily(
            "strategy_operator_result_cache_evictions", "ProtocolDAGResults dropped to stay within the capacity"
        )
        entries.add_metric([], getattr(stats, "entries", 0))
        capacity.add_metric([], getattr(stats, "capacity", 0))
        lookups.add_metric(["hit"], getattr(stats, "hits", 0))
        lookups.add_metric(["miss"], getattr(stats, "misses", 0))
        evictions.add_metric([], getattr(stats, "evictions", 0))
        yield from (entries, capacity, lookups, evictions)


class Metrics:
    def __init__(
        self,
        strategies_by_status: Callable[[], Mapping[str, int]] | None = None,
        result_cache: Callable[[], object | None] | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.iterations = Counter(
            "strategy_operator_iterations",
            "Passes over a NetworkStrategy by result",
            ["result"],
            registry=self.registry,
        )
        self.iteration_duration = Histogram(
            "strategy_operator_iteration_duration_seconds",
            "Wall time of one pass (snapshot, plan, apply)",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
            registry=self.registry,
        )
        self.iterations_in_flight = Gauge(
            "strategy_operator_iterations_in_flight",
            "Iterations running now (bounded by maxWorkers)",
            registry=self.registry,
        )
        self.tasks = Counter(
            "strategy_operator_tasks",
            "Tasks changed on alchemiscale by the operator",
            ["change"],
            registry=self.registry,
        )
        self.api_requests = Counter(
            "strategy_operator_alchemiscale_requests", "HTTP requests sent to alchemiscale", registry=self.registry
        )
        self.api_errors = Counter(
            "strategy_operator_alchemiscale_errors",
            "Failed alchemiscale interactions by error type",
            ["type"],
            registry=self.registry,
        )
        for result in ITERATION_RESULTS:
            self.iterations.labels(result=result)
        for change in ("created", "actioned", "cancelled"):
            self.tasks.labels(change=change)
        if strategies_by_status is not None:
            self.registry.register(_StrategiesByStatus(strategies_by_status))
        if result_cache is not None:
            self.registry.register(_ResultCache(result_cache))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
