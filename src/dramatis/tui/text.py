"""Showing untrusted text (sheets, model output) safely: never as markup, never as escapes."""

from __future__ import annotations

import re

from rich.text import Text

# C0/C1 control characters (ESC, BEL, CSI...) except tab and newline, which are layout.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """``text`` with terminal control characters made visible and inert (ESC -> '␛')."""
    return _CONTROL.sub(lambda m: "␛" if m.group() == "\x1b" else "�", text)


def safe(text: str, style: str = "") -> Text:
    """A rich Text that shows ``text`` literally: markup is not parsed, escapes are neutralised."""
    return Text(clean(text), style=style)
