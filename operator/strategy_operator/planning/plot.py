"""`--plot FILE`: tasks spent and convergence over iterations, one line per choice.

matplotlib is an optional extra (`pip install 'alchemiscale-strategy-operator[plot]'`);
the image's operator never imports this module. Each line carries an SVG id
(`tasks-<n>`, `finished-<n>`, n the choice's position) so the figure can be checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from strategy_operator.planning.simulation import SimulationResult

FORMATS = (".png", ".svg")
LINESTYLES = {"partial": "-", "full": "--"}


class PlotUnavailable(RuntimeError):
    pass


def write_plot(results: Sequence[SimulationResult], path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"--plot {path}: the file name must end in .png or .svg")
    try:
        import matplotlib
    except ImportError:
        raise PlotUnavailable("--plot needs matplotlib: pip install 'alchemiscale-strategy-operator[plot]'") from None
    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4.5), dpi=100, layout="constrained")
    spent, converged = figure.subplots(1, 2)
    for n, result in enumerate(results):
        iterations = [record.index for record in result.history]
        total = max(1, result.transformations)
        # Choices often coincide; full mode dashed so a partial line under it stays visible.
        style = {
            "label": result.choice.label,
            "linestyle": LINESTYLES.get(result.choice.mode.value, "-"),
            "color": f"C{n % 10}",
            "linewidth": 1.5,
        }
        (line,) = spent.plot(iterations, [r.tasks_created_so_far for r in result.history], **style)
        line.set_gid(f"tasks-{n}")
        (line,) = converged.plot(iterations, [r.finished / total for r in result.history], **style)
        line.set_gid(f"finished-{n}")
    spent.set(title="Tasks created so far", xlabel="iteration", ylabel="tasks")
    spent.set_ylim(bottom=0)
    converged.set(
        title="Transformations finished", xlabel="iteration", ylabel="fraction of the network", ylim=(0, 1.05)
    )
    spent.legend(fontsize="small")
    figure.savefig(path, format=path.suffix.lower().lstrip("."))
    return path
