"""An SSH host running in the test's event loop, on a free port, over the test's data dir."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from ssh_support import Host, StartHost, require_openssh

from dramatis.config import Settings
from dramatis.ssh.authorized_keys import AuthorizedKeys
from dramatis.ssh.hooks import leave_table_hook
from dramatis.ssh.host_key import HOST_KEY_NAME, load_or_create_host_key
from dramatis.ssh.server import SessionSettings, SSHHost
from dramatis.ssh.session import SessionInfo


@pytest.fixture
async def start_host(tmp_path: Path, isolated_environment: Path) -> AsyncIterator[StartHost]:
    """Start an SSH host: ``await start_host(lines, **session_settings)``."""
    require_openssh()
    hosts: list[Host] = []

    async def start(
        lines: Sequence[str] = (), app_command: Sequence[str] | None = None, **limits: object
    ) -> Host:
        path = tmp_path / f"authorized_keys-{len(hosts)}"
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        keys = AuthorizedKeys(path, "default")
        keys.load()
        host_key = load_or_create_host_key(isolated_environment / HOST_KEY_NAME)
        settings = dataclasses.replace(SessionSettings(stop_grace_seconds=2.0), **limits)
        host = Host(server=None, authorized_keys=path, keys_dir=tmp_path / "client-keys")  # type: ignore[arg-type]

        leave_table = leave_table_hook(Settings())

        async def record(info: SessionInfo) -> None:
            await leave_table(info)  # what the CLI wires: free the session's seats
            host.ended.append(info)

        host.server = SSHHost(
            keys,
            host_key,
            port=0,
            settings=settings,
            on_session_end=record,
            app_command=app_command,
        )
        await host.server.start()
        hosts.append(host)
        return host

    yield start
    for host in hosts:
        for terminal in host.terminals:
            terminal.close()
        await host.server.close()
