"""Custom models: decorated Python functions and classes, loaded lazily and run in-process."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from tempo_core.details import ModelDetails
from tempo_core.errors import ModelDefinitionError
from tempo_core.loading import LoadOnce
from tempo_core.model import Servable
from tempo_core.options import RuntimeOptions
from tempo_core.signature import BoundCall

if TYPE_CHECKING:
    from tempo_core.protocol import WireProtocol

__all__ = ["CustomModel", "PREDICT_MARKER"]

PREDICT_MARKER = "__tempo_predictmethod__"
_INSTANCE_ATTRIBUTE = "_tempo_model"


class CustomModel(Servable):
    """A model whose code is a decorated function, or a decorated class with one `@predictmethod`.

    A function model's loader (registered with `.loadmethod`) runs once before the first prediction;
    a class model's loader is its constructor. Both share `context`, a namespace the loader fills.
    """

    def __init__(
        self,
        code: Callable[..., Any] | type,
        details: ModelDetails,
        protocol: WireProtocol | None = None,
        runtime_options: RuntimeOptions | None = None,
        predict_method: str | None = None,
    ) -> None:
        super().__init__(details, protocol, runtime_options)
        self._code = code
        self._predict_method = predict_method
        self._loader: Callable[[], Any] | None = None
        self._reset_runtime_state()

    def _reset_runtime_state(self) -> None:
        self.context = SimpleNamespace()
        # The sha256 of the saved code this model was loaded from; None for a model defined in this process.
        self.loaded_code_sha256: str | None = None
        self._loaded = LoadOnce(self._load)
        predict = getattr(self._code, self._predict_method) if self._predict_method else self._code
        self._binder = BoundCall(predict, self.signature, self.name)

    @property
    def is_async(self) -> bool:
        """Whether the code that predicts is an `async def`: calling the model in-process gives a coroutine."""
        predict = getattr(self._code, self._predict_method) if self._predict_method else self._code
        return inspect.iscoroutinefunction(predict)

    @property
    def is_class_model(self) -> bool:
        """Whether the code is a class whose instances predict through a `@predictmethod`."""
        return self._predict_method is not None

    def loadmethod(self, loader: Callable[[], Any]) -> Callable[[], Any]:
        """Register `loader` to run once, lazily, before the first prediction; returns it unchanged."""
        if self.is_class_model:
            raise ModelDefinitionError(
                f"model '{self.name}': .loadmethod is for decorated functions; a class model loads in __init__."
            )
        self._loader = loader
        return loader

    def _load(self) -> Any:
        if self.is_class_model:
            cls: Any = self._code
            instance: Any = cls.__new__(cls)
            instance.__dict__[_INSTANCE_ATTRIBUTE] = self
            instance.__init__()
            return getattr(instance, self._predict_method)  # type: ignore[arg-type]
        if self._loader is not None:
            self._loader()
        return self._code

    def load(self) -> None:
        """Run the loader now rather than at the first prediction."""
        self._loaded.get()

    def bind_instance(self, instance: object) -> None:
        """Serve predictions with an instance the user already built, instead of building one."""
        self._loaded.set(getattr(instance, self._predict_method))  # type: ignore[arg-type]

    def bind_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Bind by the function's own signature: positional and keyword arguments both work."""
        return self._binder.bind(args, kwargs)

    def call_in_process(self, arguments: dict[str, Any]) -> Any:
        """Run the code in this process, loading it first if needed."""
        return self._loaded.get()(**arguments)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        for runtime_only in ("context", "_loaded", "_binder", "loaded_code_sha256"):
            state.pop(runtime_only, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset_runtime_state()


def find_predict_method(cls: type, model_name: str) -> str:
    """Return the name of the one method of `cls` marked `@predictmethod`, else of its own `__call__`."""
    marked = [
        name for name, member in inspect.getmembers(cls, inspect.isfunction) if getattr(member, PREDICT_MARKER, False)
    ]
    if not marked and inspect.isfunction(vars(cls).get("__call__")):
        return "__call__"
    if len(marked) != 1:
        found = f"found {len(marked)}" + (f" ({', '.join(marked)})" if marked else "")
        raise ModelDefinitionError(
            f"model '{model_name}': class {cls.__qualname__} needs exactly one method marked @predictmethod, "
            f"{found}; mark the method that predicts, and only that one (or make it the class's __call__)."
        )
    return marked[0]


def instance_model(instance: object, class_model: CustomModel) -> CustomModel:
    """Return the model of one instance of a decorated class: the class's model, bound to that instance."""
    existing = instance.__dict__.get(_INSTANCE_ATTRIBUTE)
    if existing is None:
        existing = copy.copy(class_model)
        existing.bind_instance(instance)
        instance.__dict__[_INSTANCE_ATTRIBUTE] = existing
    return existing  # type: ignore[no-any-return]
