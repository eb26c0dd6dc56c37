"""What a model server's container is made of: command, mounts, published port, limits and labels."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from docker.models.containers import Container
from docker.types import DeviceRequest, Mount

from tempo_core.protocol import ServerLaunch
from tempo_docker.labels import GRPC_PORT, METRICS_PORT
from tempo_docker.options import DockerOptions

__all__ = [
    "CONTAINER_PORT",
    "LOOPBACK",
    "container_args",
    "published_endpoint",
    "published_grpc_endpoint",
    "published_metrics_endpoint",
    "spec_digest",
]

# Every server listens on this port inside its own container; only the host side differs.
CONTAINER_PORT = 8080
LOOPBACK = "127.0.0.1"


def container_args(
    *,
    name: str,
    image: str,
    launch: ServerLaunch,
    artifact_folder: Path,
    network: str,
    options: DockerOptions,
    labels: dict[str, str],
) -> dict[str, Any]:
    """Keyword arguments of `containers.create` that run `launch` in a container of `image`.

    Host folders are mounted at the same paths inside, so the absolute paths in the server's settings hold;
    the artifact read-only. The server runs as this user, so what it writes in its workdir stays removable,
    and its ports (REST, and gRPC where the server has it) are published on 127.0.0.1 only, on ports the engine picks.
    """
    workdir = str(launch.workdir)
    args: dict[str, Any] = {
        "name": name,
        "image": image,
        "command": launch.argv,
        "working_dir": workdir,
        # A uid without a passwd entry in the image has no home of its own.
        "environment": {"HOME": workdir, "PYTHONUNBUFFERED": "1", **launch.env, **options.env},
        "user": f"{os.getuid()}:{os.getgid()}",
        "mounts": [
            Mount(str(artifact_folder), str(artifact_folder), type="bind", read_only=True),
            Mount(workdir, workdir, type="bind"),
        ],
        "ports": {
            f"{port}/tcp": (LOOPBACK, None) for port in (CONTAINER_PORT, launch.grpc_port, launch.metrics_port) if port
        },
        "network": network,
        "labels": labels,
        "init": True,
    }
    if options.cpus is not None:
        args["nano_cpus"] = round(options.cpus * 1e9)
    if options.memory is not None:
        args["mem_limit"] = options.memory
    if options.gpus:
        args["device_requests"] = [DeviceRequest(count=options.gpus, capabilities=[["gpu"]])]
    return args


def spec_digest(
    *, image_id: str, artifact: str, options: DockerOptions, child_endpoints: dict[str, str], protocol: str
) -> str:
    """A digest of everything a model's container is made from; a running container with the same one is kept."""
    spec = {
        "image": image_id,
        "artifact": artifact,
        "options": options.model_dump(mode="json", exclude={"startup_timeout", "client"}),
        "children": child_endpoints,
        "protocol": protocol,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:32]


def published_endpoint(container: Container) -> str | None:
    """The loopback URL where the container's server is published, or None while the container is not running."""
    address = _published(container, CONTAINER_PORT)
    return f"http://{address}" if address else None


def published_grpc_endpoint(container: Container) -> str | None:
    """The loopback `host:port` where the container's gRPC endpoint is published, or None without one."""
    port = container.labels.get(GRPC_PORT)
    return _published(container, int(port)) if port else None


def published_metrics_endpoint(container: Container) -> str | None:
    """The loopback URL of the container's Prometheus metrics, or None without them."""
    port = container.labels.get(METRICS_PORT)
    address = _published(container, int(port)) if port else None
    return f"http://{address}/metrics" if address else None


def _published(container: Container, port: int) -> str | None:
    bindings = (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).get(f"{port}/tcp")
    if not bindings:
        return None
    return f"{LOOPBACK}:{bindings[0]['HostPort']}"
