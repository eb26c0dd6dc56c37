"""tempo-kfserving: the Open Inference Protocol (KServe V2), MLServer serving, and KServe.

The names below are imported on first use, so that a model's server, which imports this package to serve, does not
load the Kubernetes runtime and its manifests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tempo_core.lazy import exports

# ruff: noqa: F401 (the names below are for type checkers; at run time they are exported from _EXPORTS)
if TYPE_CHECKING:
    from tempo_kfserving.credentials import storage_credentials_manifests
    from tempo_kfserving.manifest import InferenceServiceGenerator
    from tempo_kfserving.options import KFServingOptions
    from tempo_kfserving.protocol import KFServingV2Protocol
    from tempo_kfserving.runtime import KFServingKubernetesRuntime

__version__ = "0.1.0"

# Each exported name, by the module that defines it.
_EXPORTS = {
    "KFServingV2Protocol": "tempo_kfserving.protocol",
    "KFServingOptions": "tempo_kfserving.options",
    "KFServingKubernetesRuntime": "tempo_kfserving.runtime",
    "InferenceServiceGenerator": "tempo_kfserving.manifest",
    "storage_credentials_manifests": "tempo_kfserving.credentials",
}

__all__ = [*_EXPORTS, "__version__"]


__getattr__, __dir__ = exports(__name__, _EXPORTS)
