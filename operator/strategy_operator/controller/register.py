"""Kopf's handlers for NetworkStrategy: decorators only, each body delegating in a line or two.

Each resource gets one async timer that ticks every `--tick` seconds (`tick.py` decides
whether it is due and runs the pass), a watch that feeds the liveness tracker, and, when
`spec.cancelTasksOnDelete` is set, a deletion handler (`deletion.py`). Start-up builds the
operator's `Runtime` (`runtime.py`).

Handlers are registered by `register(registry, config)` rather than at import time because
the timer's tick is an operator setting.
"""

from __future__ import annotations

import logging
import random
from typing import Any

import kopf

from strategy_operator.api import GROUP, PLURAL, VERSION
from strategy_operator.controller import deletion, runtime, tick
from strategy_operator.controller.config import OperatorConfig

logger = logging.getLogger(__name__)


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    """Register every handler of the operator in `registry`, configured by `config`."""
    interval = config.tick

    @kopf.on.login(id="login", registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # The kubernetes client's own config loading: in-cluster service account or KUBECONFIG.
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(id="startup", registry=registry)
    async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
        runtime.configure_kopf(settings, config)
        memo["runtime"] = started = await runtime.start(config)
        await started.lead(memo)  # with --leader-election a standby waits here for the Lease
        logger.info("operator started: %s", runtime.describe(config))

    @kopf.on.cleanup(id="cleanup", registry=registry)
    async def cleanup(memo: kopf.Memo, **_: Any) -> None:
        await runtime.stop(memo.get("runtime"))

    @kopf.on.event(GROUP, VERSION, PLURAL, id="watch", registry=registry)
    async def watched(event: Any, spec: Any, status: Any, meta: Any, annotations: Any, **kwargs: Any) -> None:
        memo, ref = kwargs["memo"], f"{kwargs['namespace']}/{kwargs['name']}"
        await tick.watched(
            memo["runtime"],
            runtime.state_of(memo),
            event.get("type"),
            kwargs["uid"],
            ref,
            spec,
            status,
            meta,
            annotations,
        )

    @kopf.timer(
        GROUP,
        VERSION,
        PLURAL,
        id="iterate",
        registry=registry,
        interval=interval,
        initial_delay=lambda **_: random.uniform(0, min(interval, 5.0)),
    )
    async def iterate(memo: kopf.Memo, logger: Any, **kwargs: Any) -> None:
        names = ("body", "spec", "status", "meta", "annotations", "uid", "namespace", "name", "stopped")
        await tick.tick(memo["runtime"], runtime.state_of(memo), log=logger, **{n: kwargs[n] for n in names})

    @kopf.on.delete(
        GROUP,
        VERSION,
        PLURAL,
        id="cancel-tasks-on-delete",
        registry=registry,
        when=lambda spec, **_: bool(spec.get("cancelTasksOnDelete")),
        retries=deletion.LAST_RETRY + 1,
        backoff=max(1.0, interval),
    )
    async def cancel_tasks_on_delete(memo: kopf.Memo, logger: Any, **kwargs: Any) -> None:
        await runtime.state_of(memo).sessions.aclose()
        await deletion.on_delete(
            memo["runtime"], kwargs["body"], kwargs["spec"], kwargs["namespace"], kwargs["retry"], logger
        )
