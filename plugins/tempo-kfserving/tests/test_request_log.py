"""Request logging against a real HTTP sink on loopback: one that takes events, one held up, and one that is down.

The sink is a plain threading HTTP server of the test's own that records each POST it completes; a held sink waits
for the test to let it go before answering, which shows predictions never wait for it. The counts of sent, dropped
and failed events are read where a user reads them: the server's Prometheus metrics.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tempo_core import RequestLogOptions, deploy_local, model
from tempo_core.options import LocalOptions
from tempo_core.processes import free_port

pytestmark = pytest.mark.server

CALLS = 6
DRAIN_SECONDS = 30


class Sink(ThreadingHTTPServer):
    """Records each event it takes: its headers and body; while `held` is clear, requests wait before answering."""

    def __init__(self) -> None:
        self.events: list[tuple[dict[str, str], bytes]] = []
        self.held = threading.Event()
        self.held.set()
        super().__init__(("127.0.0.1", 0), _SinkHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class _SinkHandler(BaseHTTPRequestHandler):
    server: Sink

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.held.wait(timeout=60)
        self.server.events.append(({key.lower(): value for key, value in self.headers.items()}, body))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet: the test reads what it records."""


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.held.set()
    server.shutdown()
    server.server_close()


def make_doubler(folder: Path):  # type: ignore[no-untyped-def]
    @model(name="doubler", local_folder=str(folder))
    def doubler(values: np.ndarray) -> np.ndarray:
        return values * 2

    return doubler


def outcomes(metrics_url: str) -> dict[str, float]:
    """The request log's events by outcome, from the server's metrics."""
    text = requests.get(metrics_url, timeout=5).text
    return {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "tempo_request_log_events_total"
    }


def settled(metrics_url: str, expected: int) -> dict[str, float]:
    """The outcomes once all `expected` events have one (bounded: at most DRAIN_SECONDS)."""
    deadline = time.monotonic() + DRAIN_SECONDS
    counted = outcomes(metrics_url)
    while sum(counted.values()) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
        counted = outcomes(metrics_url)
    return counted


def test_each_request_and_response_reaches_the_sink_as_a_cloud_event(tmp_path: Path, sink: Sink) -> None:
    options = LocalOptions(request_log=RequestLogOptions(url=sink.url))
    with deploy_local(make_doubler(tmp_path / "doubler"), options) as remote:
        answers = [remote.predict(np.array([float(index)])) for index in range(CALLS)]
        counted = settled(remote.metrics_endpoint or "", 2 * CALLS)

    assert [answer.tolist() for answer in answers] == [[2.0 * index] for index in range(CALLS)]
    assert counted == {"sent": float(2 * CALLS)}
    kinds = [headers["ce-type"] for headers, _ in sink.events]
    assert kinds.count("org.kubeflow.serving.inference.request") == CALLS
    assert kinds.count("org.kubeflow.serving.inference.response") == CALLS
    by_id: dict[str, dict[str, dict]] = {}
    for headers, body in sink.events:
        assert headers["ce-specversion"] == "1.0"
        assert headers["ce-inferenceservicename"] == headers["ce-modelid"] == "doubler"
        assert headers["ce-source"].endswith("/v2/models/doubler")
        assert headers["content-type"].startswith("application/json")
        by_id.setdefault(headers["ce-id"], {})[headers["ce-type"].rsplit(".", 1)[1]] = json.loads(body)
    assert len(by_id) == CALLS, "a request and its response share one ce-id"
    pairs = sorted(
        (pair["request"]["inputs"][0]["data"], pair["response"]["outputs"][0]["data"]) for pair in by_id.values()
    )
    assert pairs == [([float(index)], [2.0 * index]) for index in range(CALLS)]


def test_a_held_up_sink_never_delays_a_prediction_and_what_the_queue_cannot_hold_is_dropped(
    tmp_path: Path, sink: Sink
) -> None:
    sink.held.clear()
    options = LocalOptions(request_log=RequestLogOptions(url=sink.url, queue_size=2))
    with deploy_local(make_doubler(tmp_path / "doubler"), options) as remote:
        answers = [remote.predict(np.ones(1)) for _ in range(CALLS)]
        taken_while_held = len(sink.events)
        sink.held.set()
        counted = settled(remote.metrics_endpoint or "", 2 * CALLS)

    assert [answer.tolist() for answer in answers] == [[2.0]] * CALLS
    assert taken_while_held == 0, "every prediction answered while the sink had answered none"
    assert counted.get("dropped", 0) > 0
    assert counted.get("sent", 0) + counted.get("dropped", 0) == 2 * CALLS


def test_a_sink_that_is_down_fails_its_events_and_nothing_else(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port('127.0.0.1')}/"
    options = LocalOptions(request_log=RequestLogOptions(url=down, mode="response"))
    with deploy_local(make_doubler(tmp_path / "doubler"), options) as remote:
        answers = [remote.predict(np.ones(2)) for _ in range(CALLS)]
        counted = settled(remote.metrics_endpoint or "", CALLS)

    assert [answer.tolist() for answer in answers] == [[2.0, 2.0]] * CALLS
    assert counted == {"failed": float(CALLS)}, "one response event a call, each refused by the sink that is down"
