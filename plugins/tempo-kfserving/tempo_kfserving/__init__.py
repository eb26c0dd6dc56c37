"""tempo-kfserving: the Open Inference Protocol (KServe V2), MLServer serving, and KServe."""

from tempo_kfserving.protocol import KFServingV2Protocol

__version__ = "0.1.0"

__all__ = ["KFServingV2Protocol", "__version__"]
