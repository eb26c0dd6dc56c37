"""Fit the weights, save the custom model, call it in-process, deploy it on this machine, call it over V2."""

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
    with tempfile.TemporaryDirectory(prefix="tempo-custom-model-") as artifacts:
        folder = Path(artifacts) / "divorce"
        train(str(folder))
        # The model's code needs only numpy: saying so keeps its saved environment small.
        (folder / "requirements.txt").write_text("numpy\n")
        linear_divorce = get_tempo_artifact(str(folder))
        save(linear_divorce)
        marriage, age = np.array([15.0, 20.0, 26.5]), np.array([28.0, 25.0, 24.0])
        print(f"in-process: {linear_divorce(marriage, age)!r}")
        with deploy_local(linear_divorce) as remote:
            print(f"deployed {remote.name} at {remote.endpoint}")
            print(f"remote:     {remote.predict(marriage=marriage, age=age)!r}")
        print("undeployed")


if __name__ == "__main__":
    main()
