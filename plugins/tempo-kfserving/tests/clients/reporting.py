"""What the client scripts report of an array, as JSON; numpy only, so it imports in every client's environment."""

from __future__ import annotations

from typing import Any

import numpy as np


def described(array: np.ndarray) -> dict[str, Any]:
    """An array as JSON: dtype, shape and values (bytes as latin-1 text)."""
    values = [item.decode("latin-1") if isinstance(item, bytes) else item for item in array.ravel().tolist()]
    return {"dtype": str(array.dtype), "shape": list(array.shape), "values": values}
