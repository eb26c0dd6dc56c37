"""The `tempo docker` commands: build the images the Docker runtime serves with, offline, and push them for clusters."""

from __future__ import annotations

from pathlib import Path

import click

from tempo_core.cli import run
from tempo_docker.base import build_base_image
from tempo_docker.build import build_image
from tempo_docker.options import DEFAULT_BASE, DEFAULT_IMAGE
from tempo_docker.push import push_image, registry_of

__all__ = ["docker_commands", "main"]


@click.group(name="docker", context_settings={"help_option_names": ["-h", "--help"]})
def docker_commands() -> None:
    """Build the images that tempo serves models with, offline, and push them to a registry for clusters."""


@docker_commands.command("build-image")
@click.argument("tag", default=DEFAULT_IMAGE)
@click.option("--base", default=DEFAULT_BASE, show_default=True, help="Local base image with python3 and python3-venv.")
@click.option(
    "--requirements",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Install the closure of these requirements only (default: every installed distribution).",
)
@click.option("--force", is_flag=True, help="Build even if TAG was built from the same environment and base.")
@click.option("--push", is_flag=True, help="Then push TAG (REGISTRY/NAME:TAG) to its registry, for a cluster to pull.")
def build_image_command(tag: str, base: str, requirements: Path | None, force: bool, push: bool) -> None:
    """Build the serving image TAG from this Python environment and a local base image, with no network.

    The image serves /mnt/models with MLServer as user 1000 when run with no command, as clusters run `serverImage`.
    """
    if push:
        registry_of(tag)  # refuse a name that cannot be pushed before building for minutes
    image_id = build_image(tag, base=base, requirements=requirements, force=force)
    click.echo(f"{tag} {image_id}")
    if push:
        click.echo(push_image(tag))


@docker_commands.command("build-base")
@click.argument("name", default=DEFAULT_BASE)
@click.option("--suite", default="bookworm", show_default=True, help="Debian release; its Python must be this one's.")
@click.option(
    "--rootfs-cache",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Tarball of the root filesystem: imported if it exists, else written, so debootstrap runs once.",
)
@click.option("--mirror", help="Debian mirror for debootstrap.")
def build_base_command(name: str, suite: str, rootfs_cache: Path | None, mirror: str | None) -> None:
    """Make the base image NAME from a minimal Debian with Python (debootstrap; needs root)."""
    image_id = build_base_image(name, suite=suite, rootfs_tarball=rootfs_cache, mirror=mirror)
    click.echo(f"{name} {image_id}")


def main() -> None:
    """Run the `tempo docker` commands on their own (`python -m tempo_docker`), as `tempo docker` runs them."""
    run(lambda: docker_commands, "tempo docker")
