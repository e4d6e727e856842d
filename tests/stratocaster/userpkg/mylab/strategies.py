"""A user's own Strategy that reads result values: more work where the estimate is least certain."""

from __future__ import annotations

from pydantic import Field
from stratocaster.base import Strategy, StrategyResult
from stratocaster.base.models import StrategySettings


class UncertaintySettings(StrategySettings):
    target_uncertainty: float = Field(gt=0, description="a transformation this certain is finished")
    max_runs: int = Field(default=10, ge=1, description="finished after this many results, however uncertain")


class UncertaintyStrategy(Strategy):
    """Weight = the estimate's uncertainty (1.0 without results); None once below the target."""

    _settings_cls = UncertaintySettings

    @classmethod
    def _default_settings(cls) -> UncertaintySettings:
        return UncertaintySettings(target_uncertainty=0.5)

    def _propose(self, alchemical_network, protocol_results) -> StrategyResult:  # noqa: ANN001
        settings = self.settings
        weights: dict = {}
        for transformation in alchemical_network.edges:
            result = protocol_results.get(transformation.key)
            if result is None:
                weights[transformation.key] = 1.0
                continue
            uncertainty = float(result.get_uncertainty())
            finished = result.n_protocol_dag_results >= settings.max_runs or uncertainty <= settings.target_uncertainty
            weights[transformation.key] = None if finished else uncertainty
        return StrategyResult(weights)


class RaisingStrategy(UncertaintyStrategy):
    """Its propose fails, as user code can."""

    def _propose(self, alchemical_network, protocol_results) -> StrategyResult:  # noqa: ANN001
        raise RuntimeError("the uncertainty model is not calibrated for this network")


not_a_strategy = "a module attribute that is not a Strategy class"
