"""Direct answers ahead of MLServer's middleware (`tempo_kfserving.rest_direct`): a request that does not accept gzip is
answered before MLServer's REST middleware, one that does goes through it; a client sees the same answer either way
and the REST metrics count both, on a real MLServer started by `deploy_local`."""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
import urllib3
from tests_support import samples, start_stock_mlserver

from tempo_core import deploy_local, model
from tempo_core.remote import RemoteModel

pytestmark = pytest.mark.server

INFER_ROUTE = "/v2/models/{model_name}/infer"
# Headers that differ between any two answers: the response's id and the time.
PER_ANSWER = {"ce-id", "ce-requestid", "date"}
BODY = orjson.dumps({"inputs": [{"name": "values", "datatype": "FP64", "shape": [100], "data": list(range(100))}]})


def post(pool: urllib3.PoolManager, url: str, accept_gzip: bool) -> urllib3.BaseHTTPResponse:
    """One inference request, asking for gzip or not; the body comes back as sent (not decompressed)."""
    headers = {"Content-Type": "application/json", **({"Accept-Encoding": "gzip"} if accept_gzip else {})}
    return pool.request("POST", url, body=BODY, headers=headers, decode_content=False, retries=False)


def test_an_answer_is_the_same_whichever_way_it_went_and_both_ways_are_counted(tmp_path: Path) -> None:
    @model(name="halver", local_folder=str(tmp_path / "halver"))
    def halver(values: np.ndarray) -> np.ndarray:
        return values / 2

    pool = urllib3.PoolManager()
    with deploy_local(halver) as remote:
        assert remote.metrics_endpoint is not None
        url = f"{remote.endpoint}/v2/models/halver/infer"
        plain = [post(pool, url, accept_gzip=False) for _ in range(3)]
        zipped = [post(pool, url, accept_gzip=True) for _ in range(2)]
        counted = samples(remote.metrics_endpoint)

    assert [answer.status for answer in plain + zipped] == [200] * 5
    plain_headers = {key.lower(): value for key, value in plain[0].headers.items()}
    zipped_headers = {key.lower(): value for key, value in zipped[0].headers.items()}
    assert zipped_headers["content-encoding"] == "gzip", "MLServer's gzip middleware compressed the answer"
    assert "content-encoding" not in plain_headers
    assert plain_headers["vary"] == "Accept-Encoding", "as gzip's middleware marks an answer it could have compressed"
    same = set(plain_headers) - PER_ANSWER - {"content-length"}
    assert same == set(zipped_headers) - PER_ANSWER - {"content-length", "content-encoding"}
    assert {key: plain_headers[key] for key in same} == {key: zipped_headers[key] for key in same}
    assert "ce-modelid" in same and "ce-source" in same, "MLServer's CloudEvents headers"
    plain_body, zipped_body = orjson.loads(plain[0].data), orjson.loads(gzip.decompress(zipped[0].data))
    assert plain_body["id"] == plain_headers["ce-id"]
    assert {**plain_body, "id": None} == {**zipped_body, "id": None}
    assert plain_body["outputs"][0]["data"] == [value / 2 for value in range(100)]

    labels = (("app_name", "mlserver"), ("method", "POST"), ("path", INFER_ROUTE), ("status_code", "200"))
    assert counted[("rest_server_requests_total", labels)] == 5
    assert counted[("rest_server_request_duration_seconds_count", labels)] == 5
    in_progress = (("app_name", "mlserver"), ("method", "POST"))
    assert counted[("rest_server_requests_in_progress", in_progress)] == 0
    model_series = (("model", "halver"), ("version", "None"))
    assert counted[("model_infer_request_success_total", model_series)] == 5


ROW = [5.9, 2.8, 4.1, 1.3]
# Requests as users and third-party clients send them, well-formed and not, to a model of one input of 4 features.
REQUESTS = {
    "one row": {"inputs": [{"name": "values", "datatype": "FP64", "shape": [1, 4], "data": ROW}]},
    "two rows, with an id": {
        "id": "my-request",
        "inputs": [{"name": "values", "datatype": "FP64", "shape": [2, 4], "data": ROW + ROW}],
    },
    "outputs asked for": {
        "inputs": [{"name": "values", "datatype": "FP64", "shape": [1, 4], "data": ROW}],
        "outputs": [{"name": "predict_proba"}, {"name": "predict"}],
    },
    "an output the model lacks": {
        "inputs": [{"name": "values", "datatype": "FP64", "shape": [1, 4], "data": ROW}],
        "outputs": [{"name": "nothing"}],
    },
    "a pandas request": {
        "parameters": {"content_type": "pd"},
        "inputs": [
            {"name": f"f{index}", "datatype": "FP64", "shape": [1], "data": [value]} for index, value in enumerate(ROW)
        ],
    },
    "an unknown datatype": {"inputs": [{"name": "values", "datatype": "FP33", "shape": [1, 4], "data": ROW}]},
    "no datatype": {"inputs": [{"name": "values", "shape": [1, 4], "data": ROW}]},
    "the wrong shape": {"inputs": [{"name": "values", "datatype": "FP64", "shape": [1, 3], "data": ROW}]},
    "no inputs": {"inputs": []},
    "a list": [],
}
RAW_BODIES = {"not JSON": b"{'inputs': ", "empty": b""}


def bodies() -> dict[str, bytes]:
    return {**{label: orjson.dumps(body) for label, body in REQUESTS.items()}, **RAW_BODIES}


def comparable(answer: urllib3.BaseHTTPResponse) -> tuple[int, dict[str, str], object]:
    """What a client reads of an answer, less what differs between any two: its status, headers and JSON body."""
    headers = {key.lower(): value for key, value in answer.headers.items()}
    data = gzip.decompress(answer.data) if headers.get("content-encoding") == "gzip" else answer.data
    kept = {
        key: value for key, value in headers.items() if key not in PER_ANSWER | {"content-length", "content-encoding"}
    }
    body = orjson.loads(data)
    if isinstance(body, dict) and body.get("id") not in (None, "", "my-request"):  # generated, not sent
        assert uuid.UUID(body["id"]).version == 4, "a request without an id is given a UUID, as MLServer gives one"
        body["id"] = "generated"
    return answer.status, kept, body


def both_ways(
    pool: urllib3.PoolManager, url: str, body: bytes, extra: dict[str, str] | None = None
) -> tuple[object, object]:
    """The answers to one body sent ahead of MLServer's middleware (no gzip accepted) and through it (gzip accepted)."""
    headers = {"Content-Type": "application/json", **(extra or {})}
    ahead = pool.request("POST", url, body=body, headers=headers, retries=False)
    through = pool.request(
        "POST", url, body=body, headers={**headers, "Accept-Encoding": "gzip"}, decode_content=False, retries=False
    )
    return comparable(ahead), comparable(through)


def answers_alike(remote: RemoteModel) -> dict[str, Any]:
    """Every request of `bodies()` sent both ways to the deployed model; asserts a client gets the same answer both
    ways, a gzip-compressed body included, and returns each answer as `comparable` gives it."""
    pool = urllib3.PoolManager()
    url = f"{remote.endpoint}/v2/models/{remote.name}/infer"
    answers = {label: both_ways(pool, url, body) for label, body in bodies().items()}
    compressed = {
        label: both_ways(pool, url, gzip.compress(bodies()[label]), {"Content-Encoding": "gzip"})
        for label in ("one row", "a pandas request")
    }
    for label, (ahead, through) in answers.items():
        assert ahead == through, label
    for label, answer in compressed.items():
        assert answer == answers[label], f"{label}, gzip-compressed, is read as MLServer reads it"
    return {label: ahead for label, (ahead, _) in answers.items()}


def test_a_standard_artifact_answers_ahead_of_the_middleware_as_mlserver_does(iris_artifacts: str) -> None:
    from models import get_tempo_artifacts

    _, sklearn_model, _ = get_tempo_artifacts(iris_artifacts)
    with deploy_local(sklearn_model) as remote:
        answers = answers_alike(remote)

    statuses = {label: status for label, (status, _, _) in answers.items()}
    assert statuses["one row"] == statuses["outputs asked for"] == 200
    assert statuses["not JSON"] == statuses["no datatype"] == statuses["an output the model lacks"] == 400
    assert answers["one row"][2]["outputs"][0]["name"] == "predict"
    assert answers["outputs asked for"][2]["outputs"][0]["name"] == "predict_proba"


def test_a_custom_model_answers_ahead_of_the_middleware_as_from_inside_it(tmp_path: Path) -> None:
    @model(name="summer", local_folder=str(tmp_path / "summer"))
    def summer(values: np.ndarray) -> np.ndarray:
        return values.sum(axis=-1)

    with deploy_local(summer) as remote:
        answers = answers_alike(remote)

    assert answers["one row"][0] == 200
    assert answers["two rows, with an id"][2]["id"] == "my-request"
    assert answers["not JSON"][0] == answers["an unknown datatype"][0] == 400


def sklearn_request(**changes: Any) -> dict[str, Any]:
    """One iris row for the sklearn model, with `changes` to the request (or, under `tensor`, to its input)."""
    tensor = {"name": "input", "datatype": "FP64", "shape": [1, 4], "data": ROW, **changes.pop("tensor", {})}
    return {"inputs": [tensor], **changes}


# Requests tempo answers itself for MLServer's sklearn runtime (`estimator_answers`), and requests it leaves to it.
PLAIN = {
    "one row": sklearn_request(),
    "two rows, with an id": sklearn_request(id="my-request", tensor={"shape": [2, 4], "data": ROW + ROW}),
    "both outputs": sklearn_request(outputs=[{"name": "predict_proba"}, {"name": "predict"}]),
    "probabilities": sklearn_request(outputs=[{"name": "predict_proba"}]),
    "no outputs listed": sklearn_request(outputs=[]),
    "an empty id": sklearn_request(id=""),
    "FP32": sklearn_request(tensor={"datatype": "FP32"}),
    "integers": sklearn_request(tensor={"datatype": "INT64", "data": [6, 3, 4, 1]}),
    "NumPy's content type": sklearn_request(tensor={"parameters": {"content_type": "np"}}),
}
LEFT_TO_MLSERVER = {
    "request parameters": sklearn_request(parameters={"content_type": "np"}),
    "output parameters": sklearn_request(outputs=[{"name": "predict", "parameters": {"content_type": "np"}}]),
    "an output the runtime lacks": sklearn_request(outputs=[{"name": "transform"}]),
    "a null id": sklearn_request(id=None),
    "a list for a datatype": sklearn_request(tensor={"datatype": ["FP64"]}),
    "a list for an output's name": sklearn_request(outputs=[{"name": ["predict"]}]),
    "booleans as FP64": sklearn_request(tensor={"data": [True, False, True, False]}),
    "nested data": sklearn_request(tensor={"data": [ROW]}),
    "too few values": sklearn_request(tensor={"data": ROW[:3]}),
    "two inputs": {"inputs": [sklearn_request()["inputs"][0], {**sklearn_request()["inputs"][0], "name": "more"}]},
    "a pandas request": REQUESTS["a pandas request"],
    "an unknown datatype": REQUESTS["an unknown datatype"],
}


def test_sklearn_answers_its_plain_requests_itself_as_mlservers_runtime_does(
    iris_artifacts: str, tmp_path: Path
) -> None:
    import asyncio

    from mlserver.settings import ModelParameters, ModelSettings
    from mlserver_sklearn import SKLearnModel
    from models import get_tempo_artifacts

    from tempo_kfserving.estimator_answers import EstimatorAnswers

    _, sklearn_model, _ = get_tempo_artifacts(iris_artifacts)
    folder = sklearn_model.details.local_folder
    runtime = SKLearnModel(
        ModelSettings(name="iris", implementation=SKLearnModel, parameters=ModelParameters(uri=folder))
    )
    asyncio.run(runtime.load())
    answers = EstimatorAnswers(runtime)
    assert EstimatorAnswers.applies_to(runtime)
    assert [label for label, body in PLAIN.items() if not answers.takes(orjson.dumps(body), {})] == []
    assert [label for label, body in LEFT_TO_MLSERVER.items() if answers.takes(orjson.dumps(body), {})] == []

    pool = urllib3.PoolManager()
    headers = {"Content-Type": "application/json"}
    stock, stock_endpoint = start_stock_mlserver(
        tmp_path, sklearn_model.name, {"implementation": "mlserver_sklearn.SKLearnModel", "parameters": {"uri": folder}}
    )
    try:
        with deploy_local(sklearn_model) as remote:
            url = f"{remote.endpoint}/v2/models/{remote.name}/infer"
            ours = {
                label: comparable(pool.request("POST", url, body=orjson.dumps(body), headers=headers))
                for label, body in PLAIN.items()
            }
        url = f"{stock_endpoint}/v2/models/{sklearn_model.name}/infer"
        theirs = {
            label: comparable(pool.request("POST", url, body=orjson.dumps(body), headers=headers))
            for label, body in PLAIN.items()
        }
    finally:
        stock.stop()

    assert ours == theirs
    assert {status for status, _, _ in ours.values()} == {200}
    assert [output["name"] for output in ours["both outputs"][2]["outputs"]] == ["predict_proba", "predict"]
