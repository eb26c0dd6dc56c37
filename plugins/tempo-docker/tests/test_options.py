"""DockerOptions: defaults a user relies on, and values refused with a message that says what to write instead."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tempo_core.plugins import get_plugins
from tempo_docker import DEFAULT_IMAGE, DockerOptions, DockerRuntime
from tempo_docker.labels import container_name, network_name


def test_the_defaults_go_to_the_docker_runtime_with_the_default_image_and_the_users_namespace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOGNAME", "Jane.Doe")

    options = DockerOptions()

    assert get_plugins().runtime_for(options) is DockerRuntime
    assert options.image == DEFAULT_IMAGE
    assert options.namespace == "jane-doe"
    assert network_name(options.namespace) == "tempo-jane-doe"


def test_names_of_two_namespaces_never_collide() -> None:
    assert container_name("a-b", "c") != container_name("a", "b-c")
    assert container_name("team-a", "classifier") == "tempo-team-a--classifier"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("namespace", "a--b", "cannot be part of a container name"),
        ("namespace", "Team_A", "cannot be part of a container name"),
        ("memory", "lots", "is not a size"),
        ("labels", {"io.tempo.model": "x"}, "tempo keeps for its own labels"),
        ("gpus", -2, "greater than or equal to -1"),
    ],
)
def test_values_that_cannot_work_are_refused_with_the_fix(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DockerOptions(**{field: value})
