"""KFServingKubernetesRuntime: deploy models as InferenceServices on a cluster running KServe."""

from __future__ import annotations

from typing import Any, ClassVar

from tempo_core.kubernetes import CustomResource, KubernetesRuntime, ResourceState
from tempo_core.options import RuntimeOptions
from tempo_kfserving.endpoints import endpoint_for
from tempo_kfserving.manifest import INFERENCE_SERVICE
from tempo_kfserving.options import KFServingOptions

__all__ = ["KFServingKubernetesRuntime"]

# What KServe's model status says when a model will not load until its spec changes.
_FAILED_TRANSITIONS = ("BlockedByFailedLoad", "InvalidSpec")


class KFServingKubernetesRuntime(KubernetesRuntime):
    """Server-side applies InferenceServices, waits for their Ready condition, deletes and lists them.

    The client comes from the kubeconfig or the pod's service account; pass `api_client=` to choose another.
    """

    name: ClassVar[str] = "kserve-k8s"
    options_class: ClassVar[type[RuntimeOptions]] = KFServingOptions
    aliases: ClassVar[tuple[str, ...]] = ("kserve",)
    resource: ClassVar[CustomResource] = INFERENCE_SERVICE

    def endpoint_for(self, name: str) -> str:
        """`<ingressBaseUrl>/serving/<namespace>/<name>`, or `http://<name>-predictor.<namespace>.svc.cluster.local`."""
        return endpoint_for(name, self.remote)

    def state_of(self, resource: dict[str, Any]) -> ResourceState:
        """Ready when the `Ready` condition is True; failed when the model status says loading is blocked."""
        status = resource.get("status") or {}
        conditions = [item for item in status.get("conditions") or [] if isinstance(item, dict)]
        if any(item.get("type") == "Ready" and item.get("status") == "True" for item in conditions):
            return ResourceState(ready=True, failed=False, description="Ready")
        model_status = status.get("modelStatus") or {}
        if model_status.get("transitionStatus") in _FAILED_TRANSITIONS:
            failure = (model_status.get("lastFailureInfo") or {}).get("message") or "no details"
            return ResourceState(ready=False, failed=True, description=f"{model_status['transitionStatus']}: {failure}")
        pending = [item for item in conditions if item.get("status") != "True"]
        description = "; ".join(
            ": ".join(str(part) for part in (item.get("type"), item.get("reason"), item.get("message")) if part)
            for item in pending
        )
        return ResourceState(ready=False, failed=False, description=description or "no status yet")
