"""What goes wrong with the local control plane."""

from __future__ import annotations


class ControlPlaneError(RuntimeError):
    """The control plane could not be found, built, started or stopped."""


class PortClash(ControlPlaneError):
    """A port picked as free was taken before the process bound it; worth a retry."""
