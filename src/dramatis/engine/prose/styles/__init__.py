"""The chronicler's voices. A style is a grammar: the same facts, told with its own words."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from types import ModuleType

from dramatis.engine.prose.grammar import Grammar
from dramatis.engine.prose.styles import base, gothic, noir, plain, saga

_MODULES: dict[str, ModuleType] = {m.NAME: m for m in (plain, gothic, saga, noir)}

KNOWN_STYLES: tuple[str, ...] = tuple(_MODULES)


class UnknownStyleError(ValueError):
    """A chronicler style this build does not know; the message lists the known ones."""

    def __init__(self, style: str) -> None:
        self.style = style
        super().__init__(
            f"unknown chronicler style {style!r}; known styles: {', '.join(KNOWN_STYLES)}"
        )


@dataclass(frozen=True)
class Style:
    """A named voice: its grammar plus the few settings that are not phrases."""

    name: str
    description: str
    conjunction: str
    grammar: Grammar


def get_style(name: str) -> Style:
    """The style called ``name`` (case-insensitive); raises UnknownStyleError otherwise."""
    key = name.strip().lower()
    if key not in _MODULES:
        raise UnknownStyleError(name)
    return _build(key)


@cache
def _build(key: str) -> Style:
    module = _MODULES[key]
    rules = {**base.RULES, **module.RULES}
    return Style(
        name=module.NAME,
        description=module.DESCRIPTION,
        conjunction=module.AND,
        grammar=Grammar(rules),
    )


def describe_styles() -> dict[str, str]:
    """Style name -> one-line description, for help texts."""
    return {name: module.DESCRIPTION for name, module in _MODULES.items()}
