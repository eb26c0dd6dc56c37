"""Capturing a model's environment: cold against cached, and the disk it takes.

Run: python benchmarks/bench_environment.py [--requirement numpy --requirement scikit-learn --include mlserver]

Times a first capture with an empty cache (TEMPO_CACHE_DIR in a temporary folder), a second capture of the same
environment into another folder (target: at most 1 s), and rebuilding a virtualenv from the saved wheelhouse
(cold, with empty tempo and uv caches, then warm). Then saves a numpy model with no requirements file, whose
environment is inferred from its code, against capturing the whole virtualenv as the baseline. Sizes count
allocated blocks, each hard-linked inode once.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import numpy as np

from tempo_core import model, save
from tempo_core.environment import EnvironmentRecord, capture_environment
from tempo_core.environment.rebuild import build_venv

logger = logging.getLogger("bench_environment")

SECOND_CAPTURE_TARGET_S = 1.0
T = TypeVar("T")


def timed(action: Callable[[], T]) -> tuple[T, float]:
    """Run `action` and return its result and how many seconds it took."""
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def disk_usage(roots: Iterable[Path]) -> int:
    """Bytes allocated on disk for every file under `roots`, counting each inode once (hard links share one)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root in roots:
        for path in root.rglob("*"):
            stat = path.lstat()
            if path.is_file() and (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_blocks * 512
    return total


def mib(size: int) -> str:
    """`size` bytes in MiB, for a report line."""
    return f"{size / 2**20:.1f} MiB"


def main() -> None:
    """Run the benchmark and report its measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirement", action="append", help="a line of the model's requirements.txt")
    parser.add_argument("--include", action="append", help="a distribution the server always needs")
    args = parser.parse_args()
    requirements = args.requirement or ["numpy", "scikit-learn"]
    include = args.include or [name for name in ("tempo-core", "tempo-kfserving", "mlserver") if _is_installed(name)]
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)

    with tempfile.TemporaryDirectory(prefix="tempo-bench-env-") as scratch:
        root = Path(scratch)
        os.environ["TEMPO_CACHE_DIR"] = str(root / "cache")
        os.environ["UV_CACHE_DIR"] = str(root / "uv-cache")  # a cold venv rebuild must not reuse uv's own cache
        requirements_file = root / "requirements.txt"
        requirements_file.write_text("".join(f"{line}\n" for line in requirements))

        def capture_into(name: str) -> EnvironmentRecord:
            return capture_environment(root / name, requirements=requirements_file, include=include)

        record, first = timed(lambda: capture_into("first"))
        _, second = timed(lambda: capture_into("second"))
        environment_dir = root / "first" / "environment"
        _, venv_cold = timed(lambda: build_venv(environment_dir, record))
        _, venv_warm = timed(lambda: build_venv(environment_dir, record))

        wheels = len(list((environment_dir / "wheelhouse").glob("*.whl")))
        artifact = disk_usage([environment_dir])
        cached = [root / "cache" / "environments", root / "cache" / "wheels"]
        cache = disk_usage(cached)
        together = disk_usage([environment_dir, root / "second" / "environment", *cached])
        venv = disk_usage([root / "cache" / "venvs"])

        logger.info("environment: %s + %s -> %d wheels (%s)", requirements, include, wheels, record.kind)
        logger.info("first capture (cold cache):  %.3f s", first)
        logger.info(
            "second capture (same env):   %.3f s   (target <= %.1f s: %s)",
            second,
            SECOND_CAPTURE_TARGET_S,
            "met" if second <= SECOND_CAPTURE_TARGET_S else "MISSED",
        )
        logger.info("first / second:              %.0fx", first / second)
        logger.info(
            "venv rebuild cold / warm:    %.3f s / %.4f s (%s)",
            venv_cold,
            venv_warm,
            "uv" if shutil.which("uv") else "venv + pip",
        )
        logger.info("artifact environment/ alone: %s", mib(artifact))
        logger.info("cache (environments+wheels): %s", mib(cache))
        logger.info("two artifacts + cache:       %s (hard links: no second copy)", mib(together))
        logger.info("rebuilt venv:                %s", mib(venv))

        inferred, whole = inferred_against_whole(root, include)
        logger.info(
            "numpy model, no requirements file: %s inferred from its code, whole virtualenv %s: %.2fx the size",
            mib(inferred),
            mib(whole),
            inferred / whole,
        )


def inferred_against_whole(root: Path, include: list[str]) -> tuple[int, int]:
    """Disk taken by the environment save() infers for a numpy model, and by this whole virtualenv."""

    @model(name="bench-inferred", local_folder=str(root / "inferred"))
    def doubler(values: np.ndarray) -> np.ndarray:
        return values * 2

    save(doubler)
    capture_environment(root / "whole", requirements=None, include=include)
    return disk_usage([root / "inferred" / "environment"]), disk_usage([root / "whole" / "environment"])


def _is_installed(name: str) -> bool:
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


if __name__ == "__main__":
    main()
