"""The baseline: a bare MLServer MLModel doing the same work as the benchmarked tempo model."""

from __future__ import annotations

from mlserver import MLModel
from mlserver.codecs import NumpyCodec
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
