"""Train both models, save the pipeline, call it in-process, deploy it on this machine, call it over V2."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from models import ClassifierFolder, OutlierFolder, PipelineFolder, get_tempo_artifacts, train

from tempo_core import deploy_local, save


def main() -> None:
    """Run the workflow once and print what a user would look at."""
    with tempfile.TemporaryDirectory(prefix="tempo-multi-model-") as artifacts:
        train(artifacts)
        # Every model's code needs numpy and scikit-learn, the pipeline's too: by default it serves its
        # children in its own server. Saying so keeps the saved environments small.
        for folder in (OutlierFolder, ClassifierFolder, PipelineFolder):
            (Path(artifacts) / folder).mkdir(exist_ok=True)
            (Path(artifacts) / folder / "requirements.txt").write_text("numpy\nscikit-learn\n")
        guarded_classifier, _, _ = get_tempo_artifacts(artifacts)
        save(guarded_classifier)  # saves its two children too
        versicolor, odd = np.array([[5.9, 2.8, 4.1, 1.3]]), np.array([[50.0, 0.5, 30.0, 9.0]])
        print(f"in-process: {guarded_classifier(versicolor)!r} {guarded_classifier(odd)!r}")
        with deploy_local(guarded_classifier) as remote:
            print(f"deployed {remote.name} at {remote.endpoint}")
            print(f"remote:     {remote.predict(versicolor)!r} {remote.predict(payload=odd)!r}")
        print("undeployed")


if __name__ == "__main__":
    main()
