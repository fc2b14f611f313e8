"""Load any supported sheet file by its suffix."""

from __future__ import annotations

from pathlib import Path

from dramatis.sheets.card_v2 import parse_card_png, parse_card_v2
from dramatis.sheets.common import LoadedSheet, read_text, sheet_error
from dramatis.sheets.markdown_sheet import parse_markdown_sheet
from dramatis.sheets.toml_sheet import parse_toml_sheet

SUFFIXES = {
    ".toml": "toml",
    ".md": "markdown",
    ".markdown": "markdown",
    ".json": "card_v2",
    ".png": "card_v2",
}


def load_sheet(path: Path, *, label: str | None = None) -> LoadedSheet:
    """Read a character sheet file into its canonical form.

    ``.toml`` is the native format, ``.md``/``.markdown`` a Novel Engine-style sheet, ``.json`` a
    Character Card V2 (``.png`` a card embedded in an image). Every problem raises
    ``CharacterSheetError`` with one line naming the file (``label``, default the file name), the
    field and the problem.
    """
    path = Path(path).expanduser()
    label = label or path.name
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        shown = f'"{path.suffix}"' if path.suffix else "(none)"
        raise sheet_error(
            label,
            f"unknown sheet format {shown}; use .toml, .md (or .markdown), .json or .png",
        )
    if suffix == ".png":
        if not path.is_file():
            read_text(path, label=label)  # raises the missing-file / folder error
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise sheet_error(label, f"cannot be read ({exc.strerror or exc})") from None
        return parse_card_png(data, label=label, source=path)
    text = read_text(path, label=label)
    if suffix == ".toml":
        return parse_toml_sheet(text, label=label, source=path)
    if suffix == ".json":
        return parse_card_v2(text, label=label, source=path)
    return parse_markdown_sheet(text, label=label, source=path)
