"""`simulate` on a 1000-transformation network (issue 14's target: under a minute).

A random connected network of 500 systems and 1000 transformations, both strategies,
partial and full mode with exponential scaling and 3 tasks per transformation; compute
claims 200 tasks an hour, each runs 30 minutes, none fail (a failure blocks its
transformation for good, so runs with failures stall sooner). Wall time of the whole
simulation (every iteration until dormant, stalled or 500 iterations) per choice.
"""

from __future__ import annotations

import time

from strategy_operator.engine import Snapshot
from strategy_operator.engine.vocabulary import Mode, TaskScaling
from strategy_operator.planning import Choice, ComputeModel, Schedule, compare, simulate
from strategy_operator.planning.command import network_document_snapshot
from strategy_operator.planning.networks import generate_network

TARGET_SECONDS = 60.0


def network_snapshot(strategy: str) -> Snapshot:
    definition = generate_network("random", 500, seed=1, transformations=1000)
    doc = {
        "name": definition.name,
        "scope": str(definition.scope),
        "systems": [s.name for s in definition.systems],
        "transformations": [{"stateA": t.systems[0], "stateB": t.systems[-1]} for t in definition.transformations],
    }
    document = network_document_snapshot(doc, None)
    document["strategy"] = {"name": strategy}
    return Snapshot.model_validate(document)


def main() -> None:
    compute = ComputeModel(rate=200 / 3600, duration=1800, failure_probability=0.0, seed=0)
    schedule = Schedule(sleep_interval=3600, step=60)
    print(f"{'strategy':22} {'mode':8} {'outcome':8} {'iter':>5} {'created':>8} {'wall s':>8}  target")
    for strategy in ("ConnectivityStrategy", "RadialGrowthStrategy"):
        base = network_snapshot(strategy)
        assert len(base.transformations) == 1000
        for mode in (Mode.partial, Mode.full):
            started = time.perf_counter()
            result = simulate(base, Choice(mode, TaskScaling.exponential, 3), compute, schedule)
            wall = time.perf_counter() - started
            verdict = "ok" if wall < TARGET_SECONDS else "SLOW"
            print(
                f"{strategy:22} {mode.value:8} {result.outcome:8} {len(result.history):5} "
                f"{result.tasks_created:8} {wall:8.2f}  < {TARGET_SECONDS:.0f} s {verdict}",
                flush=True,
            )
    main_comparison()


def main_comparison() -> None:
    """What `simulate --mode partial,full --scaling linear,exponential --max-tasks 3,6,10` costs."""
    base = network_snapshot("ConnectivityStrategy")
    choices = [Choice(m, s, n) for m in (Mode.partial, Mode.full) for s in TaskScaling for n in (3, 6, 10)]
    compute = ComputeModel(rate=100 / 3600, duration=3600, failure_probability=0.0, seed=0)
    started = time.perf_counter()
    results = compare(base, choices, compute, Schedule(sleep_interval=3600, step=60))
    wall = time.perf_counter() - started
    iterations = sum(len(r.history) for r in results)
    print(
        f"12 choices, 1000 transformations, 100 tasks/h: {iterations} iterations in {wall:.1f} s "
        f"({wall / len(choices):.2f} s per choice)",
        flush=True,
    )


if __name__ == "__main__":
    main()
