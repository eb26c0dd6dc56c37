"""tempo-kfserving registers the V2 protocol through its entry point, as the default protocol."""

from __future__ import annotations

import json
import subprocess
import sys

from tempo_core.plugins import get_plugins
from tempo_kfserving import KFServingV2Protocol


def test_the_v2_protocol_is_registered_and_is_the_default() -> None:
    plugins = get_plugins()

    assert plugins.protocols.get("v2") is KFServingV2Protocol
    assert isinstance(plugins.default_protocol(), KFServingV2Protocol)


def test_tempo_plugins_shows_kfserving_and_its_protocol() -> None:
    listing = subprocess.run(
        [sys.executable, "-m", "tempo_core", "plugins", "--json"], capture_output=True, text=True, check=True
    )
    plugins = {entry["name"]: entry for entry in json.loads(listing.stdout)}

    assert plugins["kfserving"]["distribution"] == "tempo-kfserving"
    assert plugins["kfserving"]["registers"]["protocol"] == ["v2"]
