"""Remove credentials from text before it reaches status, events or logs, and bound its size.

Exceptions and tracebacks can quote URLs with user-info, bearer tokens or the API key
itself; status and events are readable by anyone who may read the resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "***"

# The one set of size limits. The status schema's bounds (the CRD's maxLength, rendered from
# `api.v1alpha1`): the operator fills status.exception.message and status.traceback up to them.
EXCEPTION_MESSAGE_MAX_LENGTH = 2048
TRACEBACK_MAX_LENGTH = 8192
# Event messages and the one-line texts in conditions: Kubernetes keeps 1 KiB of an event's message.
EVENT_MESSAGE_MAX_LENGTH = 1024
HEAD_MARKER = " ...[truncated]"
TAIL_MARKER = "...[truncated]...\n"

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


def bound_head(text: str, limit: int = EVENT_MESSAGE_MAX_LENGTH) -> str:
    """Keep the beginning (messages say what went wrong first)."""
    if len(text) <= limit:
        return text
    return text[: limit - len(HEAD_MARKER)] + HEAD_MARKER


def bound_tail(text: str, limit: int = TRACEBACK_MAX_LENGTH) -> str:
    """Keep the end (a traceback's last frames and the exception line matter most)."""
    if len(text) <= limit:
        return text
    return TAIL_MARKER + text[-(limit - len(TAIL_MARKER)) :]
