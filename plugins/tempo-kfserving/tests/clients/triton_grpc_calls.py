"""What a user of Triton's `tritonclient[grpc]` does with a V2 gRPC server; prints what each call gave, as JSON.

Usage: python triton_calls.py HOST:PORT MODEL. Run in a process of its own: tritonclient's generated protobuf code
and MLServer's define the same `inference.*` symbols, which one process cannot hold twice.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
import tritonclient.grpc as grpcclient
from reporting import described  # this folder is the script's own, first on sys.path
from tritonclient.utils import InferenceServerException

VALUES = np.array([[1.5, -2.0], [0.25, 4.0]], dtype=np.float32)
LABEL = np.array([b"hello"], dtype=object)
WORDS = np.array([b"a", b"\xff\x00b"], dtype=object)


def status_of(call: Any) -> str:
    """The status a call failed with."""
    try:
        call()
    except InferenceServerException as exc:
        return str(exc.status())
    return "OK"


def inputs() -> list[grpcclient.InferInput]:
    """The model's three inputs from numpy arrays."""
    tensors = []
    for name, array, datatype in (("values", VALUES, "FP32"), ("label", LABEL, "BYTES"), ("words", WORDS, "BYTES")):
        tensor = grpcclient.InferInput(name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array)
        tensors.append(tensor)
    return tensors


def main(address: str, model: str) -> None:
    client = grpcclient.InferenceServerClient(url=address)
    everything = client.infer(model, inputs(), timeout=30)
    only_label = client.infer(model, inputs(), outputs=[grpcclient.InferRequestedOutput("output1")], timeout=30)
    report = {
        "ready": client.is_model_ready(model),
        "metadata": client.get_model_metadata(model, as_json=True),
        "outputs": {
            output.name: described(everything.as_numpy(output.name)) for output in everything.get_response().outputs
        },
        "requested": [output.name for output in only_label.get_response().outputs],
        "missing_ready": status_of(lambda: client.is_model_ready("missing")),
        "missing_metadata": status_of(lambda: client.get_model_metadata("missing")),
        "missing_infer": status_of(lambda: client.infer("missing", inputs(), timeout=30)),
    }
    client.close()
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
