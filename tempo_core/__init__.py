"""tempo: define models and pipelines in Python, save them, serve them, deploy them, call them."""

from tempo_core.custom import CustomModel
from tempo_core.decorators import model, pipeline, predictmethod
from tempo_core.details import ModelDetails
from tempo_core.errors import TempoError
from tempo_core.frameworks import ModelFramework
from tempo_core.hookspecs import hookimpl
from tempo_core.model import Model
from tempo_core.options import LocalOptions, RuntimeOptions
from tempo_core.pipeline import Pipeline, PipelineModels
from tempo_core.signature import Signature, TensorSpec, ValueKind

__version__ = "0.1.0"

__all__ = [
    "CustomModel",
    "LocalOptions",
    "Model",
    "ModelDetails",
    "ModelFramework",
    "Pipeline",
    "PipelineModels",
    "RuntimeOptions",
    "Signature",
    "TempoError",
    "TensorSpec",
    "ValueKind",
    "__version__",
    "hookimpl",
    "model",
    "pipeline",
    "predictmethod",
]
