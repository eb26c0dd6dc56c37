"""The demo: train, save, deploy the iris pipeline on this machine, predict, undeploy."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from models import PipelineFolder, get_tempo_artifacts, train

from tempo_core import deploy_local, save


def main() -> None:
    """Run the whole workflow once and print what a user would look at."""
    with tempfile.TemporaryDirectory(prefix="tempo-iris-") as artifacts:
        train(artifacts)
        classifier, _, _ = get_tempo_artifacts(artifacts)
        # The pipeline's own code needs only numpy: saying so keeps its saved environment small.
        (Path(artifacts) / PipelineFolder).mkdir()
        (Path(artifacts) / PipelineFolder / "requirements.txt").write_text("numpy\n")
        save(classifier)
        versicolor, setosa = np.array([[5.9, 2.8, 4.1, 1.3]]), np.array([[5.1, 3.5, 1.4, 0.2]])
        print("in-process:", classifier(versicolor), classifier(setosa))
        with deploy_local(classifier) as remote:
            print(f"deployed {remote.name} at {remote.endpoint}")
            print("remote:    ", remote.predict(versicolor), remote.predict(payload=setosa))
        print("undeployed")


if __name__ == "__main__":
    main()
