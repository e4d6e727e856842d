"""Tests of the stratocaster adapter: real gufe and stratocaster, and a user's own package (`userpkg/mylab`)."""

from __future__ import annotations

import sys
from pathlib import Path

USER_PACKAGES = Path(__file__).parent / "userpkg"
if str(USER_PACKAGES) not in sys.path:
    sys.path.insert(0, str(USER_PACKAGES))
