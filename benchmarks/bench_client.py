"""Client and start-up costs, each against a baseline measured in the same run.

- RemoteModel.predict against a raw keep-alive HTTP post of the same body (target <= 1.2x).
- RemoteModel.predict of a 1000x4 FP32 tensor, end to end: binary tensors (REST extension, gRPC raw contents)
  against JSON (target >= 5x).

Run with `nox -s bench`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import urllib3

from tempo_core import deploy_local, model
from tempo_kfserving import codec

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from bench_serving import measure_calls  # noqa: E402


def client_overhead(root: Path) -> tuple[float, float]:
    """p50 of RemoteModel.predict and of a raw urllib3 post of the same body to the same server."""

    @model(name="echo", local_folder=str(root / "echo"))
    def echo(values: np.ndarray) -> np.ndarray:
        return values

    (root / "echo").mkdir()
    (root / "echo" / "requirements.txt").write_text("numpy\n")
    payload = np.arange(4, dtype=np.float32).reshape(1, 4)
    body, headers = codec.encode_request(echo.signature, {"values": payload})
    with deploy_local(echo) as remote:
        pool = urllib3.PoolManager(maxsize=1)
        url = f"{remote.endpoint}/v2/models/echo/infer"
        measured = measure_calls(
            {
                "remote": lambda: remote.predict(payload),
                "raw": lambda: pool.request("POST", url, body=body, headers=headers).data,
            },
            count=2000,
        )
    return measured["remote"], measured["raw"]


def tensor_round_trips(root: Path) -> dict[str, float]:
    """p50 in milliseconds of RemoteModel.predict with a 1000x4 FP32 array that comes back doubled, end to end:
    JSON, REST with binary tensors (what the client picks for tempo's servers) and gRPC with raw contents.
    """

    @model(name="tensor", local_folder=str(root / "tensor"))
    def tensor(values: np.ndarray) -> np.ndarray:
        return values * 2

    (root / "tensor").mkdir()
    (root / "tensor" / "requirements.txt").write_text("numpy\n")
    values = np.random.default_rng(0).random((1000, 4), dtype=np.float32)
    with deploy_local(tensor) as remote:
        as_json, binary, grpc = remote.with_options(binary=False), remote, remote.with_options(transport="grpc")
        return measure_calls(
            {
                "json": lambda: as_json.predict(values),
                "binary": lambda: binary.predict(values),
                "grpc": lambda: grpc.predict(values),
            },
            count=1200,
        )


def main() -> None:
    """Measure and print the two comparisons."""
    with tempfile.TemporaryDirectory(prefix="tempo-bench-client-") as scratch:
        root = Path(scratch)
        remote_p50, raw_p50 = client_overhead(root)
        timings = tensor_round_trips(root)
    print(
        f"RemoteModel.predict p50 {remote_p50:.3f} ms vs raw keep-alive post {raw_p50:.3f} ms: "
        f"ratio {remote_p50 / raw_p50:.2f} (target <= 1.2)"
    )
    for transport in ("binary", "grpc"):
        print(
            f"1000x4 FP32 RemoteModel.predict p50: JSON {timings['json']:.2f} ms, {transport} "
            f"{timings[transport]:.2f} ms: {timings['json'] / timings[transport]:.1f}x faster (target >= 5)"
        )


if __name__ == "__main__":
    main()
