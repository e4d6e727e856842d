"""The adapter's pieces on their own: the allow-list, loading, settings, and weights a user class returns."""

from __future__ import annotations

import math
import sys

import pytest
from stratocaster.base import Strategy, StrategyResult
from stratocaster.base.models import StrategySettings

from strategy_operator.engine import Snapshot, StrategyError, plan_iteration
from strategy_operator.stratocaster.adapter import GufeWeights, ProposeFailed
from strategy_operator.stratocaster.loading import (
    AllowedStrategies,
    StrategyImportFailed,
    StrategyNotAllowed,
    build_strategy,
    is_import_path,
    split_import_path,
)

from .gufe_networks import counted_results, network, scoped, snapshot


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("stratocaster.strategies.ConnectivityStrategy", True),
        ("mylab.strategies:UncertaintyStrategy", True),
        ("mylab:Outer.Inner", True),
        ("ConnectivityStrategy", False),
        ("mylab:", False),
        ("a..b", False),
        ("a.b c", False),
        ("1lab.x", False),
    ],
)
def test_stratocaster_import_path_syntax(name, expected):
    assert is_import_path(name) is expected


def test_stratocaster_split_import_path():
    assert split_import_path("a.b.C") == ("a.b", "C")
    assert split_import_path("a.b:C.D") == ("a.b", "C.D")


def test_stratocaster_allow_list_matching():
    allowed = AllowedStrategies.parse(["stratocaster.strategies.*", "mylab.strategies:UncertaintyStrategy"])
    assert allowed.allows("stratocaster.strategies.ConnectivityStrategy")
    assert allowed.allows("stratocaster.strategies:RadialGrowthStrategy")
    assert allowed.allows("mylab.strategies.UncertaintyStrategy")  # the same class, dotted
    assert not allowed.allows("stratocaster.strategiesX.Evil")
    assert not allowed.allows("mylab.strategies:RaisingStrategy")
    assert not allowed.allows("os.system")
    assert not AllowedStrategies.parse([]).allows("stratocaster.strategies.ConnectivityStrategy")


@pytest.mark.parametrize("entry", ["*", "os.*.path", "not a path", "a.b:*"])
def test_stratocaster_allow_list_entries_are_checked(entry):
    with pytest.raises(ValueError, match="import path"):
        AllowedStrategies.parse([entry])


def test_stratocaster_refusal_happens_before_import():
    sys.modules.pop("mylab.broken", None)
    with pytest.raises(StrategyNotAllowed, match="spec.strategy.name"):
        build_strategy("mylab.broken:Unreachable", None, AllowedStrategies())
    assert "mylab.broken" not in sys.modules


def test_stratocaster_a_missing_attribute_is_an_import_failure():
    with pytest.raises(StrategyImportFailed, match="no attribute 'Nope'"):
        build_strategy("mylab.strategies:Nope", None, AllowedStrategies(("mylab.*",)))


def test_stratocaster_default_settings_when_omitted():
    strategy = build_strategy("stratocaster.strategies.RadialGrowthStrategy", None, AllowedStrategies())
    assert strategy.settings.max_runs == 3


class _Returns(Strategy):
    """A user strategy returning whatever the test sets in `returned`."""

    _settings_cls = StrategySettings
    returned: object = None

    @classmethod
    def _default_settings(cls):
        return StrategySettings()

    def _propose(self, alchemical_network, protocol_results):
        return self.returned

    def propose(self, alchemical_network, protocol_results):
        return self.returned


def _plan_with(returned):
    net = network([("A", "B", "A_B"), ("B", "C", "B_C")])
    strategy = _Returns(StrategySettings())
    strategy.returned = returned(net) if callable(returned) else returned
    source = GufeWeights("tests._Returns", strategy, net, counted_results(net, {}), "acme-tyk2-run1")
    return plan_iteration(Snapshot.model_validate(snapshot(net, {}, {"name": "tests.stratocaster:_Returns"})), source)


def _weights(values):
    def build(net):
        by_name = {t.name: t.key for t in net.edges}
        return StrategyResult({by_name[name]: value for name, value in values.items()})

    return build


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"A_B": -1.0, "B_C": 1.0}, "finite and >= 0"),
        ({"A_B": math.nan, "B_C": 1.0}, "finite and >= 0"),
        ({"A_B": math.inf, "B_C": 1.0}, "finite and >= 0"),
        ({"A_B": 1.0}, "missing 1 transformation"),
        ({"A_B": 0.0, "B_C": 0.0}, "every non-null weight is 0"),
        ({"A_B": "1", "B_C": 1.0}, "must be a number"),
    ],
)
def test_stratocaster_unusable_weights_from_a_user_class_are_strategy_errors(values, words):
    with pytest.raises(StrategyError, match=words):
        _plan_with(_weights(values))


def test_stratocaster_keys_outside_the_network_are_a_strategy_error():
    def build(net):
        other = network([("X", "Y", "X_Y")])
        return StrategyResult({**{t.key: 1.0 for t in net.edges}, **{t.key: 1.0 for t in other.edges}})

    with pytest.raises(StrategyError, match="not in the network"):
        _plan_with(build)


def test_stratocaster_propose_must_return_a_strategy_result():
    with pytest.raises(ProposeFailed, match="not a stratocaster StrategyResult"):
        _plan_with({"weights": {}})


def test_stratocaster_a_snapshot_alone_cannot_run_a_class_by_import_path():
    net = network([("A", "B", "A_B")])
    doc = snapshot(net, {}, {"name": "stratocaster.strategies.ConnectivityStrategy"})
    with pytest.raises(StrategyError, match="only the operator"):
        plan_iteration(Snapshot.model_validate(doc))
    assert scoped(next(iter(net.edges))) in {t["key"] for t in doc["transformations"]}
