"""`strategy-operator run`: parse the operator settings, configure logging once, run Kopf."""

from __future__ import annotations

import argparse
import logging
import sys

from strategy_operator.controller.config import LOG_LEVELS, SettingsError, from_arguments
from strategy_operator.controller.config import add_arguments as add_settings_arguments

# Kopf logs one line per timer tick and per handler run; they say nothing an operator needs.
_KOPF_NOISE = frozenset(
    {
        "Timer 'iterate' succeeded.",
        "Handler 'watch' succeeded.",
        "Activity 'startup' succeeded.",
        "Activity 'login' succeeded.",
        "Activity 'cleanup' succeeded.",
    }
)


class _DropKopfNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or record.getMessage() not in _KOPF_NOISE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_settings_arguments(parser)


def configure_logging(level: str) -> None:
    """One stream handler on the root logger, whatever was configured before."""
    import kopf

    kopf.configure(verbose=level == "debug", log_prefix=True)
    numeric = getattr(logging, level.upper()) if level in LOG_LEVELS else logging.INFO
    logging.getLogger().setLevel(numeric)
    for name in (
        "kopf.objects",
        "kopf.activities.startup",
        "kopf.activities.authentication",
        "kopf.activities.cleanup",
    ):
        logging.getLogger(name).addFilter(_DropKopfNoise())
    # Every HTTP request at INFO drowns the operator's own lines.
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))


def main(args: argparse.Namespace) -> int:
    try:
        config = from_arguments(args)
    except SettingsError as exc:
        print(f"strategy-operator run: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.log_level)

    import kopf

    from strategy_operator.controller import register as handlers

    registry = kopf.OperatorRegistry()
    handlers.register(registry, config)
    memo = kopf.Memo()
    kopf.run(
        registry=registry,
        # Replicas are coordinated by our own Lease (leader.py), never by Kopf's peering.
        standalone=True,
        clusterwide=config.all_namespaces,
        namespaces=list(config.namespaces),
        memo=memo,
    )
    if memo.get("leadership_lost"):
        print("strategy-operator run: lost the leadership; exiting to start again as a standby", file=sys.stderr)
        return 3
    return 0
