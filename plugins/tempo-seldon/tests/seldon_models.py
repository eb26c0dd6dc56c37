"""Models of every kind the manifest tests render: a standard artifact per framework, a function, a class."""

from __future__ import annotations

import numpy as np

from tempo_core import Model, ModelFramework, model, predictmethod
from tempo_core.model import Servable, as_servable

# Standard artifacts of every framework Seldon Core has a prepackaged server for.
FRAMEWORKS = [
    ModelFramework.SKLearn,
    ModelFramework.XGBoost,
    ModelFramework.MLFlow,
    ModelFramework.ONNX,
    ModelFramework.TensorFlow,
    ModelFramework.PyTorch,
    ModelFramework.Triton,
]


def standard_model(platform: ModelFramework) -> Model:
    """A standard artifact of `platform` stored in S3."""
    return Model(name=f"{platform.value}-model", platform=platform, uri=f"s3://models/{platform.value}")


def custom_function_model() -> Servable:
    """A decorated function with two inputs and a tuple output."""

    @model(name="scaler", uri="s3://models/scaler", local_folder="/tmp/never-used/scaler")
    def scaler(values: np.ndarray, label: str) -> tuple[np.ndarray, str]:
        return values * 2, label.upper()

    return scaler


def custom_class_model() -> Servable:
    """A decorated class with a `@predictmethod`."""

    @model(name="detector", uri="gs://models/detector", local_folder="/tmp/never-used/detector")
    class Detector:
        @predictmethod
        def detect(self, payload: np.ndarray) -> dict:
            return {"outlier": bool(payload.max() > 10)}

    return as_servable(Detector)
