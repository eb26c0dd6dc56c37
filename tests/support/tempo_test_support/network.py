"""The emulated cluster's network, all on loopback: an address per pod and per Service, DNS, and kube-proxy.

Every 127.x.y.z address is this machine's loopback, so each pod gets an address of its own (its server binds it,
as a pod binds its own IP) and each Service another. Service names resolve through one hosts file that every
container mounts as /etc/hosts (the stand-in for the cluster's DNS: `<service>.<namespace>.svc.cluster.local`),
rewritten in place when a Service appears or goes. A TCP forwarder on the Service's address and port passes each
connection on to the pod's address and target port, as kube-proxy does.

Not emulated: ClusterIP ranges, endpoints of several pods (one pod per Service here), NetworkPolicies, and DNS
search domains (callers use full names, as tempo's manifests do).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AddressPool", "HostsFile", "ServiceProxy", "cluster_dns_names"]

_HOSTS_HEADER = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
_COPY_CHUNK = 65536


def cluster_dns_names(service: str, namespace: str) -> list[str]:
    """The names a Service answers to inside the cluster, the fully qualified one first."""
    return [f"{service}.{namespace}.svc.cluster.local", f"{service}.{namespace}.svc", f"{service}.{namespace}"]


class AddressPool:
    """Hands out loopback addresses of a /16 picked at random, one range for pods and one for Services.

    A random second octet keeps two emulated clusters (two test processes) apart.
    """

    def __init__(self) -> None:
        self._octet = random.randrange(64, 250)
        self._next = {"pod": 1, "service": 1}
        self._lock = threading.Lock()

    def take(self, kind: str) -> str:
        """A new address for a `pod` or a `service`."""
        with self._lock:
            index = self._next[kind]
            self._next[kind] += 1
        third = (1 if kind == "pod" else 128) + index // 250
        return f"127.{self._octet}.{third}.{index % 250 + 1}"


class HostsFile:
    """The /etc/hosts every container of the cluster mounts: loopback plus one line per Service."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self._write()

    def add(self, service: str, namespace: str, address: str) -> None:
        """Make the Service's names resolve to `address`."""
        with self._lock:
            self._entries[(service, namespace)] = address
            self._write()

    def remove(self, service: str, namespace: str) -> None:
        """Stop resolving the Service's names."""
        with self._lock:
            self._entries.pop((service, namespace), None)
            self._write()

    def _write(self) -> None:
        lines = [
            f"{address}\t{' '.join(cluster_dns_names(service, namespace))}\n"
            for (service, namespace), address in sorted(self._entries.items())
        ]
        # In place, not by rename: each container's bind mount holds the file's inode.
        with open(self.path, "a+", encoding="ascii") as hosts:
            hosts.seek(0)
            hosts.truncate()
            hosts.write(_HOSTS_HEADER + "".join(lines))


@dataclass
class _Route:
    target: tuple[str, int]
    server: asyncio.Server | None = None


class ServiceProxy:
    """TCP forwarders from Service addresses to pod addresses, on one event loop in a background thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._routes: dict[tuple[str, int], _Route] = {}
        self._thread = threading.Thread(target=self._loop.run_forever, name="emulated-kube-proxy", daemon=True)
        self._thread.start()

    def route(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        """Forward connections to `listen` (a Service's address and port) to `target` (its pod's)."""
        asyncio.run_coroutine_threadsafe(self._route(listen, target), self._loop).result(timeout=10)

    def unroute(self, listen: tuple[str, int]) -> None:
        """Stop listening on `listen`; connections already open are closed."""
        asyncio.run_coroutine_threadsafe(self._unroute(listen), self._loop).result(timeout=10)

    def close(self) -> None:
        """Stop every forwarder and the loop."""
        for listen in list(self._routes):
            self.unroute(listen)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _route(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        existing = self._routes.get(listen)
        if existing is not None:
            existing.target = target
            return
        route = _Route(target)
        route.server = await asyncio.start_server(
            lambda reader, writer: self._forward(route, reader, writer), *listen, reuse_address=True
        )
        self._routes[listen] = route

    async def _unroute(self, listen: tuple[str, int]) -> None:
        route = self._routes.pop(listen, None)
        if route is not None and route.server is not None:
            route.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(route.server.wait_closed(), timeout=2)

    async def _forward(self, route: _Route, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*route.target)
        except OSError:
            writer.close()  # the pod is not listening (yet): the caller sees a refused/reset connection
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(_COPY_CHUNK):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError):
            writer.close()
