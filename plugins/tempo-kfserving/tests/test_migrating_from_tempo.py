"""docs/migrating-from-tempo.md: the seed workflow, adapted, runs as the page shows it and gives what the page says.

The page's code is what runs: every ```python block between the heading "## The seed workflow, adapted" and the
next "## " heading, in order, in one namespace (a script's `__main__`), from a folder whose artifacts/sklearn and
artifacts/xgboost hold the iris models that examples/iris trains. Blocks outside that section (the production
steps, which need a cluster) are not run. Tracebacks point at the page's own lines.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from tempo_core import LocalOptions
from tempo_core.api import runtime_for
from tempo_core.errors import ModelDefinitionError
from tempo_core.testing import assert_same_result

pytestmark = pytest.mark.server

DOC = Path(__file__).parents[3] / "docs" / "migrating-from-tempo.md"
SECTION = "## The seed workflow, adapted"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# The models the adapted workflow deploys; none may be left running.
DEPLOYED = {"classifier", "test-iris-sklearn", "test-iris-xgboost", "linear-divorce", "outlier"}


def adapted_blocks() -> list[tuple[int, str]]:
    """The section's python blocks, each with the number of the page's line before its first line."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n{SECTION}\n")
    end = text.find("\n## ", start + len(SECTION) + 1)
    section_end = end if end != -1 else len(text)
    return [(text.count("\n", 0, match.start(1)), match.group(1)) for match in BLOCK.finditer(text, start, section_end)]


@pytest.fixture(scope="module")
def workflow(iris_artifacts: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The namespace the page's blocks leave behind, run from a fresh folder holding the trained iris models."""
    folder = tmp_path_factory.mktemp("migrating-from-tempo")
    for name in ("sklearn", "xgboost"):
        shutil.copytree(Path(iris_artifacts) / name, folder / "artifacts" / name)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for offset, block in adapted_blocks():
            exec(compile("\n" * offset + block, str(DOC), "exec"), namespace)
        yield namespace


def test_every_python_block_of_the_page_compiles() -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = [match.group(1) for match in BLOCK.finditer(text)]

    assert len(blocks) > len(adapted_blocks()) > 0
    for block in blocks:
        compile(block, str(DOC), "exec")


def test_the_pipeline_chooses_a_child_in_process(workflow: dict[str, Any]) -> None:
    (versicolor, versicolor_tag), (virginica, virginica_tag) = workflow["in_process"]

    np.testing.assert_array_equal(versicolor, [[1]])
    assert versicolor_tag == "sklearn prediction"
    np.testing.assert_array_equal(virginica, [[2]])
    assert virginica_tag == "xgboost prediction"


def test_stubbed_children_take_the_stubbed_branch_and_del_restores_them(workflow: dict[str, Any]) -> None:
    result, tag = workflow["stubbed"]
    classifier = workflow["classifier"]

    np.testing.assert_array_equal(result, [[0.1]])
    assert tag == "xgboost prediction"
    assert classifier.models.sklearn is workflow["sklearn_model"]
    assert classifier.models.xgboost is workflow["xgboost_model"]


def test_monkeypatch_stubs_a_child_and_a_stubbed_pipeline_is_not_saved(
    workflow: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    classifier, save = workflow["classifier"], workflow["save"]

    with monkeypatch.context() as patch:
        patch.setattr(classifier.models, "sklearn", lambda **arguments: np.array([[1]]))
        assert classifier(np.array([[1, 2, 3, 4]]))[1] == "sklearn prediction"
        with pytest.raises(ModelDefinitionError, match="restore"):
            save(classifier)

    assert classifier.models.sklearn is workflow["sklearn_model"]


def test_the_deployed_pipeline_answers_what_it_answers_in_process(workflow: dict[str, Any]) -> None:
    assert_same_result(workflow["served"], workflow["in_process"])
    assert_same_result(workflow["concurrent"], list(workflow["in_process"]) * 4)


def test_the_function_model_loads_its_weights_and_answers_the_same_deployed(workflow: dict[str, Any]) -> None:
    np.testing.assert_allclose(workflow["divorce_in_process"], [4.55, 7.0, 9.025])
    assert_same_result(workflow["divorce_served"], workflow["divorce_in_process"])


def test_the_class_model_flags_the_outlier_and_answers_the_same_deployed(workflow: dict[str, Any]) -> None:
    assert workflow["outlier_in_process"]["is_outlier"] == [0, 1]
    assert_same_result(workflow["outlier_served"], workflow["outlier_in_process"])


def test_the_gitops_manifest_lists_the_children_first(workflow: dict[str, Any]) -> None:
    documents = list(yaml.safe_load_all(workflow["yaml_str"]))

    assert [(document["kind"], document["metadata"]["name"]) for document in documents] == [
        ("InferenceService", "test-iris-sklearn"),
        ("InferenceService", "test-iris-xgboost"),
        ("InferenceService", "classifier"),
    ]
    assert {document["metadata"]["namespace"] for document in documents} == {"production"}
    assert "registry.example.com/ml/tempo-mlserver:1" in workflow["yaml_str"]


def test_nothing_is_left_running(workflow: dict[str, Any]) -> None:
    running = {deployed.name for deployed in runtime_for(LocalOptions()).list()}

    assert workflow["remote"].name == "classifier"
    assert not running & DEPLOYED
