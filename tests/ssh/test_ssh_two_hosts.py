"""Two ``dramatis serve-ssh`` hosts (two processes, each with its own data dir and host key) on
one PostgreSQL: players on different hosts share a table and see each other's turns."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ssh_support import (
    SshTerminal,
    create_campaign,
    make_key,
    require_openssh,
    ssh_argv,
    start_server_process,
    turns_of,
    wait_until_async,
    write_authorized_keys,
)

from postgres_support import drop_schemas, new_schema_name, require_postgres

CAMPAIGN = "Harbour of Knives"


@pytest.fixture
async def shared_postgres(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Point this test (and the hosts it starts) at a fresh PostgreSQL schema."""
    require_openssh()
    dsn = require_postgres()
    schema = new_schema_name()
    monkeypatch.setenv("DRAMATIS_DB", dsn)
    monkeypatch.setenv("DRAMATIS_POSTGRES_SCHEMA", schema)
    try:
        yield
    finally:
        drop_schemas(dsn, schema)


async def test_a_turn_played_on_one_host_shows_on_the_other(
    tmp_path: Path, shared_postgres: None
) -> None:
    campaign_id = await create_campaign(CAMPAIGN)
    mara, tam = make_key(tmp_path / "keys", "mara"), make_key(tmp_path / "keys", "tam")
    keys = tmp_path / "authorized_keys"
    write_authorized_keys(
        keys,
        [
            mara.authorized_line(DRAMATIS_PLAYER="mara", DRAMATIS_ROLE="player"),
            tam.authorized_line(DRAMATIS_PLAYER="tam", DRAMATIS_ROLE="player"),
        ],
    )
    hosts = []
    terminals: list[SshTerminal] = []
    try:
        for name in ("north", "south"):
            env = {"DRAMATIS_DATA_DIR": str(tmp_path / name)}
            hosts.append(await start_server_process(keys, env))
        (_, north_port, north_banner), (_, south_port, south_banner) = hosts
        # Each host has its own host key.
        assert north_banner[1] != south_banner[1]

        on_north = SshTerminal(ssh_argv(mara.private, north_port))
        on_south = SshTerminal(ssh_argv(tam.private, south_port))
        terminals += [on_north, on_south]
        for terminal in terminals:
            await terminal.wait_for(CAMPAIGN)
            terminal.send(b"\r")
            await terminal.wait_for("At the table")
        # Each sees the player on the other host at the table.
        await on_north.wait_for(lambda t: "tam" in t.text())
        await on_south.wait_for(lambda t: "mara" in t.text())

        on_north.send(b" ")  # mara plays turn 3 on the north host

        async def played() -> bool:
            return await turns_of(campaign_id) == 3

        await wait_until_async(played, "turn 3 in PostgreSQL")
        await on_south.wait_for("turn 3 of")  # and tam sees it on the south host
        await on_south.wait_for("Turn 3")
    finally:
        for terminal in terminals:
            terminal.close()
        for process, _, _ in hosts:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            await process.wait()
