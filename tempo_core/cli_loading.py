"""What the command line needs besides the API: importing `MODULE:OBJECT`, reading options files and data."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np
import yaml
from pydantic import ValidationError

from tempo_core.errors import TempoError
from tempo_core.manifest import to_yaml
from tempo_core.model import Servable, as_servable
from tempo_core.options import RuntimeOptions
from tempo_core.plugins import get_plugins
from tempo_core.signature import Signature, ValueKind

__all__ = [
    "import_model",
    "read_options",
    "read_data",
    "to_json",
    "echo_secrets",
    "RCLONE_CONFIG_OPTION",
    "CliUsageError",
]

# The `--rclone-config` option of the commands that render Secrets; rclone's own default location.
RCLONE_CONFIG_OPTION = click.option(
    "--rclone-config",
    "rclone_config",
    default="~/.config/rclone/rclone.conf",
    show_default=True,
    help="The rclone config whose remote(s) hold the credentials.",
)


class CliUsageError(TempoError):
    """A command-line argument that cannot be used as given."""


def _import_module(reference: str) -> Any:
    if reference.endswith(".py") or "/" in reference:
        path = Path(reference).resolve()
        if not path.is_file():
            raise CliUsageError(f"{reference}: no such Python file; write MODULE:OBJECT as path/to/file.py:name")
        sys.path.insert(0, str(path.parent))
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise CliUsageError(f"{reference}: cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        return module
    sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(reference)
    except ImportError as exc:
        raise CliUsageError(
            f"cannot import module {reference!r} ({exc}); run tempo from the folder that holds it"
        ) from exc


def import_model(target: str) -> Servable:
    """The tempo model named by `MODULE:OBJECT`: a model, a decorated class, or a function that returns one."""
    module_name, separator, attribute = target.partition(":")
    if not separator or not attribute:
        raise CliUsageError(f"{target!r} is not MODULE:OBJECT, e.g. models:classifier or models.py:classifier")
    module = _import_module(module_name)
    try:
        obj = getattr(module, attribute)
    except AttributeError:
        raise CliUsageError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if callable(obj) and not hasattr(obj, "get_tempo") and not isinstance(obj, Servable):
        obj = obj()
        if isinstance(obj, tuple):
            obj = obj[0]
    return as_servable(obj)


def read_options(runtime: str, options_file: Path | None, **overrides: Any) -> RuntimeOptions:
    """Build the runtime's options from a YAML or JSON file, validated by the runtime's own options class."""
    runtime_class = get_plugins().runtime_named(runtime)
    fields: dict[str, Any] = {}
    if options_file is not None:
        try:
            loaded = yaml.safe_load(options_file.read_text())
        except yaml.YAMLError as exc:
            raise CliUsageError(f"{options_file} is not YAML or JSON ({exc})") from None
        if not isinstance(loaded, dict):
            raise CliUsageError(f"{options_file} must hold a mapping of option names to values")
        fields.update(loaded)
    fields.update(overrides)
    try:
        return runtime_class.options_class(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        source = f" in {options_file}" if options_file else ""
        raise CliUsageError(
            f"option '{field}'{source}: {first['msg']}; the {runtime_class.name} runtime takes: "
            f"{', '.join(runtime_class.options_class.model_fields)}"
        ) from None


def read_data(text: str, signature: Signature) -> dict[str, Any]:
    """Arguments by input name from JSON (`@file` reads a file): an object by name, or one input's value."""
    if text.startswith("@"):
        text = Path(text[1:]).read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliUsageError(f"--data is not JSON ({exc}); pass e.g. '{{\"payload\": [[1, 2, 3, 4]]}}'") from None
    names = signature.input_names()
    if not (isinstance(data, dict) and set(data) <= set(names) and data):
        if len(names) != 1:
            raise CliUsageError(f"--data must be a JSON object with the inputs {', '.join(names)}")
        data = {names[0]: data}
    kinds = {spec.name: spec.kind for spec in signature.inputs}
    return {name: np.asarray(value) if kinds[name] == ValueKind.ndarray else value for name, value in data.items()}


def to_json(value: Any) -> Any:
    """A prediction as plain JSON: arrays as nested lists, tuples as lists, bytes as text."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def echo_secrets(documents: list[dict[str, Any]]) -> None:
    """Print Secrets as YAML for `kubectl apply -f -`, with a reminder on stderr that they hold credentials."""
    click.echo(to_yaml(documents), nl=False)
    click.echo("This holds credentials: apply it (| kubectl apply -f -), never commit it.", err=True)
