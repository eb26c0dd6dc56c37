"""The REST binary tensor data extension read back as the JSON request it stands for: a JSON header of
`Inference-Header-Content-Length` bytes, then each binary input's raw bytes."""

from __future__ import annotations

import json
import struct
from typing import Any

from tempo_core.errors import ArgumentError

__all__ = ["unpack_binary_request"]

# The raw element layout of each V2 datatype (little-endian), as the extension carries it.
_LAYOUT = {
    "BOOL": "?",
    "UINT8": "B",
    "UINT16": "H",
    "UINT32": "I",
    "UINT64": "Q",
    "INT8": "b",
    "INT16": "h",
    "INT32": "i",
    "INT64": "q",
    "FP16": "e",
    "FP32": "f",
    "FP64": "d",
}
_U32 = struct.Struct("<I")


def unpack_binary_request(body: bytes, header_length: str) -> dict[str, Any]:
    """A binary-extension request as the JSON request it stands for, each tensor's raw bytes unpacked into `data`."""
    try:
        length = int(header_length)
    except ValueError:
        raise ArgumentError(f"Inference-Header-Content-Length is {header_length!r}, not a byte count") from None
    if not 0 < length <= len(body):
        raise ArgumentError(
            f"Inference-Header-Content-Length is {length}, but the body has {len(body)} bytes; "
            "send the JSON header's length"
        )
    try:
        document = json.loads(body[:length])
    except ValueError as exc:
        raise ArgumentError(f"the binary request's JSON header is not JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("inputs"), list):
        raise ArgumentError("the binary request's JSON header needs an `inputs` list")
    offset = length
    for index, tensor in enumerate(document["inputs"]):
        parameters = tensor.get("parameters") if isinstance(tensor, dict) else None
        if not isinstance(parameters, dict) or "binary_data_size" not in parameters:
            continue
        size = parameters.pop("binary_data_size")
        name = tensor.get("name", index)
        if not isinstance(size, int) or size < 0 or offset + size > len(body):
            raise ArgumentError(
                f"input '{name}': binary_data_size is {size!r}, but {len(body) - offset} bytes of binary data are left"
            )
        tensor["data"] = _unpack(tensor, body[offset : offset + size], name)
        offset += size
    if offset != len(body):
        raise ArgumentError(
            f"{len(body) - offset} bytes after the last binary input; binary_data_size must cover the body"
        )
    return document


def _unpack(tensor: dict[str, Any], blob: bytes, name: object) -> list[Any]:
    datatype = tensor.get("datatype")
    if datatype == "BYTES":
        elements, offset = [], 0
        while offset < len(blob):
            if offset + 4 > len(blob):
                raise ArgumentError(f"input '{name}': a BYTES element's 4-byte length is cut off")
            (size,) = _U32.unpack_from(blob, offset)
            offset += 4
            if offset + size > len(blob):
                raise ArgumentError(f"input '{name}': a BYTES element of {size} bytes runs past the tensor's data")
            try:
                elements.append(blob[offset : offset + size].decode())
            except UnicodeDecodeError:
                raise ArgumentError(
                    f"input '{name}': a BYTES element is not UTF-8, which this model's JSON requests cannot carry; "
                    "send it base64-encoded"
                ) from None
            offset += size
        return elements
    layout = _LAYOUT.get(str(datatype))
    if layout is None:
        raise ArgumentError(f"input '{name}': datatype {datatype!r} is not a V2 datatype")
    width = struct.calcsize(layout)
    if len(blob) % width:
        raise ArgumentError(f"input '{name}': {len(blob)} bytes is not a whole number of {datatype} elements")
    return list(struct.unpack(f"<{len(blob) // width}{layout}", blob))
