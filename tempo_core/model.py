"""Models: what every tempo model shares, and `Model`, a standard artifact run by a prepackaged server."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import ValidationError

from tempo_core.concurrency import run_in_pool
from tempo_core.details import ModelDetails
from tempo_core.errors import ArgumentError, ModelDefinitionError
from tempo_core.framework_loaders import Predictor, load_predictor
from tempo_core.frameworks import ModelFramework
from tempo_core.loading import LoadOnce
from tempo_core.options import RuntimeOptions
from tempo_core.signature import Signature, TensorSpec, ValueKind, signature_from_specs

if TYPE_CHECKING:
    from tempo_core.protocol import WireProtocol

__all__ = ["Servable", "Model", "build_details", "as_servable"]

STANDARD_SIGNATURE = Signature(
    inputs=(TensorSpec(name="input", kind=ValueKind.ndarray),),
    outputs=(TensorSpec(name="output0", kind=ValueKind.ndarray),),
)

Route = Callable[[dict[str, Any]], Any]


def build_details(**fields: Any) -> ModelDetails:
    """Build ModelDetails, turning pydantic's validation error into a ModelDefinitionError naming the field."""
    try:
        return ModelDetails(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ModelDefinitionError(
            f"model {fields.get('name')!r}: field '{field}': {first['msg'].removeprefix('Value error, ')}"
        ) from None


class Servable(ABC):
    """What every tempo model shares: details, a protocol, runtime options, and an in-process call."""

    def __init__(
        self,
        details: ModelDetails,
        protocol: WireProtocol | None = None,
        runtime_options: RuntimeOptions | None = None,
    ) -> None:
        self.details = details
        self.protocol = protocol
        self.runtime_options = runtime_options
        self._route: Route | None = None

    @property
    def name(self) -> str:
        """The model's name, unique among what one runtime serves."""
        return self.details.name

    @property
    def signature(self) -> Signature:
        """The model's inputs and outputs."""
        return self.details.signature

    def get_tempo(self) -> Servable:
        """Return this model; decorated classes and their instances answer the same call."""
        return self

    @abstractmethod
    def bind_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Return the call's arguments by input name, checked against the signature."""

    @abstractmethod
    def call_in_process(self, arguments: dict[str, Any]) -> Any:
        """Run the model in this process on arguments already bound by name."""

    @property
    def is_async(self) -> bool:
        """Whether calling the model in-process gives a coroutine (its code is an `async def`)."""
        return False

    def route_to(self, route: Route | None) -> None:
        """Send this model's calls through `route` (a deployed server) instead of running them here."""
        self._route = route

    async def call_async(self, arguments: dict[str, Any]) -> Any:
        """The call, awaitable: through its route or its own code, blocking work on tempo's pool of threads, so calls
        awaited together run at the same time."""
        if self._route is not None:
            return await run_in_pool(self._route, arguments)
        if self.is_async:
            return await self.call_in_process(arguments)
        return await run_in_pool(self.call_in_process, arguments)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        arguments = self.bind_arguments(args, kwargs)
        if self._route is not None:
            return self._route(arguments)
        return self.call_in_process(arguments)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_route"] = None
        return state

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, platform={self.details.platform.value!r})"


class Model(Servable):
    """A standard artifact (an sklearn joblib file, an xgboost model, ...) served by a prepackaged server.

    It takes one array input named `input`. Called in-process, it loads `local_folder` with its
    framework's own loader, once, the first time it is called.
    """

    def __init__(
        self,
        name: str,
        platform: ModelFramework,
        local_folder: str | None = None,
        uri: str | None = None,
        protocol: WireProtocol | None = None,
        inputs: Any = None,
        outputs: Any = None,
        description: str = "",
        runtime_options: RuntimeOptions | None = None,
    ) -> None:
        platform = ModelFramework(platform)
        if platform.is_custom_code:
            raise ModelDefinitionError(
                f"model {name!r}: platform {platform.name} is for decorated Python code; "
                "use @model or @pipeline on a function or class instead of Model(...)."
            )
        signature = STANDARD_SIGNATURE
        if inputs is not None or outputs is not None:
            signature = signature_from_specs(
                inputs if inputs is not None else {"input": np.ndarray},
                outputs if outputs is not None else np.ndarray,
                model_name=name,
            )
        details = build_details(
            name=name,
            platform=platform,
            signature=signature,
            uri=uri,
            local_folder=local_folder,
            description=description,
        )
        super().__init__(details, protocol, runtime_options)
        self._predictor = LoadOnce(self._load)

    def _load(self) -> Predictor:
        return load_predictor(self.details.platform, self.details.local_folder, self.name)

    def bind_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Accept the one input by position or by its name."""
        names = self.signature.input_names()
        if len(args) + len(kwargs) != 1 or (kwargs and next(iter(kwargs)) not in names):
            raise ArgumentError(
                f"model '{self.name}' takes one array, by position or as {names[0]}=...; "
                f"got {len(args)} positional and {sorted(kwargs)} by name."
            )
        value = args[0] if args else next(iter(kwargs.values()))
        if not isinstance(value, np.ndarray):
            raise ArgumentError(
                f"model '{self.name}': input '{names[0]}' got {type(value).__name__}, but the signature "
                "expects ndarray; pass a numpy array (np.asarray(...))."
            )
        return {names[0]: value}

    def call_in_process(self, arguments: dict[str, Any]) -> Any:
        """Predict with the framework's own loader, loading the artifact on first use."""
        return self._predictor.get()(next(iter(arguments.values())))

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_predictor"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._predictor = LoadOnce(self._load)


def as_servable(obj: Any) -> Servable:
    """Return the tempo model behind `obj`: a model itself, or a decorated class or instance."""
    if isinstance(obj, Servable):
        return obj
    get_tempo = getattr(obj, "get_tempo", None)
    if callable(get_tempo):
        servable = get_tempo()
        if isinstance(servable, Servable):
            return servable
    raise ModelDefinitionError(f"{obj!r} is not a tempo model; define it with Model(...), @model or @pipeline.")
