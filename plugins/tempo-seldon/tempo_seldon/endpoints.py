"""Where a model deployed by Seldon Core answers: its predictor's service in the cluster, or the ingress.

Seldon Core v1 puts a SeldonDeployment `<name>` with predictor `default` behind the Service `<name>-default`,
whose port 8000 is the executor's REST port; its ingress (Istio or Ambassador) routes `/seldon/<namespace>/<name>/`
to the same executor.
"""

from __future__ import annotations

from tempo_core.kubernetes import KubernetesOptions

__all__ = ["PREDICTOR", "EXECUTOR_HTTP_PORT", "service_name", "in_cluster_endpoint", "endpoint_for"]

PREDICTOR = "default"
EXECUTOR_HTTP_PORT = 8000


def service_name(name: str) -> str:
    """The Service Seldon Core creates for a deployment's predictor."""
    return f"{name}-{PREDICTOR}"


def in_cluster_endpoint(name: str, namespace: str) -> str:
    """The base URL of the model `name` for callers inside the cluster."""
    return f"http://{service_name(name)}.{namespace}.svc.cluster.local:{EXECUTOR_HTTP_PORT}"


def endpoint_for(name: str, remote: KubernetesOptions) -> str:
    """The base URL of the model `name`: through `ingressBaseUrl` when set, else in the cluster."""
    if remote.ingressBaseUrl:
        return f"{remote.ingressBaseUrl}/seldon/{remote.namespace}/{name}"
    return in_cluster_endpoint(name, remote.namespace)
