"""What a user reads when a server dies at start: the cause, even when shutdown lines come after it."""

from pathlib import Path

from tempo_core.processes import last_lines

_CAUSE = """\
2026-12-02 16:48:02,248 [mlserver] ERROR - Some of the models failed to load during startup!
Traceback (most recent call last):
  File "/srv/mlserver/server.py", line 125, in start
    await asyncio.gather(
  File "<dynamic-code>", line 10, in explode
RuntimeError: the weights file is corrupt
"""
_SHUTDOWN = "2026-12-02 16:48:02,450 [mlserver.grpc] INFO - gRPC server shutdown complete\n"


def test_the_cause_of_a_failed_start_is_kept_ahead_of_the_shutdown_lines(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("INFO: Started server process [2548]\n" * 5 + _CAUSE + _SHUTDOWN * 40)

    excerpt = last_lines(log)

    assert excerpt.startswith("Traceback (most recent call last):\n")
    assert "RuntimeError: the weights file is corrupt\n...\n" in excerpt
    assert excerpt.endswith(_SHUTDOWN * 20)
    assert "Started server process" not in excerpt


def test_a_short_log_is_shown_whole(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(_CAUSE + _SHUTDOWN * 3)

    assert last_lines(log) == _CAUSE + _SHUTDOWN * 3
