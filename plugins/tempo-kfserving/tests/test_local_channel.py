"""The local channel between servers on this machine, with real MLServer processes on both ends.

A pipeline deployed with LocalOptions(colocate=False) calls its children over their channel sockets
instead of REST; the answers and errors must be the ones REST gives, and a child without a channel
must still be reached over REST.
"""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

from tempo_core import deploy_local, model, save
from tempo_core.errors import RemoteError
from tempo_core.options import LocalOptions
from tempo_core.protocol import protocol_of
from tempo_core.remote import ProtocolClient
from tempo_kfserving.channel import CHANNEL_ENV, ChannelClient, channel_address, channel_namespace, client_for

pytestmark = pytest.mark.server

VERSICOLOR = np.array([[5.9, 2.8, 4.1, 1.3]])
SETOSA = np.array([[5.1, 3.5, 1.4, 0.2]])


def channel_sockets(model_name: str) -> int:
    """How many sockets (the listener and its accepted connections) carry a model's channel name."""
    address = channel_address(model_name)
    assert address is not None
    name = "@" + address[1:]
    lines = Path("/proc/net/unix").read_text().splitlines()[1:]
    return sum(1 for line in lines if line.split()[-1] == name)


@pytest.fixture
def in_the_runtimes_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    """This test process joins the channel namespace the local runtime gives its servers."""
    monkeypatch.setenv(CHANNEL_ENV, channel_namespace())


@pytest.fixture
def failing_model(tmp_path: Path):  # type: ignore[no-untyped-def]
    @model(name="picky", local_folder=str(tmp_path / "picky"))
    def picky(values: np.ndarray) -> np.ndarray:
        if values.sum() < 0:
            raise ValueError("negative totals are not allowed")
        return values * 2

    (tmp_path / "picky").mkdir()
    (tmp_path / "picky" / "requirements.txt").write_text("numpy\n")
    save(picky)
    return picky


@pytest.mark.usefixtures("in_the_runtimes_namespace")
def test_a_pipeline_calls_children_in_their_own_servers_over_their_channel(iris_artifacts: str) -> None:
    from models import get_tempo_artifacts

    classifier, _, _ = get_tempo_artifacts(iris_artifacts)
    save(classifier)

    with deploy_local(classifier, LocalOptions(colocate=False)) as remote:
        listening = channel_sockets("test-iris-sklearn")
        for payload in (VERSICOLOR, SETOSA, VERSICOLOR):
            array, tag = remote.predict(payload)
            expected_array, expected_tag = classifier(payload)
            np.testing.assert_array_equal(array, expected_array)
            assert tag == expected_tag
        assert listening == 1, "the child's server listens on its channel"
        assert channel_sockets("test-iris-sklearn") > listening, "the pipeline's server holds a channel connection"
        assert channel_sockets("test-iris-xgboost") > 1

    assert channel_sockets("test-iris-sklearn") == 0, "the channel goes with its server"


@pytest.mark.usefixtures("in_the_runtimes_namespace")
def test_the_channel_answers_and_fails_exactly_as_rest_does(failing_model) -> None:  # type: ignore[no-untyped-def]
    with deploy_local(failing_model) as remote:
        channel = client_for(failing_model, protocol_of(failing_model), remote.endpoint)
        rest = ProtocolClient(failing_model, protocol_of(failing_model), remote.endpoint)
        assert isinstance(channel, ChannelClient)
        try:
            good = {"values": np.arange(4.0)}
            np.testing.assert_array_equal(channel(good), rest(good))

            bad = {"values": -np.ones(3)}
            with pytest.raises(RemoteError) as over_rest:
                rest(bad)
            with pytest.raises(RemoteError) as over_channel:
                channel(bad)
            assert str(over_channel.value) == str(over_rest.value)
            assert "negative totals are not allowed" in str(over_channel.value)
            assert over_channel.value.status_code == over_rest.value.status_code == 500
        finally:
            channel.close()
            rest.close()


def test_a_model_without_a_channel_is_reached_over_rest(failing_model, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    with deploy_local(failing_model) as remote:
        monkeypatch.setenv(CHANNEL_ENV, "another-namespace")  # nothing listens there under this name
        client = client_for(failing_model, protocol_of(failing_model), remote.endpoint)
        try:
            np.testing.assert_array_equal(client({"values": np.ones(2)}), [2.0, 2.0])
        finally:
            client.close()


@pytest.mark.usefixtures("in_the_runtimes_namespace")
def test_servers_with_worker_processes_have_no_channel_and_pipelines_still_reach_them(iris_artifacts: str) -> None:
    from models import get_tempo_artifacts

    classifier, _, _ = get_tempo_artifacts(iris_artifacts)
    save(classifier)

    with deploy_local(classifier, LocalOptions(colocate=False, parallel_workers=1)) as remote:
        assert channel_sockets("test-iris-sklearn") == 0
        np.testing.assert_array_equal(remote.predict(VERSICOLOR)[0], classifier(VERSICOLOR)[0])
        assert remote.predict(SETOSA)[1] == classifier(SETOSA)[1]


@pytest.mark.usefixtures("in_the_runtimes_namespace")
def test_a_stray_client_on_the_channel_is_hung_up_on_and_the_model_keeps_answering(failing_model) -> None:  # type: ignore[no-untyped-def]
    with deploy_local(failing_model) as remote:
        address = channel_address("picky")
        assert address is not None
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stray:
            stray.settimeout(10)
            stray.connect(address)
            stray.sendall(b"GET / HTTP/1.1\r\nHost: picky\r\n\r\n")
            assert stray.recv(1024) == b"", "the server closes a connection that does not speak the channel"

        client = client_for(failing_model, protocol_of(failing_model), remote.endpoint)
        try:
            np.testing.assert_array_equal(client({"values": np.ones(2)}), [2.0, 2.0])
        finally:
            client.close()
