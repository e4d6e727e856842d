"""A module that does not import (a missing dependency of a user's package)."""

import mylab_dependency_that_is_not_installed  # noqa: F401


class Unreachable:
    pass
