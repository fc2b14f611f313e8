"""The chronicle's export formats: markdown with front matter, a standalone HTML page, and JSON.

All three render one ``ChronicleDocument`` (built by the publishing service), so they tell the same
chapters, cite the same turns and list the same media. Pure functions of the document.

HTML safety: chapter markdown is rendered by markdown-it-py with raw HTML disabled and its link
validation on, and every other text (names, reasons, accessibility text) is escaped, so nothing a
persona says can add markup or script to the page.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from markdown_it import MarkdownIt

from dramatis.domain.chronicle import MediaAsset
from dramatis.domain.ledger import ActionEntry, TurnLedger
from dramatis.engine.figures import Figure

EXPORT_SCHEMA = "dramatis.chronicle/1"


@dataclass(frozen=True)
class EmbeddedMedia:
    """An attached asset, with its bytes when they are to be embedded (None: link to it)."""

    asset: MediaAsset
    data: bytes | None = None


@dataclass(frozen=True)
class ExportChapter:
    """One chapter as exported: its text, the turns it tells, its figure and its media."""

    number: int
    title: str
    markdown: str
    cited_turns: tuple[int, ...]
    figure: Figure | None = None
    media: tuple[EmbeddedMedia, ...] = ()


@dataclass(frozen=True)
class ChronicleDocument:
    """Everything an export shows about one chronicle."""

    chronicle_id: str
    campaign_id: str
    campaign_name: str
    description: str
    chronicler: str
    style: str
    status: str
    seed: int
    personas: tuple[tuple[str, str], ...]  # (persona id, name)
    chapters: tuple[ExportChapter, ...]
    ledger: tuple[TurnLedger, ...]
    media: tuple[EmbeddedMedia, ...] = ()  # media of the whole chronicle (no chapter)
    turns_played: int = 0
    locations: dict[str, str] = field(default_factory=dict)  # location id -> name

    @property
    def turn_range(self) -> tuple[int, int] | None:
        """First and last turn the chapters tell (None before the first chapter)."""
        turns = [t for c in self.chapters for t in c.cited_turns]
        return (min(turns), max(turns)) if turns else None

    def all_media(self) -> tuple[EmbeddedMedia, ...]:
        return self.media + tuple(m for c in self.chapters for m in c.media)


# ---------------------------------------------------------------- markdown


def render_markdown(doc: ChronicleDocument) -> str:
    """One markdown file: YAML front matter, the title, then the chapters in order."""
    span = doc.turn_range
    front = {
        "title": doc.campaign_name,
        "campaign_id": doc.campaign_id,
        "chronicle_id": doc.chronicle_id,
        "personas": [{"id": pid, "name": name} for pid, name in doc.personas],
        "seed": doc.seed,
        "turns": {"first": span[0], "last": span[1]} if span else None,
        "chronicler": doc.chronicler,
        "style": doc.style,
        "status": doc.status,
    }
    parts = [
        "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip() + "\n---",
        f"# {doc.campaign_name.strip() or 'Chronicle'}",
        f"*Narrated by {doc.chronicler.strip() or 'The Chronicler'}*",
    ]
    parts += [_media_markdown(m.asset) for m in doc.media]
    for chapter in doc.chapters:
        parts.append(chapter.markdown.strip())
        parts.append(f"*Turns told: {_ranges(chapter.cited_turns)}*")
        parts += [_media_markdown(m.asset) for m in chapter.media]
    return "\n\n".join(p for p in parts if p) + "\n"


def _media_markdown(asset: MediaAsset) -> str:
    alt = _one_line(asset.accessibility_text).replace("[", "(").replace("]", ")")
    if asset.media_type.startswith("image/"):
        return f"![{alt}](<{asset.storage_url}>)"
    return f"[{alt}](<{asset.storage_url}>) ({asset.media_type})"


# ---------------------------------------------------------------- JSON


def render_json(doc: ChronicleDocument) -> str:
    """The chronicle and its turn ledger as one JSON object, for tools."""
    span = doc.turn_range
    data: dict[str, Any] = {
        "schema": EXPORT_SCHEMA,
        "chronicle_id": doc.chronicle_id,
        "campaign_id": doc.campaign_id,
        "campaign_name": doc.campaign_name,
        "description": doc.description,
        "chronicler": doc.chronicler,
        "style": doc.style,
        "status": doc.status,
        "seed": doc.seed,
        "personas": [{"persona_id": pid, "name": name} for pid, name in doc.personas],
        "turns": {"first": span[0], "last": span[1]} if span else None,
        "turns_told": span[1] if span else 0,
        "turns_played": doc.turns_played,
        "chapters": [
            {
                "number": c.number,
                "title": c.title,
                "markdown": c.markdown,
                "cited_turns": list(c.cited_turns),
                "figure": {"media_type": c.figure.media_type, "alt": c.figure.alt}
                if c.figure
                else None,
                "media": [m.asset.model_dump(mode="json") for m in c.media],
            }
            for c in doc.chapters
        ],
        "media": [m.asset.model_dump(mode="json") for m in doc.media],
        "ledger": [entry.model_dump(mode="json") for entry in doc.ledger],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- HTML


def _markdown_renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": True, "linkify": False})
    md.enable(["replacements", "smartquotes"])
    return md


_MD = _markdown_renderer()
_HEADING = re.compile(r"^\s*#{1,6}\s+[^\n]*\n?")


def render_html(doc: ChronicleDocument) -> str:
    """A standalone, styled page: cover, contents, chapters with figures, the ledger appendix."""
    e = _esc
    title = doc.campaign_name.strip() or "Chronicle"
    span = doc.turn_range
    facts = [
        ("Personas", ", ".join(name for _, name in doc.personas) or "–"),
        ("Turns told", _ranges(tuple(range(span[0], span[1] + 1))) if span else "none yet"),
        ("Seed", str(doc.seed)),
        ("Style", doc.style),
        ("Status", doc.status),
        ("Campaign", doc.campaign_id),
    ]
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="dramatis">',
        f"<title>{e(title)} — a chronicle</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        '<header class="cover">',
        '<p class="kicker">A chronicle</p>',
        f"<h1>{e(title)}</h1>",
    ]
    if doc.description.strip():
        out.append(f'<p class="lede">{e(doc.description.strip())}</p>')
    out.append(f'<p class="byline">Narrated by {e(doc.chronicler.strip() or "the chronicler")}</p>')
    out.append('<dl class="facts">')
    for label, value in facts:
        out.append(f"<div><dt>{e(label)}</dt><dd>{e(value)}</dd></div>")
    out.append("</dl>")
    out += [_media_html(m) for m in doc.media]
    out.append("</header>")

    out.append('<nav class="toc" aria-labelledby="toc-title">')
    out.append('<h2 id="toc-title">Contents</h2>')
    out.append("<ol>")
    for chapter in doc.chapters:
        out.append(
            f'<li><a href="#chapter-{chapter.number}"><span class="num">{chapter.number}</span> '
            f"{e(chapter.title)}</a>"
            f'<span class="turns">turns {e(_ranges(chapter.cited_turns))}</span></li>'
        )
    if doc.ledger:
        out.append('<li class="appendix"><a href="#ledger">Appendix: the turn ledger</a></li>')
    out.append("</ol>")
    out.append("</nav>")

    out.append("<main>")
    if not doc.chapters:
        out.append('<p class="empty">No chapter is written yet.</p>')
    known_turns = {entry.turn_number for entry in doc.ledger}
    for chapter in doc.chapters:
        out.append(f'<article class="chapter" id="chapter-{chapter.number}">')
        out.append(
            f'<p class="chapter-label">Chapter {chapter.number}</p><h2>{e(chapter.title)}</h2>'
        )
        links = " ".join(
            f'<a href="#turn-{t}" aria-label="turn {t} in the ledger">{t}</a>'
            if t in known_turns
            else str(t)
            for t in chapter.cited_turns
        )
        out.append(f'<p class="cites">Tells turns {links}</p>')
        body = _MD.render(_HEADING.sub("", chapter.markdown.strip(), count=1))
        out.append(f'<div class="prose">{body}</div>')
        if chapter.figure is not None:
            out.append(_figure_html(chapter.figure, chapter.number))
        out += [_media_html(m) for m in chapter.media]
        out.append("</article>")
    if doc.ledger:
        out += _ledger_html(doc)
    out.append("</main>")
    out.append(
        f"<footer><p>{e(title)} · narrated by {e(doc.chronicler)} · "
        f"chronicle {e(doc.chronicle_id[:8])} · made with dramatis</p></footer>"
    )
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _figure_html(figure: Figure, number: int) -> str:
    data = base64.b64encode(figure.svg.encode("utf-8")).decode("ascii")
    return (
        '<figure class="chart">'
        f'<img src="data:{figure.media_type};base64,{data}" alt="{_esc(figure.alt)}" '
        'width="760" height="300">'
        f"<figcaption>Chapter {number} in figures: tension over its turns, and who trusts whom "
        "at its end.</figcaption></figure>"
    )


def _media_html(item: EmbeddedMedia) -> str:
    asset = item.asset
    alt = _esc(asset.accessibility_text)
    if item.data is not None:
        src = f"data:{asset.media_type};base64,{base64.b64encode(item.data).decode('ascii')}"
    elif asset.storage_url.startswith(("https://", "http://", "file://")):
        src = asset.storage_url
    else:
        src = None
    caption = f"<figcaption>{alt}</figcaption>"
    if asset.media_type.startswith("image/") and src is not None:
        body = f'<img src="{_esc(src)}" alt="{alt}" loading="lazy">'
    elif asset.media_type.startswith("audio/") and src is not None:
        body = f'<audio controls preload="none" src="{_esc(src)}" aria-label="{alt}"></audio>'
    elif src is not None:
        body = f'<a href="{_esc(src)}">{_esc(asset.media_type)} file</a>'
    else:
        body = f'<p class="stored">Stored at <code>{_esc(asset.storage_url)}</code></p>'
    return f'<figure class="media" id="media-{_esc(asset.asset_id)}">{body}{caption}</figure>'


def _ledger_html(doc: ChronicleDocument) -> list[str]:
    e = _esc
    chapter_of = {t: c.number for c in doc.chapters for t in c.cited_turns}
    out = [
        '<section class="ledger" id="ledger" aria-labelledby="ledger-title">',
        '<h2 id="ledger-title">Appendix: the turn ledger</h2>',
        '<p class="ledger-intro">Every turn as the director resolved it: who did what, the roll, '
        "the outcome and the reason each persona gave.</p>",
    ]
    for entry in doc.ledger:
        n = entry.turn_number
        back = (
            f' <a class="back" href="#chapter-{chapter_of[n]}">told in chapter {chapter_of[n]}</a>'
            if n in chapter_of
            else ""
        )
        out.append(f'<article class="turn" id="turn-{n}">')
        out.append(
            f'<h3>Turn {n}<span class="meta">tension {entry.tension_before:.2f} → '
            f"{entry.tension_after:.2f}{back}</span></h3>"
        )
        for fired in entry.events:
            out.append(f'<p class="event"><strong>{e(fired.title)}.</strong> {e(fired.text)}</p>')
        out.append("<ul>")
        out += [f"<li>{_action_html(action, doc.locations)}</li>" for action in entry.action_log]
        out.append("</ul>")
        out.append("</article>")
    out.append("</section>")
    return out


def _action_html(a: ActionEntry, locations: dict[str, str]) -> str:
    e = _esc
    verb = a.action.replace("_", " ")
    target = f" → {e(a.target_name or a.target or '')}" if (a.target_name or a.target) else ""
    place = e(locations.get(a.location, a.location))
    roll = (
        f"rolled {a.roll}{a.modifier:+d} vs {a.difficulty}" if a.difficulty else f"rolled {a.roll}"
    )
    consequence = f" — {e(a.consequence)}" if a.consequence else ""
    return (
        f'<span class="who">{e(a.persona_name)}</span> <span class="act">{e(verb)}{target}</span> '
        f'<span class="where">at {place}</span> '
        f'<span class="outcome {e(a.outcome)}">{e(a.outcome)}</span> '
        f'<span class="roll">{e(roll)}</span>{consequence}'
        f'<q class="why">{e(a.reasoning)}</q>'
    )


# ---------------------------------------------------------------- helpers


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _ranges(turns: Sequence[int]) -> str:
    ordered = sorted(set(turns))
    if not ordered:
        return "–"
    parts: list[str] = []
    start = prev = ordered[0]
    for turn in [*ordered[1:], None]:
        if turn is not None and turn == prev + 1:
            prev = turn
            continue
        parts.append(str(start) if start == prev else f"{start}–{prev}")
        if turn is not None:
            start = prev = turn
    return ", ".join(parts)


_CSS = """
:root {
  --paper: #fbf8f1; --ink: #24222b; --muted: #6b6875; --rule: #e4ddcf;
  --accent: #b4562b; --accent-soft: #f3e3d6; --ok: #2f7d4f; --bad: #b3322d; --mid: #9a6a12;
  color-scheme: light;
}
* { box-sizing: border-box; }
html { background: var(--paper); }
body {
  margin: 0 auto; max-width: 46rem; padding: 3rem 1.5rem 4rem;
  color: var(--ink); background: var(--paper);
  font: 1.125rem/1.7 "Iowan Old Style", "Palatino Linotype", Palatino, Georgia, serif;
  text-rendering: optimizeLegibility;
}
a { color: var(--accent); text-decoration-thickness: 1px; text-underline-offset: 2px; }
a:hover { text-decoration-thickness: 2px; }
h1, h2, h3 { line-height: 1.2; font-weight: 600; }
.cover { text-align: center; padding-bottom: 2rem; border-bottom: 1px solid var(--rule); }
.kicker, .chapter-label {
  margin: 0; color: var(--accent); letter-spacing: .18em; text-transform: uppercase;
  font: 600 .8rem/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
}
h1 { font-size: 3rem; margin: .3rem 0 .6rem; letter-spacing: -.01em; }
.lede {
  font-size: 1.25rem;
  font-style: italic;
  color: var(--muted);
  margin: 0 auto 1rem;
  max-width: 36rem;
}
.byline { margin: 0 0 1.5rem; }
.facts {
  display: flex; flex-wrap: wrap; justify-content: center; gap: .5rem 1.5rem; margin: 0;
  font: .8rem/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--muted);
}
.facts div { display: flex; gap: .35rem; }
.facts dt { font-weight: 600; color: var(--ink); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.toc {
  margin: 2.5rem 0;
  padding: 1.25rem 1.5rem;
  background: #fff;
  border: 1px solid var(--rule);
  border-radius: 10px;
}
.toc h2 { margin: 0 0 .5rem; font-size: 1.1rem; }
.toc ol { list-style: none; margin: 0; padding: 0; }
.toc li {
  display: flex;
  align-items: baseline;
  justify-content: space-between;
  gap: 1rem;
  padding: .3rem 0;
  border-top: 1px dotted var(--rule);
}
.toc li:first-child { border-top: 0; }
.toc a { text-decoration: none; }
.toc .num {
  display: inline-block;
  min-width: 1.6rem;
  color: var(--muted);
  font-variant-numeric: tabular-nums;
}
.toc .turns { color: var(--muted); font-size: .85rem; white-space: nowrap; }
.chapter { margin-top: 3.5rem; }
.chapter h2 { font-size: 2rem; margin: .2rem 0 .4rem; }
.cites {
  margin: 0 0 1.5rem;
  font: .85rem/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--muted);
}
.cites a {
  display: inline-block;
  padding: 0 .4rem;
  border-radius: 99px;
  background: var(--accent-soft);
  text-decoration: none;
}
.chapter p { margin: 0 0 1.1rem; hyphens: auto; }
.prose > p:first-child::first-letter {
  float: left;
  font-size: 3.4rem;
  line-height: .9;
  padding: .3rem .4rem 0 0;
  color: var(--accent);
}
blockquote {
  margin: 1.5rem 0;
  padding: .2rem 1.2rem;
  border-left: 3px solid var(--accent);
  background: var(--accent-soft);
  border-radius: 0 8px 8px 0;
  font-style: italic;
}
blockquote p { margin: .6rem 0; }
figure { margin: 2rem 0; }
figure img, figure audio {
  display: block;
  max-width: 100%;
  height: auto;
  margin: 0 auto;
  border-radius: 8px;
}
figure.chart img { border: 1px solid var(--rule); background: #fff; }
figcaption {
  margin-top: .5rem;
  font: .85rem/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--muted);
  text-align: center;
}
.ledger {
  margin-top: 4rem;
  padding-top: 1.5rem;
  border-top: 3px double var(--rule);
  font-size: .95rem;
}
.ledger h2 { font-size: 1.6rem; }
.ledger-intro { color: var(--muted); }
.turn {
  margin: 1.2rem 0;
  padding: .8rem 1.1rem;
  background: #fff;
  border: 1px solid var(--rule);
  border-radius: 10px;
  scroll-margin-top: 1rem;
}
.turn:target { border-color: var(--accent); box-shadow: 0 0 0 3px var(--accent-soft); }
.turn h3 {
  margin: 0 0 .4rem;
  font-size: 1.1rem;
  display: flex;
  justify-content: space-between;
  gap: 1rem;
  flex-wrap: wrap;
}
.turn .meta {
  font: 400 .8rem/1.6 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--muted);
}
.turn .back { margin-left: .6rem; }
.turn ul { margin: 0; padding-left: 1.1rem; }
.turn li { margin: .35rem 0; line-height: 1.5; }
.event { margin: .2rem 0 .5rem; font-style: italic; }
.who { font-weight: 600; }
.where, .roll { color: var(--muted); font-size: .85em; }
.outcome {
  font: 600 .7rem/1 system-ui, -apple-system, "Segoe UI", sans-serif;
  text-transform: uppercase;
  letter-spacing: .06em;
  padding: .15rem .4rem;
  border-radius: 99px;
  vertical-align: .1em;
}
.outcome.success { background: #e1f0e6; color: var(--ok); }
.outcome.partial { background: #f6ecd4; color: var(--mid); }
.outcome.failure { background: #f6dddb; color: var(--bad); }
.why { display: block; color: var(--muted); font-style: italic; font-size: .92em; }
footer {
  margin-top: 4rem;
  padding-top: 1rem;
  border-top: 1px solid var(--rule);
  color: var(--muted);
  text-align: center;
  font: .8rem/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --paper: #1d1c22;
    --ink: #ece8df;
    --muted: #a8a3ad;
    --rule: #3a3742;
    --accent: #e08a5c;
    --accent-soft: #33261f;
    color-scheme: dark;
  }
  .toc, .turn { background: #25242b; }
  figure.chart img { background: #fbf8f1; }
  .outcome.success { background: #1f3a2a; color: #8fd1a8; }
  .outcome.partial { background: #3a3019; color: #e3c27a; }
  .outcome.failure { background: #3e2120; color: #f0a09a; }
}
@media print {
  body { max-width: none; }
  .toc { break-after: page; }
  .chapter { break-before: page; }
}
"""
