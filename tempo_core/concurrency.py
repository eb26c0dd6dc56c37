"""Running blocking calls from async code: on one shared pool of threads, so the event loop never waits on them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["run_in_pool", "POOL_SIZE"]

T = TypeVar("T")

# As many calls in flight as the REST client keeps connections per server (tempo_core.remote's pool).
POOL_SIZE = 32

_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="tempo-call")
        return _pool


async def run_in_pool(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Await `function(*args, **kwargs)` run on tempo's pool of threads (asyncio's default one is sized to the CPUs,
    too few for calls that wait on other servers)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_shared_pool(), lambda: function(*args, **kwargs))
