"""stratocaster Strategy objects, as the user guide passes them, become the right `spec.strategy`.

The real stratocaster wheel: its own ConnectivityStrategy and RadialGrowthStrategy become the
built-ins with every setting carried and none invented; a user's own Strategy class (the
test package `mylab`) becomes an import path with `classSettings`; anything else is refused
by name before anything is written. The specs round-trip through the local kube-apiserver.
"""

from __future__ import annotations

import doctest
import subprocess
import sys
import textwrap

import pytest
from stratocaster.strategies import ConnectivityStrategy, RadialGrowthStrategy
from stratocaster.strategies.connectivity import ConnectivityStrategySettings
from stratocaster.strategies.radialgrowth import RadialGrowthStrategySettings

from strategy_operator.api.v1alpha1 import StrategySpec
from strategy_operator.python_api import InvalidNetworkStrategy, strategy_spec
from strategy_operator.scopedkey import ScopedKey
from strategy_operator_dev.repo import repo_root

USER_PACKAGES = repo_root() / "tests" / "stratocaster" / "userpkg"
if str(USER_PACKAGES) not in sys.path:  # mylab, the test-only user package
    sys.path.insert(0, str(USER_PACKAGES))

from mylab.strategies import UncertaintySettings, UncertaintyStrategy  # noqa: E402

from ..stratocaster.gufe_networks import network, scoped  # noqa: E402

NETWORK = "AlchemicalNetwork-0a1b2c3d4e5f-acme-tyk2-run1"


class TunedConnectivity(ConnectivityStrategy):
    """A user's subclass of stratocaster's built-in: the operator must import it, not run the built-in."""


def settings_of(strategy) -> dict:  # noqa: ANN001
    return strategy.settings.model_dump(mode="json")


def rebuilt(spec: StrategySpec):  # noqa: ANN201
    """The stratocaster object the spec describes, built from the spec alone."""
    classes = {
        "ConnectivityStrategy": (ConnectivityStrategy, ConnectivityStrategySettings),
        "RadialGrowthStrategy": (RadialGrowthStrategy, RadialGrowthStrategySettings),
    }
    strategy_cls, settings_cls = classes[spec.name]
    return strategy_cls(settings_cls(**(spec.settings or {})))


# -- the spec built from the object -----------------------------------------------------------


def test_the_guide_s_connectivity_strategy_is_the_built_in_with_its_default_settings():
    strategy = ConnectivityStrategy(ConnectivityStrategy.default_settings())
    spec = strategy_spec(strategy)
    assert spec == StrategySpec(name="ConnectivityStrategy", settings={"decay_rate": 0.5, "max_runs": 3})
    assert rebuilt(spec) == strategy


@pytest.mark.parametrize(
    "strategy",
    [
        ConnectivityStrategy(ConnectivityStrategySettings(max_runs=2, decay_rate=0.25)),
        ConnectivityStrategy(ConnectivityStrategySettings(cutoff=1.5, decay_rate=0.75)),
        ConnectivityStrategy(ConnectivityStrategySettings(max_runs=2, cutoff=1.5, decay_rate=0.1)),
        RadialGrowthStrategy(
            RadialGrowthStrategySettings(
                max_runs=4, candidacy_max_distance=2, decay_repeat_rate=0.25, decay_distance_rate=0.75
            )
        ),
        RadialGrowthStrategy(RadialGrowthStrategy.default_settings()),
    ],
    ids=["connectivity-max-runs", "connectivity-cutoff", "connectivity-both", "radial-growth", "radial-defaults"],
)
def test_stratocaster_s_own_strategies_carry_every_setting_and_invent_none(strategy):
    spec = strategy_spec(strategy)
    assert spec.name == type(strategy).__name__ and spec.class_settings is None
    set_settings = {key: value for key, value in settings_of(strategy).items() if value is not None}
    assert spec.settings == set_settings
    assert spec.resolved_settings().model_dump(mode="json") == settings_of(strategy)
    assert rebuilt(spec) == strategy


def test_a_user_s_own_strategy_is_its_import_path_with_class_settings():
    strategy = UncertaintyStrategy(UncertaintySettings(target_uncertainty=0.2, max_runs=4))
    spec = strategy_spec(strategy)
    assert spec == StrategySpec(
        name="mylab.strategies:UncertaintyStrategy", class_settings={"target_uncertainty": 0.2, "max_runs": 4}
    )
    assert spec.is_import_path and spec.settings is None
    assert UncertaintyStrategy(UncertaintySettings.model_validate(spec.class_settings)) == strategy


def test_a_subclass_of_a_stratocaster_strategy_is_not_the_built_in():
    strategy = TunedConnectivity(ConnectivityStrategySettings(max_runs=2))
    spec = strategy_spec(strategy)
    assert spec.name == f"{__name__}:TunedConnectivity"
    assert spec.class_settings == {"decay_rate": 0.5, "cutoff": None, "max_runs": 2}


def test_settings_for_a_strategy_named_by_import_path_are_its_class_settings():
    spec = strategy_spec("mylab.strategies:UncertaintyStrategy", {"target_uncertainty": 0.3})
    assert spec.class_settings == {"target_uncertainty": 0.3} and spec.settings is None


class ExtendedSettings(ConnectivityStrategySettings):
    extra_knob: int = 1


def local_strategy_class():  # noqa: ANN201
    class Local(UncertaintyStrategy):
        pass

    return Local


def renamed_strategy_class():  # noqa: ANN201
    class Renamed(UncertaintyStrategy):
        pass

    Renamed.__qualname__ = "NotInTheModule"
    return Renamed


def notebook_strategy_class():  # noqa: ANN201
    class Notebook(UncertaintyStrategy):
        pass

    Notebook.__module__, Notebook.__qualname__ = "__main__", "Notebook"
    return Notebook


@pytest.mark.parametrize(
    ("strategy", "settings", "message"),
    [
        (
            object(),
            None,
            r"strategy: expected a strategy name or import path, .* or a stratocaster Strategy object, not object$",
        ),
        (ConnectivityStrategy, None, r"not the class ConnectivityStrategy itself: pass ConnectivityStrategy\("),
        (ConnectivityStrategySettings(max_runs=2), None, "not ConnectivityStrategySettings, a settings object"),
        (
            ConnectivityStrategy(ConnectivityStrategy.default_settings()),
            {"max_runs": 2},
            r"settings: given twice \(the Strategy object carries its settings\)",
        ),
        (
            ConnectivityStrategy(ExtendedSettings(max_runs=2)),
            None,
            r"strategy.settings: extra_knob: not a setting of ConnectivityStrategy",
        ),
        (
            ConnectivityStrategy(ConnectivityStrategySettings.model_construct(max_runs=0, decay_rate=0.5)),
            None,
            r"strategy.settings.max_runs: .*greater than or equal to 1",
        ),
        (
            RadialGrowthStrategy(
                RadialGrowthStrategySettings.model_construct(
                    max_runs=None, candidacy_max_distance=1, decay_repeat_rate=0.5, decay_distance_rate=0.5
                )
            ),
            None,
            r"strategy.settings: max_runs: None is not a value RadialGrowthStrategy takes",
        ),
        (local_strategy_class()(UncertaintySettings(target_uncertainty=0.2)), None, "defined inside a function"),
        (notebook_strategy_class()(UncertaintySettings(target_uncertainty=0.2)), None, "defined in __main__"),
        (
            renamed_strategy_class()(UncertaintySettings(target_uncertainty=0.2)),
            None,
            rf"strategy: {__name__}:NotInTheModule does not name the class",
        ),
        ({"name": ["ConnectivityStrategy"]}, {"max_runs": 2}, "strategy.name: "),
    ],
    ids=[
        "not-a-strategy",
        "a-class",
        "a-settings-object",
        "settings-twice",
        "unknown-setting",
        "out-of-range",
        "unset-required",
        "local-class",
        "notebook-class",
        "renamed-class",
        "name-not-a-string",
    ],
)
def test_what_is_not_a_usable_strategy_object_is_refused_by_name(strategy, settings, message):
    with pytest.raises(InvalidNetworkStrategy, match=message):
        strategy_spec(strategy, settings)


def test_the_python_api_imports_and_refuses_objects_clearly_without_stratocaster():
    """The image without the stratocaster extra: python_api imports, names and dicts work."""
    script = textwrap.dedent(
        """
        import sys
        sys.modules["stratocaster"] = sys.modules["gufe"] = None  # as if not installed
        from strategy_operator.python_api import InvalidNetworkStrategy, NetworkStrategyClient, strategy_spec
        assert strategy_spec("ConnectivityStrategy", {"max_runs": 2}).settings == {"max_runs": 2}
        try:
            strategy_spec(object())
        except InvalidNetworkStrategy as exc:
            print(exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=repo_root(), check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("not object (and stratocaster, needed for Strategy objects, is not installed)")


# -- through the API server -------------------------------------------------------------------


def test_the_guide_s_call_with_a_strategy_object_round_trips(asc, kubectl):
    strategy = ConnectivityStrategy(ConnectivityStrategySettings(max_runs=2, decay_rate=0.25))
    name = asc.set_network_strategy(network=NETWORK, strategy=strategy, max_tasks_per_transformation=5)
    stored = asc.get_network_strategy_resource(NETWORK)
    assert stored.name == name and stored.spec.max_tasks_per_transformation == 5
    fetched = asc.get_network_strategy(NETWORK)
    assert fetched == StrategySpec(name="ConnectivityStrategy", settings={"decay_rate": 0.25, "max_runs": 2})
    assert rebuilt(fetched) == strategy

    radial = RadialGrowthStrategy(RadialGrowthStrategySettings(max_runs=4, candidacy_max_distance=2))
    assert asc.set_network_strategy(NETWORK, radial, mode="full") == name
    fetched = asc.get_network_strategy(NETWORK)
    assert fetched == strategy_spec(radial) and rebuilt(fetched) == radial
    assert asc.get_network_strategy_state(NETWORK).mode == "full"


def test_a_user_s_strategy_object_round_trips_as_class_settings(asc, kubectl):
    strategy = TunedConnectivity(ConnectivityStrategySettings(cutoff=1.5))
    asc.set_network_strategy(NETWORK, strategy)
    fetched = asc.get_network_strategy(NETWORK)
    assert fetched == strategy_spec(strategy)
    assert fetched.class_settings == {"decay_rate": 0.5, "cutoff": 1.5, "max_runs": None}
    assert TunedConnectivity(ConnectivityStrategySettings.model_validate(fetched.class_settings)) == strategy

    mine = UncertaintyStrategy(UncertaintySettings(target_uncertainty=0.2))
    asc.set_network_strategy(NETWORK, mine)
    fetched = asc.get_network_strategy(NETWORK)
    assert fetched.name == "mylab.strategies:UncertaintyStrategy"
    assert UncertaintyStrategy(UncertaintySettings.model_validate(fetched.class_settings)) == mine


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((NETWORK, ConnectivityStrategySettings(max_runs=2)), "a settings object: pass the Strategy made from it"),
        ((NETWORK, ConnectivityStrategy(ExtendedSettings(max_runs=2))), "extra_knob: not a setting"),
        ((network([("A", "B")]), ConnectivityStrategy(ConnectivityStrategy.default_settings())), "has no scope"),
        ((network([("A", "B")]).key, ConnectivityStrategy(ConnectivityStrategy.default_settings())), "has no scope"),
    ],
    ids=["settings-object", "unknown-setting", "gufe-network", "gufe-key"],
)
def test_refused_objects_write_nothing(asc, kubectl, arguments, message):
    with pytest.raises(InvalidNetworkStrategy, match=message):
        asc.set_network_strategy(*arguments)
    assert kubectl("get", "nstrat", "-o", "name").stdout == ""


def test_a_network_given_as_a_scoped_key_object(asc):
    net = network([("A", "B")])
    key = ScopedKey.from_str(scoped(net))
    strategy = ConnectivityStrategy(ConnectivityStrategy.default_settings())
    asc.set_network_strategy(key, strategy)
    assert asc.get_network_strategy(scoped(net)) == strategy_spec(strategy)
    assert asc.get_network_strategy_status(key) == "awake"


def test_the_docs_example_with_strategy_objects_runs_as_written(asc, kubectl):
    text = (repo_root() / "docs" / "upstream-mapping.md").read_text()
    section = text[text.index("### A stratocaster Strategy object, in Python") :]
    example = section[section.index("```python\n") + len("```python\n") : section.index("\n```\n")]
    test = doctest.DocTestParser().get_doctest(
        example, {"asc": asc, "network_sk": NETWORK}, "upstream-mapping.md", "docs/upstream-mapping.md", 0
    )
    assert len(test.examples) >= 10
    output: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=output.append)
    assert runner.failures == 0, "".join(output)
    assert asc.get_network_strategy(NETWORK).name == "mylab.strategies:UncertaintyStrategy"
