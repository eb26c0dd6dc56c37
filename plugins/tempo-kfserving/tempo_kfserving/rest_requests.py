"""What a V2 REST request is for, its body, and how its problems are worded: what tempo's REST middleware share."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.types import Receive, Scope

from tempo_core.errors import ArgumentError

__all__ = ["describe_validation_errors", "infer_model", "infer_target", "read_body", "request_headers"]


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


def request_headers(scope: Scope) -> dict[str, str]:
    """The request's headers as text, by their lower-case names (as ASGI servers give them)."""
    return {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}


async def read_body(scope: Scope, receive: Receive) -> bytes:
    """The whole request body, read from its ASGI messages; decompressed if its Content-Encoding is gzip, as MLServer's
    request class reads it (ArgumentError if it does not decompress)."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    if not any(key == b"content-encoding" and b"gzip" in value for key, value in scope["headers"]):
        return body
    try:
        return gzip.decompress(body)
    except (OSError, EOFError, zlib.error) as exc:
        raise ArgumentError(f"the body's Content-Encoding is gzip, but it does not decompress ({exc})") from None


def describe_validation_errors(errors: Iterable[Mapping[str, Any]]) -> str:
    """One sentence per problem, each naming the field as a path into the body: `inputs[0].datatype: ...`."""
    problems = []
    for error in errors:
        location = [part for part in error.get("loc", ()) if part != "body"]
        if error.get("type") == "json_invalid":
            problems.append(f"the body is not JSON ({error.get('ctx', {}).get('error', error.get('msg'))})")
            continue
        path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".")
        message = str(error.get("msg", "is invalid"))
        if error.get("type") != "missing" and "input" in error and not isinstance(error["input"], (dict, list)):
            message += f" (got {error['input']!r})"
        problems.append(f"{path or 'the body'}: {message}")
    return "; ".join(problems) or "the request is invalid"
