"""The baselines: bare MLServer MLModels doing the same work as the benchmarked tempo models."""

from __future__ import annotations

from mlserver import MLModel
from mlserver.codecs import NumpyCodec, StringCodec
from mlserver.types import InferenceRequest, InferenceResponse


class DoublingModel(MLModel):  # type: ignore[misc]
    """Returns its one array input times two, written the way an MLServer user would."""

    async def load(self) -> bool:
        """Nothing to load."""
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        """Double the input."""
        values = NumpyCodec.decode_input(payload.inputs[0])
        return InferenceResponse(model_name=self.name, outputs=[NumpyCodec.encode_output("output0", values * 2)])


class AffineModel(MLModel):  # type: ignore[misc]
    """Returns its one array input times two plus one, written the way an MLServer user would."""

    async def load(self) -> bool:
        """Nothing to load."""
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        """Double the input and add one."""
        values = NumpyCodec.decode_input(payload.inputs[0])
        return InferenceResponse(model_name=self.name, outputs=[NumpyCodec.encode_output("output0", values * 2 + 1)])


class IrisPipelineModel(MLModel):  # type: ignore[misc]
    """The iris pipeline in one MLModel: the sklearn model's prediction if it says 1, else the xgboost model's.

    Its settings' `parameters.extra` give the two artifacts: `sklearn` (a joblib file) and `xgboost` (a model.json).
    """

    async def load(self) -> bool:
        """Load both models (imported here, so the other models of this module start without them)."""
        import joblib
        from xgboost import XGBClassifier

        extra = self.settings.parameters.extra
        self._sklearn = joblib.load(extra["sklearn"])
        self._xgboost = XGBClassifier()
        self._xgboost.load_model(extra["xgboost"])
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        """The chosen prediction and the text naming the model that made it."""
        values = NumpyCodec.decode_input(payload.inputs[0])
        prediction, tag = self._sklearn.predict(values), "sklearn prediction"
        if prediction[0] != 1:
            prediction, tag = self._xgboost.predict(values), "xgboost prediction"
        return InferenceResponse(
            model_name=self.name,
            outputs=[NumpyCodec.encode_output("output0", prediction), StringCodec.encode_output("output1", [tag])],
        )
