"""tempo-subprocess: an example tempo runtime that serves each model as a plain subprocess on loopback."""

from tempo_subprocess.options import SubprocessOptions
from tempo_subprocess.runtime import SubprocessRuntime

__version__ = "0.1.0"

__all__ = ["SubprocessOptions", "SubprocessRuntime", "__version__"]
