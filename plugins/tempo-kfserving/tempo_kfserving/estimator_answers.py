"""Requests to MLServer's sklearn runtime answered from the bytes, as that runtime answers them.

MLServer's sklearn runtime validates the request into pydantic models, decodes its one input through MLServer's
codecs, calls the estimator's `predict` (or `predict_proba`, as the request's outputs ask) and encodes each result
through the codecs into pydantic models again: several times the cost of a small estimator's own `predict`. For the
requests users send most, one numeric tensor with no content types, `EstimatorAnswers` does the same in a few
numpy calls and writes the JSON MLServer writes, byte for byte. It takes only what it is sure to answer alike:

- a JSON body (not the binary extension) holding `inputs` and, optionally, `id` and `outputs`, and nothing else;
- exactly one input with a name, a numeric datatype, a shape of non-negative integers and a flat list of as many
  numbers of that datatype's kind, with no parameters but NumPy's content type;
- outputs that are only names, `predict` or (for an estimator that has it) `predict_proba`.

Every other request goes to MLServer's runtime, which answers it (or words its error) itself. A model whose settings
change how MLServer decodes or encodes (content types, `predict_fn`, adaptive batching) registers no handler at all.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Container, Mapping
from typing import Any

import numpy as np
import orjson
from mlserver import MLModel
from mlserver.codecs.numpy import NumpyCodec, _DatatypeToNumpy, to_datatype
from mlserver.codecs.utils import inject_batch_dimension
from mlserver.errors import MLServerError
from mlserver.types import InferenceRequest

from tempo_kfserving import bookkeeping, direct
from tempo_kfserving.codec import HEADER_LENGTH

__all__ = ["EstimatorAnswers", "cannot_predict", "is_sklearn_runtime"]

_PREDICT, _PREDICT_PROBA = "predict", "predict_proba"
# MLServer's NumPy codec's dtypes for the numeric datatypes (its private table: mlserver is pinned to 1.7).
_DTYPES = {datatype.value: np.dtype(name) for datatype, name in _DatatypeToNumpy.items() if name != "bytes"}
# The Python types of the values each datatype's kind takes from JSON.
_VALUES = {"b": (bool,), "u": (int,), "i": (int,), "f": (int, float)}
_REQUEST_KEYS = frozenset({"id", "inputs", "outputs"})
_INPUT_KEYS = frozenset({"name", "datatype", "shape", "data", "parameters"})
_JSON = {"content-type": "application/json"}
_HEADER_LENGTH = HEADER_LENGTH.lower()
_BAD_REQUEST = 400


def cannot_predict(model_name: str, exc: Exception) -> MLServerError:
    """The 400 error of an estimator that raised on a request: the request's fault, with the estimator's message."""
    return MLServerError(
        f"model '{model_name}' cannot predict on this request ({type(exc).__name__}: {exc}); check the inputs' "
        f"datatype and shape against GET /v2/models/{model_name}",
        status_code=_BAD_REQUEST,
    )


def is_sklearn_runtime(model: MLModel) -> bool:
    """Whether `model` is served by MLServer's sklearn runtime (the class or a subclass of it)."""
    return any(
        cls.__name__ == "SKLearnModel" and cls.__module__.startswith("mlserver_sklearn") for cls in type(model).__mro__
    )


class EstimatorAnswers:
    """The direct answers of one loaded MLServer sklearn model (`model._model` its estimator)."""

    def __init__(self, model: MLModel) -> None:
        self._model = model
        self._estimator = model._model
        self._outputs = {_PREDICT} | ({_PREDICT_PROBA} if _has_predict_proba(self._estimator) else set())
        # The body `takes` read last and what it read, which `answer` then reads no more.
        self._last: tuple[bytes, tuple[dict[str, Any], np.ndarray[Any, Any]] | None] = (b"", None)

    @staticmethod
    def applies_to(model: MLModel) -> bool:
        """Whether `model` is served by MLServer's sklearn runtime, which would decode and encode its requests by
        NumPy's codec alone."""
        if not is_sklearn_runtime(model):
            return False
        settings = model.settings
        parameters = settings.parameters
        extra = (parameters.extra if parameters else None) or {}
        metadata = [*(model.inputs or []), *(model.outputs or [])]
        return (
            (settings.max_batch_size or 0) <= 1
            and (parameters is None or parameters.content_type is None)
            and "predict_fn" not in extra
            and all(tensor.parameters is None or tensor.parameters.content_type is None for tensor in metadata)
        )

    def register(self) -> None:
        """Answer the model's requests that `takes` accepts in this process."""
        direct.register_handler(self._model.name, self.answer, takes=self.takes, binary=False)

    def unregister(self) -> None:
        """Leave the model's requests to MLServer's runtime again."""
        direct.unregister_handler(self._model.name, self.answer)

    def takes(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Whether the request is one this answers exactly as MLServer's runtime would."""
        if _HEADER_LENGTH in headers:
            return False
        self._last = (body, self._read(body))
        return self._last[1] is not None

    async def answer(self, body: bytes, headers: Mapping[str, str]) -> direct.DirectAnswer:
        """The answer MLServer's runtime gives a request `takes` accepted; raises MLServerError (400) when the
        estimator cannot predict on it, as tempo's prepackaged runtimes do."""
        read = self._last[1] if self._last[0] is body else self._read(body)
        self._last = (b"", None)
        assert read is not None, "answer() is called only for what takes() accepts"
        document, values = read
        request_id = document.get("id")
        if request_id is None:
            request_id = bookkeeping.new_request_id()
        names = [item["name"] for item in document.get("outputs") or ()] or [_PREDICT]
        try:
            results = [getattr(self._estimator, name)(values) for name in names]
        except Exception as exc:
            raise cannot_predict(self._model.name, exc) from exc
        if all(isinstance(result, np.ndarray) and result.dtype.kind in "biuf" for result in results):
            outputs = [_output(name, result) for name, result in zip(names, results, strict=True)]
        else:  # what MLServer's codecs make of anything else, as they make it
            outputs = await self._outputs_by_mlserver(document)
        response: dict[str, Any] = {"model_name": self._model.name}
        if self._model.version:
            response["model_version"] = self._model.version
        # The parameters MLServer's answer keeps once its CloudEvents headers are taken out of them.
        response.update({"id": request_id, "parameters": {}, "outputs": outputs})
        return direct.DirectAnswer(orjson.dumps(response), dict(_JSON), request_id)

    def _read(self, body: bytes) -> tuple[dict[str, Any], np.ndarray[Any, Any]] | None:
        """The request and its input's values, if it is one of the requests `takes` accepts."""
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(document, dict) or not _REQUEST_KEYS.issuperset(document):
            return None
        if not isinstance(document.get("id", ""), str) or not self._plain_outputs(document.get("outputs")):
            return None
        inputs = document.get("inputs")
        if not isinstance(inputs, list) or len(inputs) != 1:
            return None
        values = _numeric_input(inputs[0])
        return None if values is None else (document, values)

    def _plain_outputs(self, outputs: Any) -> bool:
        if outputs is None:
            return True
        return isinstance(outputs, list) and all(
            isinstance(item, dict) and item.keys() == {"name"} and _is_one_of(item["name"], self._outputs)
            for item in outputs
        )

    async def _outputs_by_mlserver(self, document: dict[str, Any]) -> list[Any]:
        prediction = await self._model.predict(InferenceRequest.model_validate(document))
        dumped = prediction.model_dump(mode="json", exclude_unset=True, exclude_none=True)
        outputs: list[Any] = dumped["outputs"]
        return outputs


def _numeric_input(item: Any) -> np.ndarray[Any, Any] | None:
    """The values of one V2 input of numbers as NumPy's codec decodes them, or None if it is not such an input."""
    if not isinstance(item, dict) or not _INPUT_KEYS.issuperset(item) or not isinstance(item.get("name"), str):
        return None
    if item.get("parameters") not in (None, {}, {"content_type": NumpyCodec.ContentType}):
        return None
    datatype, shape, data = item.get("datatype"), item.get("shape"), item.get("data")
    dtype = _DTYPES[datatype] if _is_one_of(datatype, _DTYPES) else None
    if dtype is None or not isinstance(shape, list) or not isinstance(data, list):
        return None
    if not all(type(size) is int and size >= 0 for size in shape) or math.prod(shape) != len(data):
        return None
    kinds = _VALUES[dtype.kind]
    if not all(type(value) in kinds for value in data):
        return None
    try:
        return np.array(data, dtype).reshape(shape)
    except (OverflowError, ValueError):
        return None


def _is_one_of(value: Any, names: Container[str]) -> bool:
    """Whether a JSON value is one of `names` (a list or an object is not, and cannot be looked up)."""
    return isinstance(value, str) and value in names


def _output(name: str, result: np.ndarray[Any, Any]) -> dict[str, Any]:
    """One numeric output as NumPy's codec encodes it (a 1-d result gains a trailing dimension), without building its
    pydantic models. Its data is the flat list of values the codec makes of a numeric array; the codec's NaN -> None
    changes nothing here, as orjson writes NaN as null too."""
    return {
        "name": name,
        "shape": inject_batch_dimension(list(result.shape)),
        "datatype": _datatype(result.dtype),
        "parameters": {"content_type": NumpyCodec.ContentType},
        "data": result.ravel().tolist(),
    }


@functools.cache
def _datatype(dtype: np.dtype[Any]) -> str:
    """NumPy's codec's V2 datatype for a dtype (its lookup costs 8 us: it names the dtype every time)."""
    return str(to_datatype(dtype).value)


def _has_predict_proba(estimator: Any) -> bool:
    """Whether MLServer's runtime would answer `predict_proba` (it looks at a pipeline's last step)."""
    from sklearn.pipeline import Pipeline  # loaded with the estimator already

    final = estimator.steps[-1][-1] if isinstance(estimator, Pipeline) else estimator
    return hasattr(final, _PREDICT_PROBA)
