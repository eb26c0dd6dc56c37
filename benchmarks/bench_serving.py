"""Serving speed and memory: a tempo-deployed model against a bare MLServer model doing the same work,
and the deployed iris pipeline against one direct call of its child, measured in the same run.

Run with `nox -s bench`. Prints ratios; targets: tempo req/s >= 0.9x MLServer's, server RSS <= 1.1x,
pipeline p50 <= 1.2x a direct call with its children in-process, <= 1.5x with them in their own servers.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import requests

from tempo_core import LocalOptions, deploy_local, model, save
from tempo_core.processes import ServerProcess

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "examples" / "iris"))

from baselines import start_mlserver  # noqa: E402

REQUESTS = 2000
ROUNDS = 8
WARMUP = 200
BODY = json.dumps(
    {"inputs": [{"name": "values", "datatype": "FP64", "shape": [1, 4], "data": [5.9, 2.8, 4.1, 1.3]}]}
).encode()


def measure(urls: dict[str, str], body: bytes = BODY, rounds: int = ROUNDS) -> dict[str, dict[str, float]]:
    """Keep-alive posts of the same body to each URL, in alternating rounds so noise hits all alike.

    Returns req/s, p50 and p99 (milliseconds) per URL.
    """
    headers = {"Content-Type": "application/json"}
    latencies: dict[str, list[float]] = {label: [] for label in urls}
    elapsed = dict.fromkeys(urls, 0.0)
    with requests.Session() as session:
        for url in urls.values():
            for _ in range(WARMUP):
                session.post(url, data=body, headers=headers).raise_for_status()
        for _ in range(rounds):
            for label, url in urls.items():
                started = time.perf_counter()
                for _ in range(REQUESTS // rounds):
                    before = time.perf_counter()
                    session.post(url, data=body, headers=headers).raise_for_status()
                    latencies[label].append(time.perf_counter() - before)
                elapsed[label] += time.perf_counter() - started
    results = {}
    for label, values in latencies.items():
        values.sort()
        results[label] = {
            "req_s": len(values) / elapsed[label],
            "p50_ms": 1000 * statistics.median(values),
            "p99_ms": 1000 * values[int(0.99 * len(values)) - 1],
        }
    return results


def measure_calls(calls: dict[str, Callable[[], object]], count: int = 600, rounds: int = ROUNDS) -> dict[str, float]:
    """The p50 in milliseconds of each Python call, measured in alternating rounds."""
    latencies: dict[str, list[float]] = {label: [] for label in calls}
    for call in calls.values():
        for _ in range(50):
            call()
    for _ in range(rounds):
        for label, call in calls.items():
            for _ in range(count // rounds):
                before = time.perf_counter()
                call()
                latencies[label].append(time.perf_counter() - before)
    return {label: 1000 * statistics.median(values) for label, values in latencies.items()}


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_bare_server(workdir: Path) -> tuple[ServerProcess, str]:
    """The baseline MLServer with the same settings tempo writes, serving `bare_model.DoublingModel` as `bare`."""
    return start_mlserver(workdir, {"bare": {"implementation": "bare_model.DoublingModel"}})


def main() -> None:
    """Measure both servers and the pipeline, and print the ratios."""
    with tempfile.TemporaryDirectory(prefix="tempo-bench-") as scratch:
        root = Path(scratch)

        @model(name="doubler", local_folder=str(root / "doubler"))
        def doubler(values: np.ndarray) -> np.ndarray:
            return values * 2

        save(doubler)
        (root / "bare").mkdir()
        bare, bare_endpoint = start_bare_server(root / "bare")
        try:
            with deploy_local(doubler) as remote:
                from tempo_core import local_state

                tempo_pid = local_state.find_record("doubler").pid  # type: ignore[union-attr]
                measured = measure(
                    {
                        "tempo": f"{remote.endpoint}/v2/models/doubler/infer",
                        "bare": f"{bare_endpoint}/v2/models/bare/infer",
                    }
                )
                tempo, baseline = measured["tempo"], measured["bare"]
                tempo_rss, bare_rss = rss_mib(tempo_pid), rss_mib(bare.pid)
        finally:
            bare.stop()

        from models import get_tempo_artifacts, train

        train(str(root / "iris"))
        classifier, sklearn_model, _ = get_tempo_artifacts(str(root / "iris"))
        save(classifier)
        payload = np.array([[5.9, 2.8, 4.1, 1.3]])
        pipeline_p50: dict[bool, tuple[float, float]] = {}
        for colocate in (True, False):
            with deploy_local(classifier, LocalOptions(colocate=colocate)) as pipeline_remote:
                direct = deploy_local(sklearn_model)
                p50 = measure_calls(
                    {
                        "pipeline": lambda remote=pipeline_remote: remote.predict(payload),
                        "direct": lambda remote=direct: remote.predict(payload),
                    }
                )
                pipeline_p50[colocate] = (p50["pipeline"], p50["direct"])

    print(f"custom model, {REQUESTS} sequential requests (c=1), same JSON body:")
    for label, numbers in (("bare MLServer", baseline), ("tempo", tempo)):
        print(
            f"  {label:13s} : {numbers['req_s']:8.0f} req/s  "
            f"p50 {numbers['p50_ms']:.2f} ms  p99 {numbers['p99_ms']:.2f} ms"
        )
    print(f"  ratio req/s tempo/bare = {tempo['req_s'] / baseline['req_s']:.2f} (target >= 0.90)")
    print(
        f"server RSS: tempo {tempo_rss:.0f} MiB, bare {bare_rss:.0f} MiB, "
        f"ratio {tempo_rss / bare_rss:.2f} (target <= 1.10)"
    )
    for colocate, target in ((True, 1.2), (False, 1.5)):
        pipeline, direct_call = pipeline_p50[colocate]
        print(
            f"iris pipeline ({'children in-process' if colocate else 'children in their own servers'}) "
            f"p50 {pipeline:.2f} ms vs one direct sklearn call {direct_call:.2f} ms: "
            f"ratio {pipeline / direct_call:.2f} (target <= {target})"
        )


if __name__ == "__main__":
    main()
