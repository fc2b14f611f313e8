"""Shared play at a glance: who is at the table, who controls whom, who is still to choose."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from dramatis.services.table import SeatView, TableView
from dramatis.tui.text import safe


def seat_label(seat: SeatView, colours: Mapping[str, str]) -> Text:
    """Who controls a persona: "you" or the player's name."""
    if seat.mine:
        return Text("you", style=f"bold {colours.get('accent', '')}")
    return safe(seat.controller or "", "bold")


def seat_status(seat: SeatView, colours: Mapping[str, str]) -> Text | None:
    """A controlled persona's state in the called turn; None for personas their brain plays."""
    if seat.chosen:
        return Text("✓ chosen", style=colours.get("success", ""))
    if not seat.waiting:
        return None
    who = "you" if seat.mine else (seat.controller or "its player")
    return Text(f"▸ waiting for {who}…", style=colours.get("accent", ""))


def table_line(view: TableView, colours: Mapping[str, str]) -> Text:
    """One or two lines: the players at the table, then the called turn and who it waits for."""
    line = Text()
    line.append("At the table  ", style=f"bold {colours.get('primary', '')}")
    if not view.players:
        line.append("nobody yet", style="dim")
    for index, presence in enumerate(view.players):
        if index:
            line.append(" · ", style="dim")
        line.append_text(safe(presence.player, "bold" if presence.you else ""))
        if presence.you:
            line.append(" (you)", style="dim")
        if presence.role == "viewer":
            line.append(" watching", style="dim")
        elif presence.role == "operator":
            line.append(" operator", style="dim")
    call = view.call
    if call is None:
        mine = next((s for s in view.seats if s.mine), None)
        if mine is not None:
            line.append(f"\nYou control {mine.name}", style="")
            line.append(" · space calls the next turn · t lets go", style="dim")
        else:
            line.append("\nt takes the highlighted persona · space calls the next turn", "dim")
        return line
    line.append(f"\nTurn {call.turn} called by ", style="")
    line.append_text(safe(call.called_by, "bold"))
    if call.waiting_for:
        line.append(" · waiting for ", style="")
        line.append_text(safe(", ".join(call.waiting_for), colours.get("accent", "")))
        line.append(f" · {max(0.0, call.seconds_left):.0f} s left", style="dim")
    else:
        line.append(" · everyone has chosen", style=colours.get("success", ""))
    return line
