"""Fan-out: an `async def` pipeline gathering N children that each take t, against a plain `def` pipeline calling the
same kind of children one after another, measured in the same run: in-process, deployed with the children in the
pipeline's server (the default), and deployed with each child in a server of its own.

Run with `nox -s bench`. Prints sync/async per call (ideal N) and async / t; target: async <= 1.5 t.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tempo_core import LocalOptions, PipelineModels, deploy_local, model, pipeline

CHILDREN = 4
CHILD_SECONDS = 0.05  # a child waiting on I/O or on another server
ROUNDS = 5
CALLS = 10
WARMUP = 2
TARGET = 1.5  # async pipeline call <= 1.5 t


def make_children(root: Path, prefix: str) -> dict[str, Any]:
    """N sleeping children named for the pipeline that calls them, so both pipelines can be deployed at once."""

    def make_child(index: int) -> Any:
        @model(name=f"{prefix}-child-{index}", local_folder=str(root / f"{prefix}-child-{index}"))
        def child(values: np.ndarray) -> np.ndarray:
            time.sleep(CHILD_SECONDS)
            return values + index

        return child

    return {f"c{index}": make_child(index) for index in range(CHILDREN)}


def make_pipelines(root: Path) -> tuple[Any, Any]:
    """The same fan-out twice: a plain `def` calling its children in turn, an `async def` gathering them."""
    sync_children = make_children(root, "sync")
    async_children = make_children(root, "async")

    @pipeline(name="fan-out-sync", models=PipelineModels(**sync_children), local_folder=str(root / "fan-out-sync"))
    def fan_out_sync(values: np.ndarray) -> np.ndarray:
        return sum(getattr(fan_out_sync.models, key)(values) for key in sync_children)

    @pipeline(name="fan-out-async", models=PipelineModels(**async_children), local_folder=str(root / "fan-out-async"))
    async def fan_out_async(values: np.ndarray) -> np.ndarray:
        answers = await asyncio.gather(*(getattr(fan_out_async.models, key)(values) for key in async_children))
        return sum(answers)

    return fan_out_sync, fan_out_async


def measure_calls(calls: dict[str, Callable[[], object]]) -> dict[str, float]:
    """The median in milliseconds of each call, measured in alternating rounds so noise hits all alike."""
    latencies: dict[str, list[float]] = {label: [] for label in calls}
    for call in calls.values():
        for _ in range(WARMUP):
            call()
    for _ in range(ROUNDS):
        for label, call in calls.items():
            for _ in range(CALLS):
                before = time.perf_counter()
                call()
                latencies[label].append(time.perf_counter() - before)
    return {label: 1000 * statistics.median(values) for label, values in latencies.items()}


def main() -> None:
    """Measure the two pipelines in-process and deployed both ways, and print the ratios."""
    payload = np.array([[5.9, 2.8, 4.1, 1.3]])
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="tempo-bench-async-") as scratch:
        fan_out_sync, fan_out_async = make_pipelines(Path(scratch))
        expected = sum(payload + index for index in range(CHILDREN))
        assert np.allclose(fan_out_sync(payload), expected)
        assert np.allclose(asyncio.run(fan_out_async(payload)), expected)
        results["in-process"] = measure_calls(
            {"sync": lambda: fan_out_sync(payload), "async": lambda: asyncio.run(fan_out_async(payload))}
        )
        for label, options in (
            ("deployed, children in the pipeline's server", LocalOptions()),
            ("deployed, each child in its own server", LocalOptions(colocate=False)),
        ):
            with (
                deploy_local(fan_out_sync, options) as sync_remote,
                deploy_local(fan_out_async, options) as async_remote,
            ):
                assert np.allclose(async_remote.predict(payload), sync_remote.predict(payload))
                results[label] = measure_calls(
                    {"sync": lambda: sync_remote.predict(payload), "async": lambda: async_remote.predict(payload)}
                )

    child_ms = 1000 * CHILD_SECONDS
    print(
        f"fan-out pipeline, {CHILDREN} children of t = {child_ms:.0f} ms each, median of {ROUNDS} x {CALLS} calls, "
        "plain def vs async def gathering:"
    )
    for label, p50 in results.items():
        print(
            f"  {label:44s}: sync {p50['sync']:6.1f} ms  async {p50['async']:6.1f} ms  "
            f"ratio sync/async {p50['sync'] / p50['async']:.2f} (ideal {CHILDREN})  "
            f"async / t {p50['async'] / child_ms:.2f} (target <= {TARGET})"
        )


if __name__ == "__main__":
    main()
