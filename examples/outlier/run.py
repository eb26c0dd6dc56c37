"""Train the detector, save the class model, call it in-process, deploy it on this machine, call it over V2."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from models import get_tempo_artifact, train

from tempo_core import deploy_local, save


def main() -> None:
    """Run the workflow once and print what a user would look at."""
    with tempfile.TemporaryDirectory(prefix="tempo-outlier-") as artifacts:
        folder = Path(artifacts) / "outlier"
        train(str(folder))
        # What the detector's code imports: keeps the saved environment small.
        (folder / "requirements.txt").write_text("numpy\nscikit-learn\n")
        OutlierModel = get_tempo_artifact(str(folder))
        save(OutlierModel)
        batch = np.array([[5.9, 2.8, 4.1, 1.3], [50.0, 0.5, 30.0, 9.0]])  # a versicolor, and nothing like iris
        outlier = OutlierModel()
        print(f"in-process: {outlier(batch)!r}")
        with deploy_local(OutlierModel) as remote:
            print(f"deployed {remote.name} at {remote.endpoint}")
            print(f"remote:     {remote.predict(payload=batch)!r}")
        print("undeployed")


if __name__ == "__main__":
    main()
