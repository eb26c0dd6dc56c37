"""Prometheus metrics of tempo's own: how long each call of a pipeline to one of its children takes.

They join prometheus_client's default registry, which MLServer's metrics server (`/metrics`) serves beside its own
metrics (with worker processes, through the multiprocess directory MLServer sets up before any metric exists).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Histogram

__all__ = ["child_seconds", "timed_child"]


@functools.cache
def child_seconds() -> Histogram:
    """The histogram, made on first use: after MLServer has chosen how metrics are stored in this process."""
    return Histogram(
        "tempo_pipeline_child_seconds",
        "Seconds one call of a pipeline to one of its children took, as the pipeline saw it (network included).",
        ["model_name", "child"],
    )


def timed_child(pipeline: str, child: str, call: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    """`call` (a child's route), observing each call's duration under the pipeline's and the child's names."""
    observed = child_seconds().labels(model_name=pipeline, child=child)

    def timed(arguments: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            return call(arguments)
        finally:
            observed.observe(time.perf_counter() - started)

    return timed
