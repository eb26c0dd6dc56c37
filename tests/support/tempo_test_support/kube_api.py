"""An emulated Kubernetes API server on loopback, for testing Kubernetes runtimes without a cluster.

It speaks the REST paths the official client (and `kubectl apply --server-side`) uses for namespaced objects, of
custom resources under `/apis/{group}/{version}/` and of core ones (Secrets, ServiceAccounts) under `/api/v1/`:
server-side apply (PATCH with `application/apply-patch+yaml` and a `fieldManager`), create (POST), GET, DELETE,
and LIST with a `labelSelector`. Without an operator, an applied object's status reads as pending for a few GETs
and then as ready, as an operator would set it.

It is an emulation. It does not check schemas, admission webhooks, RBAC, authentication, namespaces' existence,
field ownership conflicts, finalizers or watches. With an `Operator` (tempo_test_support.cluster runs pods for
real in Docker) the operator decides each object's status, and requests outside the API's paths go to the
operator's ingress.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import yaml

from tempo_core.kubernetes.client import APPLY_PATCH, CustomResource

__all__ = [
    "EmulatedKubernetesAPI",
    "EmulatedResource",
    "RecordedRequest",
    "Operator",
    "ObjectKey",
    "SECRETS",
    "SERVICE_ACCOUNTS",
    "api_version_of",
]

# group, version, namespace, plural, name: how the emulated API keys the objects it stores.
ObjectKey = tuple[str, str, str, str, str]


def api_version_of(resource: CustomResource) -> str:
    """A document's `apiVersion`: `group/version`, or only `version` for the core group (Secrets, ...)."""
    return resource.api_version if resource.group else resource.version


class Operator(Protocol):
    """What plays the cluster's operators and ingress behind the emulated API server."""

    def operates(self, resource: CustomResource) -> bool:
        """Whether it runs objects of that kind."""

    def applied(self, key: ObjectKey, document: dict[str, Any]) -> None:
        """An object of a kind it runs was created or changed."""

    def status(self, key: ObjectKey) -> dict[str, Any] | None:
        """The object's status now, or None to leave it as stored."""

    def deleted(self, key: ObjectKey) -> None:
        """An object of a kind it runs was deleted."""

    def proxy(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, str] | None:
        """Answer a request outside the API's paths (the ingress); None when no route matches."""

    def stop_all(self) -> None:
        """Stop everything it runs, as deleting the cluster would."""


@dataclass(frozen=True)
class EmulatedResource:
    """A resource the emulation serves, and the status its "operator" gives an applied object (None: no status)."""

    resource: CustomResource
    pending_status: dict[str, Any] | None = None
    ready_status: dict[str, Any] | None = None


SECRETS = EmulatedResource(CustomResource("", "v1", "secrets", "Secret"))
SERVICE_ACCOUNTS = EmulatedResource(CustomResource("", "v1", "serviceaccounts", "ServiceAccount"))


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulated API server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str | None
    body: dict[str, Any] | None


@dataclass
class _Stored:
    document: dict[str, Any]
    reads_until_ready: int
    frozen: bool = False


@dataclass
class _State:
    kinds: dict[tuple[str, str, str], EmulatedResource]
    reads_until_ready: int
    operator: Operator | None = None
    objects: dict[ObjectKey, _Stored] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    resource_version: int = 0


class EmulatedKubernetesAPI:
    """An emulated API server on 127.0.0.1 serving `resources`; use it as a context manager.

    `reads_until_ready` is how many GETs of an object answer its pending status before its ready status. An
    `operator` instead runs what each applied object of its kinds asks for and gives it its status.
    """

    def __init__(
        self,
        resources: list[EmulatedResource],
        *,
        reads_until_ready: int = 1,
        operator: Operator | None = None,
    ) -> None:
        kinds = {(item.resource.group, item.resource.version, item.resource.plural): item for item in resources}
        self._state = _State(kinds=kinds, reads_until_ready=reads_until_ready, operator=operator)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self._state))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="emulated-kube-api", daemon=True
        )

    @property
    def host(self) -> str:
        """The base URL to point a `kubernetes.client.Configuration(host=...)` or a kubeconfig at."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def write_kubeconfig(self, path: Path) -> Path:
        """Write a kubeconfig whose current context is this server, for code that finds the cluster by `$KUBECONFIG`."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulated", "cluster": {"server": self.host}}],
            "users": [{"name": "emulated", "user": {}}],
            "contexts": [{"name": "emulated", "context": {"cluster": "emulated", "user": "emulated"}}],
            "current-context": "emulated",
        }
        path.write_text(yaml.safe_dump(config))
        return path

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received so far, in order."""
        with self._state.lock:
            return list(self._state.requests)

    def objects(self, resource: CustomResource, namespace: str) -> dict[str, dict[str, Any]]:
        """The stored objects of one resource in a namespace, by name."""
        with self._state.lock:
            return {
                key[4]: copy.deepcopy(stored.document)
                for key, stored in self._state.objects.items()
                if key[:4] == (resource.group, resource.version, namespace, resource.plural)
            }

    def set_status(self, resource: CustomResource, namespace: str, name: str, status: dict[str, Any]) -> None:
        """Give an applied object this status from now on, as an operator that reports a failure would."""
        key = (resource.group, resource.version, namespace, resource.plural, name)
        with self._state.lock:
            stored = self._state.objects[key]
            stored.document["status"] = copy.deepcopy(status)
            stored.frozen = True

    def __enter__(self) -> EmulatedKubernetesAPI:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        if self._state.operator is not None:
            self._state.operator.stop_all()


def _handler_for(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        pass

    Handler.state = state
    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects
    disable_nagle_algorithm = True  # without it every keep-alive reply waits ~40 ms for a delayed ACK
    state: _State

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the name BaseHTTPRequestHandler uses)
        """Keep test output quiet."""

    def do_GET(self) -> None:
        self._route("GET")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        content_type = self.headers.get("Content-Type")
        operator = self.state.operator
        if operator is not None and not url.path.startswith(("/apis/", "/api/")):
            headers = {"Content-Type": content_type} if content_type else {}
            answer = operator.proxy(method, self.path, headers, raw)
            if answer is None:
                self._plain_not_found()
            else:
                self._send(HTTPStatus(answer[0]), answer[1], answer[2])
            return
        body = _parse(raw)
        with self.state.lock:
            self.state.requests.append(
                RecordedRequest(method, url.path, query, content_type, body if isinstance(body, dict) else None)
            )
        located = _locate(url.path)
        kind = self.state.kinds.get(located[:2] + located[3:4]) if located is not None else None
        if located is None or kind is None:
            self._plain_not_found()
            return
        group, version, namespace, plural, name = located
        if not name:
            if method == "GET":
                self._list(kind, namespace, query.get("labelSelector", [""])[0])
            elif method == "POST":
                self._create(kind, namespace, body)
            else:
                self._answer(HTTPStatus.METHOD_NOT_ALLOWED, _status(405, "MethodNotAllowed", f"{method} on a list"))
            return
        key = (group, version, namespace, plural, name)
        if method == "PATCH":
            self._apply(kind, key, query, content_type, body)
        elif method == "GET":
            self._get(kind, key)
        elif method == "DELETE":
            self._delete(kind, key)
        else:
            self._answer(HTTPStatus.METHOD_NOT_ALLOWED, _status(405, "MethodNotAllowed", f"{method} on an object"))

    def _create(self, kind: EmulatedResource, namespace: str, body: Any) -> None:
        """POST: create the object, refusing one that exists (what `kubectl create` and client-side apply do)."""
        name = ((body or {}).get("metadata") or {}).get("name") if isinstance(body, dict) else None
        if not name:
            self._invalid("metadata.name: Required value")
            return
        resource = kind.resource
        key = (resource.group, resource.version, namespace, resource.plural, name)
        with self.state.lock:
            exists = key in self.state.objects
        if exists:
            status = _status(409, "AlreadyExists", f'{resource.plural} "{name}" already exists')
            self._answer(HTTPStatus.CONFLICT, status)
            return
        self._apply(kind, key, {"fieldManager": ["create"]}, APPLY_PATCH, body)

    def _apply(
        self,
        kind: EmulatedResource,
        key: ObjectKey,
        query: dict[str, list[str]],
        content_type: str | None,
        body: Any,
    ) -> None:
        resource, name = kind.resource, key[4]
        if content_type != APPLY_PATCH:
            self._answer(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                _status(
                    415, "UnsupportedMediaType", f"the body of the request is in an unknown format: {content_type}"
                ),
            )
            return
        if not query.get("fieldManager"):
            self._invalid("fieldManager: Required value: is required for apply patch")
            return
        if not isinstance(body, dict):
            self._invalid("the body is not a YAML or JSON object")
            return
        metadata = body.get("metadata") or {}
        if body.get("apiVersion") != api_version_of(resource) or body.get("kind") != resource.kind:
            self._invalid(f"apiVersion and kind must be {api_version_of(resource)} and {resource.kind}")
            return
        if metadata.get("name") != name or metadata.get("namespace", key[2]) != key[2]:
            self._invalid("the name and namespace of the object must match the request's path")
            return
        with self.state.lock:
            self.state.resource_version += 1
            stored = self.state.objects.get(key)
            created = stored is None
            if stored is None:
                document = {"metadata": {"uid": str(uuid.uuid4()), "generation": 0}}
                stored = _Stored(document, self.state.reads_until_ready)
                self.state.objects[key] = stored
                if kind.pending_status is not None:
                    stored.document["status"] = copy.deepcopy(kind.pending_status)
            previous_spec = stored.document.get("spec")
            stored.document.update({k: copy.deepcopy(v) for k, v in body.items() if k not in ("metadata", "status")})
            stored.document["metadata"] = {
                **stored.document["metadata"],
                **copy.deepcopy(metadata),
                "namespace": key[2],
                "resourceVersion": str(self.state.resource_version),
            }
            if previous_spec != stored.document.get("spec"):
                stored.document["metadata"]["generation"] += 1
            answer = copy.deepcopy(stored.document)
        if self.state.operator is not None and self.state.operator.operates(resource):
            self.state.operator.applied(key, answer)
        self._answer(HTTPStatus.CREATED if created else HTTPStatus.OK, answer)

    def _get(self, kind: EmulatedResource, key: ObjectKey) -> None:
        operated = self.state.operator.status(key) if self.state.operator is not None else None
        with self.state.lock:
            stored = self.state.objects.get(key)
            if stored is not None and not stored.frozen and operated is not None:
                stored.document["status"] = operated
            elif stored is not None and not stored.frozen and kind.ready_status is not None:
                stored.reads_until_ready -= 1
                if stored.reads_until_ready < 0:
                    stored.document["status"] = copy.deepcopy(kind.ready_status)
            answer = copy.deepcopy(stored.document) if stored is not None else None
        if answer is None:
            self._not_found(kind, key[4])
        else:
            self._answer(HTTPStatus.OK, answer)

    def _delete(self, kind: EmulatedResource, key: ObjectKey) -> None:
        with self.state.lock:
            stored = self.state.objects.pop(key, None)
        if self.state.operator is not None:
            self.state.operator.deleted(key)
        if stored is None:
            self._not_found(kind, key[4])
            return
        resource = kind.resource
        uid = stored.document["metadata"]["uid"]
        details = {"name": key[4], "group": resource.group, "kind": resource.plural, "uid": uid}
        self._answer(HTTPStatus.OK, {**_status(200, "", ""), "status": "Success", "details": details})

    def _list(self, kind: EmulatedResource, namespace: str, selector: str) -> None:
        resource = kind.resource
        with self.state.lock:
            items = [
                copy.deepcopy(stored.document)
                for key, stored in sorted(self.state.objects.items())
                if key[:4] == (resource.group, resource.version, namespace, resource.plural)
                and _matches(selector, stored.document["metadata"].get("labels") or {})
            ]
            version = str(self.state.resource_version)
        self._answer(
            HTTPStatus.OK,
            {
                "apiVersion": api_version_of(resource),
                "kind": f"{resource.kind}List",
                "metadata": {"resourceVersion": version},
                "items": items,
            },
        )

    def _not_found(self, kind: EmulatedResource, name: str) -> None:
        resource = kind.resource
        status = _status(404, "NotFound", f'{resource.plural}.{resource.group} "{name}" not found')
        status["details"] = {"name": name, "group": resource.group, "kind": resource.plural}
        self._answer(HTTPStatus.NOT_FOUND, status)

    def _invalid(self, message: str) -> None:
        self._answer(HTTPStatus.BAD_REQUEST, _status(400, "BadRequest", message))

    def _plain_not_found(self) -> None:
        """What the API server answers for a resource type it does not serve (a CRD that is not installed)."""
        self._send(HTTPStatus.NOT_FOUND, b"404 page not found\n", "text/plain; charset=utf-8")

    def _answer(self, code: HTTPStatus, document: dict[str, Any]) -> None:
        self._send(code, json.dumps(document).encode(), "application/json")

    def _send(self, code: HTTPStatus, payload: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _locate(path: str) -> tuple[str, str, str, str, str] | None:
    """(group, version, namespace, plural, name or "") of a namespaced object's or list's path, else None.

    Custom resources live at /apis/{group}/{version}/namespaces/{namespace}/{plural}[/{name}], core ones (the
    group "") at /api/v1/namespaces/{namespace}/{plural}[/{name}].
    """
    parts = path.strip("/").split("/")
    if parts[0] == "api":
        parts = ["apis", "", *parts[1:]]
    if len(parts) not in (6, 7) or parts[0] != "apis" or parts[3] != "namespaces":
        return None
    return parts[1], parts[2], parts[4], parts[5], parts[6] if len(parts) == 7 else ""


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return None


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _requirements(selector: str) -> Iterator[tuple[str, str, str | None]]:
    """(operator, key, value) for each requirement of an equality-based label selector."""
    for requirement in filter(None, (part.strip() for part in selector.split(","))):
        if "!=" in requirement:
            key, value = requirement.split("!=", 1)
            yield "!=", key.strip(), value.strip()
        elif "=" in requirement:
            key, value = requirement.replace("==", "=").split("=", 1)
            yield "=", key.strip(), value.strip()
        elif requirement.startswith("!"):
            yield "!", requirement[1:].strip(), None
        else:
            yield "exists", requirement, None


def _matches(selector: str, labels: dict[str, str]) -> bool:
    for operator, key, value in _requirements(selector):
        present = key in labels
        if operator == "=" and labels.get(key) != value:
            return False
        if operator == "!=" and labels.get(key) == value:
            return False
        if (operator == "exists" and not present) or (operator == "!" and present):
            return False
    return True
