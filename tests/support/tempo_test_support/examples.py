"""The repository's examples (examples/<name>/models.py), imported as a user's script imports its own `models`."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import numpy as np
import pytest

from tempo_test_support.docker_engine import REPO

__all__ = ["example_models", "CUSTOM_EXAMPLES"]

# The custom-model examples (a function model with a loader, and a class model) with what to call them with, as
# `pytest.mark.parametrize(("example", "arguments"), CUSTOM_EXAMPLES)` takes them.
CUSTOM_EXAMPLES = [
    pytest.param(
        "custom-model", {"marriage": np.array([20.0, 25.5]), "age": np.array([26.0, 28.0])}, id="function-with-loader"
    ),
    pytest.param("outlier", {"payload": np.array([[5.1, 3.5, 1.4, 0.2], [30.0, 0.1, 22.0, 9.0]])}, id="class"),
]


def example_models(name: str) -> ModuleType:
    """The `models.py` of examples/<name>, imported under a name of its own (`example_<name>_models`), since every
    example's module is called `models`; a model saved from it carries its code by value, as from a user's script."""
    path = REPO / "examples" / name / "models.py"
    module_name = f"example_{name.replace('-', '_')}_models"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
