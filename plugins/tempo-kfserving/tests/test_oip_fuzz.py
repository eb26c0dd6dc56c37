"""Schemathesis sends requests generated from the Open Inference Protocol's OpenAPI (tests/specs) to models tempo
serves: whatever the body, the answer is 200 or the spec's 400 `{"error": ...}`, never a 5xx, and every answer
conforms to the spec's response schemas. Examples are bounded (hypothesis, no deadline, derandomized).

The servers are real MLServer processes that deploy_local starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from copy import deepcopy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from tests_support import saved_folder

from tempo_core import Model, ModelFramework, deploy_local, model, save
from tempo_core.remote import RemoteModel

pytestmark = pytest.mark.server

SPEC = Path(__file__).parent / "specs" / "open_inference_rest.yaml"
INFER = "/v2/models/${MODEL_NAME}/versions/${MODEL_VERSION}/infer"
EXAMPLES = 60


def infer_schema(model_name: str) -> Any:
    """The spec's inference operation alone, at `/v2/models/{model_name}/infer` (the version is optional).

    The spec's `tensor_data` refers to itself (nested lists of any depth), which hypothesis cannot generate from:
    here it nests once, as a row-major or a nested two-dimensional `data` does.
    """
    spec = yaml.safe_load(SPEC.read_text())
    operation = deepcopy(spec["paths"][INFER]["post"])
    spec["paths"] = {f"/v2/models/{model_name}/infer": {"post": operation}}
    scalars = [{"type": "number"}, {"type": "string"}, {"type": "boolean"}]
    spec["components"]["schemas"]["tensor_data"] = {
        "title": "tensor_data",
        "type": "array",
        "items": {"anyOf": [{"type": "array", "items": {"anyOf": scalars}}, *scalars]},
    }
    return schemathesis.openapi.from_dict(spec)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, iris_artifacts: str) -> Iterator[dict[str, RemoteModel]]:
    """A custom model of one array and the iris sklearn artifact, each on its own local server."""

    @model(name="fuzz-scaled", local_folder=saved_folder(tmp_path_factory.mktemp("oip-fuzz"), "scaled"))
    def scaled(payload: np.ndarray, factor: float) -> np.ndarray:
        return payload * factor

    save(scaled)
    sklearn = Model(name="fuzz-iris", platform=ModelFramework.SKLearn, local_folder=f"{iris_artifacts}/sklearn")
    remotes: dict[str, RemoteModel] = {}
    try:
        for servable in (scaled, sklearn):
            remotes[servable.name] = deploy_local(servable)
        yield remotes
    finally:
        for remote in remotes.values():
            remote.undeploy()


def _tensor(name: str) -> st.SearchStrategy[dict[str, Any]]:
    """Tensors named as the model's inputs, with any datatype, shape and data the spec allows, mostly nonsense."""
    return st.fixed_dictionaries(
        {
            "name": st.just(name),
            "datatype": st.sampled_from(["FP32", "FP64", "INT64", "BYTES", "BOOL", "FP16", "UINT8"]),
            "shape": st.lists(st.integers(min_value=-2, max_value=5), max_size=3),
            # Finite floats only: JSON has no NaN or infinity, so a client could not even send them.
            "data": st.lists(
                st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(), st.text(max_size=3)),
                max_size=8,
            ),
        }
    )


@pytest.mark.parametrize(("model_name", "inputs"), [("fuzz-scaled", ["payload", "factor"]), ("fuzz-iris", ["input"])])
def test_generated_requests_get_200_or_the_specs_400(
    deployed: dict[str, RemoteModel], model_name: str, inputs: list[str]
) -> None:
    endpoint = deployed[model_name].endpoint
    operation = infer_schema(model_name)[f"/v2/models/{model_name}/infer"]["POST"]
    from_spec = operation.as_strategy()
    with_the_models_inputs = st.lists(st.one_of(*(_tensor(name) for name in inputs)), min_size=1, max_size=3)

    @given(case=from_spec, inputs=st.one_of(st.none(), with_the_models_inputs))
    @settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None
    )
    def check(case: Any, inputs: list[dict[str, Any]] | None) -> None:
        if inputs is not None and isinstance(case.body, dict):
            case.body = {**case.body, "inputs": inputs}
        response = case.call(base_url=endpoint, timeout=30)
        case.validate_response(
            response, checks=[not_a_server_error, status_code_conformance, response_schema_conformance]
        )
        if response.status_code == 400:
            assert isinstance(response.json().get("error"), str), response.text

    check()
