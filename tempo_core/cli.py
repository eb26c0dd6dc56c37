"""The `tempo` command line."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from tempo_core.errors import TempoError
from tempo_core.plugins import get_plugins
from tempo_core.version import __version__

__all__ = ["main", "cli"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tempo")
def cli() -> None:
    """Define, save, serve and deploy machine-learning models and pipelines."""


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
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


def main() -> None:
    """Run the CLI, turning tempo's own errors into a one-line message and exit code 1."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except TempoError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
