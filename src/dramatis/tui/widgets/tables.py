"""Filling a DataTable whose rows are all replaced at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.widgets import DataTable

Cell = str | Text
Row = tuple[Sequence[Cell], str]  # the cells and the row key


def fill_table(table: DataTable[object], columns: Mapping[str, str], rows: Sequence[Row]) -> None:
    """Replace the table's columns and rows. Each column is as wide as its widest cell now (not
    the widest it ever held), and the width is set at once: a DataTable left to size its
    columns itself does so only when next idle, so a busy app draws a frame of cut cells."""
    widths = [Text(label).cell_len for label in columns.values()]
    for cells, _ in rows:
        for index, cell in enumerate(cells):
            size = cell.cell_len if isinstance(cell, Text) else Text(cell).cell_len
            widths[index] = max(widths[index], size)
    table.clear(columns=True)
    for (key, label), width in zip(columns.items(), widths, strict=True):
        table.add_column(label, key=key, width=max(width, 1))
    for cells, key in rows:
        table.add_row(*cells, key=key)
