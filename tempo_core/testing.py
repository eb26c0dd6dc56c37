"""tempo's conformance kit: a pytest plugin whose suite checks that a Runtime plugin serves models correctly.

A plugin author opts in from the root `conftest.py` of their tests and subclasses the suite once, with a
fixture that returns the options to deploy with:

    # conftest.py
    pytest_plugins = ["tempo_core.testing"]

    # test_conformance.py
    import pytest
    from tempo_core.testing import RuntimeConformance
    from tempo_mycloud import MyCloudOptions

    class TestMyCloudRuntime(RuntimeConformance):
        @pytest.fixture
        def tempo_runtime_options(self) -> MyCloudOptions:
            return MyCloudOptions()

A cluster runtime deploys models only from a remote `uri`: override `tempo_conformance_models` (a module-scoped
fixture in the test module) with `build_conformance_models(root, uri_for=...)`, where `uri_for(name)` gives each
model's uri, then `upload()` the models (the pipeline and the failing one) with your options, so the cluster
downloads them from there.

The suite deploys real models through `tempo_core.deploy`, so the runtime is found the way users find it:
by the class of its options, through the plugin's entry point. This module imports pytest; nothing
in tempo imports it outside tests.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tempo_core.api import deploy, runtime_for
from tempo_core.artifact import save
from tempo_core.decorators import model, pipeline, predictmethod
from tempo_core.errors import ServerNotReadyError
from tempo_core.model import Servable, as_servable
from tempo_core.options import RuntimeOptions
from tempo_core.pipeline import PipelineModels
from tempo_core.remote import RemoteModel
from tempo_core.runtime import DeployedModel, Runtime

__all__ = [
    "RuntimeConformance",
    "ConformanceModels",
    "build_conformance_models",
    "assert_same_result",
    "tempo_conformance_models",
    "tempo_runtime",
    "tempo_deploy",
    "KINDS",
    "SAMPLE_INPUTS",
]

PLUGIN_NAME = __name__
FUNCTION_MODEL = "conformance-function"
CLASS_MODEL = "conformance-class"
PIPELINE = "conformance-pipeline"
FAILING_MODEL = "conformance-failing-loader"
FAILURE_MESSAGE = "the conformance kit's loader fails on purpose"

# The arguments each kind of model is called with, in-process and deployed.
KINDS = ("function", "class", "pipeline")
SAMPLE_INPUTS: dict[str, dict[str, Any]] = {
    "function": {"values": np.array([[1.0, -2.0], [3.5, 4.0]], dtype=np.float32), "scale": 1.5},
    "class": {"payload": np.array([0.5, -3.0, 2.0])},
    "pipeline": {"payload": np.array([0.5, 1.0, 2.0])},
}


@dataclass(frozen=True)
class ConformanceModels:
    """The saved models the suite deploys: a function model, a class model, a pipeline of both, and one whose
    loader raises."""

    function: Servable
    class_model: Servable
    pipeline: Servable
    failing: Servable

    def by_kind(self, kind: str) -> Servable:
        """The model of one of `KINDS`."""
        return {"function": self.function, "class": self.class_model, "pipeline": self.pipeline}[kind]

    def names(self) -> set[str]:
        """Every model name the suite may deploy."""
        return {FUNCTION_MODEL, CLASS_MODEL, PIPELINE, FAILING_MODEL}


def _folder(root: Path, name: str, data: dict[str, float]) -> str:
    """A model folder holding its data files and a requirements.txt, which keeps the saved environment small."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requirements.txt").write_text("numpy\n")
    for file_name, value in data.items():
        (folder / file_name).write_text(json.dumps(value))
    return str(folder)


def build_conformance_models(root: Path, uri_for: Callable[[str], str] | None = None) -> ConformanceModels:
    """Define the suite's models with folders `root/<name>`, and save them; `uri_for(name)` sets each one's uri."""

    def uri(name: str) -> str | None:
        return uri_for(name) if uri_for is not None else None

    @model(
        name=FUNCTION_MODEL, uri=uri(FUNCTION_MODEL), local_folder=_folder(root, FUNCTION_MODEL, {"offset.json": 0.25})
    )
    def affine(values: np.ndarray, scale: float) -> np.ndarray:
        offset: float = affine.context.offset
        return values * scale + offset

    @affine.loadmethod  # type: ignore[untyped-decorator]  # @model returns Any
    def load_offset() -> None:
        affine.context.offset = json.loads((Path(affine.details.local_folder) / "offset.json").read_text())

    @model(name=CLASS_MODEL, uri=uri(CLASS_MODEL), local_folder=_folder(root, CLASS_MODEL, {"limit.json": 2.5}))
    class Threshold:
        def __init__(self) -> None:
            folder = Path(self.get_tempo().details.local_folder)  # type: ignore[attr-defined]  # added by @model
            self.limit = json.loads((folder / "limit.json").read_text())

        @predictmethod
        def check(self, payload: np.ndarray) -> dict[str, Any]:
            return {"outliers": (np.abs(payload) > self.limit).tolist(), "limit": self.limit}

    @pipeline(
        name=PIPELINE,
        uri=uri(PIPELINE),
        local_folder=_folder(root, PIPELINE, {}),
        models=PipelineModels(affine=affine, threshold=Threshold),
    )
    def affine_then_threshold(payload: np.ndarray) -> tuple[np.ndarray, str]:
        scaled = affine_then_threshold.models.affine(values=payload, scale=2.0)
        verdict = affine_then_threshold.models.threshold(payload=scaled)
        return scaled, "flagged" if any(verdict["outliers"]) else "clean"

    @model(name=FAILING_MODEL, uri=uri(FAILING_MODEL), local_folder=_folder(root, FAILING_MODEL, {}))
    def failing(values: np.ndarray) -> np.ndarray:
        return values

    @failing.loadmethod  # type: ignore[untyped-decorator]  # @model returns Any
    def load_nothing() -> None:
        raise RuntimeError(FAILURE_MESSAGE)

    save(affine_then_threshold)  # and its two children
    save(failing)
    return ConformanceModels(affine, as_servable(Threshold), affine_then_threshold, failing)


def assert_same_result(actual: Any, expected: Any, where: str = "result") -> None:
    """Assert that a deployed model's result is the in-process one: same types, dtypes, shapes and values."""
    assert type(actual) is type(expected), (
        f"{where}: got a {type(actual).__name__}, expected a {type(expected).__name__}"
    )
    if isinstance(expected, np.ndarray):
        assert (actual.dtype, actual.shape) == (expected.dtype, expected.shape), (
            f"{where}: got {actual.dtype} {actual.shape}, expected {expected.dtype} {expected.shape}"
        )
        np.testing.assert_array_equal(actual, expected, err_msg=where)
    elif isinstance(expected, dict):
        assert actual.keys() == expected.keys(), f"{where}: got keys {sorted(actual)}, expected {sorted(expected)}"
        for key in expected:
            assert_same_result(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (tuple, list)):
        assert len(actual) == len(expected), f"{where}: got {len(actual)} items, expected {len(expected)}"
        for index, (actual_item, expected_item) in enumerate(zip(actual, expected, strict=True)):
            assert_same_result(actual_item, expected_item, f"{where}[{index}]")
    else:
        assert actual == expected, f"{where}: got {actual!r}, expected {expected!r}"


# ---- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tempo_conformance_models(tmp_path_factory: pytest.TempPathFactory) -> ConformanceModels:
    """The suite's models, saved once per test session into a temporary folder."""
    return build_conformance_models(tmp_path_factory.mktemp("tempo-conformance"))


@pytest.fixture
def tempo_runtime(tempo_runtime_options: RuntimeOptions) -> Runtime:
    """A new instance of the runtime the options name, found through the plugin registry as `deploy` finds it."""
    return runtime_for(tempo_runtime_options)


@pytest.fixture
def tempo_deploy(tempo_runtime_options: RuntimeOptions) -> Iterator[Callable[[Any], RemoteModel]]:
    """A function that deploys a model with the author's options; what it deployed is undeployed after the test."""
    deployed: list[RemoteModel] = []

    def deploy_with_options(obj: Any) -> RemoteModel:
        remote = deploy(obj, tempo_runtime_options)
        deployed.append(remote)
        return remote

    yield deploy_with_options
    for remote in reversed(deployed):
        remote.undeploy()


# ---- the suite ------------------------------------------------------------------------------------


def _listed(runtime: Runtime) -> dict[str, DeployedModel]:
    return {entry.name: entry for entry in runtime.list()}


class RuntimeConformance:
    """The checks every Runtime passes. Subclass it as `TestXxx` and provide a `tempo_runtime_options` fixture.

    Override `failure_report_timeout` for a runtime that needs longer to notice a server that cannot start.
    """

    # Seconds within which a deploy of a model whose loader raises must fail with ServerNotReadyError.
    failure_report_timeout: float = 60.0

    @pytest.fixture(autouse=True)
    def _kit_is_loaded(self, request: pytest.FixtureRequest) -> None:
        if not request.config.pluginmanager.has_plugin(PLUGIN_NAME):
            pytest.fail(f'RuntimeConformance needs its fixtures: add pytest_plugins = ["{PLUGIN_NAME}"] to conftest.py')

    def test_deploy_returns_a_ready_model_and_a_second_deploy_reuses_it(
        self,
        tempo_deploy: Callable[[Any], RemoteModel],
        tempo_conformance_models: ConformanceModels,
        tempo_runtime_options: RuntimeOptions,
    ) -> None:
        remote = tempo_deploy(tempo_conformance_models.function)
        started = time.monotonic()
        remote.wait_ready(timeout=10.0)
        again = tempo_deploy(tempo_conformance_models.function)

        assert time.monotonic() - started < 5.0, "wait_ready and deploy of a model that is ready must return at once"
        assert again.endpoint == remote.endpoint, "a second deploy of a running model must reuse its server"
        assert remote.runtime is not None
        assert isinstance(tempo_runtime_options, remote.runtime.options_class), (
            "the runtime must be the one registered with its options' class"
        )
        assert re.match(r"https?://", remote.endpoint), f"endpoint {remote.endpoint!r} is not an http(s) URL"

    @pytest.mark.parametrize("kind", KINDS)
    def test_a_deployed_model_returns_what_it_returns_in_process(
        self, kind: str, tempo_deploy: Callable[[Any], RemoteModel], tempo_conformance_models: ConformanceModels
    ) -> None:
        servable = tempo_conformance_models.by_kind(kind)
        expected = servable(**SAMPLE_INPUTS[kind])

        remote = tempo_deploy(servable)

        assert_same_result(remote.predict(**SAMPLE_INPUTS[kind]), expected, f"{servable.name} deployed")

    def test_list_shows_a_deployed_model_until_it_is_undeployed(
        self,
        tempo_deploy: Callable[[Any], RemoteModel],
        tempo_runtime: Runtime,
        tempo_conformance_models: ConformanceModels,
    ) -> None:
        remote = tempo_deploy(tempo_conformance_models.function)
        listed = _listed(tempo_runtime)

        assert FUNCTION_MODEL in listed, (
            f"list() of a new runtime instance shows {sorted(listed)}, not {FUNCTION_MODEL}"
        )
        assert listed[FUNCTION_MODEL].runtime == tempo_runtime.name
        assert listed[FUNCTION_MODEL].endpoint == remote.endpoint
        folder = listed[FUNCTION_MODEL].folder
        assert folder in (None, tempo_conformance_models.function.details.local_folder), (
            f"list() says the model is saved in {folder}, not in its local_folder"
        )
        remote.undeploy()
        assert FUNCTION_MODEL not in _listed(tempo_runtime), "list() still shows the model after undeploy"

    def test_undeploy_twice_or_of_a_model_never_deployed_is_a_no_op(
        self,
        tempo_deploy: Callable[[Any], RemoteModel],
        tempo_runtime: Runtime,
        tempo_conformance_models: ConformanceModels,
    ) -> None:
        remote = tempo_deploy(tempo_conformance_models.class_model)

        remote.undeploy()
        remote.undeploy()
        tempo_runtime.undeploy(tempo_conformance_models.class_model)
        tempo_runtime.undeploy(tempo_conformance_models.failing)

        assert CLASS_MODEL not in _listed(tempo_runtime)

    def test_a_model_whose_loader_raises_is_reported_by_name_in_bounded_time(
        self,
        tempo_deploy: Callable[[Any], RemoteModel],
        tempo_runtime: Runtime,
        tempo_conformance_models: ConformanceModels,
    ) -> None:
        started = time.monotonic()
        with pytest.raises(ServerNotReadyError, match=re.escape(FAILING_MODEL)):
            tempo_deploy(tempo_conformance_models.failing)
        elapsed = time.monotonic() - started

        assert elapsed < self.failure_report_timeout, f"the failure took {elapsed:.0f} s to be reported"
        assert FAILING_MODEL not in _listed(tempo_runtime), "a model that failed to start is still listed"

    def test_undeploying_a_pipeline_by_name_leaves_nothing_behind(
        self,
        tempo_deploy: Callable[[Any], RemoteModel],
        tempo_runtime: Runtime,
        tempo_conformance_models: ConformanceModels,
    ) -> None:
        remote = tempo_deploy(tempo_conformance_models.pipeline)
        assert remote.predict(**SAMPLE_INPUTS["pipeline"])[1] == "flagged"

        # As `tempo undeploy NAME` does: a new runtime instance that knows nothing of the model but its name.
        tempo_runtime.undeploy_name(tempo_conformance_models.pipeline.name)
        remote.undeploy()  # then undeploying it through the remote model finds nothing to do

        leftover = set(_listed(tempo_runtime)) & tempo_conformance_models.names()
        assert not leftover, f"after undeploying the pipeline by name, list() still shows {sorted(leftover)}"
