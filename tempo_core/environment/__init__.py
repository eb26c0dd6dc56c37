"""The Python environment that runs a saved model: captured into its artifact, cached by content, rebuilt offline."""

from tempo_core.environment.capture import capture_environment
from tempo_core.environment.matching import environment_matches_current
from tempo_core.environment.rebuild import ensure_python
from tempo_core.environment.record import EnvironmentRecord

__all__ = [
    "capture_environment",
    "environment_matches_current",
    "ensure_python",
    "EnvironmentRecord",
]
