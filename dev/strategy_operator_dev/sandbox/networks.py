"""The sandbox's sample network files. Their format, and parsing and generating networks, is the
runtime's `strategy_operator.planning.networks`, shared with `strategy-operator simulate`."""

from __future__ import annotations

from pathlib import Path

SAMPLES_DIR = Path(__file__).parent / "networks"


def sample_networks() -> dict[str, Path]:
    """The sample network files shipped with the dev tooling, by stem."""
    return {p.stem: p for p in sorted(SAMPLES_DIR.glob("*.yaml"))}
