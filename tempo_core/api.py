"""The deploy functions of the user's API: pick the runtime from the options, save if needed, start, wait."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tempo_core.artifact import INDEX_FILE, ensure_saved, read_index
from tempo_core.errors import DeployError
from tempo_core.manifest import to_yaml
from tempo_core.model import Servable, as_servable
from tempo_core.options import ClientOptions, LocalOptions, RuntimeOptions
from tempo_core.pipeline import require_no_stubs, servables_in_order
from tempo_core.plugins import get_plugins
from tempo_core.protocol import protocol_of
from tempo_core.remote import RemoteModel
from tempo_core.runtime import Runtime
from tempo_core.signature import ValueKind

__all__ = [
    "deploy",
    "deploy_local",
    "deploy_remote",
    "attach",
    "manifest",
    "runtime_for",
    "require_server_environments",
    "require_batchable",
]


def runtime_for(options: RuntimeOptions) -> Runtime:
    """A runtime of the kind the options' class is for (`LocalOptions` -> local, `DockerOptions` -> docker, ...)."""
    return get_plugins().runtime_for(options)(options)


def deploy(obj: Any, options: RuntimeOptions) -> RemoteModel:
    """Deploy a model on the runtime its options name and wait until it is ready.

    Custom code is saved first when its folder does not hold it as it is now (never saved, or edited since), so a
    redeploy after an edit serves the new code; a runtime keeps a server that still serves what is saved.
    """
    servable = as_servable(obj)
    require_no_stubs(servable, "be deployed")
    require_batchable(servable, options)
    ensure_saved(servable)
    require_server_environments(servable, options)
    # The runtime and the protocol are found before anything is started: a missing plugin leaves nothing running.
    runtime = runtime_for(options)
    protocol = protocol_of(servable)
    runtime.deploy(servable)
    try:
        runtime.wait_ready(servable)
    except BaseException:
        runtime.undeploy(servable)
        raise
    return RemoteModel(servable, runtime, protocol)


def deploy_local(obj: Any, options: RuntimeOptions | None = None) -> RemoteModel:
    """Deploy on this machine: in a local server process, or in Docker with `DockerOptions()`.

    Options for a cluster (given, or the model's own runtime_options) never reach it from here: the model is served
    by the local runtime, with those options' client settings; `deploy_remote` deploys to the cluster.
    """
    servable = as_servable(obj)
    chosen = options or servable.runtime_options
    if chosen is None or chosen.manifest_target is not None:
        chosen = LocalOptions(client=chosen.client) if chosen is not None else LocalOptions()
    return deploy(servable, chosen)


def deploy_remote(obj: Any, options: RuntimeOptions | None = None) -> RemoteModel:
    """Deploy to a cluster runtime (Seldon Core, KServe) named by the options."""
    servable = as_servable(obj)
    chosen = options or servable.runtime_options
    if chosen is None or chosen.manifest_target is None:
        raise DeployError(
            f"model '{servable.name}': deploy_remote needs cluster options such as SeldonCoreOptions(...) or "
            "KFServingOptions(...); use deploy_local for this machine"
        )
    return deploy(servable, chosen)


def attach(
    obj: Any, endpoint: str, *, grpc_endpoint: str | None = None, options: ClientOptions | None = None
) -> RemoteModel:
    """Call a model that is already deployed at `endpoint` (its server's base URL), deploying nothing.

    `obj` is the model as defined in code or loaded with `load(folder)`: its name and signature say how to call
    it. `grpc_endpoint` (`host:port`) lets `ClientOptions(transport="grpc")` reach the same server over gRPC.
    """
    servable = as_servable(obj)
    return RemoteModel(
        servable, None, protocol_of(servable), endpoint=endpoint, grpc_endpoint=grpc_endpoint, options=options
    )


def manifest(obj: Any, options: RuntimeOptions) -> str:
    """The multi-document YAML a cluster runtime would apply for the model, in a stable order, for GitOps."""
    servable = as_servable(obj)
    if options.manifest_target is None:
        raise DeployError(
            f"{type(options).__name__} are options of a runtime that applies no manifests; pass SeldonCoreOptions(...) "
            "or KFServingOptions(...)"
        )
    require_batchable(servable, options)
    require_server_environments(servable, options)
    generator = get_plugins().manifest_generators.get(options.manifest_target)()
    documents = generator.render(servable, options)
    return to_yaml(documents)


def require_batchable(servable: Servable, options: RuntimeOptions) -> None:
    """Refuse batching options for a model that has an input or output other than an array: batching joins requests
    along their arrays' first dimension and splits the answer the same way."""
    if options.batching is None:
        return
    specs = (*servable.signature.inputs, *servable.signature.outputs)
    others = [spec.name for spec in specs if spec.kind is not ValueKind.ndarray]
    if others:
        raise DeployError(
            f"model '{servable.name}': adaptive batching joins requests along their arrays' first dimension, but "
            f"{', '.join(others)} are not arrays; drop batching= from the options, or make every input and output "
            "an np.ndarray"
        )


def require_server_environments(servable: Servable, options: RuntimeOptions) -> None:
    """Refuse cluster options whose server image activates an environment.tar.gz that a saved custom model in the
    tree lacks, or has for another target or another saved environment. Unsaved folders are not checked, so
    manifests for GitOps render without artifacts."""
    target = options.server_target()
    if target is None:
        return
    problems = []
    for item in servables_in_order(servable):
        folder = item.details.local_folder
        if not item.details.platform.is_custom_code or not folder or not (Path(folder) / INDEX_FILE).is_file():
            continue
        saved = read_index(folder, verify_environment=False)
        built = saved.server_environment
        if saved.environment is None:
            problems.append(f"model '{item.name}' was saved without its environment (save it with save_env=True)")
        elif built is None:
            problems.append(f"model '{item.name}' has no environment.tar.gz")
        elif (built.python_version, built.platform) != (target.python_version, target.platform):
            problems.append(
                f"model '{item.name}' has an environment.tar.gz for CPython {built.python_version} on {built.platform}"
            )
        elif built.environment_hash != saved.environment.get("content_hash"):
            problems.append(f"model '{item.name}' has an environment.tar.gz built from an older saved environment")
    if problems:
        raise DeployError(
            f"{'; '.join(problems)}, but the cluster's server image needs one built for {target}: run "
            "upload(model, options) (or `tempo upload MODULE:OBJECT --runtime RUNTIME --options FILE`) first, or set "
            "serverImage in remote_options to an image that holds the environment"
        )
