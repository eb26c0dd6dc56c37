"""tempo-seldon: the Seldon Core v1 protocol, and deploying to Seldon Core on Kubernetes."""

from tempo_seldon.manifest import SeldonDeploymentGenerator
from tempo_seldon.options import SeldonCoreOptions
from tempo_seldon.protocol import SeldonProtocol
from tempo_seldon.runtime import SeldonKubernetesRuntime
from tempo_seldon.secret import secret_manifest

__version__ = "0.1.0"

__all__ = [
    "SeldonProtocol",
    "SeldonCoreOptions",
    "SeldonKubernetesRuntime",
    "SeldonDeploymentGenerator",
    "secret_manifest",
    "__version__",
]
