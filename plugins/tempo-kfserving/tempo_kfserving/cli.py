"""The `tempo kserve` commands: what KServe needs beside a model's manifest."""

from __future__ import annotations

import click

from tempo_core.cli_loading import RCLONE_CONFIG_OPTION, echo_secrets

__all__ = ["kserve_commands"]


@click.group(name="kserve", context_settings={"help_option_names": ["-h", "--help"]})
def kserve_commands() -> None:
    """Render what KServe needs beside a model's manifest."""


@kserve_commands.command("credentials")
@click.argument("name")
@RCLONE_CONFIG_OPTION
@click.option("--namespace", default="default", show_default=True, help="The namespace the models run in.")
@click.option("--remote", default="s3", show_default=True, help="The rclone S3 remote that holds the keys.")
def credentials_command(name: str, rclone_config: str, namespace: str, remote: str) -> None:
    """Print the Secret and service account NAME that KServe's storage initializer downloads artifacts with.

    Use it as remote_options serviceAccountName: NAME.
    """
    from tempo_kfserving.credentials import storage_credentials_manifests

    echo_secrets(storage_credentials_manifests(name, rclone_config, namespace, remote))
