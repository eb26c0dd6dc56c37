"""Decorated functions, decorated classes, standard artifacts and pipelines, run in-process."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Tuple

import numpy as np
import pytest

from tempo_core import Model, ModelFramework, PipelineModels, deploy_local, model, pipeline, predictmethod, save
from tempo_core.errors import ArgumentError, ArtifactError, ModelDefinitionError
from tempo_test_support.user_models import make_fan_out, ran_together


def make_adder():  # type: ignore[no-untyped-def]
    calls = {"loads": 0}

    @model(name="adder", local_folder="/tmp/adder")
    def adder(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b + adder.context.offset

    @adder.loadmethod
    def load() -> None:
        calls["loads"] += 1
        adder.context.offset = 10

    return adder, calls


def test_a_decorated_function_runs_in_process_with_positional_or_keyword_arguments() -> None:
    adder, _ = make_adder()

    by_position = adder(np.array([1, 2]), np.array([3, 4]))
    by_name = adder(b=np.array([3, 4]), a=np.array([1, 2]))

    np.testing.assert_array_equal(by_position, [14, 16])
    np.testing.assert_array_equal(by_name, by_position)
    assert adder.details.name == "adder"
    assert adder.details.local_folder == "/tmp/adder"


def test_the_loader_runs_lazily_and_once() -> None:
    adder, calls = make_adder()
    assert calls["loads"] == 0, "the loader must not run at decoration time"

    adder(np.ones(1), np.ones(1))
    adder(np.ones(1), np.ones(1))

    assert calls["loads"] == 1


def test_the_loader_runs_once_when_threads_race_for_the_first_prediction() -> None:
    loads = []

    @model(name="slow-loader")
    def slow(x: np.ndarray) -> np.ndarray:
        return x * slow.context.factor

    @slow.loadmethod
    def load() -> None:
        loads.append(1)
        time.sleep(0.05)
        slow.context.factor = 2

    results = []
    threads = [threading.Thread(target=lambda: results.append(slow(np.ones(2)))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert loads == [1]
    assert all((result == 2).all() for result in results)


def test_a_call_with_wrong_arguments_names_the_model_and_the_fix() -> None:
    adder, _ = make_adder()

    with pytest.raises(ArgumentError, match=r"model 'adder'.*missing a required argument: 'b'.*takes \(a, b\)"):
        adder(np.ones(1))
    with pytest.raises(ArgumentError, match=r"model 'adder': unexpected argument\(s\) 'c'; it takes \(a, b\)"):
        adder(np.ones(1), np.ones(1), c=np.ones(1))
    with pytest.raises(ArgumentError, match=r"model 'adder'.*too many positional arguments"):
        adder(np.ones(1), np.ones(1), np.ones(1))


def test_an_argument_of_the_wrong_type_names_the_input() -> None:
    @model(name="greeter")
    def greeter(name: str, times: int) -> str:
        return name * times

    assert greeter("ab", 2) == "abab"
    with pytest.raises(ArgumentError, match=r"model 'greeter': input 'times' got str, but the signature expects int"):
        greeter("ab", "2")
    with pytest.raises(ArgumentError, match=r"input 'name' got ndarray"):
        greeter(np.ones(1), 2)


def create_outlier_cls():  # type: ignore[no-untyped-def]
    @model(name="outlier", local_folder="/tmp/outlier")
    class OutlierModel:
        def __init__(self) -> None:
            self.folder = self.get_tempo().details.local_folder
            self.threshold = 2.0

        @predictmethod
        def outlier(self, payload: np.ndarray) -> dict:
            return {"is_outlier": (np.abs(payload) > self.threshold).tolist(), "folder": self.folder}

    return OutlierModel


def test_a_decorated_class_predicts_through_its_predictmethod() -> None:
    OutlierModel = create_outlier_cls()
    detector = OutlierModel()

    assert detector(np.array([1.0, 3.0])) == {"is_outlier": [False, True], "folder": "/tmp/outlier"}
    assert detector.get_tempo().details.name == "outlier"
    assert OutlierModel.get_tempo().details.name == "outlier"
    assert [spec.name for spec in OutlierModel.get_tempo().details.inputs] == ["payload"]


def test_the_class_model_builds_its_own_instance_lazily_when_called_through_get_tempo() -> None:
    OutlierModel = create_outlier_cls()

    assert OutlierModel.get_tempo()(payload=np.array([5.0]))["is_outlier"] == [True]


@pytest.mark.parametrize("count", [0, 2])
def test_a_class_needs_exactly_one_predictmethod(count: int) -> None:
    methods = {f"predict{index}": predictmethod(lambda self, x: x) for index in range(count)}
    Broken = type("Broken", (), methods)

    with pytest.raises(
        ModelDefinitionError, match=rf"model 'broken'.*exactly one method marked @predictmethod, found {count}"
    ):
        model(name="broken")(Broken)


def test_a_name_that_cannot_name_a_server_is_refused_with_a_suggestion() -> None:
    with pytest.raises(ModelDefinitionError, match=r"field 'name'.*e.g. 'my-model'"):
        Model(name="My_Model", platform=ModelFramework.SKLearn)


@pytest.fixture(scope="module")
def iris_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    joblib = pytest.importorskip("joblib")
    xgboost = pytest.importorskip("xgboost")
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    root = tmp_path_factory.mktemp("iris")
    features, labels = load_iris(return_X_y=True)
    (root / "sklearn").mkdir()
    joblib.dump(LogisticRegression(max_iter=1000).fit(features, labels), root / "sklearn" / "model.joblib")
    (root / "xgboost").mkdir()
    xgboost.XGBClassifier(n_estimators=5).fit(features, labels).save_model(root / "xgboost" / "model.json")
    return {"sklearn": root / "sklearn", "xgboost": root / "xgboost"}


def test_standard_artifacts_load_with_their_frameworks_loader(iris_folders: dict[str, Path]) -> None:
    sklearn_model = Model(
        name="iris-sklearn", platform=ModelFramework.SKLearn, local_folder=str(iris_folders["sklearn"])
    )
    xgboost_model = Model(
        name="iris-xgboost", platform=ModelFramework.XGBoost, local_folder=str(iris_folders["xgboost"])
    )
    setosa = np.array([[5.1, 3.5, 1.4, 0.2]])

    assert sklearn_model(input=setosa).tolist() == [[0]]
    assert xgboost_model(setosa).tolist() == [[0]]


def test_a_standard_artifact_without_its_file_says_what_to_save(tmp_path: Path) -> None:
    empty = Model(name="empty", platform=ModelFramework.SKLearn, local_folder=str(tmp_path))

    with pytest.raises(ArtifactError, match=r"model.joblib.*local_folder"):
        empty(np.ones((1, 4)))


def test_a_standard_artifact_takes_one_array() -> None:
    sklearn_model = Model(name="iris-sklearn", platform=ModelFramework.SKLearn)

    with pytest.raises(ArgumentError, match=r"takes one array"):
        sklearn_model(np.ones(1), np.ones(1))
    with pytest.raises(ArgumentError, match=r"input 'input' got list"):
        sklearn_model([1, 2])


def test_an_iris_pipeline_runs_its_children_in_process(iris_folders: dict[str, Path]) -> None:
    sklearn_model = Model(
        name="iris-sklearn", platform=ModelFramework.SKLearn, local_folder=str(iris_folders["sklearn"])
    )
    xgboost_model = Model(
        name="iris-xgboost", platform=ModelFramework.XGBoost, local_folder=str(iris_folders["xgboost"])
    )

    @pipeline(name="classifier", models=PipelineModels(sklearn=sklearn_model, xgboost=xgboost_model))
    def classifier(payload: np.ndarray) -> Tuple[np.ndarray, str]:
        res1 = classifier.models.sklearn(input=payload)
        if res1[0] == 1:
            return res1, "sklearn prediction"
        return classifier.models.xgboost(input=payload), "xgboost prediction"

    result, tag = classifier(np.array([[5.9, 2.8, 4.1, 1.3]]))
    assert (result.tolist(), tag) == ([[1]], "sklearn prediction")
    result, tag = classifier(np.array([[5.1, 3.5, 1.4, 0.2]]))
    assert (result.tolist(), tag) == ([[0]], "xgboost prediction")


def test_a_class_pipeline_reaches_its_children_through_self_models() -> None:
    adder, _ = make_adder()
    OutlierModel = create_outlier_cls()

    @pipeline(name="checked-sum", models=PipelineModels(adder=adder, outlier=OutlierModel))
    class CheckedSum:
        @predictmethod
        def run(self, a: np.ndarray, b: np.ndarray) -> dict:
            total = self.models.adder(a, b)
            return {"total": total.tolist(), **self.models.outlier(total)}

    assert CheckedSum()(np.array([-10.0]), np.array([1.0]))["is_outlier"] == [False]


def test_a_pipeline_child_that_is_not_a_model_is_refused() -> None:
    with pytest.raises(ModelDefinitionError, match=r"PipelineModels field 'helper' is a function, not a tempo model"):
        PipelineModels(helper=lambda x: x)


def test_pipeline_children_need_distinct_names() -> None:
    adder, _ = make_adder()
    with pytest.raises(ModelDefinitionError, match=r"distinct names"):

        @pipeline(name="adder", models=PipelineModels(a=adder))
        def twice(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return a


def test_a_class_without_predictmethod_predicts_with_its_own_call() -> None:
    @model(name="scaler")
    class Scaler:
        def __init__(self) -> None:
            self.factor = 3

        def __call__(self, values: np.ndarray) -> np.ndarray:
            return values * self.factor

    assert Scaler()(np.ones(2)).tolist() == [3.0, 3.0]
    assert Scaler.get_tempo()(values=np.ones(1)).tolist() == [3.0]
    assert [spec.name for spec in Scaler.get_tempo().details.inputs] == ["values"]


def test_a_class_with_its_own_call_and_another_predictmethod_is_refused() -> None:
    class Both:
        def __call__(self, values: np.ndarray) -> np.ndarray:
            return values

        @predictmethod
        def predict(self, values: np.ndarray) -> np.ndarray:
            return values

    with pytest.raises(ModelDefinitionError, match=r"model 'both': class .*Both defines __call__ and marks predict"):
        model(name="both")(Both)


def test_a_prepackaged_platform_on_decorated_code_is_refused_with_the_fix() -> None:
    with pytest.raises(
        ModelDefinitionError,
        match=r"model 'custom': platform=SKLearn names a prepackaged server.*use Model\(name, "
        r"platform=ModelFramework.SKLearn, local_folder=\.\.\.\)",
    ):

        @model(name="custom", platform=ModelFramework.SKLearn)
        def custom(payload: np.ndarray) -> np.ndarray:
            return payload


def make_tagging_pipeline(folder: Path | None = None):  # type: ignore[no-untyped-def]
    adder, _ = make_adder()

    @pipeline(name="tagger", models=PipelineModels(adder=adder), local_folder=str(folder) if folder else None)
    def tagger(a: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, str]:
        total = tagger.models.adder(a=a, b=b)
        return total, "big" if total.sum() > 100 else "small"

    return tagger, adder


def test_a_stubbed_child_lets_a_pipelines_logic_be_tested_in_process() -> None:
    tagger, adder = make_tagging_pipeline()
    assert tagger(np.ones(1), np.ones(1))[1] == "small"

    tagger.models.adder = lambda a, b: np.array([1000])

    assert tagger(np.ones(1), np.ones(1))[1] == "big"
    assert tagger.models.stubbed() == ["adder"]
    assert list(tagger.models.values()) == [adder] and list(tagger.models.keys()) == ["adder"], "stubs never travel"
    del tagger.models.adder
    assert tagger(np.ones(1), np.ones(1))[1] == "small"
    assert tagger.models.adder is adder


def test_monkeypatch_stubs_a_child_and_restores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    tagger, adder = make_tagging_pipeline()

    monkeypatch.setattr(tagger.models, "adder", lambda a, b: np.array([500]))
    assert tagger(np.ones(1), np.ones(1))[1] == "big"
    monkeypatch.undo()

    assert tagger.models.adder is adder
    assert tagger.models.stubbed() == []


def test_a_pipeline_with_a_stubbed_child_is_not_saved(tmp_path: Path) -> None:
    tagger, _ = make_tagging_pipeline(tmp_path / "tagger")
    tagger.models.adder = lambda a, b: a

    with pytest.raises(ModelDefinitionError, match=r"pipeline 'tagger' cannot be saved while its children adder are"):
        save(tagger, save_env=False)
    with pytest.raises(ModelDefinitionError, match=r"pipeline 'tagger' cannot be deployed while its children adder"):
        deploy_local(tagger)
    assert not (tmp_path / "tagger").exists()


@pytest.mark.parametrize(
    ("child", "value", "message"),
    [
        ("adder", 42, r"child 'adder' of the pipeline can be stubbed with a plain function"),
        ("nope", lambda: None, r"the pipeline has no child model 'nope'; its children are: adder"),
    ],
)
def test_only_a_childs_name_takes_a_stub_and_only_a_function(child: str, value: object, message: str) -> None:
    tagger, _ = make_tagging_pipeline()

    with pytest.raises(AttributeError, match=message):
        setattr(tagger.models, child, value)


def test_an_async_pipeline_runs_the_children_it_gathers_at_the_same_time() -> None:
    fan_out = make_fan_out(None, children=4)

    spans = asyncio.run(fan_out(0.5))

    assert spans.shape == (4, 2)
    assert ran_together(spans), "every child started before any finished"


def test_an_async_pipelines_children_take_plain_and_async_stubs() -> None:
    fan_out = make_fan_out(None, children=4)

    async def later(seconds: float) -> np.ndarray:
        return np.array([1.0, 2.0])

    fan_out.models.s0 = lambda seconds: np.array([0.0, 1.0])
    fan_out.models.s1 = later
    fan_out.models.s2 = fan_out.models.s3 = lambda seconds: np.array([3.0, 4.0])

    assert asyncio.run(fan_out(10.0)).tolist() == [[0.0, 1.0], [1.0, 2.0], [3.0, 4.0], [3.0, 4.0]]


def test_a_plain_pipeline_cannot_call_an_async_one() -> None:
    fan_out = make_fan_out(None, children=4)

    with pytest.raises(ModelDefinitionError, match=r"pipeline 'outer' is a plain def, but its children fan-out are"):

        @pipeline(name="outer", models=PipelineModels(inner=fan_out))
        def outer(seconds: float) -> np.ndarray:
            return outer.models.inner(seconds)
