"""Filling a wheelhouse: one wheel per pinned distribution, each built once into the cache and linked from there."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path

from tqdm import tqdm

from tempo_core.environment.cache import build_once, cache_root, link_files
from tempo_core.environment.editable import EditableSource
from tempo_core.environment.installed import InstalledDistribution, InstalledEnvironment
from tempo_core.environment.keys import wheel_key
from tempo_core.environment.wheels import build_wheel


def build_wheelhouse(
    locked: Sequence[InstalledDistribution],
    editables: Mapping[str, EditableSource],
    installed: InstalledEnvironment,
    destination: Path,
) -> list[Path]:
    """Put one wheel per distribution in `locked` into `destination` and return their paths.

    Wheels are cached one by one (``$TEMPO_CACHE_DIR/wheels/<key>/``), so an environment that differs from
    another by one distribution repacks only that one. Compression releases the GIL, so threads pack in parallel.
    """
    destination.mkdir(parents=True, exist_ok=True)
    wheels = cache_root() / "wheels"

    def cached_wheel(item: InstalledDistribution) -> Path:
        editable = editables.get(item.name)
        cached = wheels / wheel_key(item, editable, installed)
        build_once(cached, lambda staging: build_wheel(item, editable, staging))
        (linked,) = link_files(cached, destination)
        return linked

    with (
        ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool,
        tqdm(total=len(locked), desc="Packing wheels", unit="wheel", disable=not sys.stderr.isatty()) as bar,
    ):
        futures = [pool.submit(cached_wheel, item) for item in locked]
        for future in futures:
            future.add_done_callback(lambda _: bar.update())
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future in done:
            future.result()
        return [future.result() for future in futures]
