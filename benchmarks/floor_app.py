"""The floor: the least a Python server can do to answer a V2 inference request with the benchmarked work.

A plain Starlette app (no FastAPI, no pydantic) on uvicorn with httptools and uvloop, access log off, one process:
it parses the V2 JSON request with orjson, runs the same code as the benchmarked models and writes the V2 JSON
response with orjson. Models: `custom` (values * 2 + 1), `iris` (an sklearn joblib model's predict) and `pipeline`
(the iris pipeline: sklearn, then xgboost unless sklearn says 1).

Run as `python benchmarks/floor_app.py --port P [--sklearn model.joblib] [--xgboost model.json]`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Outputs = list[dict[str, Any]]
Handler = Callable[[np.ndarray], Outputs]

_DATATYPES = {np.dtype(np.float64): "FP64", np.dtype(np.int64): "INT64", np.dtype(np.int32): "INT32"}


def tensor(name: str, array: np.ndarray) -> dict[str, Any]:
    """One V2 output tensor of a numeric array."""
    return {"name": name, "datatype": _DATATYPES[array.dtype], "shape": list(array.shape), "data": array.ravel()}


def text(name: str, value: str) -> dict[str, Any]:
    """One V2 BYTES output holding one string."""
    return {"name": name, "datatype": "BYTES", "shape": [1], "data": [value]}


def custom(values: np.ndarray) -> Outputs:
    """The custom function's work: values * 2 + 1."""
    return [tensor("output0", values * 2 + 1)]


def iris_handler(sklearn_path: Path) -> Handler:
    """The sklearn model's predict of the input rows."""
    import joblib

    estimator = joblib.load(sklearn_path)

    def iris(values: np.ndarray) -> Outputs:
        return [tensor("predict", estimator.predict(values))]

    return iris


def pipeline_handler(sklearn_path: Path, xgboost_path: Path) -> Handler:
    """The iris pipeline's logic: the sklearn prediction if its first row says 1, else xgboost's."""
    import joblib
    from xgboost import XGBClassifier

    estimator = joblib.load(sklearn_path)
    booster = XGBClassifier()
    booster.load_model(xgboost_path)

    def pipeline(values: np.ndarray) -> Outputs:
        first = estimator.predict(values)
        if first[0] == 1:
            return [tensor("output0", first), text("output1", "sklearn prediction")]
        return [tensor("output0", booster.predict(values)), text("output1", "xgboost prediction")]

    return pipeline


def json_response(content: dict[str, Any], status_code: int = 200) -> Response:
    """A JSON response written by orjson, numpy arrays included."""
    return Response(
        orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY), status_code, media_type="application/json"
    )


def build_app(handlers: dict[str, Handler]) -> Starlette:
    """The Starlette app answering `POST /v2/models/{name}/infer` with `handlers[name]`, and readiness."""

    async def ready(request: Request) -> Response:
        return Response(status_code=200)

    async def infer(request: Request) -> Response:
        name = request.path_params["name"]
        handler = handlers.get(name)
        if handler is None:
            return json_response({"error": f"model '{name}' not found"}, 404)
        payload = orjson.loads(await request.body())
        first = payload["inputs"][0]
        values = np.asarray(first["data"], dtype=np.float64).reshape(first["shape"])
        response: dict[str, Any] = {"model_name": name, "outputs": handler(values)}
        if "id" in payload:
            response["id"] = payload["id"]
        return json_response(response)

    return Starlette(
        routes=[
            Route("/v2/health/ready", ready, methods=["GET"]),
            Route("/v2/models/{name}/infer", infer, methods=["POST"]),
        ]
    )


def main() -> None:
    """Serve the floor app on the port given, with the models whose artifacts are given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sklearn", type=Path, help="the iris LogisticRegression, a joblib file")
    parser.add_argument("--xgboost", type=Path, help="the iris XGBClassifier, a model.json file")
    args = parser.parse_args()
    handlers: dict[str, Handler] = {"custom": custom}
    if args.sklearn is not None:
        handlers["iris"] = iris_handler(args.sklearn)
        if args.xgboost is not None:
            handlers["pipeline"] = pipeline_handler(args.sklearn, args.xgboost)
    uvicorn.run(
        build_app(handlers),
        host=args.host,
        port=args.port,
        http="httptools",
        loop="uvloop",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
