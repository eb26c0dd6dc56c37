"""Adaptive batching under concurrent load: the same model deployed with `LocalOptions(batching=BatchingOptions(...))`
at a few `max_batch_time` values and without batching, all deployed at once and measured in alternating rounds.

Three dense networks (numpy, float32, ReLU) from 64 features to 10 scores, whose weights a loader makes in the server:
- "large": two hidden layers of 4096, 65 MiB of weights, more than this machine's 32 MiB L3 cache. A one-row call is
  bound by reading the weights from memory, so 32 rows cost a few times one row, not 32 times: it stands for a model
  whose cost is mostly per call, as a GPU model's launch and transfer are. Batching should pay.
- "medium": two hidden layers of 2048, 17 MiB, inside the cache: a vectorised model whose call of 32 rows costs about
  ten of one row. Batching should pay less.
- "small": one hidden layer of 256: a call of any size takes microseconds, far below what handling a request costs.
  It stands for a cheap model, where batching can only add its wait.

Load: c=32 workers, each awaiting `remote.apredict(row)` with a row of its own, one call after another, for a bounded
time and count: req/s and p50. Then one caller alone (c=1): the p50 a lone request pays. The load generator runs on the
server's 2 cores. Run with `nox -s bench`; prints req/s and p50 against no batching, measured in the same run.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

# One BLAS thread in the servers and here, set before numpy loads: OpenBLAS's default of one busy thread per core
# fights the load generator for the 2 cores on every one-row call.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from tempo_core import BatchingOptions, LocalOptions, deploy_local, model

FEATURES = 64
CLASSES = 10
MODELS = {"large": (4096, 2), "medium": (2048, 2), "small": (256, 1)}  # hidden width, hidden layers
CONCURRENCY = 32
MAX_BATCH_SIZE = CONCURRENCY
BATCH_TIMES = (0.0005, 0.002, 0.005, 0.01)
ROUNDS = 3
ROUND_SECONDS = 2.0
CALLS_PER_WORKER = 2000  # a bound on a round besides its time
WARMUP_SECONDS = 0.5
LONE_CALLS = 60  # per round, one caller alone
UNBATCHED = "no batching"
# With batching every request goes through MLServer's own JSON path to reach its batcher, where tempo's runtime
# otherwise answers binary requests straight from its codec: the same path without batching, to tell the two apart.
UNBATCHED_JSON = "no batching, JSON"


def make_dense(root: Path, name: str, width: int, layers: int) -> Any:
    """A dense network whose weights its loader makes once, in the server, as a real one would read them from disk."""

    @model(name=name, local_folder=str(root / name))
    def dense(values: np.ndarray) -> np.ndarray:
        for weights in dense.context.weights[:-1]:
            values = np.maximum(values @ weights, 0)
        return values @ dense.context.weights[-1]

    @dense.loadmethod
    def load_weights() -> None:
        rng = np.random.default_rng(0)
        shapes = [(FEATURES, width)] + [(width, width)] * (layers - 1) + [(width, CLASSES)]
        dense.context.weights = [
            rng.standard_normal(shape, dtype=np.float32) / np.float32(np.sqrt(shape[0])) for shape in shapes
        ]

    (root / name).mkdir()
    (root / name / "requirements.txt").write_text("numpy\n")
    return dense


def call_ms(call: Callable[[], object], count: int = 200) -> float:
    """The median in milliseconds of an in-process call."""
    for _ in range(20):
        call()
    timings = []
    for _ in range(count):
        before = time.perf_counter()
        call()
        timings.append(time.perf_counter() - before)
    return 1000 * statistics.median(timings)


async def concurrent_load(remote: Any, rows: list[np.ndarray], seconds: float) -> tuple[list[float], float]:
    """One worker per row, each awaiting calls one after another until the time or its count runs out.

    Returns every call's latency in seconds and the wall time of the whole load.
    """
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(row: np.ndarray) -> None:
        for _ in range(CALLS_PER_WORKER):
            if time.perf_counter() >= deadline:
                return
            before = time.perf_counter()
            await remote.apredict(row)
            latencies.append(time.perf_counter() - before)

    started = time.perf_counter()
    await asyncio.gather(*(worker(row) for row in rows))
    return latencies, time.perf_counter() - started


async def check_answers(remote: Any, rows: list[np.ndarray], expected: list[np.ndarray]) -> None:
    """Rows sent together come back each to its own caller, as the model computes them in-process."""
    answers = await asyncio.gather(*(remote.apredict(row) for row in rows))
    for answer, wanted in zip(answers, expected, strict=True):
        np.testing.assert_allclose(answer, wanted, rtol=1e-4, atol=1e-4)


async def measure(remotes: dict[str, Any], rows: list[np.ndarray]) -> dict[str, dict[str, float]]:
    """c=32 req/s and p50 and c=1 p50 of each deployment, in alternating rounds so noise hits all alike."""
    latencies: dict[str, list[float]] = {label: [] for label in remotes}
    elapsed = dict.fromkeys(remotes, 0.0)
    lone: dict[str, list[float]] = {label: [] for label in remotes}
    for remote in remotes.values():
        await concurrent_load(remote, rows, WARMUP_SECONDS)
    for _ in range(ROUNDS):
        for label, remote in remotes.items():
            calls, seconds = await concurrent_load(remote, rows, ROUND_SECONDS)
            latencies[label].extend(calls)
            elapsed[label] += seconds
        for label, remote in remotes.items():
            for _ in range(LONE_CALLS):
                before = time.perf_counter()
                remote.predict(rows[0])
                lone[label].append(time.perf_counter() - before)
    return {
        label: {
            "req_s": len(latencies[label]) / elapsed[label],
            "p50_ms": 1000 * statistics.median(latencies[label]),
            "lone_p50_ms": 1000 * statistics.median(lone[label]),
        }
        for label in remotes
    }


def bench_model(root: Path, kind: str, width: int, layers: int) -> tuple[str, dict[str, dict[str, float]]]:
    """Deploy one model with and without batching, check its answers, measure it; return its description too."""
    rows = [np.random.default_rng(i).standard_normal((1, FEATURES), dtype=np.float32) for i in range(CONCURRENCY)]
    options = {UNBATCHED: LocalOptions()} | {
        f"batching, max_batch_time {1000 * seconds:g} ms": LocalOptions(
            batching=BatchingOptions(max_batch_size=MAX_BATCH_SIZE, max_batch_time=seconds)
        )
        for seconds in BATCH_TIMES
    }
    in_process = make_dense(root, f"{kind}-in-process", width, layers)
    expected = [in_process(row) for row in rows]
    batch = np.concatenate(rows)
    one_row_ms, batch_ms = call_ms(lambda: in_process(rows[0])), call_ms(lambda: in_process(batch))
    weights_mib = sum(weights.nbytes for weights in in_process.context.weights) / 2**20
    described = (
        f"{kind} model ({FEATURES}-{'-'.join([str(width)] * layers)}-{CLASSES}, {weights_mib:.3g} MiB), in-process "
        f"call of 1 row {one_row_ms:.3f} ms, of {len(rows)} rows {batch_ms:.3f} ms"
    )
    with ExitStack() as stack:
        deployed = {
            label: stack.enter_context(deploy_local(make_dense(root, f"{kind}-{index}", width, layers), option))
            for index, (label, option) in enumerate(options.items())
        }
        unbatched = deployed.pop(UNBATCHED)
        remotes = {UNBATCHED: unbatched, UNBATCHED_JSON: unbatched.with_options(binary=False), **deployed}
        for remote in remotes.values():
            asyncio.run(check_answers(remote, rows, expected))
        return described, asyncio.run(measure(remotes, rows))


def main() -> None:
    """Measure each model and print each batching setting against no batching."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="tempo-bench-batching-") as scratch:
        for kind, (width, layers) in MODELS.items():
            results[kind] = bench_model(Path(scratch), kind, width, layers)
    print(
        f"adaptive batching, max_batch_size {MAX_BATCH_SIZE}: c={CONCURRENCY} workers of one row each, "
        f"{ROUNDS} rounds of {ROUND_SECONDS:g} s, then c=1 (load generator on the server's 2 cores):"
    )
    for described, measured in results.values():
        base = measured[UNBATCHED]
        print(f"  {described}:")
        for label, numbers in measured.items():
            print(
                f"    {label:32s}: c={CONCURRENCY} {numbers['req_s']:6.0f} req/s "
                f"({numbers['req_s'] / base['req_s']:.2f}x), p50 {numbers['p50_ms']:6.1f} ms; "
                f"c=1 p50 {numbers['lone_p50_ms']:5.2f} ms ({numbers['lone_p50_ms'] / base['lone_p50_ms']:.2f}x)"
            )


if __name__ == "__main__":
    main()
