"""Tempo's MLServer launcher: `python -m tempo_kfserving.server start FOLDER` is MLServer's own `mlserver start`
with the protocol fixes tempo applies to the servers it starts (error shapes, status codes, the REST binary
extension), installed in this process before MLServer builds its REST app and gRPC servicer.

MLServer's own command serves the same models without them: that is what a stock MLServer image runs.
"""

from __future__ import annotations

import os

from tempo_kfserving import grpc_conformance, rest_conformance
from tempo_kfserving.settings import REQUEST_LOG_ENV

__all__ = ["main"]


def main() -> None:
    """Install tempo's protocol fixes (and the request log, when configured), then run MLServer's command line with
    this process's arguments."""
    rest_conformance.install()
    grpc_conformance.install()
    if os.environ.get(REQUEST_LOG_ENV):  # its HTTP client is imported only then: a cold start pays for what it uses
        from tempo_kfserving import request_log

        request_log.install()  # after the fixes: it sees the bodies as the client sent and received them
    from mlserver.cli import main as mlserver_main

    mlserver_main()


if __name__ == "__main__":
    main()
