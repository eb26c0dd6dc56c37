"""Child server processes: start on a free loopback port, stop by PID, and never outlive the interpreter."""

from __future__ import annotations

import atexit
import contextlib
import os
import random
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

__all__ = [
    "free_port",
    "port_is_free",
    "ServerProcess",
    "last_lines",
    "log_excerpt",
    "exit_cleanly_on_sigterm",
    "process_start_time",
    "stop_process_group",
    "is_running",
]

# Listening ports are picked from here up to the ephemeral range; below it lie the well-known services' ports.
_FIRST_LISTEN_PORT = 20000
_DEFAULT_FIRST_EPHEMERAL = 32768
_PORT_ATTEMPTS = 50

_LIVE: set[ServerProcess] = set()
_LIVE_LOCK = threading.Lock()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that nothing uses right now, for a server about to listen on it.

    Taken at random below the kernel's ephemeral range: a port the kernel hands out (bind to port 0) may become the
    local end of any outgoing connection before the server binds it (measured: 4 servers starting at once, one lost
    its port to "address already in use"), while a port below that range is taken only by another listener.
    """
    first_ephemeral = _first_ephemeral_port()
    for _ in range(_PORT_ATTEMPTS if first_ephemeral > _FIRST_LISTEN_PORT else 0):
        port = random.randrange(_FIRST_LISTEN_PORT, first_ephemeral)
        if port_is_free(host, port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _first_ephemeral_port() -> int:
    """The lowest port of the kernel's range for outgoing connections (Linux's default 32768 elsewhere)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _DEFAULT_FIRST_EPHEMERAL


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing listens on `host:port` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class ServerProcess:
    """A server started as a child process in its own session, its output kept in a log file."""

    def __init__(
        self, argv: list[str], workdir: Path, env: dict[str, str], log_path: Path, *, detach: bool = False
    ) -> None:
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self._process = subprocess.Popen(
                argv,
                cwd=workdir,
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        if not detach:  # a detached server outlives this interpreter on purpose (e.g. `tempo deploy`)
            with _LIVE_LOCK:
                _LIVE.add(self)
            exit_cleanly_on_sigterm()

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self._process.pid

    def exit_code(self) -> int | None:
        """The exit code if the process has ended, else None."""
        return self._process.poll()

    def last_lines(self, count: int = 20) -> str:
        """The last lines the server wrote, for error messages."""
        return last_lines(self.log_path, count)

    def _ended(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the process to end, without collecting it."""
        deadline = time.monotonic() + timeout
        while os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process group this server leads: SIGTERM, then SIGKILL after `timeout` seconds."""
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            if not self._ended(timeout):
                os.killpg(self.pid, signal.SIGKILL)
                self._ended(timeout)
            # The leader has ended but is not collected yet, so its group id cannot belong to anyone
            # else: end any worker that outlived it, then collect the leader.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        self._process.wait()


def last_lines(path: Path, count: int = 20) -> str:
    """The end of a log file, with its first traceback kept (see `log_excerpt`); empty if it cannot be read."""
    try:
        with open(path, errors="replace") as log:
            return log_excerpt(log.read(), count)
    except OSError:
        return ""


def log_excerpt(text: str, count: int = 20) -> str:
    """The last `count` lines of a server's log, led by its first traceback when that lies further up.

    A server that fails to load logs the cause once and then the shutdown of each of its servers, which can push
    the cause out of any fixed number of last lines.
    """
    lines = text.splitlines(keepends=True)
    tail = lines[-count:]
    first = next((i for i, line in enumerate(lines) if "Traceback (most recent call last)" in line), None)
    if first is None or first >= len(lines) - count:
        return "".join(tail)
    end = first + 1
    while end < len(lines) and lines[end][:1].isspace():
        end += 1
    if end + 1 >= len(lines) - count:
        return "".join(lines[first:])
    return "".join([*lines[first : end + 1], "...\n", *tail])


def process_start_time(pid: int) -> int | None:
    """The kernel's start time of a process (clock ticks since boot), to tell it from a later one with its PID."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == "Z":  # a zombie has ended; only its parent has not collected it yet
        return None
    return int(fields[19])


def is_running(pid: int, start_time: int) -> bool:
    """Whether the process `pid` that started at `start_time` is still running."""
    return process_start_time(pid) == start_time


def stop_process_group(pid: int, start_time: int, timeout: float = 10.0) -> None:
    """Stop a server another interpreter started (it leads its own group): SIGTERM, then SIGKILL."""
    if not is_running(pid, start_time):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while is_running(pid, start_time) and time.monotonic() < deadline:
        time.sleep(0.05)
    # Only while the leader is still the process we started: once another parent has collected it,
    # its group id may be reused, and we signal nothing we did not start.
    if is_running(pid, start_time):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def exit_cleanly_on_sigterm() -> None:
    """Make SIGTERM run atexit handlers (and so stop our servers) when nobody else handles it."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_system_exit)


def _raise_system_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@atexit.register
def _stop_all() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
    for server in live:
        server.stop(timeout=5.0)
