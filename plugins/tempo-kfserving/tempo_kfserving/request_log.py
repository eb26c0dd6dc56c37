"""Request logging in the servers tempo starts: each REST inference request and response, sent as a CloudEvent.

The launcher installs it when `TEMPO_REQUEST_LOG` holds `RequestLogOptions` as JSON. An ASGI middleware, outermost,
copies the bodies of `POST /v2/models/<name>/infer` as they pass and hands the events to one sender thread through a
bounded queue; the thread POSTs them to the sink. Nothing on the request path waits for the sink: a full queue or
a failing sink drops the event and counts it (`tempo_request_log_events_total{outcome=...}` on the metrics port).

The events are CloudEvents 1.0 in binary mode, with the headers KServe's logger sends (`ce-id`, the same for a
request and its response, `ce-type` org.kubeflow.serving.inference.request or .response, `ce-source`,
`ce-specversion`, `ce-time`, `ce-inferenceservicename`) and Seldon's `ce-modelid`, both the model's name.
"""

from __future__ import annotations

import datetime
import functools
import logging
import os
import queue
import random
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import urllib3
from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tempo_core.options import RequestLogOptions
from tempo_kfserving.rest_requests import infer_model
from tempo_kfserving.settings import REQUEST_LOG_ENV

__all__ = ["RequestLog", "EventSender", "install", "events_counter"]

REQUEST_TYPE = "org.kubeflow.serving.inference.request"
RESPONSE_TYPE = "org.kubeflow.serving.inference.response"
_SEND_TIMEOUT = urllib3.Timeout(connect=1.0, read=5.0)

logger = logging.getLogger(__name__)


@functools.cache
def events_counter() -> Counter:
    """The counter of events by outcome, made on first use (after MLServer chose how metrics are stored)."""
    return Counter(
        "tempo_request_log_events",
        "Request-log CloudEvents by outcome: sent, dropped (the queue was full) or failed (the sink did not take it).",
        ["outcome"],
    )


@dataclass(frozen=True)
class Event:
    """One CloudEvent: its headers and its body (the request's or the response's, as it was)."""

    headers: dict[str, str]
    body: bytes


class EventSender:
    """Sends events to the sink from one daemon thread; `offer` never blocks and drops what the queue cannot hold."""

    def __init__(self, options: RequestLogOptions) -> None:
        self.url = options.url
        self._queue: queue.Queue[Event] = queue.Queue(maxsize=options.queue_size)
        self._pool = urllib3.PoolManager(num_pools=1, maxsize=1, retries=False, timeout=_SEND_TIMEOUT)
        self._thread = threading.Thread(target=self._run, name="tempo-request-log", daemon=True)
        self._thread.start()

    def offer(self, event: Event) -> None:
        """Queue the event for sending, or drop and count it when the queue is full."""
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            events_counter().labels(outcome="dropped").inc()

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            try:
                response = self._pool.request("POST", self.url, body=event.body, headers=event.headers)
                outcome = "sent" if response.status < 300 else "failed"
            except urllib3.exceptions.HTTPError as exc:
                logger.debug("request log: %s did not take an event: %s", self.url, exc)
                outcome = "failed"
            events_counter().labels(outcome=outcome).inc()


class RequestLog:
    """ASGI middleware that copies each inference request and response into events for an `EventSender`."""

    def __init__(self, app: ASGIApp, options: RequestLogOptions, sender: EventSender) -> None:
        self.app = app
        self.options = options
        self.sender = sender

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        model_name = infer_model(scope)
        if model_name is None or random.random() >= self.options.sample:
            await self.app(scope, receive, send)
            return
        request_body = bytearray()
        response_body = bytearray()
        response_headers: list[tuple[bytes, bytes]] = []

        async def receive_copy() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request_body.extend(message.get("body", b""))
            return message

        async def send_copy(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers.extend(message.get("headers", []))
            elif message["type"] == "http.response.body":
                response_body.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, receive_copy, send_copy)
        base = _base_headers(scope, model_name)
        if self.options.mode in ("all", "request"):
            self.sender.offer(_event(base, REQUEST_TYPE, _content_headers(scope["headers"]), bytes(request_body)))
        if self.options.mode in ("all", "response"):
            self.sender.offer(_event(base, RESPONSE_TYPE, _content_headers(response_headers), bytes(response_body)))


def _base_headers(scope: Scope, model_name: str) -> dict[str, str]:
    host, port = scope.get("server") or ("localhost", 0)
    return {
        "ce-specversion": "1.0",
        "ce-id": str(uuid.uuid4()),
        "ce-source": f"http://{host}:{port}/v2/models/{model_name}",
        "ce-time": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "ce-inferenceservicename": model_name,
        "ce-modelid": model_name,
    }


def _content_headers(headers: Any) -> dict[str, str]:
    """The body's own headers (its type, and the binary extension's JSON header length), to send with it."""
    wanted = {b"content-type", b"inference-header-content-length"}
    return {name.decode().lower(): value.decode() for name, value in headers if name.lower() in wanted}


def _event(base: Mapping[str, str], kind: str, content: Mapping[str, str], body: bytes) -> Event:
    return Event({**base, "ce-type": kind, **content}, body)


def install() -> None:
    """Add the middleware to the REST app MLServer builds in this process, when `TEMPO_REQUEST_LOG` configures it."""
    configured = os.environ.get(REQUEST_LOG_ENV)
    if not configured:
        return
    options = RequestLogOptions.model_validate_json(configured)
    import mlserver.rest.server

    original = mlserver.rest.server.create_app
    sender = EventSender(options)

    @functools.wraps(original)
    def create_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)
        app.add_middleware(RequestLog, options=options, sender=sender)
        return app

    mlserver.rest.server.create_app = create_app
