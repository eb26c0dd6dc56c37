"""The decorators a data scientist writes: `@model`, `@pipeline` and `@predictmethod`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from tempo_core.custom import PREDICT_MARKER, CustomModel, find_predict_method, instance_model
from tempo_core.errors import ModelDefinitionError
from tempo_core.frameworks import ModelFramework
from tempo_core.model import build_details
from tempo_core.options import RuntimeOptions
from tempo_core.pipeline import Pipeline, PipelineModels
from tempo_core.signature import signature_from_function

if TYPE_CHECKING:
    from tempo_core.protocol import WireProtocol

__all__ = ["model", "pipeline", "predictmethod"]

F = TypeVar("F", bound=Callable[..., Any])


def predictmethod(method: F) -> F:
    """Mark the one method of a `@model` or `@pipeline` class that predicts."""
    setattr(method, PREDICT_MARKER, True)
    return method


class _GetTempo:
    """`get_tempo()` on a decorated class returns its model; on an instance, the model bound to it."""

    def __init__(self, class_model: CustomModel) -> None:
        self.class_model = class_model

    def __get__(self, instance: object | None, owner: type) -> Callable[[], CustomModel]:
        if instance is None:
            return lambda: self.class_model
        return lambda: instance_model(instance, self.class_model)


def _call_through_tempo(self: Any, *args: Any, **kwargs: Any) -> Any:
    return self.get_tempo()(*args, **kwargs)


def _pipeline_models(self: Any) -> PipelineModels:
    return self.get_tempo().models  # type: ignore[no-any-return]


def _decorate(
    target: Any,
    *,
    model_class: type[CustomModel],
    name: str,
    platform: ModelFramework,
    protocol: WireProtocol | None,
    uri: str | None,
    local_folder: str | None,
    inputs: Any,
    outputs: Any,
    description: str,
    runtime_options: RuntimeOptions | None,
    extra: dict[str, Any],
) -> Any:
    is_class = inspect.isclass(target)
    if not is_class and not callable(target):
        raise ModelDefinitionError(
            f"model {name!r}: @model and @pipeline decorate a function or a class, not {target!r}"
        )
    predict_method = find_predict_method(target, name) if is_class else None
    if is_class and predict_method != "__call__" and "__call__" in vars(target):
        raise ModelDefinitionError(
            f"model {name!r}: class {target.__qualname__} defines __call__ and marks {predict_method} "
            "@predictmethod; tempo makes instances callable through the predict method, which would replace your "
            "__call__. Mark __call__ @predictmethod (or leave it unmarked and drop the other mark), or rename it."
        )
    predict = getattr(target, predict_method) if predict_method else target
    details = build_details(
        name=name,
        platform=platform,
        signature=signature_from_function(predict, model_name=name, inputs=inputs, outputs=outputs),
        uri=uri,
        local_folder=local_folder,
        description=description or (inspect.getdoc(target) or "").split("\n\n")[0],
    )
    tempo_model = model_class(
        target, details, protocol=protocol, runtime_options=runtime_options, predict_method=predict_method, **extra
    )
    if not is_class:
        return tempo_model
    target.get_tempo = _GetTempo(tempo_model)
    if predict_method != "__call__":
        target.__call__ = _call_through_tempo
    if isinstance(tempo_model, Pipeline):
        target.models = property(_pipeline_models)
    return target


def model(
    name: str,
    platform: ModelFramework = ModelFramework.Custom,
    protocol: WireProtocol | None = None,
    uri: str | None = None,
    local_folder: str | None = None,
    inputs: Any = None,
    outputs: Any = None,
    description: str = "",
    runtime_options: RuntimeOptions | None = None,
) -> Callable[[Any], Any]:
    """Turn a function, or a class with one `@predictmethod`, into a tempo model.

    A decorated function becomes the model itself; a decorated class stays a class whose instances
    (and the class) answer `get_tempo()`. Inputs and outputs come from type hints unless given.
    """

    framework = ModelFramework(platform)
    if framework is not ModelFramework.Custom:
        raise ModelDefinitionError(
            f"model {name!r}: platform={framework.name} names a prepackaged server, which serves a trained artifact "
            "and never runs decorated code, so the model would run your code in-process but not once deployed; use "
            f"Model(name, platform=ModelFramework.{framework.name}, local_folder=...) for the artifact, or drop "
            "platform= (it is ModelFramework.Custom) for your own code."
        )

    def decorate(target: Any) -> Any:
        return _decorate(
            target,
            model_class=CustomModel,
            name=name,
            platform=framework,
            protocol=protocol,
            uri=uri,
            local_folder=local_folder,
            inputs=inputs,
            outputs=outputs,
            description=description,
            runtime_options=runtime_options,
            extra={},
        )

    return decorate


def pipeline(
    name: str,
    models: PipelineModels | None = None,
    protocol: WireProtocol | None = None,
    uri: str | None = None,
    local_folder: str | None = None,
    inputs: Any = None,
    outputs: Any = None,
    description: str = "",
    runtime_options: RuntimeOptions | None = None,
) -> Callable[[Any], Any]:
    """Turn a function or class that orchestrates child models into a tempo pipeline.

    Inside, `my_pipeline.models.<child>(...)` (or `self.models.<child>` in a class) calls a child.
    """
    if models is not None and not isinstance(models, PipelineModels):
        raise ModelDefinitionError(
            f"pipeline {name!r}: models= must be PipelineModels(name=model, ...), got {type(models).__name__}"
        )

    def decorate(target: Any) -> Any:
        return _decorate(
            target,
            model_class=Pipeline,
            name=name,
            platform=ModelFramework.TempoPipeline,
            protocol=protocol,
            uri=uri,
            local_folder=local_folder,
            inputs=inputs,
            outputs=outputs,
            description=description,
            runtime_options=runtime_options,
            extra={"models": models if models is not None else PipelineModels()},
        )

    return decorate
