"""The NetworkStrategy API: its names here, its types in `v1alpha1`, its CRD in `crd`.

Everything that names the resource on the wire (group, version, kind, plural, finalizer,
annotations) is spelled once, here; the controller, the CRD renderer and the dev tooling
import these names rather than repeating the strings.
"""

GROUP = "alchemiscale.org"
VERSION = "v1alpha1"
KIND = "NetworkStrategy"
PLURAL = "networkstrategies"
SINGULAR = "networkstrategy"
SHORT_NAMES = ("nstrat",)
API_VERSION = f"{GROUP}/{VERSION}"
FINALIZER = f"{GROUP}/finalizer"
# Set to any new value to wake a dormant or errored strategy for one more iteration.
WAKE_ANNOTATION = f"{GROUP}/wake"
