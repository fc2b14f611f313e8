"""Time travel in the terminal app: step through turns, rewind to a turn, reroll, family tree."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import DataTable, Static

from dramatis.domain.campaign import Campaign, TurnAdvanced
from dramatis.services.codec import decode
from dramatis.tui.app import DramatisApp
from dramatis.tui.screens.play import PlayScreen
from dramatis.tui.screens.setup import SetupScreen
from dramatis.tui.screens.timetravel import RerollScreen
from dramatis.tui.widgets.turns import action_phrase

from .conftest import settle, started_campaign
from .test_app import plain, screen_text

MakeApp = Callable[..., DramatisApp]


async def folded(app: DramatisApp, campaign_id: str, turn: int) -> Campaign:
    """The campaign folded from its stored events up to ``turn`` (independent of the screen)."""
    assert app.dramatis is not None
    campaign = Campaign()
    for event in decode(await app.dramatis.store.read_stream(campaign_id)):
        if isinstance(event, TurnAdvanced) and event.ledger.turn_number > turn:
            break
        campaign.apply(event)
    return campaign


def table_rows(screen: PlayScreen) -> list[tuple[str, str]]:
    table = screen.query_one("#turn-table", DataTable)
    return [
        (plain(table.get_row_at(i)[0]), plain(table.get_row_at(i)[1]))
        for i in range(table.row_count)
    ]


async def test_stepping_back_and_forward_shows_each_turn_as_it_was(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.dramatis is not None
        campaign_id = await started_campaign(app.dramatis)
        await app.dramatis.campaigns.advance(campaign_id, turns=6)
        await app.play_campaign(campaign_id)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PlayScreen) and screen.viewing is None

        for expected in (5, 4, 3):
            await pilot.press("left")
            await settle(pilot)
            assert screen.viewing == expected
            past = await folded(app, campaign_id, expected)
            assert screen.history is not None and screen.history.world == past.world
            assert past.last_ledger is not None
            by_name = {e.persona_name: action_phrase(e) for e in past.last_ledger.action_log}
            assert dict(table_rows(screen)) == by_name
            title = plain(screen.query_one("#turn-title", Static).render())
            assert title.startswith(f"Turn {expected} of 6 (history)")
            assert f"turn {expected} of 6" in screen_text(app)

        await pilot.press("right")
        await settle(pilot)
        assert screen.viewing == 4
        assert screen.history is not None
        assert screen.history.world == (await folded(app, campaign_id, 4)).world

        # Back at the live turn, then no further.
        await pilot.press("right", "right")
        await settle(pilot)
        assert screen.viewing is None and screen.history is None
        assert plain(screen.query_one("#turn-title", Static).render()) == "Turn 6"
        await pilot.press("right")
        await settle(pilot)
        assert screen.viewing is None

        # All the way back to the start: the world as the campaign began, no ledger.
        for _ in range(6):
            await pilot.press("left")
            await settle(pilot)
        assert screen.viewing == 0 and screen.history is not None
        assert screen.history.world == (await folded(app, campaign_id, 0)).world
        assert "as the campaign began" in plain(screen.query_one("#turn-title", Static).render())
        await pilot.press("left")
        await settle(pilot)
        assert screen.viewing == 0

        # Playing a turn returns to the live campaign.
        await pilot.press("space")
        await settle(pilot)
        assert screen.viewing is None
        assert (await app.dramatis.campaigns.show(campaign_id)).turns == 7


async def test_rewind_to_here_forks_at_the_turn_shown_and_opens_the_fork(
    make_app: MakeApp,
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.dramatis is not None
        campaign_id = await started_campaign(app.dramatis)
        await app.dramatis.campaigns.advance(campaign_id, turns=5)
        await app.play_campaign(campaign_id)
        await settle(pilot)
        await pilot.press("left", "left")
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)

        fork_id = app.campaign_id
        assert fork_id is not None and fork_id != campaign_id
        fork = await app.dramatis.campaigns.show(fork_id)
        assert (fork.forked_from, fork.turns, fork.status) == (campaign_id, 3, "active")
        assert fork.world == (await folded(app, campaign_id, 3)).world
        screen = app.screen
        assert isinstance(screen, PlayScreen) and screen.viewing is None
        assert (await app.dramatis.campaigns.show(campaign_id)).turns == 5

        await pilot.press("space")
        await settle(pilot)
        assert (await app.dramatis.campaigns.show(fork_id)).turns == 4
        assert (await app.dramatis.campaigns.show(campaign_id)).turns == 5

        # The setup screen shows the family tree of either campaign.
        await app.go("setup")
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)
        text = screen_text(app)
        assert "Family" in text
        assert "└─ The Salt Road (fork at turn 3)  from turn 3" in text
        assert f"{campaign_id[:8]}" in text and f"{fork_id[:8]}  ◂ this one" in text


async def test_reroll_shows_both_branches_and_plays_on_the_one_picked(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.dramatis is not None
        campaign_id = await started_campaign(app.dramatis)
        await app.dramatis.campaigns.advance(campaign_id, turns=4)
        await app.play_campaign(campaign_id)
        await settle(pilot)

        await pilot.press("R")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, RerollScreen)
        reroll_id = modal.result.reroll.campaign_id
        assert modal.result.original.campaign_id == campaign_id
        assert "Turn 4, two ways" in screen_text(app)
        await pilot.press("2")
        await settle(pilot)
        assert app.campaign_id == reroll_id
        rerolled = await app.dramatis.campaigns.show(reroll_id)
        assert (rerolled.forked_from, rerolled.turns) == (campaign_id, 4)

        # The other branch stays available: pick it again and play it on.
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, RerollScreen)
        await pilot.press("1")
        await settle(pilot)
        assert app.campaign_id == reroll_id
        await pilot.press("space")
        await settle(pilot)
        assert (await app.dramatis.campaigns.show(reroll_id)).turns == 5
        assert (await app.dramatis.campaigns.show(campaign_id)).turns == 4
        summaries = {s.campaign_id for s in await app.dramatis.campaigns.list_campaigns()}
        assert {campaign_id, reroll_id} <= summaries and len(summaries) == 3


async def test_the_persona_screen_shows_knowledge_and_trust_as_of_the_turn_stepped_to(
    make_app: MakeApp,
) -> None:
    from dramatis.tui.screens.persona import PersonaScreen
    from dramatis.tui.widgets.persona_panels import knowledge_content, relationships_content

    app = make_app()
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        assert app.dramatis is not None
        campaign_id = await started_campaign(app.dramatis)
        await app.dramatis.campaigns.advance(campaign_id, turns=5)
        view = await app.dramatis.campaigns.show(campaign_id)
        persona_id = view.personas[0].persona_id
        names = {p.persona_id: p.name for p in view.personas}
        app.persona_id = persona_id
        await app.play_campaign(campaign_id)
        await settle(pilot)
        await app.go("persona")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PersonaScreen)

        async def expected(turn: int) -> tuple[str, str]:
            campaign = await folded(app, campaign_id, turn)
            assert campaign.world is not None
            world = campaign.world
            places = {loc.id: loc.name for loc in campaign.brief.locations}
            here = world.positions[persona_id]
            knows = knowledge_content(
                places.get(here, here),
                world.knowledge.get(persona_id, ()),
                world.perceptions.get(persona_id, ()),
            )
            trust = relationships_content(persona_id, names, world.trust)
            return plain(trust), plain(knows)

        def panels() -> tuple[str, str]:
            return (
                plain(screen.query_one("#persona-trust", Static).render()),
                plain(screen.query_one("#persona-knows", Static).render()),
            )

        assert screen.turn == 5 and screen.world_turn is None  # the campaign as it is now
        assert panels() == await expected(5)
        for turn in (4, 3, 2):
            await pilot.press("left")
            await settle(pilot)
            assert screen.turn == turn and screen.world_turn == turn
            assert panels() == await expected(turn)
        await pilot.press("right")
        await settle(pilot)
        assert screen.world_turn == 3 and panels() == await expected(3)
