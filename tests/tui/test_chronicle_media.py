"""The chronicle screen's media and publishing: attach (validated), show, publish with progress."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, Input, Static

from dramatis.adapters.media_files import FileMediaStore
from dramatis.domain.chronicle import MediaAttached
from dramatis.services.codec import decode
from dramatis.tui.screens.chronicle import ChronicleScreen
from dramatis.tui.widgets.chronicle_media import MediaAttachModal, PublishModal

from .screens_harness import make_app, make_world, read_events, show_mode

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def fill(pilot, modal, selector: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """Type into a field as a user would: the change is handled before the next key."""
    modal.query_one(selector, Input).value = value
    await pilot.pause()


def plain(widget: Static) -> str:
    content = widget.content
    return getattr(content, "plain", str(content))


async def test_attach_validates_the_fields_then_shows_the_media(tmp_path: Path) -> None:
    world = await make_world(tmp_path, turns=5, chapters=1)
    image = tmp_path / "map.png"
    image.write_bytes(PNG)
    words = tmp_path / "notes.png"
    words.write_text("not a picture", encoding="utf-8")
    app = make_app(world, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_mode(app, "chronicle", world)
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, MediaAttachModal)
        assert modal.query_one("#media-chapter", Input).value == "1"  # the highlighted chapter

        await fill(pilot, modal, "#media-path", str(tmp_path / "missing.png"))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "does not exist" in plain(modal.query_one("#media-error", Static))
        assert modal.query_one("#media-path", Input).has_class("-invalid")

        await fill(pilot, modal, "#media-path", str(image))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Describe the media" in plain(modal.query_one("#media-error", Static))

        await fill(pilot, modal, "#media-alt", "A <b>map</b> of the salt road")
        await fill(pilot, modal, "#media-chapter", "7")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "no chapter 7" in plain(modal.query_one("#media-error", Static))

        await fill(pilot, modal, "#media-chapter", "1")
        await fill(pilot, modal, "#media-path", str(words))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is modal  # the service refused it; the reason shows in the dialog
        assert "not a media type" in plain(modal.query_one("#media-error", Static))

        await fill(pilot, modal, "#media-path", str(image))
        await pilot.press("ctrl+s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ChronicleScreen)
        assert "A <b>map</b> of the salt road" in plain(screen.query_one("#chronicle-media"))
        assert "map" in screen.markdown and "salt road" in screen.markdown

    records = [r for r in await read_events(world.settings) if r.event_type == "MediaAttached"]
    [event] = decode(records)
    assert isinstance(event, MediaAttached)
    assert event.asset.chapter == 1 and event.asset.media_type == "image/png"


async def test_publish_shows_progress_and_a_failure_can_be_retried(tmp_path: Path) -> None:
    world = await make_world(tmp_path, turns=5, chapters=1)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    app = make_app(world, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_mode(app, "chronicle", world)
        await settle(pilot)
        publishing = app.dramatis.publishing  # type: ignore[attr-defined]
        working = publishing.media
        publishing.media = FileMediaStore(blocker / "media")

        await pilot.press("p")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, PublishModal)
        await pilot.click("#publish-confirm")
        await settle(pilot)
        assert app.screen is modal
        assert "publish again" in plain(modal.query_one("#publish-error", Static))
        assert str(modal.query_one("#publish-confirm", Button).label) == "Retry"
        assert any(step.startswith("uploading") for step in modal.steps)

        publishing.media = working
        await pilot.click("#publish-confirm")
        await settle(pilot)
        assert isinstance(app.screen, ChronicleScreen)
        assert modal.result is not None and modal.result.destination.startswith("file://")
        assert modal.steps[-1].startswith("published to")
        assert "published" in plain(app.screen.query_one("#chronicle-title", Static))

        await pilot.press("p")  # publishing is final
        await settle(pilot)
        assert isinstance(app.screen, ChronicleScreen)
    types = [r.event_type for r in await read_events(world.settings)]
    assert types.count("ChroniclePublished") == 1
