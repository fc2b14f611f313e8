"""A host that crashed cannot say its sessions left; when it starts again it frees their seats."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path

import pytest
from ssh_support import (
    SshTerminal,
    create_campaign,
    make_key,
    require_openssh,
    ssh_argv,
    start_server_process,
    wait_until_async,
    write_authorized_keys,
)

from dramatis.bootstrap import open_dramatis
from dramatis.config import Settings
from dramatis.services.table import table_stream_id

CAMPAIGN = "Harbour of Knives"


async def controllers(campaign_id: str) -> dict[str, str | None]:
    async with open_dramatis(Settings(player="check", role="viewer")) as dramatis:
        view = await dramatis.table.view(campaign_id)
    return {seat.name: seat.controller for seat in view.seats}


async def test_a_restarted_host_frees_the_seats_its_crash_left_behind(
    tmp_path: Path, isolated_environment: Path
) -> None:
    require_openssh()
    campaign_id = await create_campaign(CAMPAIGN)
    mara = make_key(tmp_path / "keys", "mara")
    keys = tmp_path / "authorized_keys"
    write_authorized_keys(
        keys, [mara.authorized_line(DRAMATIS_PLAYER="mara", DRAMATIS_ROLE="player")]
    )
    server, port, _ = await start_server_process(keys)
    terminal = SshTerminal(ssh_argv(mara.private, port))
    try:
        await terminal.wait_for(CAMPAIGN)
        terminal.send(b"\r")
        await terminal.wait_for("At the table")
        terminal.send(b"t")

        async def seated() -> bool:
            return (await controllers(campaign_id))["Ana Varga"] == "mara"

        await wait_until_async(seated, "mara's seat")
        server.send_signal(signal.SIGKILL)  # the host dies without a word
        await server.wait()
        terminal.close()
        assert (await controllers(campaign_id))["Ana Varga"] == "mara"  # nobody freed it

        again, _, _ = await start_server_process(keys)
        try:
            assert (await controllers(campaign_id))["Ana Varga"] is None
            async with open_dramatis(Settings()) as dramatis:
                records = await dramatis.store.read_stream(table_stream_id(campaign_id))
            last = records[-1]
            assert (last.event_type, last.payload["reason"]) == (
                "PlayerLeft",
                "its host restarted",
            )
        finally:
            again.terminate()
            await again.wait()
    finally:
        terminal.close()
        with contextlib.suppress(ProcessLookupError):
            server.kill()
        await server.wait()


@pytest.mark.parametrize("tag", ["", "a1b2c3d4"])
def test_session_ids_carry_their_hosts_tag(tag: str) -> None:
    from dramatis.ssh.session import new_session_id

    first, second = new_session_id(tag), new_session_id(tag)
    assert first != second
    assert first.startswith(f"{tag}.") if tag else "." not in first
    Settings(session=first)  # a valid DRAMATIS_SESSION
