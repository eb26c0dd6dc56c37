"""An outlier detector as a class model: scikit-learn's IsolationForest, loaded from local_folder in __init__."""

from __future__ import annotations

import os
from pathlib import Path

import joblib
import numpy as np

from tempo_core import ModelFramework, model, predictmethod

DETECTOR_FILE = "detector.joblib"


def train(local_folder: str) -> None:
    """Fit an IsolationForest on the iris measurements and save it with joblib into local_folder."""
    from sklearn.datasets import load_iris
    from sklearn.ensemble import IsolationForest

    features, _ = load_iris(return_X_y=True)
    Path(local_folder).mkdir(parents=True, exist_ok=True)
    joblib.dump(IsolationForest(random_state=0).fit(features), Path(local_folder) / DETECTOR_FILE)


def get_tempo_artifact(local_folder: str) -> type:
    """The detector class: its constructor loads the forest, its `@predictmethod` scores a batch."""

    @model(
        name="iris-outlier",
        platform=ModelFramework.Custom,
        local_folder=local_folder,
        uri="s3://tempo/outlier/iris",
    )
    class OutlierModel:
        def __init__(self) -> None:
            models_folder = self.get_tempo().details.local_folder
            self.detector = joblib.load(os.path.join(models_folder, DETECTOR_FILE))

        @predictmethod
        def outlier(self, payload: np.ndarray) -> dict:
            scores = self.detector.decision_function(payload)
            return {
                "data": {"is_outlier": (scores < 0).astype(int).tolist(), "instance_score": scores.tolist()},
                "meta": {"name": type(self.detector).__name__},
            }

    return OutlierModel
