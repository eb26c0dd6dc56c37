"""SeldonKubernetesRuntime: deploy models as SeldonDeployments on a cluster running Seldon Core v1."""

from __future__ import annotations

from typing import Any, ClassVar

from tempo_core.kubernetes import CustomResource, KubernetesRuntime, ResourceState
from tempo_core.options import RuntimeOptions
from tempo_seldon.endpoints import endpoint_for
from tempo_seldon.manifest import SELDON_DEPLOYMENT
from tempo_seldon.options import SeldonCoreOptions

__all__ = ["SeldonKubernetesRuntime"]

_AVAILABLE = "Available"
_FAILED = "Failed"


class SeldonKubernetesRuntime(KubernetesRuntime):
    """Server-side applies SeldonDeployments, waits for `status.state: Available`, deletes and lists them.

    The client comes from the kubeconfig or the pod's service account; pass `api_client=` to choose another.
    """

    name: ClassVar[str] = "seldon-k8s"
    options_class: ClassVar[type[RuntimeOptions]] = SeldonCoreOptions
    aliases: ClassVar[tuple[str, ...]] = ("seldon",)
    resource: ClassVar[CustomResource] = SELDON_DEPLOYMENT

    def endpoint_for(self, name: str) -> str:
        """`<ingressBaseUrl>/seldon/<namespace>/<name>`, or `http://<name>-default.<namespace>.svc.cluster.local:8000`."""
        return endpoint_for(name, self.remote)

    def state_of(self, resource: dict[str, Any]) -> ResourceState:
        """Seldon Core's operator sets `status.state` to Creating, Available or Failed (with `status.description`)."""
        status = resource.get("status") or {}
        state = status.get("state") or "no status yet"
        description = status.get("description")
        summary = f"{state}: {description}" if description else str(state)
        return ResourceState(ready=state == _AVAILABLE, failed=state == _FAILED, description=summary)
