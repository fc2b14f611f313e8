"""The persona screen over a real store: turns, provenance, the exact context, hostile sheets."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Static

from dramatis.domain.persona import DecisionRecorded
from dramatis.services.codec import decode
from dramatis.sheets.campaign_loader import load_campaign_file
from dramatis.tui.screens.persona import PersonaScreen

from .screens_harness import make_app, make_world, make_world_sync, read_events, show_mode


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def shown(screen: PersonaScreen, selector: str) -> str:
    content = screen.query_one(selector, Static).content
    return getattr(content, "plain", str(content))


async def recorded_contexts(world, persona_id: str) -> dict[int, str]:  # type: ignore[no-untyped-def]
    events = [r for r in await read_events(world.settings) if r.stream_id == persona_id]
    return {
        event.turn: event.context_text
        for event in decode(events)
        if isinstance(event, DecisionRecorded)
    }


async def test_steps_through_turns_showing_the_recorded_context(tmp_path: Path) -> None:
    world = await make_world(tmp_path, turns=5)
    persona_id = world.persona_ids[0]
    contexts = await recorded_contexts(world, persona_id)
    assert sorted(contexts) == [1, 2, 3, 4, 5]

    app = make_app(world, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_mode(app, "persona", world)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PersonaScreen)
        assert screen.persona_id == persona_id
        assert screen.query_one(DataTable).row_count == 5
        assert "Ana Varga" in shown(screen, "#persona-title")
        assert "sha256" in shown(screen, "#persona-title")

        # The newest turn first, with exactly the context the persona was given.
        assert screen.turn == 5
        assert shown(screen, "#persona-context-text") == contexts[5]

        for expected in (4, 3, 2, 1):
            await pilot.press("left")
            await pilot.pause()
            assert screen.turn == expected
            assert shown(screen, "#persona-context-text") == contexts[expected]
        await pilot.press("left")  # nothing before turn 1
        await pilot.pause()
        assert screen.turn == 1

        await pilot.press("right", "right")
        await pilot.pause()
        assert screen.turn == 3
        assert shown(screen, "#persona-context-text") == contexts[3]
        assert "offline" in shown(screen, "#persona-decision")


async def test_tab_moves_to_the_next_persona_of_the_campaign(tmp_path: Path) -> None:
    world = await make_world(tmp_path, turns=3)
    app = make_app(world, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_mode(app, "persona", world)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PersonaScreen)
        await pilot.press("tab")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert app.persona_id == world.persona_ids[1]
        assert screen.persona_id == world.persona_ids[1]
        assert "Bram Tolliver" in shown(screen, "#persona-title")
        contexts = await recorded_contexts(world, world.persona_ids[1])
        assert shown(screen, "#persona-context-text") == contexts[3]
        # Trust toward the others comes from the campaign world, by name.
        assert "Ana Varga" in shown(screen, "#persona-trust")

        await pilot.press("tab", "tab")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert app.persona_id == world.persona_ids[0]


def _hostile_campaign(root: Path) -> Path:
    folder = root / "hostile"
    folder.mkdir()
    (folder / "x.toml").write_text(
        'name = "[bold red]x"\n'
        'summary = "A name that looks like markup [link=http://evil]click[/link]."\n'
        'personality = ["[blink]sly[/blink]"]\n'
        'fallback_policy = "offline"\n'
        'profile = "Says \\u001b]0;pwned\\u0007 to every terminal."\n',
        encoding="utf-8",
    )
    (folder / "y.toml").write_text(
        'name = "Plain Yara"\nsummary = "An ordinary traveller."\nfallback_policy = "offline"\n',
        encoding="utf-8",
    )
    (folder / "campaign.toml").write_text(
        'name = "Hostile Sheets"\nseed = 3\n'
        '[[personas]]\nsheet = "x.toml"\n[[personas]]\nsheet = "y.toml"\n',
        encoding="utf-8",
    )
    return folder / "campaign.toml"


async def test_markup_and_escapes_in_a_sheet_render_literally(tmp_path: Path) -> None:
    loaded = load_campaign_file(_hostile_campaign(tmp_path))
    world = await make_world(tmp_path, turns=2, loaded=loaded)
    app = make_app(world, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_mode(app, "persona", world)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PersonaScreen)
        assert shown(screen, "#persona-title").startswith("[bold red]x")
        assert "[link=http://evil]click[/link]" in shown(screen, "#persona-profile")
        assert "[blink]sly[/blink]" in shown(screen, "#persona-profile")
        background = shown(screen, "#persona-background")
        assert "␛]0;pwned" in background
        assert "\x1b" not in background
        # Other personas see the name literally too.
        await pilot.press("tab")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert "[bold red]x" in shown(screen, "#persona-trust")
        screenshot = app.export_screenshot()
        assert "\x1b]0;" not in screenshot


def test_snapshot_80x24(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world = make_world_sync(tmp_path, turns=5)

    async def open_persona(pilot) -> None:  # type: ignore[no-untyped-def]
        await show_mode(pilot.app, "persona", world)
        await settle(pilot)

    assert snap_compare(make_app(world, tmp_path), terminal_size=(80, 24), run_before=open_persona)


def test_snapshot_120x40(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world = make_world_sync(tmp_path, turns=5)

    async def open_persona(pilot) -> None:  # type: ignore[no-untyped-def]
        await show_mode(pilot.app, "persona", world)
        await settle(pilot)
        await pilot.press("left")
        await settle(pilot)

    assert snap_compare(make_app(world, tmp_path), terminal_size=(120, 40), run_before=open_persona)
