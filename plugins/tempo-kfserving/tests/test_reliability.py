"""Under load and faults, on loopback, bounded in count and time: real MLServer processes, nothing mocked."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from tests_support import pid_alive

from tempo_core import deploy_local, local_state, model, save
from tempo_core.errors import RemoteError
from tempo_core.options import LocalOptions
from tempo_core.processes import free_port
from tempo_core.remote import ProtocolClient
from tempo_kfserving import KFServingV2Protocol

pytestmark = pytest.mark.server

CLIENTS = 32
REQUESTS_PER_CLIENT = 16
VERSICOLOR = np.array([[5.9, 2.8, 4.1, 1.3]])
SETOSA = np.array([[5.1, 3.5, 1.4, 0.2]])


@pytest.fixture
def iris(iris_artifacts: str):  # type: ignore[no-untyped-def]
    from models import get_tempo_artifacts

    classifier, sklearn_model, xgboost_model = get_tempo_artifacts(iris_artifacts)
    save(classifier)
    return classifier, sklearn_model, xgboost_model


@pytest.mark.parametrize("colocate", [True, False], ids=["colocated", "one-server-per-model"])
def test_32_concurrent_clients_get_every_answer_right(iris, colocate: bool) -> None:  # type: ignore[no-untyped-def]
    classifier = iris[0]
    expected = {name: classifier(payload) for name, payload in (("versicolor", VERSICOLOR), ("setosa", SETOSA))}

    with deploy_local(classifier, LocalOptions(colocate=colocate)) as remote:

        def client(index: int) -> list[bool]:
            name, payload = ("versicolor", VERSICOLOR) if index % 2 else ("setosa", SETOSA)
            results = []
            for _ in range(REQUESTS_PER_CLIENT):
                array, tag = remote.predict(payload)
                results.append(array.tolist() == expected[name][0].tolist() and tag == expected[name][1])
            return results

        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            outcomes = [ok for results in pool.map(client, range(CLIENTS)) for ok in results]

    assert len(outcomes) == CLIENTS * REQUESTS_PER_CLIENT
    assert all(outcomes)


def test_a_killed_child_is_named_in_a_5xx_and_the_pipeline_recovers_when_it_is_back(iris) -> None:  # type: ignore[no-untyped-def]
    classifier, sklearn_model, _ = iris

    with deploy_local(classifier, LocalOptions(colocate=False)) as remote:
        np.testing.assert_array_equal(remote.predict(VERSICOLOR)[0], [[1]])
        child = local_state.find_record("test-iris-sklearn")
        assert child is not None
        os.killpg(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while child.running() and time.monotonic() < deadline:
            time.sleep(0.05)

        with pytest.raises(RemoteError, match=r"500.*test-iris-sklearn") as raised:
            remote.predict(VERSICOLOR)
        assert raised.value.status_code == 500

        restarted = deploy_local(sklearn_model)
        assert restarted.endpoint == child.endpoint, "a model redeployed after a crash comes back on its port"
        np.testing.assert_array_equal(remote.predict(VERSICOLOR)[0], [[1]])


def test_undeploy_while_requests_are_in_flight_fails_them_cleanly_and_leaves_nothing(tmp_path: Path) -> None:
    @model(name="slowish", local_folder=str(tmp_path / "slowish"))
    def slowish(values: np.ndarray) -> np.ndarray:
        time.sleep(0.01)
        return values

    (tmp_path / "slowish").mkdir()
    (tmp_path / "slowish" / "requirements.txt").write_text("numpy\n")
    remote = deploy_local(slowish)
    record = local_state.find_record("slowish")
    assert record is not None
    errors: list[Exception] = []
    answered = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                answered.append(remote.predict(np.ones(2)))
            except RemoteError as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    remote.undeploy()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    assert not any(thread.is_alive() for thread in threads), "no request may hang after undeploy"
    assert answered, "requests were served before the undeploy"
    assert not pid_alive(record.pid)
    assert local_state.find_record("slowish") is None


def test_a_connection_dropped_after_the_request_was_sent_is_not_retried() -> None:
    """The client retries failed connects only: a request the server may have run is never sent twice."""
    seen = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def accept_and_drop() -> None:
        listener.settimeout(10)
        with contextlib.suppress(OSError):
            while True:
                connection, _ = listener.accept()
                seen.append(connection.recv(65536))
                connection.close()

    thread = threading.Thread(target=accept_and_drop, daemon=True)
    thread.start()

    @model(name="once")
    def once(values: np.ndarray) -> np.ndarray:
        return values

    client = ProtocolClient(once, KFServingV2Protocol(), f"http://127.0.0.1:{listener.getsockname()[1]}")
    try:
        with pytest.raises(RemoteError, match=r"model 'once' at http://127.0.0.1:\d+ could not be reached"):
            client({"values": np.ones(2)})
    finally:
        client.close()
        listener.close()
    assert len(seen) == 1


def test_processes_deploying_at_the_same_time_each_get_their_own_server(tmp_path: Path) -> None:
    script = tmp_path / "race.py"
    script.write_text(
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from tempo_core import model, deploy_local\n"
        "name, folder = sys.argv[1], Path(sys.argv[2])\n"
        "folder.mkdir(parents=True, exist_ok=True)\n"
        "(folder / 'requirements.txt').write_text('numpy\\n')\n"
        "@model(name=name, local_folder=str(folder))\n"
        "def echo(values: np.ndarray) -> np.ndarray:\n"
        "    return values\n"
        "with deploy_local(echo) as remote:\n"
        "    print(remote.endpoint, remote.predict(np.ones(2)).tolist(), flush=True)\n"
    )
    racers = [
        subprocess.Popen(
            [sys.executable, str(script), f"racer-{index}", str(tmp_path / f"racer-{index}")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(4)
    ]
    outputs = [racer.communicate(timeout=300) for racer in racers]

    assert [racer.returncode for racer in racers] == [0, 0, 0, 0], [err[-500:] for _, err in outputs]
    endpoints = [out.split()[0] for out, _ in outputs]
    assert len(set(endpoints)) == 4
    assert all(out.strip().endswith("[1.0, 1.0]") for out, _ in outputs)


def test_servers_get_ports_below_the_range_that_outgoing_connections_take_theirs_from() -> None:
    first_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])

    ports = {free_port() for _ in range(20)}

    assert max(ports) < first_ephemeral, "a port an outgoing connection may take before the server binds it"
    assert len(ports) > 1, "ports are spread, so servers starting at once rarely pick the same one"
