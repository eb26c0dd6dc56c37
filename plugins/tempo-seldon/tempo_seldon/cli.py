"""The `tempo seldon` commands: what Seldon Core needs beside a model's manifest."""

from __future__ import annotations

import click

from tempo_core.cli_loading import RCLONE_CONFIG_OPTION, echo_secrets

__all__ = ["seldon_commands"]


@click.group(name="seldon", context_settings={"help_option_names": ["-h", "--help"]})
def seldon_commands() -> None:
    """Render what Seldon Core needs beside a model's manifest."""


@seldon_commands.command("secret")
@click.argument("name")
@RCLONE_CONFIG_OPTION
@click.option("--namespace", default="default", show_default=True, help="The namespace the models run in.")
@click.option("--remote", "remotes", multiple=True, help="An rclone remote to include (repeatable; default: all).")
def secret_command(name: str, rclone_config: str, namespace: str, remotes: tuple[str, ...]) -> None:
    """Print the Secret NAME that Seldon Core's storage initializer downloads artifacts with.

    Use it as remote_options authSecretName: NAME. It holds every option of the chosen rclone remotes; name
    them `s3` and `gs`, as Seldon Core reads s3:// and gs:// URIs through remotes of those names.
    """
    from tempo_seldon.secret import secret_manifest

    echo_secrets([secret_manifest(name, rclone_config, namespace, list(remotes) or None)])
