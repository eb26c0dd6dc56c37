"""Checking a manifest against its CRD's `openAPIV3Schema`, as strictly as an API server with strict field validation.

A CRD schema does not set `additionalProperties: false`, so a plain JSON-schema check lets a misspelt field pass
(an API server prunes it, or rejects it under strict field validation). `strict_schema` closes every object that
lists its properties and does not preserve unknown fields. Needs `jsonschema` (a test dependency).
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["strict_schema", "manifest_errors"]


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of `schema` where every node with `properties` and no `additionalProperties` or
    `x-kubernetes-preserve-unknown-fields: true` refuses properties it does not list."""
    strict = copy.deepcopy(schema)

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if (
                isinstance(node.get("properties"), dict)
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for item in node:
                close(item)

    close(strict)
    return strict


def manifest_errors(document: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Every way `document` breaks `schema` (Draft 7, as the CRD schemas are written), each with its path."""
    from jsonschema import Draft7Validator

    return [
        f"{'.'.join(str(part) for part in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(
            Draft7Validator(schema).iter_errors(document), key=lambda error: [str(part) for part in error.absolute_path]
        )
    ]
