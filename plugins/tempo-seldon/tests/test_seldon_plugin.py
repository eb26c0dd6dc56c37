"""tempo-seldon registers its protocol, runtime, manifest generator and command through its entry point."""

from __future__ import annotations

import json
import subprocess
import sys

from tempo_core.plugins import get_plugins
from tempo_seldon import SeldonCoreOptions, SeldonDeploymentGenerator, SeldonKubernetesRuntime, SeldonProtocol


def test_the_seed_options_pick_the_seldon_runtime_and_its_generator() -> None:
    plugins = get_plugins()
    options = SeldonCoreOptions(**{"remote_options": {"namespace": "production", "authSecretName": "minio-secret"}})

    assert plugins.protocols.get("seldon") is SeldonProtocol
    assert plugins.runtime_for(options) is SeldonKubernetesRuntime
    assert plugins.runtime_named("seldon") is SeldonKubernetesRuntime, "the command line's --runtime seldon"
    assert plugins.manifest_generators.get(options.manifest_target or "") is SeldonDeploymentGenerator
    assert SeldonKubernetesRuntime.options_class is SeldonCoreOptions


def test_tempo_plugins_shows_seldon_and_what_it_registers() -> None:
    listing = subprocess.run(
        [sys.executable, "-m", "tempo_core", "plugins", "--json"], capture_output=True, text=True, check=True
    )
    plugins = {entry["name"]: entry for entry in json.loads(listing.stdout)}

    assert plugins["seldon"]["distribution"] == "tempo-seldon"
    assert plugins["seldon"]["registers"] == {
        "protocol": ["seldon"],
        "runtime": ["seldon-k8s"],
        "manifest generator": ["seldon-deployment"],
        "command": ["seldon"],
    }


def test_importing_tempo_seldon_does_not_import_the_kubernetes_client() -> None:
    probe = "import sys, tempo_seldon, tempo_core; print('kubernetes' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "False"
