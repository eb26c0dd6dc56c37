"""Small models that tests in several packages define as a user would: one whose code a test edits, and an async
pipeline fanning out to children that report when they ran."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np

from tempo_core import PipelineModels, model, pipeline
from tempo_core.protocol import WireProtocol

__all__ = ["make_multiplier", "make_fan_out", "ran_together"]


def make_multiplier(folder: Path, factor: int, uri: str | None = None) -> Any:
    """A function model named `multiplier` whose code multiplies by `factor`: defining it again with another factor
    is what a user's edit of the code is."""

    @model(name="multiplier", uri=uri, local_folder=str(folder))
    def multiplier(values: np.ndarray) -> np.ndarray:
        return values * factor

    return multiplier


def make_fan_out(
    folder: Path | None, children: int = 3, protocol: WireProtocol | None = None, uri: str | None = None
) -> Any:
    """An async pipeline `fan-out` that gathers `children` children (`sleeper-<i>`); each sleeps the seconds it is
    called with and returns when it started and ended, so a test can tell the calls ran together. With `uri`, each
    model's artifact goes to `<uri>/<its name>`."""

    def make_sleeper(index: int) -> Any:
        @model(
            name=f"sleeper-{index}",
            protocol=protocol,
            uri=f"{uri}/sleeper-{index}" if uri else None,
            local_folder=str(folder / f"sleeper-{index}") if folder else None,
        )
        def sleeper(seconds: float) -> np.ndarray:
            started = time.time()
            time.sleep(seconds)
            return np.array([started, time.time()])

        return sleeper

    sleepers = {f"s{index}": make_sleeper(index) for index in range(children)}

    @pipeline(
        name="fan-out",
        protocol=protocol,
        uri=f"{uri}/fan-out" if uri else None,
        models=PipelineModels(**sleepers),
        local_folder=str(folder / "fan-out") if folder else None,
    )
    async def fan_out(seconds: float) -> np.ndarray:
        return np.stack(await asyncio.gather(*(getattr(fan_out.models, key)(seconds) for key in sleepers)))

    return fan_out


def ran_together(spans: np.ndarray) -> bool:
    """Whether calls given as rows of (start, end) all started before any of them ended."""
    return bool(spans[:, 0].max() < spans[:, 1].min())
