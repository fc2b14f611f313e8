"""Themes as data: TOML files turned into ``textual.theme.Theme``, and the remembered choice.

Shipped themes live in the package ``dramatis.tui.themes`` (the repository's ``themes/`` folder);
user themes are ``*.toml`` files in ``<config dir>/themes/``. A file that cannot be read becomes a
one-line problem for a notification, never an exception.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

DEFAULT_THEME = "dramatis-ink"
THEMES_PACKAGE = "dramatis.tui.themes"
STATE_FILE = "tui-state.json"

_COLOUR_FIELDS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_KNOWN = {f.name for f in fields(Theme)}


@dataclass
class LoadedThemes:
    """Themes that loaded, and one line per file that did not."""

    themes: list[Theme] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def theme_from_toml(text: str, label: str) -> Theme:
    """One theme from TOML text; ``ValueError`` with a one-line reason when it is unusable."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{label}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise ValueError(f"{label}: unknown key {unknown[0]!r}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f'{label}: missing name = "..."')
    if not isinstance(data.get("primary"), str):
        raise ValueError(f'{label}: missing primary = "#rrggbb"')
    for key in _COLOUR_FIELDS:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f'{label}: {key} must be a colour such as "#d8a657"')
        try:
            Color.parse(value)
        except ColorParseError:
            raise ValueError(f"{label}: {key} = {value!r} is not a colour") from None
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise ValueError(f"{label}: [variables] must map names to text values")
    if "dark" in data and not isinstance(data["dark"], bool):
        raise ValueError(f"{label}: dark must be true or false")
    try:
        return Theme(**data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{label}: {exc}") from None


def _theme_files(folder: Path) -> list[Path]:
    try:
        return sorted(path for path in folder.glob("*.toml") if path.is_file())
    except OSError:
        return []


def load_themes(user_dir: Path | None) -> LoadedThemes:
    """The shipped themes, then the user's (a user theme may replace a shipped one by name)."""
    result = LoadedThemes()
    shipped = resources.files(THEMES_PACKAGE)
    for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            _add(result, entry.read_text(encoding="utf-8"), entry.name)
    if user_dir is not None:
        for path in _theme_files(user_dir):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                result.problems.append(f"{path.name}: cannot be read ({exc})")
                continue
            _add(result, text, path.name)
    return result


def _add(result: LoadedThemes, text: str, label: str) -> None:
    try:
        result.themes.append(theme_from_toml(text, label))
    except ValueError as exc:
        result.problems.append(str(exc))


class UiState:
    """A small JSON file of UI choices (the theme) under the data dir."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return (
            {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}
        )

    def save(self, **values: str) -> None:
        data = {**self.load(), **values}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
            tmp.replace(self.path)
        except OSError:
            pass  # remembering the theme is a courtesy, never a failure
