"""A gufe Protocol whose results carry an estimate and its uncertainty, like a real free-energy protocol.

`measured_result` builds the ProtocolDAGResult a compute service would post for one run of
the transformation, with the values the test chooses (no simulation is run).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable
from typing import Any

from gufe import settings
from gufe.protocols import Protocol, ProtocolDAGResult, ProtocolResult, ProtocolUnit, ProtocolUnitResult
from openff.units import unit


class MeasureSettings(settings.Settings):
    repeats: int = 1


class MeasureUnit(ProtocolUnit):
    @staticmethod
    def _execute(ctx, *, stateA, stateB, **inputs):  # noqa: ANN001, ARG004 - gufe's unit signature
        raise NotImplementedError("tests build this unit's results with measured_result()")


class MeasureResult(ProtocolResult):
    def get_estimate(self) -> float:
        estimates = self.data["estimates"]
        return sum(estimates) / len(estimates)

    def get_uncertainty(self) -> float:
        """The uncertainty of the mean of independent runs."""
        uncertainties = self.data["uncertainties"]
        return math.sqrt(sum(u * u for u in uncertainties)) / len(uncertainties)


class MeasureProtocol(Protocol):
    result_cls = MeasureResult
    _settings_cls = MeasureSettings

    @classmethod
    def _default_settings(cls) -> MeasureSettings:
        return MeasureSettings(
            thermo_settings=settings.ThermoSettings(temperature=298 * unit.kelvin),
            forcefield_settings=settings.OpenMMSystemGeneratorFFSettings(),
        )

    @classmethod
    def _defaults(cls) -> dict[str, Any]:
        return {}

    def _create(self, stateA, stateB, mapping=None, extends=None) -> list[ProtocolUnit]:  # noqa: ANN001
        return [MeasureUnit(name="measure", stateA=stateA, stateB=stateB)]

    def _gather(self, protocol_dag_results: Iterable[ProtocolDAGResult]) -> dict[str, Any]:
        estimates, uncertainties = [], []
        for pdr in protocol_dag_results:
            for unit_result in pdr.terminal_protocol_unit_results:
                estimates.append(unit_result.outputs["estimate"])
                uncertainties.append(unit_result.outputs["uncertainty"])
        return {"estimates": estimates, "uncertainties": uncertainties}


def measured_result(transformation, estimate: float, uncertainty: float) -> ProtocolDAGResult:  # noqa: ANN001
    """The successful ProtocolDAGResult of one run of `transformation` that measured these values."""
    dag = transformation.create()
    (unit_,) = dag.protocol_units
    now = datetime.datetime.now(datetime.UTC)
    unit_result = ProtocolUnitResult(
        name=unit_.name,
        source_key=unit_.key,
        inputs=unit_.inputs,
        outputs={"estimate": estimate, "uncertainty": uncertainty},
        start_time=now,
        end_time=now,
    )
    return ProtocolDAGResult(
        protocol_units=dag.protocol_units,
        protocol_unit_results=[unit_result],
        transformation_key=transformation.key,
        extends_key=None,
        name=dag.name,
    )
