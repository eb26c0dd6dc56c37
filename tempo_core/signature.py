"""Signatures: the named, typed inputs and outputs of a model, read from type hints.

A signature is what a protocol needs to turn a call into a request and a response back into
the value an in-process call returns. It is a pydantic model, so it travels in manifests as JSON.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import Any, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, create_model, field_validator, model_validator

from tempo_core.errors import ArgumentError, SignatureError

__all__ = [
    "ValueKind",
    "TensorSpec",
    "Signature",
    "signature_from_function",
    "signature_from_specs",
    "BoundCall",
    "bind_by_signature",
]


class ValueKind(str, Enum):
    """How a Python value travels: as a tensor, a string, raw bytes, a scalar or JSON."""

    ndarray = "ndarray"
    str = "str"
    bytes = "bytes"
    int = "int"
    float = "float"
    bool = "bool"
    json = "json"


_SCALARS: dict[Any, ValueKind] = {
    str: ValueKind.str,
    bytes: ValueKind.bytes,
    int: ValueKind.int,
    float: ValueKind.float,
    bool: ValueKind.bool,
}
_JSON_ORIGINS = (dict, list, Mapping, Sequence)


class TensorSpec(BaseModel):
    """One named input or output of a model.

    An array's `dtype` (a numpy dtype name) and `shape` (-1 for a dimension of any size), when given, are what the
    model's metadata advertises, so a client can build a request from it; tempo does not check calls against them.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    kind: ValueKind = ValueKind.ndarray
    optional: bool = False
    dtype: str | None = None
    shape: tuple[int, ...] | None = None

    @field_validator("dtype")
    @classmethod
    def _dtype_is_numpy(cls, dtype: str | None) -> str | None:
        if dtype is None:
            return None
        try:
            return np.dtype(dtype).name
        except TypeError:
            raise ValueError(f"{dtype!r} is not a numpy dtype; write e.g. 'float32' or 'int64'") from None

    @field_validator("shape")
    @classmethod
    def _dimensions_are_sizes(cls, shape: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if shape is not None and any(size < -1 for size in shape):
            raise ValueError(f"shape {list(shape)}: a dimension is a size, or -1 for any size")
        return shape

    @model_validator(mode="after")
    def _only_arrays_have_dtype_and_shape(self) -> TensorSpec:
        if self.kind is not ValueKind.ndarray and (self.dtype is not None or self.shape is not None):
            raise ValueError(f"'{self.name}' is a {self.kind.value}; only arrays (ndarray) take a dtype and shape")
        return self


class Signature(BaseModel):
    """A model's inputs and outputs; `multiple_outputs` means the call returns a tuple of them."""

    model_config = ConfigDict(frozen=True)

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    multiple_outputs: bool = False

    def input_names(self) -> list[str]:
        """The input names, in the order of the function's parameters."""
        return [spec.name for spec in self.inputs]


def kind_of(hint: Any, *, where: str) -> tuple[ValueKind, bool]:
    """Map one type hint to how its value travels, and whether it may be None."""
    if hint is inspect.Parameter.empty or hint is Any:
        return ValueKind.ndarray, False
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        optional = len(members) < len(typing.get_args(hint))
        if len(members) == 1:
            kind, _ = kind_of(members[0], where=where)
            return kind, optional
        raise SignatureError(
            f"{where}: the union {hint!r} has no single wire type; "
            "use one type (Optional[X] is fine) or pass inputs=/outputs= explicitly."
        )
    if hint is np.ndarray or origin is np.ndarray:
        return ValueKind.ndarray, False
    if hint in _SCALARS:
        return _SCALARS[hint], False
    if hint in (dict, list) or origin in _JSON_ORIGINS:
        _require_json_keeps(hint, hint, where=where)
        return ValueKind.json, False
    raise SignatureError(
        f"{where}: the type {hint!r} is not supported; use np.ndarray, str, bytes, int, float, "
        "bool, dict or list (JSON), or Optional/Tuple of these."
    )


_JSON_LEAVES = (str, int, float, bool, type(None), Any)


def _require_json_keeps(hint: Any, whole: Any, *, where: str) -> None:
    """Refuse a list or dict hint whose members JSON cannot give back as they were (arrays, tuples, bytes)."""
    origin = typing.get_origin(hint)
    members = typing.get_args(hint)
    if hint in _JSON_LEAVES or hint in (dict, list):
        return
    if origin in (dict, Mapping) and members and members[0] not in (str, Any):
        raise SignatureError(
            f"{where}: {whole!r} travels as JSON, whose keys are text, so its "
            f"{getattr(members[0], '__name__', members[0])} keys would come back as str; key the dict by str."
        )
    if origin in (Union, types.UnionType, *_JSON_ORIGINS):
        for member in members:
            _require_json_keeps(member, whole, where=where)
        return
    raise SignatureError(
        f"{where}: {whole!r} travels as JSON, which would give {_json_name(hint)} back as "
        f"{'text' if hint is bytes else 'lists'}, so the deployed model would not return what it returns "
        "in-process; return Tuple[np.ndarray, ...] with one member per array (a fixed number of outputs), or "
        "JSON values only (lists, dicts keyed by str, str, int, float, bool)."
    )


def _json_name(hint: Any) -> str:
    if hint is np.ndarray or typing.get_origin(hint) is np.ndarray:
        return "arrays"
    if _is_tuple_hint(hint):
        return "tuples"
    return f"{getattr(hint, '__name__', None) or repr(hint)} values"


def _is_tuple_hint(hint: Any) -> bool:
    return hint is tuple or typing.get_origin(hint) is tuple


def _specs_from_explicit(
    value: Any, *, default_name: str, where: str, names: Sequence[str] | None = None
) -> tuple[TensorSpec, ...]:
    """Turn an explicit inputs=/outputs= value (a type, a list of types, a name->type mapping) into specs.

    Unnamed types take `names` when given (a function's parameters), else `<default_name><index>`.
    """
    if isinstance(value, TensorSpec):
        return (value,)
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        if all(isinstance(item, TensorSpec) for item in value):
            return tuple(value)
        items = list(zip(_names_for(len(value), default_name, names), value, strict=True))
    else:
        items = [(_names_for(1, default_name, names)[0], value)]
    return tuple(_spec(name, hint, where=where) for name, hint in items)


def _names_for(count: int, default_name: str, names: Sequence[str] | None) -> list[str]:
    if names is None:
        return [f"{default_name}{index}" for index in range(count)]
    return list(names)


def _spec(name: str, hint: Any, *, where: str) -> TensorSpec:
    kind, optional = kind_of(hint, where=f"{where} '{name}'")
    return TensorSpec(name=name, kind=kind, optional=optional)


def _parameters(func: Callable[..., Any]) -> list[inspect.Parameter]:
    params = list(inspect.signature(func).parameters.values())
    if params and params[0].name in ("self", "cls") and not inspect.ismethod(func):
        params = params[1:]
    return params


def signature_from_specs(inputs: Any, outputs: Any, *, model_name: str) -> Signature:
    """Build a signature from explicit specs: a type, a list of types, a name->type mapping or TensorSpecs.

    A list or tuple of outputs means the call returns a tuple.
    """
    where = f"model '{model_name}'"
    input_specs = _specs_from_explicit(inputs, default_name="input", where=f"{where} input")
    output_specs = _specs_from_explicit(outputs, default_name="output", where=f"{where} output")
    multiple = len(output_specs) > 1 or isinstance(outputs, (list, tuple))
    return Signature(inputs=input_specs, outputs=output_specs, multiple_outputs=multiple)


def signature_from_function(
    func: Callable[..., Any],
    *,
    model_name: str,
    inputs: Any = None,
    outputs: Any = None,
) -> Signature:
    """Read a signature from `func`'s type hints; explicit `inputs`/`outputs` override the hints."""
    where = f"model '{model_name}'"
    try:
        hints = typing.get_type_hints(func)
    except Exception as exc:  # unresolvable forward references and the like
        raise SignatureError(
            f"{where}: cannot read the type hints of {func.__qualname__} ({exc}); "
            "import the types it names at module level or pass inputs=/outputs= explicitly."
        ) from exc
    params = _parameters(func)
    for param in params:
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise SignatureError(
                f"{where}: parameter '*{param.name}' has no fixed name to send over the wire; "
                "list each input as its own parameter."
            )
    if inputs is not None:
        input_specs = _explicit_inputs(inputs, params, func, where=where)
    else:
        input_specs = tuple(
            _spec(param.name, hints.get(param.name, param.annotation), where=f"{where} input") for param in params
        )
    if outputs is not None:
        return signature_from_specs(input_specs, outputs, model_name=model_name)
    returned = hints.get("return", inspect.Parameter.empty)
    if _is_tuple_hint(returned):
        members = typing.get_args(returned)
        if not members or (len(members) == 2 and members[1] is Ellipsis):
            raise SignatureError(
                f"{where}: the return hint {returned!r} does not say how many outputs there are; "
                "write Tuple[X, Y] with one type per output."
            )
        output_specs = _specs_from_explicit(list(members), default_name="output", where=f"{where} output")
        return Signature(inputs=input_specs, outputs=output_specs, multiple_outputs=True)
    return Signature(inputs=input_specs, outputs=(_spec("output0", returned, where=f"{where} output"),))


def _explicit_inputs(
    inputs: Any, params: list[inspect.Parameter], func: Callable[..., Any], *, where: str
) -> tuple[TensorSpec, ...]:
    """Specs for explicit inputs=, named after the function's own parameters: a call binds by those names."""
    parameter_names = [param.name for param in params]
    unnamed = not isinstance(inputs, (Mapping, TensorSpec)) and not (
        isinstance(inputs, (list, tuple)) and inputs and all(isinstance(item, TensorSpec) for item in inputs)
    )
    taken = "(" + ", ".join(parameter_names) + ")"
    if unnamed:
        count = len(inputs) if isinstance(inputs, (list, tuple)) else 1
        if count != len(parameter_names):
            raise SignatureError(
                f"{where}: inputs= gives {count} type(s), but {func.__qualname__} takes {len(parameter_names)} "
                f"parameter(s) {taken}; give one type per parameter, in order, or a mapping of parameter name to type."
            )
        return _specs_from_explicit(inputs, default_name="input", where=f"{where} input", names=parameter_names)
    specs = _specs_from_explicit(inputs, default_name="input", where=f"{where} input")
    unknown = [spec.name for spec in specs if spec.name not in parameter_names]
    required = [param.name for param in params if param.default is inspect.Parameter.empty]
    missing = [name for name in required if name not in {spec.name for spec in specs}]
    if unknown or missing:
        problems = [f"{', '.join(unknown)} not among its parameters"] if unknown else []
        problems += [f"no type for {', '.join(missing)}"] if missing else []
        raise SignatureError(
            f"{where}: inputs= names {', '.join(spec.name for spec in specs)}, but {func.__qualname__} takes "
            f"{taken} ({'; '.join(problems)}); name each input after the parameter that receives it."
        )
    return specs


_PYTHON_TYPES: dict[ValueKind, Any] = {
    ValueKind.ndarray: np.ndarray,
    ValueKind.str: str,
    ValueKind.bytes: bytes,
    ValueKind.int: int,
    ValueKind.float: float,
    ValueKind.bool: bool,
    ValueKind.json: dict | list,
}


def bind_by_signature(
    signature: Signature, args: Sequence[Any], kwargs: Mapping[str, Any], model_name: str
) -> dict[str, Any]:
    """Bind a call to a signature's input names when there is no Python function to bind by."""
    names = signature.input_names()
    if len(args) > len(names):
        raise ArgumentError(
            f"model '{model_name}' takes {len(names)} inputs ({', '.join(names)}), got {len(args)} positional arguments"
        )
    arguments = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key not in names:
            raise ArgumentError(f"model '{model_name}' has no input '{key}'; its inputs are: {', '.join(names)}")
        if key in arguments:
            raise ArgumentError(f"model '{model_name}': input '{key}' was given twice, by position and by name")
        arguments[key] = value
    missing = [spec.name for spec in signature.inputs if spec.name not in arguments and not spec.optional]
    if missing:
        raise ArgumentError(
            f"model '{model_name}': missing input(s) {', '.join(missing)}; pass them by position or by name"
        )
    return arguments


class BoundCall:
    """Binds a call's arguments by a function's own signature and checks them against the model's."""

    def __init__(self, func: Callable[..., Any], signature: Signature, model_name: str) -> None:
        self._model_name = model_name
        self._python_signature = inspect.Signature(_parameters(func))
        self._names = {param.name for param in self._python_signature.parameters.values()}
        fields: dict[str, Any] = {}
        for spec in signature.inputs:
            if spec.name not in self._names:
                continue
            python_type = _PYTHON_TYPES[spec.kind]
            fields[spec.name] = (python_type | None if spec.optional else python_type, ...)
        self._validator: type[BaseModel] = create_model(  # type: ignore[call-overload]
            f"{model_name}-arguments",
            __config__=ConfigDict(arbitrary_types_allowed=True, strict=True),
            **fields,
        )

    def _refusal(self, problem: str) -> ArgumentError:
        expected = ", ".join(self._python_signature.parameters) or "no arguments"
        return ArgumentError(f"model '{self._model_name}': {problem}; it takes ({expected}), by position or by name.")

    def bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Return the call's arguments by parameter name, or raise ArgumentError naming the problem."""
        unexpected = [name for name in kwargs if name not in self._names]
        if unexpected:
            raise self._refusal(f"unexpected argument(s) {', '.join(map(repr, unexpected))}")
        try:
            bound = self._python_signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise self._refusal(str(exc)) from None
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        checked = {name: value for name, value in arguments.items() if name in self._validator.model_fields}
        try:
            self._validator.model_validate(checked)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "?"
            got = type(checked.get(str(first["loc"][0]))).__name__ if first["loc"] else "?"
            expected_type = self._validator.model_fields[str(first["loc"][0])].annotation
            raise ArgumentError(
                f"model '{self._model_name}': input '{field}' got {got}, but the signature expects "
                f"{getattr(expected_type, '__name__', expected_type)}; pass a value of that type."
            ) from None
        return arguments
