"""Real Redis for tests: a private redis-server on a free port, or the shared one on 6379.

Tests that need Redis skip with a clear reason when none is reachable, unless
DRAMATIS_REQUIRE_SERVICES=1 is set (CI), in which case they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import redis

SHARED_URL = "redis://127.0.0.1:6379/0"


def services_required() -> bool:
    return os.environ.get("DRAMATIS_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> None:
    """Skip (on a developer machine) or fail (when services are required) with ``reason``."""
    if services_required():
        pytest.fail(f"{reason} (DRAMATIS_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reachable(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


@dataclass
class RedisServer:
    """A redis-server process this test started (no persistence) and its URL."""

    process: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        """Stop the server abruptly, as a crash or a lost network would."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@contextmanager
def private_redis_server(port: int | None = None) -> Iterator[RedisServer]:
    """Start ``redis-server`` on ``port`` (a free one by default) and wait, by reading its log,
    until it is ready."""
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed; cannot start a private Redis")
    assert binary is not None
    port = port or free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = RedisServer(process, port)
    try:
        assert process.stdout is not None
        log: list[str] = []
        for line in process.stdout:  # ends when the server exits
            log.append(line)
            if "Ready to accept connections" in line:
                break
        else:
            unavailable(f"redis-server did not start on port {port}: {''.join(log)[-500:]}")
        yield server
    finally:
        server.kill()
        if process.stdout is not None:
            process.stdout.close()


@contextmanager
def any_redis() -> Iterator[str]:
    """A Redis URL: a private server when the binary is here, else the shared server."""
    if shutil.which("redis-server") is not None:
        with private_redis_server() as server:
            yield server.url
        return
    if not reachable(SHARED_URL):
        unavailable("no redis-server binary and nothing answers on 127.0.0.1:6379")
    yield SHARED_URL
