"""Fixtures for tempo-kfserving's tests: trained iris artifacts and the models of the seed workflow."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[3] / "examples"


@pytest.fixture(scope="session", autouse=True)
def own_local_deployments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep this run's local-runtime records apart from other tempo processes on the machine."""
    patch = pytest.MonkeyPatch()
    patch.setenv("TEMPO_STATE_DIR", str(tmp_path_factory.mktemp("local-runtime")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def iris_artifacts(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A folder with an sklearn LogisticRegression and an xgboost classifier trained on iris."""
    sys.path.insert(0, str(EXAMPLES / "iris"))
    from models import train

    folder = tmp_path_factory.mktemp("iris-artifacts")
    train(str(folder))
    return str(folder)
