"""Async calls as a user writes them: `await remote.apredict(...)` and `async def` pipelines, on real MLServer servers.

Concurrency is checked by what the calls report, never by timing: each child returns when it started and ended, and
calls that ran together started before any of them ended.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from tempo_core import PipelineModels, deploy_local, model, pipeline
from tempo_core.options import LocalOptions

pytestmark = pytest.mark.server

CHILDREN = 4


def make_fan_out(folder: Path):  # type: ignore[no-untyped-def]
    def make_sleeper(index: int):  # type: ignore[no-untyped-def]
        @model(name=f"sleeper-{index}", local_folder=str(folder / f"sleeper-{index}"))
        def sleeper(seconds: float) -> np.ndarray:
            started = time.time()
            time.sleep(seconds)
            return np.array([started, time.time()])

        return sleeper

    sleepers = {f"s{index}": make_sleeper(index) for index in range(CHILDREN)}

    @pipeline(name="fan-out", models=PipelineModels(**sleepers), local_folder=str(folder / "fan-out"))
    async def fan_out(seconds: float) -> np.ndarray:
        spans = await asyncio.gather(*(getattr(fan_out.models, key)(seconds) for key in sleepers))
        return np.stack(spans)

    return fan_out


def overlapped(spans: np.ndarray) -> bool:
    return bool(spans[:, 0].max() < spans[:, 1].min())


@pytest.mark.parametrize("colocate", [True, False], ids=["children-in-the-pipelines-server", "children-on-their-own"])
def test_an_async_pipeline_deployed_runs_the_children_it_gathers_at_the_same_time(
    tmp_path: Path, colocate: bool
) -> None:
    fan_out = make_fan_out(tmp_path)
    in_process = asyncio.run(fan_out(0.5))

    with deploy_local(fan_out, LocalOptions(colocate=colocate)) as remote:
        served = remote.predict(0.5)

    assert (served.shape, served.dtype) == (in_process.shape, in_process.dtype)
    assert overlapped(in_process) and overlapped(served)


def test_apredict_calls_awaited_together_are_in_flight_together(tmp_path: Path) -> None:
    fan_out = make_fan_out(tmp_path)  # an async pipeline: its server answers the calls together too

    async def calls() -> list[np.ndarray]:
        with deploy_local(fan_out) as remote:
            return list(await asyncio.gather(*(remote.apredict(0.5) for _ in range(3))))

    spans = np.concatenate(asyncio.run(calls()))

    assert spans.shape == (3 * CHILDREN, 2)
    assert overlapped(spans), "every child of every call started before any finished"
