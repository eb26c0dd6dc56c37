"""tempo: define models and pipelines in Python, save them, serve them, deploy them, call them.

The names below are imported on first use: a model's server imports tempo's core to load the model, and should not
pay for the plugins, YAML and the Kubernetes runtime it never uses (about 0.1 s of a server start where its sources
are compiled as it starts, little where their bytecode is installed).
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from tempo_core.lazy import exports
from tempo_core.version import __version__

# ruff: noqa: F401 (the names below are for type checkers; at run time they are exported from _EXPORTS)
if TYPE_CHECKING:
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

# Each exported name, by the module that defines it.
_EXPORTS = {
    "BatchingOptions": "tempo_core.options",
    "ClientOptions": "tempo_core.options",
    "CustomModel": "tempo_core.custom",
    "LocalOptions": "tempo_core.options",
    "Model": "tempo_core.model",
    "ModelDetails": "tempo_core.details",
    "ModelFramework": "tempo_core.frameworks",
    "Pipeline": "tempo_core.pipeline",
    "PipelineModels": "tempo_core.pipeline",
    "RemoteModel": "tempo_core.remote",
    "RequestLogOptions": "tempo_core.options",
    "RuntimeOptions": "tempo_core.options",
    "Signature": "tempo_core.signature",
    "TempoError": "tempo_core.errors",
    "TensorSpec": "tempo_core.signature",
    "ValueKind": "tempo_core.signature",
    "attach": "tempo_core.api",
    "deploy": "tempo_core.api",
    "deploy_local": "tempo_core.api",
    "deploy_remote": "tempo_core.api",
    "download": "tempo_core.transfer",
    "hookimpl": "tempo_core.hookspecs",
    "load": "tempo_core.artifact",
    "manifest": "tempo_core.api",
    "model": "tempo_core.decorators",
    "pipeline": "tempo_core.decorators",
    "predictmethod": "tempo_core.decorators",
    "save": "tempo_core.artifact",
    "upload": "tempo_core.transfer",
}

__all__ = ["__version__", *_EXPORTS]


__getattr__, __dir__ = exports(__name__, _EXPORTS)


class _Package(types.ModuleType):
    """`tempo_core.model`, `.pipeline` and `.manifest` are functions that share their names with submodules; importing
    such a submodule later must not put the module in the function's place (Python binds a submodule on its
    package)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name, f"{__name__}.{name}") != value.__name__:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
