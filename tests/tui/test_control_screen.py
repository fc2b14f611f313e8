"""The control-plane screen over a real store: flag changes through the dialog, SLOs, runbooks."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Input, MarkdownViewer, Sparkline, Static

from dramatis.domain.control_plane import FlagUpdated
from dramatis.services.codec import decode
from dramatis.tui.screens.control import (
    NOT_MEASURED,
    ControlScreen,
    FlagToggleModal,
    format_value,
    text_sparkline,
)
from dramatis.tui.widgets.control_runbook import ControlRunbookModal

from .screens_harness import (
    SLO_SERIES,
    make_app,
    make_world,
    make_world_sync,
    no_blink,
    read_events,
    show_mode,
)


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def flag_updates(world) -> list[FlagUpdated]:  # type: ignore[no-untyped-def]
    records = [r for r in await read_events(world.settings) if r.event_type == "FlagUpdated"]
    return [e for e in decode(records) if isinstance(e, FlagUpdated)]


def plain(value: object) -> str:
    return getattr(value, "plain", str(value))


def test_formatting() -> None:
    assert format_value(0.021, "ratio") == "2.1 %"
    assert format_value(1.4, "s") == "1.40 s"
    assert text_sparkline([1.0, 2.0, 3.0]) == "▁▅█"
    assert text_sparkline([2.0, 2.0]) == "▁▁"


async def test_toggle_records_the_owner_and_rollback_plan_typed(tmp_path: Path) -> None:
    world = await make_world(tmp_path, turns=2)
    before = await flag_updates(world)
    app = make_app(world, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_mode(app, "control", world)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ControlScreen)
        assert screen.highlighted_flag() is not None
        assert screen.highlighted_flag().name == "gemini.personas"  # type: ignore[union-attr]

        await pilot.press("t")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, FlagToggleModal)
        assert modal.query_one("#toggle-stage", Input).value == "off"  # on -> off suggested
        await pilot.press("enter")  # stage ok: on to the owner
        await pilot.press(*"ana")
        await pilot.press("enter")
        plan = modal.query_one("#toggle-plan", Input)
        plan.value = ""
        await pilot.press(*"set on when the status page is green")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ControlScreen)

        table = screen.query_one("#control-flags", DataTable)
        assert plain(table.get_row("gemini.personas")[1]) == "off"
        assert plain(table.get_row("gemini.personas")[2]) == "ana"

    after = await flag_updates(world)
    assert len(after) == len(before) + 1
    event = after[-1]
    assert (event.flag, event.stage, event.previous_stage) == ("gemini.personas", "off", "on")
    assert event.owner == "ana"
    assert event.rollback_plan == "set on when the status page is green"


async def test_a_blank_owner_or_a_bad_stage_is_refused_inline(tmp_path: Path) -> None:
    world = await make_world(tmp_path, turns=2)
    before = await flag_updates(world)
    app = make_app(world, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_mode(app, "control", world)
        await settle(pilot)
        await pilot.press("down", "t")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, FlagToggleModal)
        assert modal.flag.name == "gemini.chronicle"
        modal.query_one("#toggle-stage", Input).value = "percent:150"
        modal.query_one("#toggle-owner", Input).value = "   "
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is modal
        owner_error = plain(modal.query_one("#toggle-owner-error", Static).content)
        stage_error = plain(modal.query_one("#toggle-stage-error", Static).content)
        assert "Name the owner" in owner_error
        assert "percent:N" in stage_error
        assert modal.query_one("#toggle-owner", Input).has_class("-invalid")

        modal.query_one("#toggle-plan", Input).value = ""
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "undo" in plain(modal.query_one("#toggle-plan-error", Static).content)

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ControlScreen)
    assert len(await flag_updates(world)) == len(before)


async def test_slos_show_measurements_breaches_and_what_is_not_measured(tmp_path: Path) -> None:
    world = await make_world(tmp_path, turns=2, measurements=SLO_SERIES)
    app = make_app(world, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_mode(app, "control", world)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ControlScreen)
        table = screen.query_one("#control-slos", DataTable)
        assert plain(table.get_row("turn p95")[2]) == "1.00 s"
        assert plain(table.get_row("turn p95")[4]) == f"1/{len(SLO_SERIES) + 1}"
        assert plain(table.get_row("fallback rate")[2]) == NOT_MEASURED
        spark = screen.query_one("#control-spark", Sparkline)
        assert list(spark.data or [])[-len(SLO_SERIES) :] == [m["turn p95"] for m in SLO_SERIES]
        detail_text = plain(screen.query_one("#control-slo-detail", Static).content)
        assert "breached" in detail_text
        assert "✗ 2.40 s at" in detail_text  # the breach list names the breaching value
        assert "runbook Restore a database" in plain(
            screen.query_one("#control-slo-detail", Static).content
        )

        table.focus()
        await pilot.press("down")  # fallback rate: nothing measured, no sparkline
        await settle(pilot)
        assert NOT_MEASURED in plain(screen.query_one("#control-slo-detail", Static).content)
        assert not spark.display


async def test_enter_opens_the_highlighted_runbook(tmp_path: Path) -> None:
    world = await make_world(tmp_path, turns=1)
    app = make_app(world, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_mode(app, "control", world)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ControlRunbookModal)
        assert modal.runbook_name == "Gemini outage"
        assert "# Gemini outage" in modal.markdown
        assert modal.query_one(MarkdownViewer).document.source.startswith("# Gemini outage")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ControlScreen)


def _world_with_slos(tmp_path: Path):  # type: ignore[no-untyped-def]
    return make_world_sync(tmp_path, turns=2, measurements=SLO_SERIES)


def test_snapshot_80x24(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world = _world_with_slos(tmp_path)

    async def open_control(pilot) -> None:  # type: ignore[no-untyped-def]
        await show_mode(pilot.app, "control", world)
        await settle(pilot)

    assert snap_compare(make_app(world, tmp_path), terminal_size=(80, 24), run_before=open_control)


def test_snapshot_120x40(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world = _world_with_slos(tmp_path)

    async def open_control(pilot) -> None:  # type: ignore[no-untyped-def]
        await show_mode(pilot.app, "control", world)
        await settle(pilot)

    assert snap_compare(make_app(world, tmp_path), terminal_size=(120, 40), run_before=open_control)


def test_snapshot_toggle_dialog_80x24(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world = _world_with_slos(tmp_path)

    async def open_dialog(pilot) -> None:  # type: ignore[no-untyped-def]
        await show_mode(pilot.app, "control", world)
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        no_blink(pilot.app)
        await pilot.press("ctrl+s")  # owner missing: the inline error shows
        await settle(pilot)

    assert snap_compare(make_app(world, tmp_path), terminal_size=(80, 24), run_before=open_dialog)
