"""MLServer's prepackaged runtimes as tempo serves them: with the local channel, metadata read off the artifact, 400
for a request the artifact cannot run on, and (sklearn's) plain requests answered from the bytes
(`estimator_answers`).

MLServer imports them from here by their class name, e.g. `tempo_kfserving.prepackaged.SKLearnModel` for
`mlserver_sklearn.SKLearnModel`. Both sklearn's and xgboost's runtimes load an estimator with sklearn's interface,
whose `n_features_in_` and a probe prediction give what `GET /v2/models/{name}` reports: the input as
`[-1, n_features]` FP64, and the outputs the runtime really answers (`predict`, and `predict_proba` where the
estimator has it) with their datatypes and shapes.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
from mlserver import MLModel
from mlserver.codecs.numpy import to_datatype
from mlserver.errors import MLServerError
from mlserver.types import InferenceRequest, InferenceResponse, MetadataTensor

from tempo_kfserving.estimator_answers import EstimatorAnswers, cannot_predict
from tempo_kfserving.mlserver_channel import ChannelServing

__all__ = ["ArtifactServing"]

_OUTPUTS = ("predict", "predict_proba")


class ArtifactServing(MLModel):  # type: ignore[misc]
    """Describes the loaded estimator in the model's metadata, and answers 400 when it cannot run on a request."""

    _direct_answers: EstimatorAnswers | None = None

    async def load(self) -> bool:
        """Load the artifact, then describe its inputs and outputs from it where it tells; an sklearn model answers
        its plain requests directly (`estimator_answers`)."""
        loaded: bool = await super().load()
        described = describe_estimator(getattr(self, "_model", None), self.inputs)
        if loaded and described is not None:
            self.inputs, self.outputs = described
        if loaded and EstimatorAnswers.applies_to(self):
            self._direct_answers = EstimatorAnswers(self)
            self._direct_answers.register()
        return loaded

    async def unload(self) -> bool:
        """Stop answering requests directly, then unload."""
        if self._direct_answers is not None:
            self._direct_answers.unregister()
        unloaded: bool = await super().unload()
        return unloaded

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        """The runtime's prediction; an exception from the estimator is the request's fault: 400 with its message."""
        try:
            response: InferenceResponse = await super().predict(payload)
        except MLServerError:
            raise
        except Exception as exc:
            raise cannot_predict(self.name, exc) from exc
        return response


def describe_estimator(
    estimator: Any, declared: list[MetadataTensor] | None
) -> tuple[list[MetadataTensor], list[MetadataTensor]] | None:
    """The input and outputs of an estimator with sklearn's interface, from a probe prediction; None if it won't say."""
    features = getattr(estimator, "n_features_in_", None)
    if not isinstance(features, (int, np.integer)):
        return None
    probe = np.zeros((1, int(features)))
    outputs = []
    for name in _OUTPUTS:
        method = getattr(estimator, name, None)
        if method is None:
            continue
        try:
            answer = np.asarray(method(probe))
        except Exception:  # a regressor behind a pipeline has no predict_proba however it looks
            continue
        columns = answer.shape[1] if answer.ndim > 1 else 1
        outputs.append(MetadataTensor(name=name, datatype=to_datatype(answer.dtype), shape=[-1, columns]))
    if not outputs:
        return None
    input_name = declared[0].name if declared else "input-0"
    return [MetadataTensor(name=input_name, datatype="FP64", shape=[-1, int(features)])], outputs


def _prepackaged_runtime(base_path: str) -> type[MLModel]:
    """The MLServer runtime at `base_path` with the local channel and `ArtifactServing` in front of it."""
    module, _, name = base_path.rpartition(".")
    base = getattr(importlib.import_module(module), name)
    return type(name, (ChannelServing, ArtifactServing, base), {"__module__": __name__, "__doc__": base.__doc__})


def __getattr__(name: str) -> Any:
    """MLServer imports the prepackaged runtimes from here by their class name."""
    from tempo_kfserving.settings import prepackaged_runtime

    path = prepackaged_runtime(name)
    if path is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    runtime = _prepackaged_runtime(path)
    globals()[name] = runtime
    return runtime
