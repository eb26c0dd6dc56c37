"""What a user of KServe's `InferenceGRPCClient` does with a V2 gRPC server; prints what each call gave, as JSON.

Usage: python kserve_calls.py HOST:PORT MODEL, in a virtual environment with the `kserve` package, whose pins
(a newer fastapi among them) clash with MLServer's.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import grpc
import numpy as np
from kserve import InferenceGRPCClient, InferInput, InferRequest
from kserve.protocol.infer_type import RequestedOutput
from reporting import described  # this folder is the script's own, first on sys.path

VALUES = np.array([[1.5, -2.0], [0.25, 4.0]], dtype=np.float32)
LABEL = np.array([b"hello"], dtype=object)
WORDS = np.array([b"a", b"\xff\x00b"], dtype=object)


async def status_of(call: Any) -> str:
    """The status a call failed with."""
    try:
        await call
    except grpc.RpcError as exc:
        return str(exc.code())
    return "OK"


def request(model: str, *, binary: bool, outputs: list[str] | None = None) -> InferRequest:
    """The model's three inputs from numpy arrays: raw contents (each with its binary_data_size) or typed ones."""
    tensors = []
    for name, array, datatype in (("values", VALUES, "FP32"), ("label", LABEL, "BYTES"), ("words", WORDS[:1], "BYTES")):
        tensor = InferInput(name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array, binary_data=binary)
        tensors.append(tensor)
    wanted = [RequestedOutput(name) for name in outputs] if outputs else None
    return InferRequest(model_name=model, infer_inputs=tensors, request_id="kserve-1", request_outputs=wanted)


async def main(address: str, model: str) -> None:
    async with InferenceGRPCClient(url=address, timeout=30, retries=0) as client:
        raw = await client.infer(request(model, binary=True))
        typed = await client.infer(request(model, binary=False))
        only_label = await client.infer(request(model, binary=True, outputs=["output1"]))
        report = {
            "ready": await client.is_model_ready(model),
            "raw": {output.name: described(output.as_numpy()) for output in raw.outputs},
            "typed": {output.name: described(output.as_numpy()) for output in typed.outputs},
            "requested": [output.name for output in only_label.outputs],
            "missing_ready": await status_of(client.is_model_ready("missing")),
            "missing_infer": await status_of(client.infer(request("missing", binary=True))),
        }
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
