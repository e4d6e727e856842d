"""Weights to target counts: docs/engine.md, "Weights to target counts" (where upstream's user guide and code disagree, the code)."""

from __future__ import annotations

import math

import pytest

from strategy_operator.engine import target_count

WEIGHTS = [None, 0, 1e-12, 0.05, 1 / 7, 1 / 6, 0.2, 0.25, 1 / 3, 0.4, 0.5, 0.6, 2 / 3, 0.7, 5 / 6, 0.9, 0.99, 1]
TABLE = {
    (1, "linear"): [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    (1, "exponential"): [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    (3, "linear"): [0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3],
    (3, "exponential"): [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3],
    (6, "linear"): [0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 6, 6],
    (6, "exponential"): [0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 3, 3, 5, 5, 6, 6],
    (10, "linear"): [0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 7, 8, 9, 10, 10, 10],
    (10, "exponential"): [0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4, 4, 5, 7, 8, 10, 10],
}


@pytest.mark.parametrize("row", sorted(TABLE), ids=lambda r: f"M{r[0]}-{r[1]}")
def test_reference_table(row):
    maximum, scaling = row
    assert [target_count(w, maximum, scaling) for w in WEIGHTS] == TABLE[row]


def test_strategist_test_pins():
    assert target_count(0.5, 4, "linear") == 3
    assert target_count(0.5, 4, "exponential") == 2


def test_ieee_band_edges_follow_python_floats():
    assert target_count(1 / 3, 6, "linear") == 3  # (1/3)*6 rounds to exactly 2.0
    assert target_count(1 / 6, 6, "linear") == 2  # (1/6)*6 == 1.0


@pytest.mark.parametrize("rounded, count", [(0.3562, 2), (0.5646, 3), (0.7124, 4), (0.8271, 5), (0.9208, 6)])
def test_exponential_thresholds_for_six(rounded, count):
    threshold = math.log(count) / math.log(7)  # k tasks from log k / log(M+1)
    assert round(threshold, 4) == rounded
    assert target_count(threshold + 1e-9, 6, "exponential") == count
    assert target_count(threshold - 1e-9, 6, "exponential") == count - 1


def test_doc_discrepancies_follow_the_code():
    # 1.7 #1: weight 0 gives 0 tasks (the doc's formula would give 1).
    assert target_count(0.0, 6, "linear") == 0 and target_count(0.0, 6, "exponential") == 0
    # 1.7 #2: weight 1 gives exactly M (the doc's formulas give M + 1).
    assert target_count(1.0, 6, "linear") == 6 and target_count(1.0, 6, "exponential") == 6
    # 1.7 #3: truncation, not rounding: 1 + 0.45*6 = 3.7 gives 3.
    assert target_count(0.45, 6, "linear") == 3


def test_cap_applies_above_one():
    assert target_count(1.5, 6, "linear") == 6
    assert target_count(2.0, 3, "exponential") == 3


def test_any_positive_weight_gets_a_task():
    for maximum in (1, 2, 3, 6, 100):
        for scaling in ("linear", "exponential"):
            assert target_count(5e-324, maximum, scaling) == 1
