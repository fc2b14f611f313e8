"""Shared play over a real OpenSSH client: log in, see the campaigns, play a turn, leave."""

from __future__ import annotations

from ssh_support import (
    StartHost,
    create_campaign,
    pid_alive,
    turns_of,
    wait_until,
    wait_until_async,
)


async def test_a_player_sees_the_campaigns_and_plays_a_turn(start_host: StartHost) -> None:
    campaign_id = await create_campaign("Harbour of Knives")
    host = await start_host()
    key = host.key("ana", "ana@laptop")
    host.authorized_keys.write_text(
        key.authorized_line(DRAMATIS_PLAYER="ana", DRAMATIS_ROLE="operator") + "\n"
    )
    terminal = host.ssh(key)
    await terminal.wait_for("Samples")
    await terminal.wait_for("Harbour of Knives")
    [info] = host.server.sessions
    assert (info.player, info.tenant, info.role) == ("ana", "default", "operator")

    terminal.send(b"\r")  # the campaign is highlighted: enter opens it on the Play screen
    await terminal.wait_for("next turn")
    terminal.send(b" ")  # space plays a turn

    async def played() -> bool:
        return await turns_of(campaign_id) >= 3

    await wait_until_async(played, "turn 3 in the store")
    assert await turns_of(campaign_id) == 3
    terminal.send(b"\x11")  # ctrl+q quits the app, which ends the session
    assert await terminal.wait_exit() == 0
    await wait_until(lambda: len(host.ended) == 1, "the session-end hook")
    assert host.ended[0].session_id == info.session_id
    assert host.ended[0].exit_status == 0
    assert not pid_alive(info.pid or 0)


async def test_a_tenant_sees_only_its_own_campaigns(start_host: StartHost) -> None:
    await create_campaign("Acme Heist", tenant="acme")
    await create_campaign("Globex Venture", tenant="globex")
    host = await start_host()
    bea = host.key("bea")
    host.authorized_keys.write_text(
        bea.authorized_line(DRAMATIS_TENANT="globex", DRAMATIS_ROLE="player") + "\n"
    )
    terminal = host.ssh(bea)
    await terminal.wait_for("Globex Venture")
    await terminal.wait_for("tenant: globex")
    assert "Acme Heist" not in terminal.text()
    assert b"Acme Heist" not in terminal.raw


async def test_resizing_the_client_terminal_redraws_the_app(start_host: StartHost) -> None:
    host = await start_host()
    key = host.key("cid")
    host.authorized_keys.write_text(key.authorized_line() + "\n")
    terminal = host.ssh(key, columns=120, rows=36)
    await terminal.wait_for("Samples")
    await terminal.wait_for(lambda t: "palette" in t.last_line())
    terminal.resize(90, 24)
    await terminal.wait_for(lambda t: "palette" in t.last_line() and len(t.last_line()) == 90)
    [info] = host.server.sessions
    assert info.role == "viewer"  # a key without a role watches


async def test_killing_the_client_ends_its_app_while_another_session_plays_on(
    start_host: StartHost,
) -> None:
    host = await start_host()
    ana, bea = host.key("ana"), host.key("bea")
    host.authorized_keys.write_text(
        "\n".join(k.authorized_line(DRAMATIS_ROLE="player") for k in (ana, bea)) + "\n"
    )
    first = host.ssh(ana)
    second = host.ssh(bea)
    await first.wait_for("Samples")
    await second.wait_for("Samples")
    by_player = {info.player: info for info in host.server.sessions}
    gone, staying = by_player["ana"], by_player["bea"]
    assert gone.pid and staying.pid and pid_alive(gone.pid)

    first.kill()  # the client vanishes without a goodbye
    await wait_until(lambda: not pid_alive(gone.pid or 0), "the killed client's app to end")
    await wait_until(lambda: len(host.ended) == 1, "the session-end hook")
    assert host.ended[0].session_id == gone.session_id
    assert pid_alive(staying.pid)

    second.send(b"\x1b[B")  # down: the next sample's details show
    await second.wait_for("Three travellers")
    assert [info.player for info in host.server.sessions] == ["bea"]
    second.send(b"\x11")
    assert await second.wait_exit() == 0
    await wait_until(lambda: len(host.ended) == 2, "the second session's hook")
    assert sorted(info.player for info in host.ended) == ["ana", "bea"]


async def test_a_full_server_turns_the_next_player_away(start_host: StartHost) -> None:
    host = await start_host(max_sessions=1)
    ana, bea = host.key("ana"), host.key("bea")
    host.authorized_keys.write_text(f"{ana.authorized_line()}\n{bea.authorized_line()}\n")
    first = host.ssh(ana)
    await first.wait_for("Samples")
    refused = host.ssh(bea)
    await refused.wait_for("the server is full (1 sessions); try again later")
    assert await refused.wait_exit() != 0
    first.send(b"\x11")
    assert await first.wait_exit() == 0
    again = host.ssh(bea)  # the slot is free again
    await again.wait_for("Samples")


async def test_an_idle_session_is_closed_with_a_notice(start_host: StartHost) -> None:
    host = await start_host(idle_timeout=4.0)
    key = host.key("dee")
    host.authorized_keys.write_text(key.authorized_line() + "\n")
    terminal = host.ssh(key)
    await terminal.wait_for("no input for 4 seconds; the session is closed")
    assert await terminal.wait_exit() != 0
    await wait_until(lambda: len(host.ended) == 1, "the session-end hook")
    assert host.ended[0].reason == "idle"
    assert not pid_alive(host.ended[0].pid or 0)


async def test_a_client_without_a_terminal_or_with_a_command_is_told_how_to_connect(
    start_host: StartHost,
) -> None:
    host = await start_host()
    key = host.key("eve")
    host.authorized_keys.write_text(key.authorized_line() + "\n")
    no_tty = host.ssh(key, tty=False)
    await no_tty.wait_for("dramatis needs a terminal: connect with ssh -t")
    assert await no_tty.wait_exit() == 1
    command = host.ssh(key, command=["ls", "/"])
    await command.wait_for("dramatis runs no commands over SSH")
    assert await command.wait_exit() == 1
    assert host.ended == []  # no app ran, so no session ended
