"""moto's S3 server on 127.0.0.1 on a free port, for tests: start, stop and start again.

Loaded as a pytest plugin by the top conftest, so ``moto_s3`` and ``aws_env`` are fixtures
everywhere.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class MotoS3:
    """A moto server that can be stopped (its port closed) and started again on the same port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.endpoint_url = f"http://{HOST}:{port}"
        self._server: Any = None

    def start(self) -> None:
        moto_server = pytest.importorskip(
            "moto.server", reason="moto[server] is not installed (pip install '.[test]')"
        )
        self._server = moto_server.ThreadedMotoServer(
            ip_address=HOST, port=self.port, verbose=False
        )
        self._server.start()  # returns once the socket is bound and listening
        self._wait(
            lambda: self.client().list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
        )

    def stop(self) -> None:
        server = self._server
        self._server = None
        server.stop()
        server._server.server_close()  # release the port: a stopped server refuses connections
        self._wait(lambda: not self._accepts_connections())

    def client(self) -> Any:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            config=Config(signature_version="s3v4", retries={"total_max_attempts": 1}),
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def _accepts_connections(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=1):
                return True
        except OSError:
            return False

    @staticmethod
    def _wait(ready: Any, attempts: int = 50) -> None:
        last: Exception | None = None
        for _ in range(attempts):
            try:
                if ready():
                    return
            except Exception as exc:  # not up yet: try again, a bounded number of times
                last = exc
        raise AssertionError(f"moto server did not reach the expected state ({last})")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Fake credentials, and no AWS config of the user's machine."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def moto_s3(aws_env: None) -> Iterator[MotoS3]:
    server = MotoS3(free_port())
    server.start()
    try:
        yield server
    finally:
        if server._server is not None:
            server.stop()
