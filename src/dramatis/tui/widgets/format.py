"""Small formatting helpers shared by the screens: ages, formats, brains."""

from __future__ import annotations

from datetime import datetime

FORMAT_LABELS = {"toml": "TOML", "markdown": "markdown", "card_v2": "Card V2"}
BRAIN_LABELS = {"offline": "offline", "gemini": "Gemini", "human": "you"}


def age(then_iso: str, now_iso: str) -> str:
    """How long ago ``then_iso`` was, shortly: ``now``, ``5m``, ``3h``, ``2d``."""
    try:
        then = datetime.fromisoformat(then_iso.replace("Z", "+00:00"))
        now = datetime.fromisoformat(now_iso.replace("Z", "+00:00"))
    except ValueError:
        return ""
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def turns_text(turns: int, limit: int | None) -> str:
    """``12/60`` or ``12`` when there is no limit."""
    return f"{turns}/{limit}" if limit else str(turns)
