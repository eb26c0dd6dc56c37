"""The repository's examples (examples/<name>/models.py), imported as a user's script imports its own `models`."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tempo_test_support.docker_engine import REPO

__all__ = ["example_models"]


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
