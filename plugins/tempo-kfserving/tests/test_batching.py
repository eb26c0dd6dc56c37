"""Adaptive batching (MLServer's), as a user turns it on: `LocalOptions(batching=BatchingOptions(...))`.

The model answers, for each row, how many rows the call that computed it had: requests sent together come back
computed in calls of several rows, each caller with its own rows, where without batching every call has one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from tempo_core import BatchingOptions, deploy_local, model
from tempo_core.errors import DeployError
from tempo_core.options import LocalOptions

pytestmark = pytest.mark.server

REQUESTS = 8
BATCHING = BatchingOptions(max_batch_size=REQUESTS, max_batch_time=0.5)


def make_counter(folder: Path):  # type: ignore[no-untyped-def]
    @model(name="counter", local_folder=str(folder))
    def counter(values: np.ndarray) -> np.ndarray:
        return np.column_stack([values[:, 0], np.full(len(values), len(values))])

    return counter


def answers(options: LocalOptions, folder: Path) -> list[np.ndarray]:
    async def together() -> list[np.ndarray]:
        with deploy_local(make_counter(folder), options) as remote:
            return list(await asyncio.gather(*(remote.apredict(np.array([[float(i)]])) for i in range(REQUESTS))))

    return asyncio.run(together())


def test_requests_sent_together_are_computed_in_one_call_and_each_gets_its_own_rows(tmp_path: Path) -> None:
    batched = answers(LocalOptions(batching=BATCHING), tmp_path / "counter")
    alone = answers(LocalOptions(), tmp_path / "counter")

    assert [answer[:, 0].tolist() for answer in batched] == [[float(i)] for i in range(REQUESTS)]
    assert max(int(answer[0, 1]) for answer in batched) > 1, "some calls joined several requests"
    assert {int(answer[0, 1]) for answer in alone} == {1}


def test_batching_a_model_whose_inputs_are_not_all_arrays_is_refused(tmp_path: Path) -> None:
    @model(name="greeter", local_folder=str(tmp_path / "greeter"))
    def greeter(values: np.ndarray, name: str) -> np.ndarray:
        return values

    with pytest.raises(DeployError, match=r"model 'greeter': adaptive batching joins .* but name are not arrays"):
        deploy_local(greeter, LocalOptions(batching=BATCHING))


@pytest.mark.parametrize(
    "fields", [{"max_batch_size": 1, "max_batch_time": 0.1}, {"max_batch_size": 4, "max_batch_time": 0}]
)
def test_batching_options_that_batch_nothing_are_refused(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"max_batch_(size|time)"):
        BatchingOptions(**fields)
