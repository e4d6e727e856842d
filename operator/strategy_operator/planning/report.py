"""The terminal table of a comparison: one row per choice."""

from __future__ import annotations

from collections.abc import Sequence

from strategy_operator.planning.simulation import SimulationResult

COLUMNS = (
    "choice",
    "outcome",
    "iter",
    "hours",
    "created",
    "cancelled",
    "wasted",
    "peak actioned",
    "results min/med/max",
)


def _row(result: SimulationResult) -> tuple[str, ...]:
    counts = sorted(result.results.values()) or [0]
    return (
        result.choice.label,
        f"stalled ({result.blocked} blocked)" if result.outcome == "stalled" else result.outcome,
        str(result.iterations),
        f"{result.time / 3600:.1f}",
        str(result.tasks_created),
        str(result.tasks_cancelled),
        str(result.tasks_wasted),
        str(result.peak_actioned),
        f"{counts[0]}/{counts[len(counts) // 2]}/{counts[-1]}",
    )


def table(results: Sequence[SimulationResult]) -> str:
    rows = [COLUMNS, *(_row(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
