"""The iris classifier of tempo's workflow: an sklearn model, an xgboost model, and a pipeline choosing between them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Tuple

import numpy as np

from tempo_core import Model, ModelFramework, Pipeline, PipelineModels, pipeline

SKLearnFolder = "sklearn"
XGBoostFolder = "xgboost"
PipelineFolder = "classifier"
SKLearnTag = "sklearn prediction"
XGBoostTag = "xgboost prediction"


def train(artifacts_folder: str) -> None:
    """Train both models on iris and save them in their frameworks' own formats."""
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from xgboost import XGBClassifier

    features, labels = load_iris(return_X_y=True)
    os.makedirs(Path(artifacts_folder) / SKLearnFolder, exist_ok=True)
    os.makedirs(Path(artifacts_folder) / XGBoostFolder, exist_ok=True)
    joblib.dump(
        LogisticRegression(max_iter=1000).fit(features, labels), Path(artifacts_folder) / SKLearnFolder / "model.joblib"
    )
    XGBClassifier(n_estimators=20).fit(features, labels).save_model(
        Path(artifacts_folder) / XGBoostFolder / "model.json"
    )


def get_tempo_artifacts(artifacts_folder: str) -> Tuple[Pipeline, Model, Model]:
    """The two models and the pipeline that calls the sklearn model, then the xgboost one unless sklearn says 1."""
    sklearn_model = Model(
        name="test-iris-sklearn",
        platform=ModelFramework.SKLearn,
        local_folder=f"{artifacts_folder}/{SKLearnFolder}",
        uri="s3://tempo/basic/sklearn",
    )
    xgboost_model = Model(
        name="test-iris-xgboost",
        platform=ModelFramework.XGBoost,
        local_folder=f"{artifacts_folder}/{XGBoostFolder}",
        uri="s3://tempo/basic/xgboost",
    )

    @pipeline(
        name="classifier",
        uri="s3://tempo/basic/pipeline",
        local_folder=f"{artifacts_folder}/{PipelineFolder}",
        models=PipelineModels(sklearn=sklearn_model, xgboost=xgboost_model),
    )
    def classifier(payload: np.ndarray) -> Tuple[np.ndarray, str]:
        res1 = classifier.models.sklearn(input=payload)
        if res1[0] == 1:
            return res1, SKLearnTag
        return classifier.models.xgboost(input=payload), XGBoostTag

    return classifier, sklearn_model, xgboost_model
