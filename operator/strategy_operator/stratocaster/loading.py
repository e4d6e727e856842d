"""Which Strategy classes may be loaded, loading one, and building its own settings.

A NetworkStrategy names a class by import path: `package.module.Class` or
`package.module:Class` (the form with a colon allows a dotted attribute after it). The
operator's `--allowed-strategies` list decides what may be imported: each entry is an exact
import path or a prefix ending in `.*`. The check runs on the text of the path, before any
import, so a refused path never executes code.

Loading needs the `stratocaster` extra (gufe and stratocaster); without it the failure is
a clear error, not an ImportError from deep inside the iteration.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from strategy_operator.engine.errors import StrategyError
from strategy_operator.engine.vocabulary import STRATEGY_IMPORT_PATH_PATTERN

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_IMPORT_PATH = re.compile(STRATEGY_IMPORT_PATH_PATTERN)
DEFAULT_ALLOWED_STRATEGIES = ("stratocaster.strategies.*",)


class StrategyNotAllowed(StrategyError):
    """The import path is outside the operator's --allowed-strategies."""


class StrategyImportFailed(StrategyError):
    """The module does not import, or does not hold a stratocaster Strategy under that name."""


class StrategySettingsInvalid(StrategyError):
    """The class's own settings model refused spec.strategy.classSettings."""


class StratocasterMissing(StrategyError):
    """gufe/stratocaster are not installed in this operator (the `stratocaster` extra)."""


def is_import_path(name: str) -> bool:
    """True for `a.b.Class` or `a.b:Class`; the built-in names have neither a dot nor a colon."""
    return bool(_IMPORT_PATH.fullmatch(name))


def canonical(path: str) -> str:
    """`a.b:C` and `a.b.C` name the same object; allow-list entries are compared in this form."""
    return path.replace(":", ".")


def split_import_path(path: str) -> tuple[str, str]:
    """(module, attribute path): `a.b:C.D` -> ("a.b", "C.D"); `a.b.C` -> ("a.b", "C")."""
    if not is_import_path(path):
        raise StrategyImportFailed(
            f"spec.strategy.name: {path!r} is not an import path (package.module.Class or package.module:Class)"
        )
    if ":" in path:
        module, attribute = path.split(":", 1)
    else:
        module, attribute = path.rsplit(".", 1)
    return module, attribute


@dataclass(frozen=True)
class AllowedStrategies:
    """Exact import paths and `prefix.*` patterns, in the operator's setting's order."""

    entries: tuple[str, ...] = DEFAULT_ALLOWED_STRATEGIES

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowedStrategies:
        """Validate entries; ValueError names the bad one."""
        checked = []
        for entry in entries:
            entry = entry.strip()
            if not entry:
                continue
            stem = entry[:-2] if entry.endswith(".*") else entry
            if not (is_import_path(stem) or re.fullmatch(rf"{_IDENTIFIER}", stem)) or ("*" in stem):
                raise ValueError(
                    f"{entry!r} is neither an import path (package.module.Class, package.module:Class) "
                    "nor a prefix ending in .* (package.module.*)"
                )
            checked.append(entry)
        return cls(tuple(checked))

    def allows(self, path: str) -> bool:
        wanted = canonical(path)
        for entry in self.entries:
            if entry.endswith(".*"):
                if wanted.startswith(canonical(entry[:-1])):
                    return True
            elif wanted == canonical(entry):
                return True
        return False

    def __str__(self) -> str:
        return ", ".join(self.entries) if self.entries else "(none)"


def _strategy_base() -> type:
    try:
        from stratocaster.base import Strategy
    except ImportError as exc:
        raise StratocasterMissing(
            "spec.strategy.name names a stratocaster Strategy by import path, but this operator was installed "
            "without the stratocaster extra (gufe and stratocaster are missing); install "
            "alchemiscale-strategy-operator[stratocaster] or use a built-in strategy name"
        ) from exc
    return Strategy


def load_strategy_class(path: str, allowed: AllowedStrategies) -> type:
    """The Strategy class at `path`, after checking it against `allowed` (before importing anything)."""
    if not is_import_path(path):
        raise StrategyImportFailed(
            f"spec.strategy.name: {path!r} is not an import path (package.module.Class or package.module:Class)"
        )
    if not allowed.allows(path):
        raise StrategyNotAllowed(
            f"spec.strategy.name: {path!r} is not in this operator's allowed strategies ({allowed}); "
            "the operator's --allowed-strategies setting (Helm value allowedStrategies) decides which classes "
            "may be loaded"
        )
    base = _strategy_base()
    module_name, attribute = split_import_path(path)
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any failure while importing user code is this error
        raise StrategyImportFailed(
            f"spec.strategy.name: module {module_name!r} of {path!r} does not import: {type(exc).__name__}: {exc}"
        ) from exc
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise StrategyImportFailed(
                f"spec.strategy.name: {path!r}: {module_name!r} has no attribute {attribute!r}"
            ) from None
    if not (isinstance(target, type) and issubclass(target, base)):
        raise StrategyImportFailed(
            f"spec.strategy.name: {path!r} is not a stratocaster Strategy class "
            f"(a subclass of stratocaster.base.Strategy), it is {type(target).__name__} {target!r}"[:600]
        )
    return target


def build_settings(cls: Any, raw: Mapping[str, Any] | None) -> Any:
    """The class's own settings object: its `default_settings()` when omitted, else validated `raw`.

    Validation errors name the field under `spec.strategy.classSettings`. stratocaster's own
    validators raise a bare TypeError for some wrong types; that is reported the same way.
    """
    from pydantic import ValidationError

    from strategy_operator.validation import describe

    if raw is None:
        try:
            return cls.default_settings()
        except Exception as exc:  # noqa: BLE001 - user code
            raise StrategySettingsInvalid(
                f"spec.strategy.classSettings: {cls.__qualname__}.default_settings() failed: {type(exc).__name__}: {exc}"
            ) from exc
    settings_cls = getattr(cls, "_settings_cls", None)
    if settings_cls is None or not hasattr(settings_cls, "model_validate"):
        raise StrategySettingsInvalid(
            f"spec.strategy.classSettings: {cls.__qualname__} declares no pydantic settings class (_settings_cls)"
        )
    try:
        return settings_cls.model_validate(dict(raw))
    except ValidationError as exc:
        raise StrategySettingsInvalid(
            f"{describe(exc, prefix='spec.strategy.classSettings')} ({settings_cls.__qualname__})"
        ) from None
    except Exception as exc:  # noqa: BLE001 - stratocaster's validators compare before coercing
        raise StrategySettingsInvalid(
            f"spec.strategy.classSettings: {settings_cls.__qualname__} refused them: {type(exc).__name__}: {exc}"
        ) from exc


def build_strategy(path: str, raw_settings: Mapping[str, Any] | None, allowed: AllowedStrategies) -> Any:
    """An instance of the allowed Strategy class at `path` with its settings."""
    cls = load_strategy_class(path, allowed)
    settings = build_settings(cls, raw_settings)
    try:
        return cls(settings)
    except Exception as exc:  # noqa: BLE001 - user code
        raise StrategySettingsInvalid(
            f"spec.strategy.classSettings: {cls.__qualname__}({type(settings).__name__}) failed: {type(exc).__name__}: {exc}"
        ) from exc
