"""HTTP endpoints for Kubernetes probes and Prometheus: /healthz, /readyz and /metrics.

The server runs on the operator's own event loop on purpose: if the loop is blocked, the
probes time out too, and the kubelet restarts a wedged operator.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from strategy_operator.controller.liveness import LivenessTracker
from strategy_operator.controller.metrics import Metrics

logger = logging.getLogger(__name__)


class HealthServer:
    def __init__(self, *, tracker: LivenessTracker, metrics: Metrics, port: int, host: str = "0.0.0.0") -> None:
        self.tracker = tracker
        self.metrics = metrics
        self.port = port
        self.host = host
        self.ready = False
        self._runner: web.AppRunner | None = None

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = getattr(getattr(site, "_server", None), "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        logger.info("serving /healthz, /readyz and /metrics on port %d", self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        stalled = self.tracker.stalled()
        if stalled:
            body = {"status": "stalled", "overdue": stalled[:20]}
            return web.json_response(body, status=503, dumps=json.dumps)
        unreachable = self.tracker.kube_unreachable_for()
        if unreachable is not None:
            body = {"status": "stalled", "kubernetesApi": f"no answer for {unreachable:.0f} s"}
            return web.json_response(body, status=503, dumps=json.dumps)
        return web.json_response({"status": "ok"})

    async def _readyz(self, request: web.Request) -> web.Response:
        if not self.ready:
            return web.json_response({"status": "starting"}, status=503)
        return web.json_response({"status": "ready"})

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self.metrics.exposition(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
        )
