"""HTTP load from `wrk`: req/s and latency percentiles of one POST body sent over keep-alive connections, and
alternating rounds over several servers so that the machine's noise hits all of them alike."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass

__all__ = ["run_wrk", "Rounds", "measure_rounds"]

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_REQ_S = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_PERCENTILE = r"^\s+{}%\s+([\d.]+)(us|ms|s|m)\s*$"
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def _lua_script(body: bytes) -> str:
    """A wrk script that POSTs `body` as JSON; every byte is escaped, so any body survives Lua's string syntax."""
    escaped = "".join(f"\\{byte:03d}" for byte in body)
    return f'wrk.method = "POST"\nwrk.body = "{escaped}"\nwrk.headers["Content-Type"] = "application/json"\n'


def _percentile_ms(output: str, percentile: int) -> float:
    """One percentile of wrk's latency distribution, in milliseconds."""
    found = re.search(_PERCENTILE.format(percentile), output, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk printed no {percentile}% latency:\n{output}")
    return float(found.group(1)) * _UNITS_MS[found.group(2)]


def _check_errors(url: str, output: str) -> None:
    """Raise if wrk saw any non-2xx/3xx answer or socket error: such a run measures failures, not the server."""
    non_2xx = _NON_2XX.search(output)
    if non_2xx is not None and int(non_2xx.group(1)) > 0:
        raise RuntimeError(f"{url} answered {non_2xx.group(1)} requests with a non-2xx/3xx status:\n{output}")
    sockets = _SOCKET_ERRORS.search(output)
    if sockets is not None and any(int(count) for count in sockets.groups()):
        raise RuntimeError(f"wrk had socket errors against {url}:\n{output}")


def run_wrk(url: str, body: bytes, connections: int, seconds: float) -> dict[str, float]:
    """POST `body` to `url` from `connections` keep-alive connections for `seconds`: req/s, p50_ms and p99_ms."""
    if not float(seconds).is_integer() or seconds < 1:
        raise ValueError(f"wrk runs for whole seconds, at least one; got {seconds}")
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed; install it with `apt-get install wrk`")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="wrk-post-") as script:
        script.write(_lua_script(body))
        script.flush()
        argv = [wrk, "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "-s", script.name, url]
        finished = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    output = finished.stdout + finished.stderr
    if finished.returncode != 0:
        raise RuntimeError(f"wrk exited with {finished.returncode} against {url}:\n{output}")
    _check_errors(url, output)
    req_s = _REQ_S.search(output)
    if req_s is None or float(req_s.group(1)) == 0:
        raise RuntimeError(f"wrk completed no request against {url}:\n{output}")
    return {"req_s": float(req_s.group(1)), "p50_ms": _percentile_ms(output, 50), "p99_ms": _percentile_ms(output, 99)}


@dataclass
class Rounds:
    """One server's results over the rounds: req/s, p50 and p99 (milliseconds) of each round."""

    req_s: list[float]
    p50_ms: list[float]
    p99_ms: list[float]

    @property
    def median(self) -> float:
        """The median req/s over the rounds."""
        return statistics.median(self.req_s)


def measure_rounds(
    urls: dict[str, str], body: bytes, connections: int, rounds: int, seconds: float, warmup: float = 1.0
) -> dict[str, Rounds]:
    """Load each labelled URL in turn for `seconds`, `rounds` times over, after a `warmup` run each.

    Each round starts at the next label, so no server always follows the same one.
    """
    labels = list(urls)
    for url in urls.values():
        run_wrk(url, body, connections, warmup)
    results = {label: Rounds([], [], []) for label in labels}
    for index in range(rounds):
        for label in labels[index % len(labels) :] + labels[: index % len(labels)]:
            measured = run_wrk(urls[label], body, connections, seconds)
            results[label].req_s.append(measured["req_s"])
            results[label].p50_ms.append(measured["p50_ms"])
            results[label].p99_ms.append(measured["p99_ms"])
    return results
