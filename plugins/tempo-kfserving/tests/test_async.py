"""Async calls as a user writes them: `await remote.apredict(...)` and `async def` pipelines, on real MLServer servers.

Concurrency is checked by what the calls report, never by timing: each child returns when it started and ended, and
calls that ran together started before any of them ended.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from tempo_core import deploy_local
from tempo_core.options import LocalOptions
from tempo_test_support.user_models import make_fan_out, ran_together

pytestmark = pytest.mark.server

CHILDREN = 4


@pytest.mark.parametrize("colocate", [True, False], ids=["children-in-the-pipelines-server", "children-on-their-own"])
def test_an_async_pipeline_deployed_runs_the_children_it_gathers_at_the_same_time(
    tmp_path: Path, colocate: bool
) -> None:
    fan_out = make_fan_out(tmp_path, children=CHILDREN)
    in_process = asyncio.run(fan_out(0.5))

    with deploy_local(fan_out, LocalOptions(colocate=colocate)) as remote:
        served = remote.predict(0.5)

    assert (served.shape, served.dtype) == (in_process.shape, in_process.dtype)
    assert ran_together(in_process) and ran_together(served)


def test_apredict_calls_awaited_together_are_in_flight_together(tmp_path: Path) -> None:
    fan_out = make_fan_out(tmp_path, children=CHILDREN)  # an async pipeline: its server answers the calls together too

    async def calls() -> list[np.ndarray]:
        with deploy_local(fan_out) as remote:
            return list(await asyncio.gather(*(remote.apredict(0.5) for _ in range(3))))

    spans = np.concatenate(asyncio.run(calls()))

    assert spans.shape == (3 * CHILDREN, 2)
    assert ran_together(spans), "every child of every call started before any finished"
