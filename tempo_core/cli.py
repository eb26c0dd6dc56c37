"""The `tempo` command line: save, deploy, predict, list, undeploy, manifest, upload, plugins.

Exit codes: 0 on success, 1 when tempo reports an error (the message says which and the fix), 2 for
a command line that cannot be used as given.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from tempo_core.api import runtime_for
from tempo_core.artifact import read_index, save
from tempo_core.cli_loading import CliUsageError, import_model, read_data, read_options, to_json
from tempo_core.errors import DeployError, PluginError, TempoError
from tempo_core.model import Servable
from tempo_core.plugins import get_plugins
from tempo_core.protocol import protocol_of
from tempo_core.reference import ModelReference
from tempo_core.remote import ProtocolClient
from tempo_core.runtime import Runtime
from tempo_core.version import __version__

__all__ = ["main", "cli", "run", "TempoGroup"]

TARGET = click.argument("target", metavar="MODULE:OBJECT")
RUNTIME = click.option(
    "--runtime",
    default="local",
    show_default=True,
    help="Where it runs: local, docker, seldon, kserve, or any installed runtime.",
)
OPTIONS = click.option(
    "--options",
    "options_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A YAML or JSON file with the runtime's options.",
)
AS_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


class TempoGroup(click.Group):
    """The `tempo` command: its own subcommands, and the ones plugins register, loaded only when asked for, so that
    `tempo --help` and tempo's own commands work when an installed plugin is broken."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A subcommand of tempo's own, else a plugin's (loading the plugins)."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        commands = get_plugins().commands
        return commands.get(cmd_name) if cmd_name in commands else None

    def list_commands(self, ctx: click.Context) -> list[str]:
        """tempo's own subcommands and the plugins' ones; a plugin that fails to load is reported, not fatal."""
        own = super().list_commands(ctx)
        try:
            registered = get_plugins().commands.names()
        except PluginError as exc:
            click.echo(f"Warning: plugins' commands are not listed: {exc}", err=True)
            registered = []
        return sorted({*own, *registered})


@click.group(cls=TempoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tempo")
def cli() -> None:
    """Define, save, serve and deploy machine-learning models and pipelines.

    MODULE:OBJECT names a model in your code, e.g. `models:classifier` or `models.py:classifier`.
    """


@cli.command()
@AS_JSON
def plugins(as_json: bool) -> None:
    """List installed plugins, their versions, and what each registers."""
    infos = get_plugins().describe()
    if as_json:
        click.echo(json.dumps([asdict(info) for info in infos], indent=2))
        return
    for info in infos:
        click.echo(f"{info.name} ({info.distribution} {info.version})")
        for kind, names in info.registers.items():
            click.echo(f"  {kind}: {', '.join(names)}")


@cli.command("save")
@TARGET
@click.option("--no-env", is_flag=True, help="Save the code only, not the environment that runs it.")
def save_command(target: str, no_env: bool) -> None:
    """Save a model into its local_folder: code, environment and an index of hashes."""
    click.echo(str(save(import_model(target), save_env=not no_env)))


@cli.command()
@TARGET
@RUNTIME
@OPTIONS
@AS_JSON
def deploy(target: str, runtime: str, options_file: Path | None, as_json: bool) -> None:
    """Deploy a model (saving it first if needed) and wait until it is ready.

    On the local runtime the server keeps running after this command; stop it with `tempo undeploy`.
    """
    from tempo_core.api import deploy as deploy_model

    options_class = get_plugins().runtime_named(runtime).options_class
    # Servers outlive this command where the runtime would otherwise stop them at exit.
    overrides: dict[str, Any] = {"detach": True} if "detach" in options_class.model_fields else {}
    options = read_options(runtime, options_file, **overrides)
    remote = deploy_model(import_model(target), options)
    if as_json:
        runtime_used = remote.runtime.name if remote.runtime is not None else runtime
        click.echo(json.dumps({"name": remote.name, "runtime": runtime_used, "endpoint": remote.endpoint}))
    else:
        click.echo(f"{remote.name} is ready at {remote.endpoint}")


def _deployed_model(model: str, runtime: Runtime) -> tuple[Servable, str]:
    """The model to call and its endpoint: from the user's code for MODULE:OBJECT, else from its saved artifact."""
    if ":" in model:  # model names are DNS labels, never with a colon
        servable = import_model(model)
        return servable, runtime.endpoint(servable)
    entry = next((deployed for deployed in runtime.list() if deployed.name == model), None)
    if entry is None:
        raise DeployError(
            f"model '{model}' is not deployed on the {runtime.name} runtime; run `tempo deploy MODULE:OBJECT`"
        )
    if entry.folder is None:
        raise DeployError(
            f"the {runtime.name} runtime does not know where model '{model}' is saved on this machine; "
            "name it by its code instead: `tempo predict MODULE:OBJECT ...`"
        )
    index = read_index(entry.folder, verify_environment=False)  # only its details are read here
    protocol = get_plugins().protocols.get(index.protocol)() if index.protocol else None
    return ModelReference(index.details, protocol), entry.endpoint


@cli.command()
@click.argument("model", metavar="NAME|MODULE:OBJECT")
@click.option("--data", required=True, help="JSON: an object by input name, or one input's value; @FILE reads a file.")
@RUNTIME
@OPTIONS
def predict(model: str, data: str, runtime: str, options_file: Path | None) -> None:
    """Call a deployed model and print its answer as JSON.

    A NAME is looked up on the runtime, which must know where the model is saved on this machine (local
    and docker do); MODULE:OBJECT takes the model from your code, for any runtime.
    """
    options = read_options(runtime, options_file)
    servable, endpoint = _deployed_model(model, runtime_for(options))
    client = ProtocolClient(servable, protocol_of(servable), endpoint)
    try:
        click.echo(json.dumps(to_json(client(read_data(data, servable.signature)))))
    finally:
        client.close()


@cli.command("list")
@RUNTIME
@OPTIONS
@AS_JSON
def list_command(runtime: str, options_file: Path | None, as_json: bool) -> None:
    """List the models a runtime serves (local: every process on this machine)."""
    options = read_options(runtime, options_file)
    deployed = runtime_for(options).list()
    if as_json:
        click.echo(json.dumps([entry.model_dump() for entry in deployed], indent=2))
        return
    for entry in deployed:
        grpc = f"\tgrpc {entry.grpc_endpoint}" if entry.grpc_endpoint else ""
        metrics = f"\tmetrics {entry.metrics_endpoint}" if entry.metrics_endpoint else ""
        click.echo(f"{entry.name}\t{entry.status}\t{entry.endpoint}{grpc}{metrics}")


@cli.command()
@click.argument("name")
@RUNTIME
@OPTIONS
def undeploy(name: str, runtime: str, options_file: Path | None) -> None:
    """Stop a deployed model and remove what its deploy started."""
    runtime_for(read_options(runtime, options_file)).undeploy_name(name)
    click.echo(f"{name} undeployed")


@cli.command()
@TARGET
@click.option("--runtime", default="seldon", show_default=True, help="seldon, kserve, or any runtime with manifests.")
@OPTIONS
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the YAML into this folder (one file per model) instead of printing it.",
)
def manifest(target: str, runtime: str, options_file: Path | None, output: Path | None) -> None:
    """Print the Kubernetes resources a cluster runtime would apply, for GitOps."""
    from tempo_core.api import manifest as render

    servable = import_model(target)
    text = render(servable, read_options(runtime, options_file))
    if output is None:
        click.echo(text, nl=False)
        return
    output.mkdir(parents=True, exist_ok=True)
    (output / f"{servable.name}.yaml").write_text(text)
    click.echo(str(output / f"{servable.name}.yaml"))


@cli.command()
@TARGET
@click.option(
    "--runtime",
    help="The cluster runtime (seldon, kserve, ...) whose server image environment.tar.gz is built for; "
    "default: the model's own runtime options, else the stock MLServer 1.7.1 image.",
)
@OPTIONS
def upload(target: str, runtime: str | None, options_file: Path | None) -> None:
    """Copy a saved model's local_folder (and a pipeline's children) to its uri.

    A custom model or pipeline first gets the environment.tar.gz that the cluster's MLServer image activates.
    """
    from tempo_core.transfer import upload as upload_model

    if options_file is not None and runtime is None:
        raise CliUsageError("--options needs --runtime to say whose options they are, e.g. --runtime seldon")
    options = read_options(runtime, options_file) if runtime is not None else None
    click.echo(upload_model(import_model(target), options))


def run(build: Callable[[], click.Command], prog_name: str) -> None:
    """Run the command `build` returns as a program: progress logged to stderr, tempo's own errors as one
    line and exit code 1, a command line that cannot be used as given as exit code 2."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        build().main(prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CliUsageError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except TempoError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)


def main() -> None:
    """Run `tempo`, with the commands plugins register."""
    run(lambda: cli, "tempo")
