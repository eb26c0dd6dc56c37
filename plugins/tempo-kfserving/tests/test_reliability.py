"""Under load and faults, on loopback, bounded in count and time: real MLServer processes, nothing mocked."""

from __future__ import annotations

import os
import signal
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
