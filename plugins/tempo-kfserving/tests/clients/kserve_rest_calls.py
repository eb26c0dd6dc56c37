"""What a user of KServe's `InferenceRESTClient` does with a V2 REST server; prints what each call gave, as JSON.

Usage: python kserve_rest_calls.py BASE_URL MODEL, in a virtual environment with the `kserve` package, whose pins
clash with MLServer's. Its binary requests go as `application/octet-stream` with the binary tensor data extension.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import httpx
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput
from reporting import described  # this folder is the script's own, first on sys.path

VALUES = np.array([[1.5, -2.0], [0.25, 4.0]], dtype=np.float32)
LABEL = np.array([b"hello"], dtype=object)
WORDS = np.array([b"a", b"\xc3\xa9b"], dtype=object)


def request(model: str, *, binary: bool, outputs: list[str] | None = None) -> InferRequest:
    """The model's three inputs from numpy arrays, as binary tensor data or JSON."""
    tensors = []
    for name, array, datatype in (("values", VALUES, "FP32"), ("label", LABEL, "BYTES"), ("words", WORDS, "BYTES")):
        tensor = InferInput(name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array, binary_data=binary)
        tensors.append(tensor)
    requested = [RequestedOutput(name) for name in outputs] if outputs else None
    # Binary outputs too: JSON carries bytes that are not all text as base64 text, which kserve leaves as it is.
    parameters = {"binary_data_output": True} if binary else None
    return InferRequest(model_name=model, infer_inputs=tensors, request_outputs=requested, parameters=parameters)


async def status_of(call: Any) -> int:
    """The HTTP status a call failed with, 200 if it did not."""
    try:
        await call
    except httpx.HTTPStatusError as exc:
        return exc.response.status_code
    return 200


async def main(base_url: str, model: str) -> None:
    client = InferenceRESTClient(RESTConfig(protocol="v2", retries=0, timeout=30))
    binary = await client.infer(base_url, request(model, binary=True), model_name=model)
    as_json = await client.infer(base_url, request(model, binary=False), model_name=model)
    only_label = await client.infer(base_url, request(model, binary=True, outputs=["output1"]), model_name=model)
    report = {
        "ready": await client.is_model_ready(base_url, model),
        "server_ready": await client.is_server_ready(base_url),
        "binary": {output.name: described(output.as_numpy()) for output in binary.outputs},
        "json": {output.name: described(output.as_numpy()) for output in as_json.outputs},
        "requested": [output.name for output in only_label.outputs],
        "missing_infer": await status_of(client.infer(base_url, request("missing", binary=True), model_name="missing")),
    }
    await client.close()
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
