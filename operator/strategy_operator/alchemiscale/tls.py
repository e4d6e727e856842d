"""The TLS context of a server connection: one per CA choice for the whole process.

A default context costs ~840 KiB (the system CA store, parsed); one per client made
memory grow with every resource. A CA bundle is read once: replace it, restart.
"""

from __future__ import annotations

import functools
import ssl


def ssl_context(verify: bool | str, scheme: str = "https") -> ssl.SSLContext | bool:
    """The TLS context for a server: none for http:// or `verify=False`, else the process's one for the CA choice.

    `verify` is True (system CAs), a path to a PEM CA bundle, or False (no verification).
    """
    if scheme != "https" or verify is False:
        return False
    return _shared_ssl_context(None if verify is True else verify)


@functools.cache
def _shared_ssl_context(cafile: str | None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"CA bundle {cafile!r} cannot be loaded: {exc}") from None
