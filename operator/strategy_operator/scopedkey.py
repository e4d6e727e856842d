"""alchemiscale Scopes and ScopedKeys, parsed and validated without gufe.

Shared by the resource model (a NetworkStrategy names its network by scoped key), the
engine's snapshot format and the REST client. The rules follow alchemiscale 0.8.0:
a scope is `org-campaign-project` with identifiers `[A-Za-z][A-Za-z0-9_]*` or `*`
(wildcards only at the tail), and a scoped key is `<qualname>-<token>-<org>-<campaign>-<project>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IDENTIFIER = r"[A-Za-z][A-Za-z0-9_]*"
_IDENTIFIER_RE = re.compile(rf"^{IDENTIFIER}$")
_GUFE_PART_RE = re.compile(r"^[A-Za-z0-9_]+$")

# One regex for specific scoped keys, reused verbatim as the CRD's OpenAPI `pattern`
# so the API server and the operator agree on what a valid key is.
SCOPED_KEY_PATTERN = rf"^[A-Za-z0-9_]+-[A-Za-z0-9_]+-{IDENTIFIER}-{IDENTIFIER}-{IDENTIFIER}$"
NETWORK_KEY_PATTERN = rf"^AlchemicalNetwork-[A-Za-z0-9_]+-{IDENTIFIER}-{IDENTIFIER}-{IDENTIFIER}$"
SCOPE_PATTERN = rf"^(\*-\*-\*|{IDENTIFIER}-\*-\*|{IDENTIFIER}-{IDENTIFIER}-\*|{IDENTIFIER}-{IDENTIFIER}-{IDENTIFIER})$"


class InvalidScopedKey(ValueError):
    """A string that is not a well-formed alchemiscale scoped key or scope."""


@dataclass(frozen=True, slots=True)
class Scope:
    """An alchemiscale scope; `None` components are wildcards."""

    org: str | None = None
    campaign: str | None = None
    project: str | None = None

    @classmethod
    def from_str(cls, text: str) -> Scope:
        parts = text.split("-")
        if len(parts) != 3:
            raise InvalidScopedKey(f"scope {text!r} must have three '-'-separated parts: org-campaign-project")
        values: list[str | None] = []
        for name, part in zip(("org", "campaign", "project"), parts):
            if part == "*":
                values.append(None)
            elif _IDENTIFIER_RE.fullmatch(part):
                values.append(part)
            else:
                raise InvalidScopedKey(
                    f"scope {text!r}: {name} {part!r} must be '*' or start with a letter "
                    "followed by letters, digits or '_'"
                )
        seen_wildcard = False
        for value in values:
            if value is None:
                seen_wildcard = True
            elif seen_wildcard:
                raise InvalidScopedKey(f"scope {text!r}: once a component is '*', every later one must be '*'")
        return cls(*values)

    @property
    def specific(self) -> bool:
        return None not in (self.org, self.campaign, self.project)

    def covers(self, other: Scope) -> bool:
        """True when every non-wildcard component of `self` equals `other`'s."""
        return all(
            mine is None or mine == theirs
            for mine, theirs in (
                (self.org, other.org),
                (self.campaign, other.campaign),
                (self.project, other.project),
            )
        )

    def __str__(self) -> str:
        return "-".join(p if p is not None else "*" for p in (self.org, self.campaign, self.project))


@dataclass(frozen=True, slots=True)
class ScopedKey:
    qualname: str
    token: str
    org: str
    campaign: str
    project: str

    @classmethod
    def from_str(cls, text: str) -> ScopedKey:
        if not isinstance(text, str):
            raise InvalidScopedKey(f"a scoped key must be a string, not {type(text).__name__}")
        parts = text.split("-")
        if len(parts) != 5:
            raise InvalidScopedKey(
                f"scoped key {text!r} must have five '-'-separated parts: <qualname>-<token>-<org>-<campaign>-<project>"
            )
        qualname, token, org, campaign, project = parts
        for name, part in (("qualname", qualname), ("token", token)):
            if not _GUFE_PART_RE.fullmatch(part):
                raise InvalidScopedKey(f"scoped key {text!r}: {name} {part!r} may only contain letters, digits and '_'")
        for name, part in (("org", org), ("campaign", campaign), ("project", project)):
            if not _IDENTIFIER_RE.fullmatch(part):
                raise InvalidScopedKey(
                    f"scoped key {text!r}: {name} {part!r} must start with a letter followed by letters, digits or '_'"
                )
        return cls(qualname, token, org, campaign, project)

    @property
    def gufe_key(self) -> str:
        return f"{self.qualname}-{self.token}"

    @property
    def scope(self) -> Scope:
        return Scope(self.org, self.campaign, self.project)

    def as_json(self) -> dict[str, str]:
        """The JSON object form alchemiscale wants in request bodies (task lists)."""
        return {"gufe_key": self.gufe_key, "org": self.org, "campaign": self.campaign, "project": self.project}

    @classmethod
    def from_json(cls, obj: dict) -> ScopedKey:
        return cls.from_str(f"{obj['gufe_key']}-{obj['org']}-{obj['campaign']}-{obj['project']}")

    def __str__(self) -> str:
        return f"{self.qualname}-{self.token}-{self.org}-{self.campaign}-{self.project}"


def parse_network_key(text: str) -> ScopedKey:
    """Parse a scoped key and insist that it names an AlchemicalNetwork."""
    key = ScopedKey.from_str(text)
    if key.qualname != "AlchemicalNetwork":
        raise InvalidScopedKey(f"scoped key {text!r} names a {key.qualname}, not an AlchemicalNetwork")
    return key
