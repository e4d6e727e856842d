"""Turn pydantic validation errors into one-line messages that name the offending field."""

from __future__ import annotations

import re

from pydantic import ValidationError

# Our validators start their messages with the field they are about ("settings.max_runs: ...").
_LEADING_PATH = re.compile(r"^([A-Za-z_][\w]*|\[\d+\])([.\w]|\[\d+\])*: ")


def field_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    parts = [prefix] if prefix else []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def describe(error: ValidationError, prefix: str = "") -> str:
    """`a.b[0].c: message; d: message` for every error, each naming its field."""
    messages = []
    for item in error.errors(include_url=False):
        text = item["msg"].removeprefix("Value error, ")
        path = field_path(tuple(item["loc"]), prefix)
        if _LEADING_PATH.match(text):
            joiner = "" if not path or text.startswith("[") else "."
            messages.append(f"{path}{joiner}{text}")
        else:
            messages.append(f"{path}: {text}" if path else text)
    return "; ".join(messages)
