"""Every error tempo raises on purpose, in one place.

Messages name the thing, the problem and the fix. Lookup errors also subclass KeyError so that
callers who treat tempo's registries like mappings can catch them the usual way.
"""

from __future__ import annotations

__all__ = [
    "TempoError",
    "SignatureError",
    "ModelDefinitionError",
    "ArgumentError",
    "PluginError",
    "UnknownPluginObjectError",
    "DuplicateRegistrationError",
    "FrameworkNotInstalledError",
    "ArtifactError",
    "ArtifactIntegrityError",
    "EnvironmentCaptureError",
    "UploadError",
    "DeployError",
    "ServerNotReadyError",
    "PredictionError",
    "RemoteError",
]


class TempoError(Exception):
    """Base class of every error tempo raises on purpose."""


class ModelDefinitionError(TempoError, ValueError):
    """A model or pipeline is defined in a way tempo cannot serve."""


class SignatureError(ModelDefinitionError):
    """A type hint or an explicit inputs/outputs spec cannot become a signature."""


class ArgumentError(TempoError, TypeError):
    """A call's arguments do not fit the model's signature."""


class PluginError(TempoError):
    """A plugin is broken or missing."""


class UnknownPluginObjectError(PluginError, KeyError):
    """A name was looked up in a plugin registry and nothing registered it."""

    def __str__(self) -> str:
        # KeyError quotes its argument; a message should read as a sentence.
        return str(self.args[0]) if self.args else ""


class DuplicateRegistrationError(PluginError):
    """Two plugins registered the same name in one registry."""


class FrameworkNotInstalledError(TempoError, ImportError):
    """Running a standard artifact in-process needs its framework's package."""


class ArtifactError(TempoError):
    """A saved artifact folder is missing, incomplete or unusable."""


class ArtifactIntegrityError(ArtifactError):
    """A file in an artifact does not match the hash its manifest records."""


class EnvironmentCaptureError(ArtifactError):
    """The environment that runs a model could not be captured or rebuilt."""


class UploadError(TempoError):
    """Copying an artifact to or from a URI failed."""


class DeployError(TempoError):
    """A runtime could not start, find or stop a model's server."""


class ServerNotReadyError(DeployError, TimeoutError):
    """A model's server did not become ready in time, or died while starting."""


class PredictionError(TempoError):
    """A deployed model answered a prediction with an error."""


class RemoteError(PredictionError):
    """A deployed model rejected a request or failed while serving it."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
