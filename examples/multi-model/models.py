"""A pipeline of a class model and a function model: an outlier detector guarding an iris classifier."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Tuple

import joblib
import numpy as np

from tempo_core import CustomModel, ModelFramework, Pipeline, PipelineModels, model, pipeline, predictmethod

OutlierFolder = "outlier"
ClassifierFolder = "classifier"
PipelineFolder = "guarded-classifier"
OutlierTag = "outlier"
ClassifierTag = "classifier prediction"
MODEL_FILE = "model.joblib"


def train(artifacts_folder: str) -> None:
    """Fit an IsolationForest and a LogisticRegression on iris; save each with joblib into its own folder."""
    from sklearn.datasets import load_iris
    from sklearn.ensemble import IsolationForest
    from sklearn.linear_model import LogisticRegression

    features, labels = load_iris(return_X_y=True)
    for folder, estimator in (
        (OutlierFolder, IsolationForest(random_state=0).fit(features)),
        (ClassifierFolder, LogisticRegression(max_iter=1000).fit(features, labels)),
    ):
        (Path(artifacts_folder) / folder).mkdir(parents=True, exist_ok=True)
        joblib.dump(estimator, Path(artifacts_folder) / folder / MODEL_FILE)


def get_tempo_artifacts(artifacts_folder: str) -> Tuple[Pipeline, type, CustomModel]:
    """The detector (a class model), the classifier (a function model) and the pipeline that calls both."""

    @model(
        name="iris-outlier",
        platform=ModelFramework.Custom,
        local_folder=f"{artifacts_folder}/{OutlierFolder}",
        uri="s3://tempo/multi/outlier",
    )
    class OutlierModel:
        def __init__(self) -> None:
            self.detector = joblib.load(os.path.join(self.get_tempo().details.local_folder, MODEL_FILE))

        @predictmethod
        def outlier(self, payload: np.ndarray) -> dict:
            scores = self.detector.decision_function(payload)
            return {"data": {"is_outlier": (scores < 0).astype(int).tolist(), "instance_score": scores.tolist()}}

    @model(
        name="iris-classifier",
        platform=ModelFramework.Custom,
        local_folder=f"{artifacts_folder}/{ClassifierFolder}",
        uri="s3://tempo/multi/classifier",
    )
    def classifier(payload: np.ndarray) -> np.ndarray:
        return classifier.context.estimator.predict(payload)

    @classifier.loadmethod
    def load_classifier() -> None:
        classifier.context.estimator = joblib.load(os.path.join(classifier.details.local_folder, MODEL_FILE))

    @pipeline(
        name="guarded-classifier",
        uri="s3://tempo/multi/pipeline",
        local_folder=f"{artifacts_folder}/{PipelineFolder}",
        models=PipelineModels(outlier=OutlierModel, classifier=classifier),
    )
    def guarded_classifier(payload: np.ndarray) -> Tuple[np.ndarray, str]:
        verdict = guarded_classifier.models.outlier(payload=payload)
        if any(verdict["data"]["is_outlier"]):
            return np.full(len(payload), -1), OutlierTag
        return guarded_classifier.models.classifier(payload=payload), ClassifierTag

    return guarded_classifier, OutlierModel, classifier
