"""Every hook tempo-core declares reaches the installed plugins through pluggy: with tempo-kfserving, tempo-docker
and tempo-hello installed beside the core's own plugins, each hook has implementations that register something,
and pluggy's call monitoring sees each of those plugins' calls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tempo_core.plugins import Plugins, get_plugins, hook_names, reset_plugins


@pytest.fixture
def monitored() -> Iterator[tuple[Plugins, list[tuple[str, str]]]]:
    """Freshly loaded plugins whose hook calls are recorded as (hook, plugin) pairs before any registry is filled."""
    reset_plugins()
    plugins = get_plugins()
    calls: list[tuple[str, str]] = []
    undo = plugins.manager.add_hookcall_monitoring(
        lambda hook, impls, kwargs: calls.extend((hook, impl.plugin_name) for impl in impls),
        lambda outcome, hook, impls, kwargs: None,
    )
    yield plugins, calls
    undo()
    reset_plugins()


@pytest.mark.parametrize("hook", hook_names())
def test_each_hook_is_exercised_by_an_installed_plugin_through_pluggy(
    hook: str, monitored: tuple[Plugins, list[tuple[str, str]]]
) -> None:
    plugins, calls = monitored

    registered = {entry.plugin for entry in plugins.registry(hook)}

    assert registered, f"no installed plugin registers anything through {hook}"
    assert registered <= {plugin for name, plugin in calls if name == hook}, "a plugin registered outside pluggy"
