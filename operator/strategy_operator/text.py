"""Remove credentials from text before it reaches status, events or logs, and bound its size.

Exceptions and tracebacks can quote URLs with user-info, bearer tokens or the API key
itself; status and events are readable by anyone who may read the resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "***"
MAX_MESSAGE = 1024
MAX_TRACEBACK = 8192

_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s@]+)@")
_BEARER = re.compile(r"(?i)\b(bearer|token|authorization)(\s*[:=]?\s*)(['\"]?)[A-Za-z0-9._~+/=-]{8,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_KEY_FIELD = re.compile(r"(?i)(['\"]?(?:key|password|secret)['\"]?\s*[:=]\s*)(['\"])(?:(?!\2).)+\2")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with known secret values, URL user-info, bearer tokens and JWTs redacted."""
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    text = _JWT.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{REDACTED}", text)
    text = _KEY_FIELD.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}{m.group(2)}", text)
    return text


def bound_head(text: str, limit: int = MAX_MESSAGE) -> str:
    """Keep the beginning (messages say what went wrong first)."""
    if len(text) <= limit:
        return text
    marker = " ...[truncated]"
    return text[: limit - len(marker)] + marker


def bound_tail(text: str, limit: int = MAX_TRACEBACK) -> str:
    """Keep the end (a traceback's last frames and the exception line matter most)."""
    if len(text) <= limit:
        return text
    marker = "...[truncated]...\n"
    return marker + text[-(limit - len(marker)) :]
