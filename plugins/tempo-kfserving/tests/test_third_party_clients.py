"""Third-party V2 clients call a model that tempo serves, each as its users call it, from numpy arrays: Triton's
`tritonclient` over REST (binary tensors and JSON) and gRPC, and KServe's `InferenceRESTClient` and
`InferenceGRPCClient`.

Each client runs in a process of its own (tests/clients/): tritonclient's protobuf code clashes with MLServer's
in one process, and kserve's pins clash with MLServer's, so it gets a virtual environment that this module builds
with uv under .cache/. The server is a real MLServer process started by deploy_local.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Tuple

import numpy as np
import pytest
from clients.reporting import described
from tests_support import saved_folder

from tempo_core import deploy_local, model, save
from tempo_core.remote import RemoteModel

pytestmark = pytest.mark.server

CLIENTS = Path(__file__).parent / "clients"
REPO = Path(__file__).parents[3]
# KServe's SDK needs a newer fastapi than MLServer allows, so it lives in a venv of its own; 0.14 is the first
# release whose InferenceGRPCClient takes numpy inputs as raw contents the way this script sends them.
KSERVE_REQUIREMENT = "kserve>=0.14,<0.22"
KSERVE_VENV = REPO / ".cache" / "kserve-client"
MODEL = "third-party-grpc"
# What the client scripts send, and the model's answer to it computed in-process.
VALUES = np.array([[1.5, -2.0], [0.25, 4.0]], dtype=np.float32)
LABEL = "hello"
WORDS = np.array([b"a", b"\xff\x00b"], dtype=object)
# What the REST scripts send as words: JSON carries BYTES as text, so these are UTF-8.
REST_WORDS = np.array([b"a", "éb".encode()], dtype=object)
# What the REST clients read back from a JSON answer: BYTES there are the text they are.
REST_TEXTS = np.array(["a", "éb"], dtype=object)


def build_model(root: Path) -> Any:
    """A model of one FP32 array, one str and one array of bytes, returning a tuple of three outputs."""

    @model(name=MODEL, local_folder=saved_folder(root, MODEL))
    def describe(values: np.ndarray, label: str, words: np.ndarray) -> Tuple[np.ndarray, str, np.ndarray]:
        return values * 2, label.upper(), words

    return describe


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteModel]:
    """The model, saved and served locally; undeployed at the end, whatever happened."""
    describe = build_model(tmp_path_factory.mktemp("third-party"))
    save(describe)
    with deploy_local(describe) as remote:
        yield remote


@pytest.fixture(scope="session")
def kserve_python() -> str:
    """The interpreter of a venv with KServe's SDK, made with uv from its cache (installed once, then checked)."""
    python = KSERVE_VENV / "bin" / "python"
    uv = [sys.executable, "-m", "uv"]
    if not python.exists():
        subprocess.run([*uv, "venv", "--quiet", "--python", sys.executable, str(KSERVE_VENV)], check=True, timeout=120)
    subprocess.run(
        [*uv, "pip", "install", "--quiet", "--python", str(python), KSERVE_REQUIREMENT], check=True, timeout=900
    )
    return str(python)


def run_client(python: str, script: str, remote: RemoteModel) -> dict[str, Any]:
    """Run one client script against the model (gRPC scripts at its gRPC endpoint, REST ones at its base URL)."""
    assert remote.grpc_endpoint is not None, "the local runtime reports no gRPC endpoint"
    address = {
        "grpc": remote.grpc_endpoint,
        "http": remote.endpoint.removeprefix("http://"),
        "rest": remote.endpoint,
    }[script.split("_")[1]]
    done = subprocess.run(
        [python, str(CLIENTS / script), address, remote.name], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stderr[-4000:]}"
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.fixture(scope="module")
def triton_report(deployed: RemoteModel) -> dict[str, Any]:
    """What tritonclient got, run once in this environment (where the kfserving session installs it)."""
    return run_client(sys.executable, "triton_grpc_calls.py", deployed)


def test_tritonclient_reads_readiness_metadata_and_every_output(triton_report: dict[str, Any]) -> None:
    report = triton_report

    assert report["ready"] is True
    assert report["metadata"]["name"] == MODEL
    assert [(each["name"], each["datatype"]) for each in report["metadata"]["inputs"]] == [
        ("values", "FP64"),
        ("label", "BYTES"),
        ("words", "FP64"),
    ]
    assert report["outputs"] == {
        "output0": described(VALUES * 2),
        "output1": described(np.array([LABEL.upper().encode()], dtype=object)),
        "output2": described(WORDS),
    }
    assert report["requested"] == ["output1"]


def test_tritonclient_sees_not_found_for_an_unknown_model(triton_report: dict[str, Any]) -> None:
    statuses = {key: value for key, value in triton_report.items() if key.startswith("missing_")}
    assert statuses == dict.fromkeys(statuses, "StatusCode.NOT_FOUND")


def test_kserve_client_infers_with_raw_and_typed_contents(deployed: RemoteModel, kserve_python: str) -> None:
    report = run_client(kserve_python, "kserve_grpc_calls.py", deployed)

    expected = {
        "output0": described(VALUES * 2),
        "output1": described(np.array([LABEL.upper().encode()], dtype=object)),
        "output2": described(WORDS[:1]),
    }
    assert report["ready"] is True
    assert report["raw"] == expected
    assert report["typed"] == expected
    assert report["requested"] == ["output1"]
    assert (report["missing_ready"], report["missing_infer"]) == ("StatusCode.NOT_FOUND", "StatusCode.NOT_FOUND")


@pytest.fixture(scope="module")
def triton_http_report(deployed: RemoteModel) -> dict[str, Any]:
    """What tritonclient's REST client got, run once."""
    return run_client(sys.executable, "triton_http_calls.py", deployed)


def test_tritonclient_over_rest_gets_every_output_from_binary_and_json_requests(
    triton_http_report: dict[str, Any],
) -> None:
    report = triton_http_report
    expected = {
        "output0": described(VALUES * 2),
        "output1": described(np.array([LABEL.upper().encode()], dtype=object)),
        "output2": described(REST_WORDS),
    }

    assert (report["server_ready"], report["ready"], report["missing_ready"]) == (True, True, False)
    assert report["metadata"]["name"] == MODEL
    assert report["binary"] == expected
    assert report["json"] == {**expected, "output2": described(REST_TEXTS)}
    assert report["requested"] == ["output1"]


def test_tritonclient_over_rest_sees_the_specs_status_codes(triton_http_report: dict[str, Any]) -> None:
    statuses = {key: triton_http_report[key] for key in ("missing_infer", "unknown_output", "unknown_input")}

    assert statuses == {"missing_infer": "404", "unknown_output": "400", "unknown_input": "400"}


def test_kserve_rest_client_infers_with_binary_and_json_bodies(deployed: RemoteModel, kserve_python: str) -> None:
    report = run_client(kserve_python, "kserve_rest_calls.py", deployed)

    expected = {
        "output0": described(VALUES * 2),
        "output1": described(np.array([LABEL.upper().encode()], dtype=object)),
        "output2": described(REST_WORDS),
    }
    assert (report["ready"], report["server_ready"]) == (True, True)
    # kserve reads BYTES as text, from binary answers as from JSON ones.
    assert report["binary"] == {**expected, "output2": described(REST_TEXTS)}
    assert report["json"] == {**expected, "output2": described(REST_TEXTS)}
    assert report["requested"] == ["output1"]
    assert report["missing_infer"] == 404
