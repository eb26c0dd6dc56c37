"""tempo-hello's hook implementations."""

import click

from tempo_core import hookimpl
from tempo_hello.manifest import HelloConfigMap
from tempo_hello.uploader import HelloUploader


@hookimpl
def tempo_register_uploaders(register):  # type: ignore[no-untyped-def]
    """Register the `hello` scheme."""
    register("hello", HelloUploader)


@hookimpl
def tempo_register_manifest_generators(register):  # type: ignore[no-untyped-def]
    """Register the ConfigMap renderer."""
    register("hello-configmap", HelloConfigMap)


@click.command()
@click.argument("name", default="world")
def hello(name: str) -> None:
    """Greet someone."""
    click.echo(f"hello, {name}")


@hookimpl
def tempo_register_commands(register):  # type: ignore[no-untyped-def]
    """Register `tempo hello`."""
    register("hello", hello)
