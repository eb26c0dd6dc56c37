"""The hooks a tempo plugin implements. Each hook's docstring is its reference documentation.

A plugin is a module with functions marked `@tempo_core.hookimpl`, registered under the
entry-point group `tempo`. Each hook is called through pluggy once per plugin, the first time tempo needs
what it registers, with a `register` callable bound to that plugin: `register(name, obj)` adds `obj`
under `name` and refuses a name another plugin already took; `register(name, obj, override=True)`
replaces what tempo-core's own plugins registered under it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from tempo_core.registry import Register

__all__ = [
    "PROJECT_NAME",
    "hookimpl",
    "tempo_register_protocols",
    "tempo_register_runtimes",
    "tempo_register_uploaders",
    "tempo_register_manifest_generators",
    "tempo_register_commands",
]

PROJECT_NAME = "tempo"
_hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# ---- wire protocols ---------------------------------------------------------------------------


@_hookspec
def tempo_register_protocols(register: Register) -> None:
    """Register WireProtocol subclasses by name, e.g. `register("v2", KFServingV2Protocol)`.

    Called once per plugin, the first time tempo needs a protocol (a deploy, a remote call, `tempo plugins`).
    The name is what `ModelDetails` and manifests record. Returns nothing.
    """


# ---- where servers run ------------------------------------------------------------------------


@_hookspec
def tempo_register_runtimes(register: Register) -> None:
    """Register Runtime subclasses by name, e.g. `register("docker", DockerRuntime)`.

    The runtime's `options_class` is how `deploy(model, options)` finds it: the options' class names their
    runtime. Called once per plugin, the first time a runtime is looked up. Returns nothing.
    """


# ---- moving artifacts -------------------------------------------------------------------------


@_hookspec
def tempo_register_uploaders(register: Register) -> None:
    """Register Uploader subclasses by URI scheme, e.g. `register("s3", RcloneUploader)`.

    The scheme `*` takes URIs whose scheme no plugin registered (the core's rclone uploader does,
    for remotes from the user's rclone config).

    Called once per plugin, the first time `upload` or `download` meets a URI. Returns nothing.
    """


# ---- declarative resources --------------------------------------------------------------------


@_hookspec
def tempo_register_manifest_generators(register: Register) -> None:
    """Register ManifestGenerator subclasses by target, e.g. `register("seldon-deployment", ...)`.

    Called once per plugin, the first time `manifest()` or a cluster runtime renders resources. Returns nothing.
    """


# ---- the command line -------------------------------------------------------------------------


@_hookspec
def tempo_register_commands(register: Register) -> None:
    """Register click commands or groups as `tempo` subcommands, e.g. `register("docker", docker_commands)`.

    Added in a change to DESIGN.md's four hooks: plugins need commands of their own (building serving
    images, say). Called once per plugin, the first time `tempo` lists its subcommands (`--help`) or is
    asked for one it does not have itself. Returns nothing.
    """
