"""Several players at one campaign over real OpenSSH clients: seats, choices, watchers, and a
connection lost in the middle of a turn. The store is checked after every step."""

from __future__ import annotations

from ssh_support import (
    Host,
    SshTerminal,
    StartHost,
    create_campaign,
    turns_of,
    wait_until,
    wait_until_async,
)

from dramatis.bootstrap import open_dramatis
from dramatis.config import Settings
from dramatis.services.table import table_stream_id

CAMPAIGN = "Harbour of Knives"


async def table_events(campaign_id: str) -> list[str]:
    """The table's events as ``Type:player``."""
    async with open_dramatis(Settings()) as dramatis:
        records = await dramatis.store.read_stream(table_stream_id(campaign_id))
    return [f"{r.event_type}:{r.payload.get('player')}" for r in records]


async def ledger_sources(campaign_id: str, turn: int) -> dict[str, str]:
    """Persona name -> where its decision came from, for one turn."""
    async with open_dramatis(Settings()) as dramatis:
        view = await dramatis.campaigns.show(campaign_id)
        [ledger] = await dramatis.campaigns.ledger(campaign_id, turn, turn)
    names = {p.persona_id: p.name for p in view.personas}
    return {names[e.persona_id]: e.source for e in ledger.action_log}


async def seated(host: Host, player: str, role: str = "player") -> SshTerminal:
    """``player`` logged in with a key of ``role`` and sitting at the campaign's table."""
    key = host.key(player)
    with host.authorized_keys.open("a", encoding="utf-8") as keys:
        keys.write(key.authorized_line(DRAMATIS_PLAYER=player, DRAMATIS_ROLE=role) + "\n")
    terminal = host.ssh(key)
    await terminal.wait_for(CAMPAIGN)
    terminal.send(b"\r")  # the campaign is highlighted: enter opens it at its table
    await terminal.wait_for("At the table")
    return terminal


async def has_turns(campaign_id: str, turns: int) -> bool:
    return await turns_of(campaign_id) == turns


async def events_include(campaign_id: str, *wanted: str) -> bool:
    events = await table_events(campaign_id)
    return all(item in events for item in wanted)


async def test_two_players_share_a_campaign_and_a_watcher_cannot_act(
    start_host: StartHost,
) -> None:
    campaign_id = await create_campaign(CAMPAIGN)
    host = await start_host()
    mara = await seated(host, "mara")
    tam = await seated(host, "tam")
    await mara.wait_for(lambda t: "tam" in t.text())  # mara sees tam arrive

    # Mara takes the highlighted (first) persona; tam's screen shows who controls it.
    mara.send(b"t")
    await wait_until_async(lambda: events_include(campaign_id, "SeatTaken:mara"), "mara's seat")
    await tam.wait_for(
        lambda t: any("Ana Varga" in line and "mara" in line for line in t.screen.display)
    )
    # Tam cannot take it; he takes the second persona instead.
    tam.send(b"t")
    await tam.wait_for("controlled by mara")
    assert "SeatTaken:tam" not in await table_events(campaign_id)
    tam.send(b"\x1b[B")  # down to the second persona
    tam.send(b"t")
    await wait_until_async(lambda: events_include(campaign_id, "SeatTaken:tam"), "tam's seat")

    # Mara calls turn 3: both are asked, both choose, and the turn is played with both choices.
    mara.send(b" ")
    await mara.wait_for("Your move, Ana Varga")
    await tam.wait_for("Your move, Bram Tolliver")
    await tam.wait_for("called by mara")
    mara.send(b"1")
    await tam.wait_for(lambda t: "waiting for tam" in t.text() or "✓ chosen" in t.text())
    assert await turns_of(campaign_id) == 2  # still waiting for tam
    tam.send(b"2")

    await wait_until_async(lambda: has_turns(campaign_id, 3), "turn 3 in the store")
    sources = await ledger_sources(campaign_id, 3)
    assert sources["Ana Varga"] == "human" and sources["Bram Tolliver"] == "human"
    assert sources["Iso Marren"] == "offline"
    # Each sees the turn both played.
    for terminal in (mara, tam):
        await terminal.wait_for("turn 3 of")

    # A watcher's key sees the table but cannot call a turn.
    eve = await seated(host, "eve", role="viewer")
    await eve.wait_for("eve (you) watching")
    eve.send(b" ")
    await eve.wait_for("viewers watch")
    assert await turns_of(campaign_id) == 3
    events = await table_events(campaign_id)
    assert [e for e in events if e.endswith(":eve")] == ["PlayerJoined:eve"]


async def test_a_connection_lost_mid_turn_frees_its_persona_and_the_turn_goes_on(
    start_host: StartHost,
) -> None:
    campaign_id = await create_campaign(CAMPAIGN)
    host = await start_host()
    mara = await seated(host, "mara")
    tam = await seated(host, "tam")
    mara.send(b"t")
    await wait_until_async(lambda: events_include(campaign_id, "SeatTaken:mara"), "mara's seat")
    tam.send(b"\x1b[B")
    tam.send(b"t")
    await wait_until_async(lambda: events_include(campaign_id, "SeatTaken:tam"), "tam's seat")

    tam.send(b" ")  # tam calls turn 3; mara's connection dies before she chooses
    await mara.wait_for("Your move, Ana Varga")
    mara.kill()
    await wait_until(lambda: len(host.ended) == 1, "the lost session's end")
    assert await events_include(campaign_id, "SeatReleased:mara", "PlayerLeft:mara")
    await tam.wait_for(lambda t: "mara" not in t.text())  # tam sees her go

    tam.send(b"1")

    await wait_until_async(lambda: has_turns(campaign_id, 3), "turn 3 in the store")
    sources = await ledger_sources(campaign_id, 3)
    assert sources["Bram Tolliver"] == "human"
    assert sources["Ana Varga"] == "offline"  # released: her own brain acted
    events = await table_events(campaign_id)
    assert events.count("TurnCalled:tam") == 1 and events.count("ChoiceMade:tam") == 1
    assert [info.player for info in host.server.sessions] == ["tam"]
    tam.send(b" ")  # and play goes on
    await tam.wait_for("Your move, Bram Tolliver  ·  turn 4")
    tam.send(b"3")
    await wait_until_async(lambda: has_turns(campaign_id, 4), "turn 4 in the store")
