"""What a V2 REST request is for, and its body: what tempo's REST middleware share."""

from __future__ import annotations

from starlette.types import Receive, Scope

__all__ = ["infer_model", "infer_target", "read_body"]


def infer_target(scope: Scope) -> tuple[str, str | None] | None:
    """The model name and version of a `POST /v2/models/{name}[/versions/{v}]/infer`, else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    parts = scope["path"].strip("/").split("/")
    if len(parts) == 4 and parts[:2] == ["v2", "models"] and parts[3] == "infer":
        return parts[2], None
    if len(parts) == 6 and parts[:2] == ["v2", "models"] and parts[3] == "versions" and parts[5] == "infer":
        return parts[2], parts[4]
    return None


def infer_model(scope: Scope) -> str | None:
    """The model name of a `POST /v2/models/{name}[/versions/{v}]/infer`, else None."""
    target = infer_target(scope)
    return None if target is None else target[0]


async def read_body(receive: Receive) -> bytes:
    """The whole request body, read from its ASGI messages."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
