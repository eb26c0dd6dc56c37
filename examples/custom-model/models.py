"""A custom function model: a linear model fitted with numpy, whose weights a loader reads from its local_folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from tempo_core import CustomModel, ModelFramework, model

WEIGHTS_FILE = "weights.json"


def train(local_folder: str) -> None:
    """Fit the divorce rate on the marriage rate and the median age at marriage; write the weights as JSON."""
    rng = np.random.default_rng(0)
    marriage = rng.uniform(13.0, 30.0, size=50)
    age = rng.uniform(23.0, 30.0, size=50)
    divorce = 12.0 + 0.25 * marriage - 0.4 * age + rng.normal(0.0, 0.5, size=50)
    features = np.column_stack([np.ones_like(marriage), marriage, age])
    (intercept, slope_marriage, slope_age), *_ = np.linalg.lstsq(features, divorce, rcond=None)
    Path(local_folder).mkdir(parents=True, exist_ok=True)
    weights = {"intercept": intercept, "marriage": slope_marriage, "age": slope_age}
    (Path(local_folder) / WEIGHTS_FILE).write_text(json.dumps({name: float(value) for name, value in weights.items()}))


def get_tempo_artifact(local_folder: str) -> CustomModel:
    """The model: predicts divorce rates from two inputs, with weights loaded once, before the first prediction."""

    @model(
        name="linear-divorce",
        platform=ModelFramework.Custom,
        local_folder=local_folder,
        uri="s3://tempo/divorce",
    )
    def linear_divorce(marriage: np.ndarray, age: np.ndarray) -> np.ndarray:
        weights = linear_divorce.context.weights
        return weights["intercept"] + weights["marriage"] * marriage + weights["age"] * age

    @linear_divorce.loadmethod
    def load_linear_divorce() -> None:
        with open(os.path.join(linear_divorce.details.local_folder, WEIGHTS_FILE)) as weights_file:
            linear_divorce.context.weights = json.load(weights_file)

    return linear_divorce
