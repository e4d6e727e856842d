"""Turn pydantic validation errors into one-line messages that name the offending field."""

from __future__ import annotations

from pydantic import ValidationError


def field_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    parts = [prefix] if prefix else []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(document)"


def describe(error: ValidationError, prefix: str = "") -> str:
    """`a.b[0].c: message; d: message` for every error, each naming its field."""
    messages = []
    for item in error.errors(include_url=False):
        text = item["msg"].removeprefix("Value error, ")
        messages.append(f"{field_path(tuple(item['loc']), prefix)}: {text}")
    return "; ".join(messages)
