"""Server-side apply, get, delete and list of one kind of custom resource, through the official `kubernetes` client.

The client is imported when a cluster is first reached, never at import time. Its configuration comes from the
kubeconfig (`$KUBECONFIG` or ~/.kube/config), from the pod's service account inside a cluster, or from an explicit
`kubernetes.client.ApiClient` (tests point one at an emulated API server).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tempo_core.errors import DeployError

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, CustomObjectsApi

__all__ = ["ClusterClient", "CustomResource", "FIELD_MANAGER", "api_client_from_environment"]

FIELD_MANAGER = "tempo"
APPLY_PATCH = "application/apply-patch+yaml"
CLIENT_REQUIREMENT = "kubernetes>=36,<38"
# Seconds for one API request, so an unreachable cluster fails instead of hanging.
REQUEST_TIMEOUT = 30.0
_NOT_FOUND = 404


@dataclass(frozen=True)
class CustomResource:
    """A kind of custom resource: where its REST path lives and what its documents say."""

    group: str
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        """`group/version`, as a document's `apiVersion` says it."""
        return f"{self.group}/{self.version}"


def api_client_from_environment(context: str | None = None) -> ApiClient:
    """A client configured from the kubeconfig (`$KUBECONFIG`, ~/.kube/config) or, inside a pod, its service account."""
    try:
        from kubernetes import client, config
    except ImportError as exc:
        raise DeployError(
            f"deploying to Kubernetes needs the official client; install it with: pip install '{CLIENT_REQUIREMENT}'"
        ) from exc
    configuration = client.Configuration()
    kubeconfig = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    # As `kubernetes.config.load_config` decides, without changing the client's global default configuration.
    in_cluster = (
        "KUBERNETES_SERVICE_HOST" in os.environ and not os.environ.get("KUBECONFIG") and not os.path.exists(kubeconfig)
    )
    try:
        if in_cluster:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, context=context, client_configuration=configuration
            )
    except (config.ConfigException, OSError) as exc:
        where = "the pod's service account" if in_cluster else f"the kubeconfig {kubeconfig}"
        raise DeployError(
            f"cannot configure a Kubernetes client from {where}: {exc}; point $KUBECONFIG at a kubeconfig "
            "(`kubectl config view` shows yours) or run inside the cluster"
        ) from exc
    return client.ApiClient(configuration)


class ClusterClient:
    """Applies, reads, deletes and lists the custom resources of one kind, turning API failures into DeployError."""

    def __init__(self, resource: CustomResource, api_client: ApiClient | None = None, context: str | None = None):
        self.resource = resource
        self._api_client = api_client
        self._context = context
        self._api: CustomObjectsApi | None = None

    def _objects(self) -> CustomObjectsApi:
        if self._api is None:
            from kubernetes.client import CustomObjectsApi

            self._api = CustomObjectsApi(self._api_client or api_client_from_environment(self._context))
        return self._api

    def apply(self, document: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply `document` as field manager `tempo`, taking over fields others set; returns the object."""
        if document.get("apiVersion") != self.resource.api_version or document.get("kind") != self.resource.kind:
            raise DeployError(
                f"cannot apply a {document.get('apiVersion')} {document.get('kind')} through the "
                f"{self.resource.api_version} {self.resource.kind} client"
            )
        metadata, kind = document["metadata"], self.resource
        applied: dict[str, Any] = self._call(
            f"apply {self.resource.kind} '{metadata['name']}'",
            metadata["namespace"],
            lambda api: api.patch_namespaced_custom_object(
                kind.group,
                kind.version,
                metadata["namespace"],
                kind.plural,
                metadata["name"],
                body=document,
                field_manager=FIELD_MANAGER,
                force=True,
                _content_type=APPLY_PATCH,
                _request_timeout=REQUEST_TIMEOUT,
            ),
        )
        return applied

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The object, or None when there is none by that name."""
        kind = self.resource
        found: dict[str, Any] | None = self._call(
            f"read {self.resource.kind} '{name}'",
            namespace,
            lambda api: api.get_namespaced_custom_object(
                kind.group, kind.version, namespace, kind.plural, name, _request_timeout=REQUEST_TIMEOUT
            ),
            absent_is_none=True,
        )
        return found

    def delete(self, namespace: str, name: str) -> bool:
        """Delete the object and what it owns; False when there was none by that name."""
        kind = self.resource
        deleted = self._call(
            f"delete {self.resource.kind} '{name}'",
            namespace,
            lambda api: api.delete_namespaced_custom_object(
                kind.group,
                kind.version,
                namespace,
                kind.plural,
                name,
                propagation_policy="Foreground",
                _request_timeout=REQUEST_TIMEOUT,
            ),
            absent_is_none=True,
        )
        return deleted is not None

    def list(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        """The objects in `namespace` whose labels match `label_selector`, e.g. `app.kubernetes.io/managed-by=tempo`."""
        kind = self.resource
        listing = self._call(
            f"list {self.resource.plural}",
            namespace,
            lambda api: api.list_namespaced_custom_object(
                kind.group,
                kind.version,
                namespace,
                kind.plural,
                label_selector=label_selector,
                _request_timeout=REQUEST_TIMEOUT,
            ),
        )
        items: list[dict[str, Any]] = listing.get("items", [])
        return items

    def _call(
        self, action: str, namespace: str, request: Callable[[CustomObjectsApi], Any], *, absent_is_none: bool = False
    ) -> Any:
        """Run `request`; None for an object that does not exist when `absent_is_none`, DeployError otherwise."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        api = self._objects()
        try:
            return request(api)
        except ApiException as exc:
            if absent_is_none and exc.status == _NOT_FOUND and _names_an_object(exc):
                return None
            raise DeployError(f"could not {action} in namespace '{namespace}': {self._explain(exc)}") from exc
        except HTTPError as exc:
            host = api.api_client.configuration.host
            raise DeployError(
                f"could not {action}: the Kubernetes API at {host} cannot be reached ({exc}); check that the "
                "cluster is up and your kubeconfig points at it (`kubectl cluster-info`)"
            ) from exc

    def _explain(self, exc: Any) -> str:
        message = _status_message(exc)
        status = exc.status
        if status == _NOT_FOUND and not _names_an_object(exc):
            return (
                f"{message} (404). Is the {self.resource.kind} resource ({self.resource.api_version}) installed in "
                "the cluster? `kubectl api-resources` lists what is."
            )
        if status in (401, 403):
            return (
                f"{message} ({status}). Grant the user or service account permission to get, patch, delete and list "
                f"{self.resource.plural}.{self.resource.group} in this namespace."
            )
        return f"{message} ({status} {exc.reason})"


def _status_message(exc: Any) -> str:
    """The `message` of the Status object the API server answered with, or the raw body."""
    try:
        body = json.loads(exc.body or "")
    except ValueError:
        return str(exc.body or exc.reason or "no details")
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return json.dumps(body)[:500]


def _names_an_object(exc: Any) -> bool:
    """Whether a 404 says one object does not exist, rather than that the API server knows no such resource type.

    For a missing object the API server answers a Status whose `details` name it; for an unknown type, a plain
    "404 page not found".
    """
    try:
        body = json.loads(exc.body or "")
    except ValueError:
        return False
    details = body.get("details") if isinstance(body, dict) else None
    return isinstance(details, dict) and "name" in details
