"""An alchemiscale user identity's login, kept out of every repr, log line and message."""

from __future__ import annotations

import json
import os
import pathlib
from dataclasses import dataclass, field

import yaml

IDENTIFIER_ENV = "ALCHEMISCALE_IDENTIFIER"
KEY_ENV = "ALCHEMISCALE_KEY"


@dataclass(frozen=True, slots=True)
class Credentials:
    """Identifier and key of an alchemiscale user identity (the `/token` form login)."""

    identifier: str
    key: str = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.identifier, str) or not self.identifier:
            raise ValueError("credentials: 'identifier' must be a non-empty string")
        if not isinstance(self.key, str) or not self.key:
            raise ValueError(f"credentials for {self.identifier!r}: 'key' must be a non-empty string")

    def __repr__(self) -> str:
        return f"Credentials(identifier={self.identifier!r}, key=<hidden>)"

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Credentials:
        """Read the variables the official alchemiscale client uses."""
        env = os.environ if environ is None else environ
        missing = [name for name in (IDENTIFIER_ENV, KEY_ENV) if not env.get(name)]
        if missing:
            raise ValueError(f"credentials: environment variable(s) {', '.join(missing)} not set")
        return cls(env[IDENTIFIER_ENV], env[KEY_ENV])

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Credentials:
        """Read a YAML or JSON mapping with the keys `identifier` and `key`."""
        text = pathlib.Path(path).read_text()
        try:
            doc = yaml.safe_load(text) if not str(path).endswith(".json") else json.loads(text)
        except (yaml.YAMLError, json.JSONDecodeError) as exc:
            # The parser's message may quote the file's content, i.e. the key.
            raise ValueError(f"credentials file {str(path)!r} is not valid YAML/JSON ({type(exc).__name__})") from None
        if not isinstance(doc, dict):
            raise ValueError(f"credentials file {str(path)!r} must hold a mapping with 'identifier' and 'key'")
        for name in ("identifier", "key"):
            if not isinstance(doc.get(name), str) or not doc.get(name):
                raise ValueError(f"credentials file {str(path)!r}: field {name!r} must be a non-empty string")
        return cls(doc["identifier"], doc["key"])
