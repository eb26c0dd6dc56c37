"""Client and start-up costs, each against a baseline measured in the same run.

- RemoteModel.predict against a raw keep-alive HTTP post of the same body (target <= 1.2x).
- A 1000x4 FP32 tensor through the V2 codec, binary extension against JSON, both directions (target >= 5x).
- deploy_local until ready against MLServer's own cold start of the same model (target <= 1.2x).

Run with `nox -s bench`.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import urllib3

from tempo_core import deploy_local, model, save
from tempo_kfserving import codec

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from bench_serving import measure_calls, start_bare_server  # noqa: E402


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


def codec_speed() -> dict[str, float]:
    """Microseconds to encode then decode a 1000x4 FP32 request and response, JSON and binary."""

    @model(name="tensor")
    def tensor(values: np.ndarray) -> np.ndarray:
        return values

    signature = tensor.signature
    values = np.random.default_rng(0).random((1000, 4), dtype=np.float32)
    timings = {}
    for binary in (False, True):

        def request_round_trip(binary: bool = binary) -> object:
            body, headers = codec.encode_request(signature, {"values": values}, binary=binary)
            return codec.decode_request(signature, body, headers)

        def response_round_trip(binary: bool = binary) -> object:
            body, headers = codec.encode_response(signature, "tensor", values, binary=binary)
            return codec.decode_response(signature, body, headers)

        measured = measure_calls({"request": request_round_trip, "response": response_round_trip}, count=800)
        for direction, milliseconds in measured.items():
            timings[f"{direction} {'binary' if binary else 'json'}"] = 1000 * milliseconds
    return timings


def cold_starts(root: Path) -> tuple[float, float]:
    """Seconds from nothing to ready: deploy_local of a saved model, and `mlserver start` of the same work."""

    @model(name="doubler", local_folder=str(root / "doubler"))
    def doubler(values: np.ndarray) -> np.ndarray:
        return values * 2

    (root / "doubler").mkdir()
    (root / "doubler" / "requirements.txt").write_text("numpy\n")
    save(doubler)
    tempo_times, bare_times = [], []
    for attempt in range(3):
        started = time.perf_counter()
        remote = deploy_local(doubler)
        tempo_times.append(time.perf_counter() - started)
        remote.undeploy()
        workdir = root / f"bare-{attempt}"
        workdir.mkdir()
        started = time.perf_counter()
        server, _ = start_bare_server(workdir)
        bare_times.append(time.perf_counter() - started)
        server.stop()
    return statistics.median(tempo_times), statistics.median(bare_times)


def main() -> None:
    """Measure and print the three comparisons."""
    with tempfile.TemporaryDirectory(prefix="tempo-bench-client-") as scratch:
        root = Path(scratch)
        remote_p50, raw_p50 = client_overhead(root)
        timings = codec_speed()
        tempo_start, bare_start = cold_starts(root)
    print(
        f"RemoteModel.predict p50 {remote_p50:.3f} ms vs raw keep-alive post {raw_p50:.3f} ms: "
        f"ratio {remote_p50 / raw_p50:.2f} (target <= 1.2)"
    )
    for direction in ("request", "response"):
        json_us, binary_us = timings[f"{direction} json"], timings[f"{direction} binary"]
        print(
            f"1000x4 FP32 {direction} encode+decode: JSON {json_us:.0f} us, binary {binary_us:.0f} us: "
            f"binary {json_us / binary_us:.1f}x faster (target >= 5)"
        )
    print(
        f"cold start to ready: deploy_local {tempo_start:.2f} s vs mlserver start {bare_start:.2f} s: "
        f"ratio {tempo_start / bare_start:.2f} (target <= 1.2)"
    )


if __name__ == "__main__":
    main()
