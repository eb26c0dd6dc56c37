"""Direct answers ahead of MLServer's middleware (`tempo_kfserving.rest_direct`): a request that does not accept gzip is
answered before MLServer's REST middleware, one that does goes through it; a client sees the same answer either way
and the REST metrics count both, on a real MLServer started by `deploy_local`."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import orjson
import pytest
import urllib3
from tests_support import samples

from tempo_core import deploy_local, model

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
