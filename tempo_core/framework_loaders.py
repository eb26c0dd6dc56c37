"""In-process loaders for standard artifacts, using each framework's own file format."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from tempo_core.errors import ArtifactError, FrameworkNotInstalledError
from tempo_core.frameworks import ModelFramework

__all__ = ["load_predictor", "Predictor"]

Predictor = Callable[[np.ndarray], np.ndarray]

_PACKAGES = {
    ModelFramework.SKLearn: ("joblib", "scikit-learn"),
    ModelFramework.XGBoost: ("xgboost", "xgboost"),
}
_XGBOOST_FILES = ("model.bst", "model.json", "model.ubj")


def _require(module: str, distribution: str, model_name: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise FrameworkNotInstalledError(
            f"model '{model_name}' is a {distribution} artifact; running it in-process needs "
            f"{distribution}: pip install {distribution}"
        ) from exc


def _find(folder: str, names: tuple[str, ...], model_name: str) -> str:
    for name in names:
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    raise ArtifactError(
        f"model '{model_name}': none of {', '.join(names)} is in local_folder {folder}; "
        "save the trained model there under one of those names."
    )


def _sklearn(folder: str, model_name: str) -> Predictor:
    joblib = _require("joblib", "scikit-learn", model_name)
    _require("sklearn", "scikit-learn", model_name)
    estimator = joblib.load(_find(folder, ("model.joblib", "model.pkl"), model_name))
    return estimator.predict  # type: ignore[no-any-return]


def _xgboost(folder: str, model_name: str) -> Predictor:
    # The same scikit-learn interface, probed the same way, as mlserver-xgboost, so that in-process
    # and served predictions agree (class labels for a classifier, values for a regressor).
    xgboost = _require("xgboost", "xgboost", model_name)
    path = _find(folder, _XGBOOST_FILES, model_name)
    try:
        estimator = xgboost.XGBRegressor()
        estimator.load_model(path)
    except TypeError:
        estimator = xgboost.XGBClassifier()
        estimator.load_model(path)
    return estimator.predict  # type: ignore[no-any-return]


_LOADERS: dict[ModelFramework, Callable[[str, str], Predictor]] = {
    ModelFramework.SKLearn: _sklearn,
    ModelFramework.XGBoost: _xgboost,
}


def _as_served(predict: Predictor) -> Predictor:
    # MLServer's runtimes send a 1-d prediction as a column, shape [N, 1]; in-process calls return the
    # same shape so that a model gives one answer wherever it runs.
    def predict_as_served(payload: np.ndarray) -> np.ndarray:
        result = np.asarray(predict(payload))
        return result.reshape(-1, 1) if result.ndim == 1 else result

    return predict_as_served


def load_predictor(platform: ModelFramework, folder: str | None, model_name: str) -> Predictor:
    """Load a standard artifact from `folder` with its framework's loader.

    The returned function predicts what the artifact's MLServer runtime returns.
    """
    loader = _LOADERS.get(platform)
    if loader is None:
        supported = ", ".join(framework.name for framework in _LOADERS)
        raise ArtifactError(
            f"model '{model_name}': {platform.name} artifacts cannot run in-process (supported: {supported}); "
            "deploy it with deploy_local() to run it on its framework's server."
        )
    if not folder or not os.path.isdir(folder):
        raise ArtifactError(
            f"model '{model_name}': local_folder {folder!r} is not a folder; set local_folder to the "
            "folder that holds the trained model."
        )
    return _as_served(loader(folder, model_name))
