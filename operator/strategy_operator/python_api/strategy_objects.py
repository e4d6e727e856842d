"""A stratocaster Strategy object as a NetworkStrategy's `spec.strategy`, every setting carried and none invented.

stratocaster's own ConnectivityStrategy and RadialGrowthStrategy become the operator's
built-ins of the same name with their settings; any other Strategy class (a user's own, or
a subclass of stratocaster's) is named by its import path with its settings as
`classSettings`, for the operator's stratocaster adapter to import and validate.

stratocaster is an optional extra: it is imported only once an object that is not a name,
a dict or a StrategySpec has been passed, so the Python API works without it.
"""

from __future__ import annotations

import sys
from typing import Any

from strategy_operator.engine.strategies.registry import BUILTIN_SETTINGS
from strategy_operator.python_api.errors import InvalidNetworkStrategy

EXPECTED = "a strategy name or import path, a {'name', 'settings'} dict or a stratocaster Strategy object"


def stratocaster_strategy_document(strategy: Any) -> dict[str, Any]:
    """`{"name", "settings"}` for a built-in, `{"name", "classSettings"}` for a class by import path.

    InvalidNetworkStrategy, naming what is wrong, for anything that is not a stratocaster
    Strategy object, or one the operator could not import by its path.
    """
    base = _strategy_base()
    if base is None or not isinstance(strategy, base):
        raise InvalidNetworkStrategy(f"strategy: expected {EXPECTED}, not {_describe(strategy, base)}")
    cls = type(strategy)
    settings = strategy.settings.model_dump(mode="json")
    builtin = _builtin_name(cls)
    if builtin is not None:
        return {"name": builtin, "settings": _builtin_settings(builtin, settings)}
    return {"name": import_path(cls), "classSettings": settings}


def import_path(cls: type) -> str:
    """`package.module:Class`, the path the operator imports `cls` by; refused when that is not `cls`."""
    path = f"{cls.__module__}:{cls.__qualname__}"
    if cls.__module__ == "__main__":
        raise InvalidNetworkStrategy(
            f"strategy: {cls.__qualname__} is defined in __main__ (a notebook or script), which the operator "
            "cannot import: define it in a package installed in the operator's image (docs/stratocaster.md)"
        )
    if "<locals>" in cls.__qualname__:
        raise InvalidNetworkStrategy(
            f"strategy: {path} is defined inside a function, which the operator cannot import: "
            "define it at a module's top level"
        )
    found: Any = sys.modules.get(cls.__module__)
    for attribute in cls.__qualname__.split("."):
        found = getattr(found, attribute, None)
    if found is not cls:
        raise InvalidNetworkStrategy(f"strategy: {path} does not name the class {cls.__qualname__} it was made from")
    return path


def _builtin_settings(name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The settings for the built-in `name`: stratocaster's, without the unset (None) ones.

    Refused when the built-in would run with other settings than stratocaster's object holds
    (a key it does not know, or a default it fills in differently for an unset one).
    """
    given = {key: value for key, value in settings.items() if value is not None}
    fields = BUILTIN_SETTINGS[name].model_fields
    unknown = sorted(set(settings) - set(fields))
    if unknown:
        raise InvalidNetworkStrategy(
            f"strategy.settings: {', '.join(unknown)}: not a setting of {name} (its settings: {', '.join(fields)})"
        )
    changed = sorted(key for key, value in settings.items() if value is None and fields[key].get_default() is not None)
    if changed:
        raise InvalidNetworkStrategy(
            f"strategy.settings: {', '.join(changed)}: None is not a value {name} takes; give a value"
        )
    return given


def _builtin_name(cls: type) -> str | None:
    """The built-in's name for stratocaster's own class of that name, exactly (not a subclass)."""
    import stratocaster.strategies

    name = cls.__name__
    return name if name in BUILTIN_SETTINGS and getattr(stratocaster.strategies, name, None) is cls else None


def _strategy_base() -> Any:
    try:
        from stratocaster.base import Strategy
    except ImportError:
        return None
    return Strategy


def _describe(value: object, base: Any) -> str:
    """What the caller passed instead, with the usual mistakes spelled out."""
    kind = type(value).__name__
    if base is None:
        return f"{kind} (and stratocaster, needed for Strategy objects, is not installed)"
    if isinstance(value, type) and issubclass(value, base):
        return f"the class {value.__name__} itself: pass {value.__name__}({value.__name__}.default_settings())"
    from stratocaster.base.models import StrategySettings

    if isinstance(value, StrategySettings):
        return f"{kind}, a settings object: pass the Strategy made from it"
    return kind
