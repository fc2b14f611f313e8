"""The chronicle screen over a real store: write chapters, jump to their turns, export."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, OptionList, Static

from dramatis.domain.chronicle import ChapterDrafted
from dramatis.services.codec import decode
from dramatis.tui.screens.chronicle import ChronicleScreen, turn_ranges
from dramatis.tui.widgets.chronicle_export import ChronicleExportModal

from .screens_harness import make_app, make_world, make_world_sync, read_events, show_mode


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def chapters_drafted(world) -> list[ChapterDrafted]:  # type: ignore[no-untyped-def]
    events = decode(
        [r for r in await read_events(world.settings) if r.event_type == "ChapterDrafted"]
    )
    return [e for e in events if isinstance(e, ChapterDrafted)]


def test_turn_ranges() -> None:
    assert turn_ranges((1, 2, 3, 5)) == "1–3, 5"
    assert turn_ranges((7,)) == "7"
    assert turn_ranges(()) == "–"


async def test_w_writes_the_next_chapter_and_shows_it(tmp_path: Path) -> None:
    world = await make_world(tmp_path, turns=5)
    app = make_app(world, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_mode(app, "chronicle", world)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ChronicleScreen)
        assert screen.query_one("#chronicle-chapters", OptionList).option_count == 0
        assert "No chapter is written yet" in screen.markdown

        await pilot.press("w")
        await settle(pilot)

        drafted = await chapters_drafted(world)
        assert len(drafted) == 1
        title = drafted[0].title
        assert title in screen.markdown
        options = screen.query_one("#chronicle-chapters", OptionList)
        assert options.option_count == 1
        prompt = options.get_option_at_index(0).prompt
        assert title in getattr(prompt, "plain", str(prompt))
        assert "turns 1–5" in getattr(prompt, "plain", str(prompt))

        # Nothing left to tell: a second w records nothing.
        await pilot.press("w")
        await settle(pilot)
        assert len(await chapters_drafted(world)) == 1


async def test_enter_jumps_to_the_chapters_turns_on_the_play_screen(tmp_path: Path) -> None:
    world = await make_world(tmp_path, turns=5, chapters=1)
    app = make_app(world, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_mode(app, "chronicle", world)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.focus_turn == 1  # type: ignore[attr-defined]
        assert app.focus_turns == (1, 2, 3, 4, 5)  # type: ignore[attr-defined]
        assert app.current_mode == "play"


async def test_export_writes_the_file(tmp_path: Path) -> None:
    world = await make_world(tmp_path, turns=5, chapters=1)
    target = tmp_path / "out" / "salt-road.md"
    app = make_app(world, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_mode(app, "chronicle", world)
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ChronicleExportModal)
        field = modal.query_one("#export-path", Input)
        assert field.value.startswith(str(world.settings.data_dir))
        field.value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ChronicleExportModal)
    text = target.read_text(encoding="utf-8")
    assert text.startswith("---\n")  # front matter, then the book
    assert "\n# The Salt Road" in text
    title = (await chapters_drafted(world))[0].title
    assert title in text


async def test_a_path_that_cannot_be_written_shows_an_inline_error(tmp_path: Path) -> None:
    world = await make_world(tmp_path, turns=5, chapters=1)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    app = make_app(world, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_mode(app, "chronicle", world)
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ChronicleExportModal)
        modal.query_one("#export-path", Input).value = str(blocker / "book.md")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is modal  # still open, saying why
        error = modal.query_one("#export-error", Static).content
        assert "Cannot write" in getattr(error, "plain", str(error))
        assert modal.query_one("#export-path", Input).has_class("-invalid")

        modal.query_one("#export-path", Input).value = ""
        await pilot.press("enter")
        await settle(pilot)
        error = modal.query_one("#export-error", Static).content
        assert "Give a file path" in getattr(error, "plain", str(error))

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChronicleScreen)
    assert not (blocker / "book.md").exists()


def test_snapshot_80x24(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world = make_world_sync(tmp_path, turns=8, chapters=1)

    async def open_chronicle(pilot) -> None:  # type: ignore[no-untyped-def]
        await show_mode(pilot.app, "chronicle", world)
        await settle(pilot)

    assert snap_compare(
        make_app(world, tmp_path), terminal_size=(80, 24), run_before=open_chronicle
    )


def test_snapshot_120x40(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world = make_world_sync(tmp_path, turns=8, chapters=1)

    async def open_chronicle(pilot) -> None:  # type: ignore[no-untyped-def]
        await show_mode(pilot.app, "chronicle", world)
        await settle(pilot)

    assert snap_compare(
        make_app(world, tmp_path), terminal_size=(120, 40), run_before=open_chronicle
    )
