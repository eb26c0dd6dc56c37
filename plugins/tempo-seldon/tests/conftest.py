"""Fixtures for tempo-seldon's tests: the SeldonDeployment schema and the trained iris models."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
EXAMPLES = Path(__file__).parents[3] / "examples"


@pytest.fixture(scope="session")
def seldon_schema() -> dict[str, Any]:
    """The SeldonDeployment v1 `openAPIV3Schema` of Seldon Core v1.17.1, loaded once (see specs/README.md)."""
    schema: dict[str, Any] = json.loads((HERE / "specs" / "seldondeployment.schema.json").read_text())
    return schema


@pytest.fixture(scope="session")
def iris_artifacts(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A folder with an sklearn LogisticRegression and an xgboost classifier trained on iris."""
    sys.path.insert(0, str(EXAMPLES / "iris"))
    from models import train

    folder = tmp_path_factory.mktemp("iris-artifacts")
    train(str(folder))
    return str(folder)
