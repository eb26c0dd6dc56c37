"""tempo-kfserving: the Open Inference Protocol (KServe V2), MLServer serving, and KServe."""

from tempo_kfserving.credentials import storage_credentials_manifests
from tempo_kfserving.manifest import InferenceServiceGenerator
from tempo_kfserving.options import KFServingOptions
from tempo_kfserving.protocol import KFServingV2Protocol
from tempo_kfserving.runtime import KFServingKubernetesRuntime

__version__ = "0.1.0"

__all__ = [
    "KFServingV2Protocol",
    "KFServingOptions",
    "KFServingKubernetesRuntime",
    "InferenceServiceGenerator",
    "storage_credentials_manifests",
    "__version__",
]
