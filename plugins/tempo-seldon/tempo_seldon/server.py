"""How seldon-core's Python microservice is started for one tempo model: its command line and environment."""

from __future__ import annotations

import json
from pathlib import Path

from tempo_core.model import Servable
from tempo_core.processes import free_port

__all__ = ["MICROSERVICE_CLASS", "MICROSERVICE_READY_PATH", "MICROSERVICE_ENV", "microservice_argv"]

MICROSERVICE_CLASS = "tempo_seldon.microservice.TempoSeldonModel"
# The microservice's readiness check, which asks the user model; its REST worker answers only once the model has
# loaded. (`/health/ping` is its liveness check: "pong", whatever the model.)
MICROSERVICE_READY_PATH = "/health/status"
MICROSERVICE_ENV = {
    # predict_raw gets the body as sent, and the bytes it returns go back as they are: the codec's wire format.
    "PAYLOAD_PASSTHROUGH": "true",
    # seldon-core's generated protobuf modules predate protoc 3.19, which protobuf 4+ imports only in pure Python.
    "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python",
}


def microservice_argv(
    model: Servable, artifact_folder: Path, port: int, *, python: str, child_endpoints: dict[str, str], host: str
) -> list[str]:
    """The command that serves `model` from `artifact_folder` with `python` on `port`, REST only.

    The microservice binds every interface (it takes no host), `host` only picks where its metrics port is free.
    """
    parameters = [{"name": "folder", "value": str(artifact_folder), "type": "STRING"}]
    if not model.details.platform.is_custom_code:
        parameters.append({"name": "details", "value": model.details.model_dump_json(), "type": "STRING"})
    if child_endpoints:
        parameters.append({"name": "child_endpoints", "value": json.dumps(child_endpoints), "type": "STRING"})
    metrics_port = free_port("127.0.0.1" if host == "0.0.0.0" else host)
    return [
        python,
        "-m",
        "seldon_core.microservice",
        MICROSERVICE_CLASS,
        "--service-type",
        "MODEL",
        "--http-port",
        str(port),
        "--metrics-port",
        str(metrics_port),
        "--grpc-workers",
        "0",
        "--parameters",
        json.dumps(parameters),
    ]
