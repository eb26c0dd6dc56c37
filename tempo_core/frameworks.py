"""The frameworks a tempo model can be built on."""

from __future__ import annotations

from enum import Enum

__all__ = ["ModelFramework"]


class ModelFramework(str, Enum):
    """Where a model's code comes from: a standard artifact of a framework, or custom Python."""

    SKLearn = "sklearn"
    XGBoost = "xgboost"
    LightGBM = "lightgbm"
    MLFlow = "mlflow"
    ONNX = "onnx"
    TensorFlow = "tensorflow"
    PyTorch = "pytorch"
    Triton = "triton"
    Alibi = "alibi"
    Custom = "custom"
    TempoPipeline = "tempo-pipeline"

    @property
    def is_custom_code(self) -> bool:
        """True when the artifact is pickled Python code rather than a framework's own file."""
        return self in (ModelFramework.Custom, ModelFramework.TempoPipeline)
