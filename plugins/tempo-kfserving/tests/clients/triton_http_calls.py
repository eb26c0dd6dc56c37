"""What a user of Triton's `tritonclient[http]` does with a V2 REST server; prints what each call gave, as JSON.

Usage: python triton_http_calls.py HOST:PORT MODEL. tritonclient sends inputs as binary tensor data by default and
asks for binary outputs; it reads JSON outputs as well.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
import tritonclient.http as httpclient
from reporting import described  # this folder is the script's own, first on sys.path
from tritonclient.utils import InferenceServerException

VALUES = np.array([[1.5, -2.0], [0.25, 4.0]], dtype=np.float32)
LABEL = np.array([b"hello"], dtype=object)
WORDS = np.array([b"a", b"\xc3\xa9b"], dtype=object)


def status_of(call: Any) -> str:
    """The HTTP status a call failed with."""
    try:
        call()
    except InferenceServerException as exc:
        return str(exc.status())
    return "OK"


def inputs(*, binary: bool) -> list[httpclient.InferInput]:
    """The model's three inputs from numpy arrays, as binary tensor data or JSON."""
    tensors = []
    for name, array, datatype in (("values", VALUES, "FP32"), ("label", LABEL, "BYTES"), ("words", WORDS, "BYTES")):
        tensor = httpclient.InferInput(name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array, binary_data=binary)
        tensors.append(tensor)
    return tensors


def unknown_input() -> httpclient.InferInput:
    """An input the model does not take."""
    tensor = httpclient.InferInput("nope", [1], "FP32")
    tensor.set_data_from_numpy(np.ones(1, dtype=np.float32))
    return tensor


def outputs_of(result: httpclient.InferResult) -> dict[str, Any]:
    """Every output of a result as numpy arrays, described."""
    return {output["name"]: described(result.as_numpy(output["name"])) for output in result.get_response()["outputs"]}


def main(address: str, model: str) -> None:
    client = httpclient.InferenceServerClient(url=address)
    binary = client.infer(model, inputs(binary=True))
    names = ("output0", "output1", "output2")
    json_outputs = [httpclient.InferRequestedOutput(name, binary_data=False) for name in names]
    as_json = client.infer(model, inputs(binary=False), outputs=json_outputs)
    only_label = client.infer(model, inputs(binary=True), outputs=[httpclient.InferRequestedOutput("output1")])
    report = {
        "server_ready": client.is_server_ready(),
        "ready": client.is_model_ready(model),
        "metadata": client.get_model_metadata(model),
        "binary": outputs_of(binary),
        "json": outputs_of(as_json),
        "requested": [output["name"] for output in only_label.get_response()["outputs"]],
        "missing_ready": client.is_model_ready("missing"),
        "missing_infer": status_of(lambda: client.infer("missing", inputs(binary=True))),
        "unknown_output": status_of(
            lambda: client.infer(model, inputs(binary=True), outputs=[httpclient.InferRequestedOutput("output9")])
        ),
        "unknown_input": status_of(lambda: client.infer(model, [*inputs(binary=True), unknown_input()])),
    }
    client.close()
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
