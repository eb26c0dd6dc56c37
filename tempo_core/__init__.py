"""tempo: define models and pipelines in Python, save them, serve them, deploy them, call them."""

from tempo_core.api import attach, deploy, deploy_local, deploy_remote, manifest
from tempo_core.artifact import load, save
from tempo_core.custom import CustomModel
from tempo_core.decorators import model, pipeline, predictmethod
from tempo_core.details import ModelDetails
from tempo_core.errors import TempoError
from tempo_core.frameworks import ModelFramework
from tempo_core.hookspecs import hookimpl
from tempo_core.model import Model
from tempo_core.options import BatchingOptions, ClientOptions, LocalOptions, RequestLogOptions, RuntimeOptions
from tempo_core.pipeline import Pipeline, PipelineModels
from tempo_core.remote import RemoteModel
from tempo_core.signature import Signature, TensorSpec, ValueKind
from tempo_core.transfer import download, upload
from tempo_core.version import __version__

__all__ = [
    "BatchingOptions",
    "ClientOptions",
    "CustomModel",
    "LocalOptions",
    "Model",
    "ModelDetails",
    "ModelFramework",
    "Pipeline",
    "PipelineModels",
    "RemoteModel",
    "RequestLogOptions",
    "RuntimeOptions",
    "Signature",
    "TempoError",
    "TensorSpec",
    "ValueKind",
    "__version__",
    "attach",
    "deploy",
    "deploy_local",
    "deploy_remote",
    "download",
    "hookimpl",
    "load",
    "manifest",
    "model",
    "pipeline",
    "predictmethod",
    "save",
    "upload",
]
