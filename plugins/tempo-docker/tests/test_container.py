"""What a model's container is made of, from the options: limits, GPUs, loopback-only port, read-only artifact."""

from __future__ import annotations

import os
from pathlib import Path

from tempo_core.protocol import ServerLaunch
from tempo_docker import DockerOptions
from tempo_docker.container import CONTAINER_PORT, container_args


def args_for(options: DockerOptions, tmp_path: Path) -> dict:  # type: ignore[type-arg]
    launch = ServerLaunch(argv=["python", "-m", "server"], workdir=tmp_path / "work", ready_paths=("/ready",))
    return container_args(
        name="tempo-test--m",
        image="sha256:abc",
        launch=launch,
        artifact_folder=tmp_path / "artifact",
        network="tempo-test",
        options=options,
        labels={"io.tempo.model": "m"},
    )


def test_limits_gpus_and_environment_reach_the_container(tmp_path: Path) -> None:
    options = DockerOptions(namespace="test", cpus=1.5, memory="2g", gpus=-1, env={"GREETING": "hi"})

    args = args_for(options, tmp_path)

    assert args["nano_cpus"] == 1_500_000_000
    assert args["mem_limit"] == "2g"
    (request,) = args["device_requests"]
    assert request["Count"] == -1 and request["Capabilities"] == [["gpu"]]
    assert args["environment"]["GREETING"] == "hi"


def test_without_limits_the_container_has_none(tmp_path: Path) -> None:
    args = args_for(DockerOptions(namespace="test"), tmp_path)

    assert not {"nano_cpus", "mem_limit", "device_requests"} & set(args)


def test_the_port_is_published_on_loopback_only_and_folders_keep_their_paths(tmp_path: Path) -> None:
    args = args_for(DockerOptions(namespace="test"), tmp_path)

    assert args["ports"] == {f"{CONTAINER_PORT}/tcp": ("127.0.0.1", None)}
    mounts = {mount["Target"]: mount for mount in args["mounts"]}
    assert mounts[str(tmp_path / "artifact")]["Source"] == str(tmp_path / "artifact")
    assert mounts[str(tmp_path / "artifact")]["ReadOnly"] is True
    assert mounts[str(tmp_path / "work")]["ReadOnly"] is False
    assert args["user"] == f"{os.getuid()}:{os.getgid()}"
    assert args["command"] == ["python", "-m", "server"] and args["working_dir"] == str(tmp_path / "work")
