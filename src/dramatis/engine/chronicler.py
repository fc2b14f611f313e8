"""The chronicler: turns ledgers into markdown chapters, and chapters into a book.

``compose_chapter`` writes one chapter from the ledgers of the turns it covers, in the voice of
the campaign's chronicler style, remembering what earlier chapters told (``ChroniclerMemory``) so
it does not repeat itself. ``render_chronicle_markdown`` binds chapters into one document.
Pure and deterministic: the same ledgers, context and seed give the same markdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dramatis.domain.campaign_file import ChroniclerSpec
from dramatis.domain.ledger import TurnLedger
from dramatis.engine.prose.chapter import ChapterWriter
from dramatis.engine.prose.context import ChronicleContext
from dramatis.engine.prose.memory import ChroniclerMemory
from dramatis.engine.prose.styles import (
    KNOWN_STYLES,
    UnknownStyleError,
    describe_styles,
    get_style,
)
from dramatis.engine.prose.text import split_sentences

__all__ = [
    "KNOWN_STYLES",
    "ChapterDraft",
    "ChronicleContext",
    "ChroniclerMemory",
    "UnknownStyleError",
    "check_style",
    "compose_chapter",
    "describe_styles",
    "render_chronicle_markdown",
    "split_sentences",
]


@dataclass(frozen=True)
class ChapterDraft:
    """One written chapter: its number, title, markdown, the turns it cites and the new memory."""

    number: int
    title: str
    markdown: str
    cited_turns: tuple[int, ...]
    memory: ChroniclerMemory


def check_style(style: str) -> str:
    """The canonical name of a known style; raises UnknownStyleError listing the known ones."""
    return get_style(style).name


def compose_chapter(
    number: int,
    ledgers: Sequence[TurnLedger],
    ctx: ChronicleContext,
    memory: ChroniclerMemory | None = None,
) -> ChapterDraft:
    """Write chapter ``number`` from the ledgers of the turns it covers."""
    if number < 1:
        raise ValueError(f"chapters are numbered from 1, not {number}")
    before = memory if memory is not None else ChroniclerMemory()
    written = ChapterWriter(number, ledgers, ctx, before).write()
    return ChapterDraft(
        number=number,
        title=written.title,
        markdown=written.markdown,
        cited_turns=written.turns,
        memory=before.absorb(written.markdown),
    )


def render_chronicle_markdown(
    title: str,
    chronicler: ChroniclerSpec | str,
    chapters: Sequence[ChapterDraft | str],
) -> str:
    """The whole chronicle as one markdown document: title, narrator, chapters in order."""
    narrator = chronicler.name if isinstance(chronicler, ChroniclerSpec) else chronicler
    drafts = [c for c in chapters if isinstance(c, ChapterDraft)]
    texts = (
        [c.markdown for c in sorted(drafts, key=lambda c: c.number)]
        if len(drafts) == len(chapters)
        else [c.markdown if isinstance(c, ChapterDraft) else c for c in chapters]
    )
    parts = [
        f"# {title.strip() or 'Chronicle'}",
        f"*Narrated by {narrator.strip() or 'The Chronicler'}*",
    ]
    parts.extend(text.strip() for text in texts if text.strip())
    return "\n\n".join(parts) + "\n"
