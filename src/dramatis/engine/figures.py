"""Figures the chronicle draws for itself: one SVG per chapter, with its text alternative.

Each figure has two panels: on the left the chapter's tension over the turns it tells, on the
right the personas' relationship map at the chapter's end (a line per pair, green for trust, red
for distrust, thicker for stronger feeling). ``alt`` says in words what the picture shows. Pure:
the same input gives the same SVG byte for byte; every name is escaped, so a persona's name cannot
inject markup into the picture.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 760, 300
_CHART = (56, 40, 330, 220)  # x, y, width, height of the tension plot
_MAP_CENTRE, _MAP_RADIUS = (585, 160), 100
_INK, _MUTED, _GRID, _ACCENT = "#2b2a33", "#6b6875", "#e4e1da", "#b4562b"
_TRUST, _DISTRUST, _NEUTRAL = "#2f7d4f", "#b3322d", "#9a968c"


@dataclass(frozen=True)
class ChapterFigureData:
    """What one chapter's figure shows.

    ``tension`` holds (turn, tension after that turn) for each turn told, in order;
    ``start_tension`` is the tension before the first of them. ``trust[a][b]`` is how much
    persona ``a`` trusts ``b`` (-1..1) at the chapter's end; ``names`` maps persona ids to names.
    """

    number: int
    title: str
    start_tension: float
    tension: Sequence[tuple[int, float]]
    names: Mapping[str, str]
    trust: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    """A drawn figure: the SVG document and its accessibility text."""

    svg: str
    alt: str
    media_type: str = "image/svg+xml"


def chapter_figure(data: ChapterFigureData) -> Figure:
    """The tension chart and relationship map of one chapter."""
    alt = _alt_text(data)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="t d" '
        "font-family=\"Georgia, 'Iowan Old Style', serif\">",
        f'<title id="t">Chapter {data.number}: tension and relationships</title>',
        f'<desc id="d">{escape(alt)}</desc>',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fbf8f1" rx="10"/>',
    ]
    parts += _tension_panel(data)
    parts += _relationship_panel(data)
    parts.append("</svg>")
    return Figure(svg="\n".join(parts) + "\n", alt=alt)


# ---------------------------------------------------------------- tension chart


def _points(data: ChapterFigureData) -> list[tuple[str, float]]:
    first = data.tension[0][0] if data.tension else 1
    return [(f"before {first}", _clamp(data.start_tension))] + [
        (str(turn), _clamp(value)) for turn, value in data.tension
    ]


def _tension_panel(data: ChapterFigureData) -> list[str]:
    x0, y0, w, h = _CHART
    points = _points(data)
    step = w / max(1, len(points) - 1)
    out = [
        f'<text x="{x0 - 36}" y="24" font-size="16" fill="{_INK}" font-weight="bold">'
        "Tension over the chapter</text>"
    ]
    for level in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = y0 + h - level * h
        out.append(
            f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" stroke="{_GRID}"/>'
            f'<text x="{x0 - 8}" y="{y + 4:.1f}" font-size="12" fill="{_MUTED}" '
            f'text-anchor="end">{level:.2f}</text>'
        )
    coords = [
        (x0 + i * step if len(points) > 1 else x0 + w / 2, y0 + h - v * h)
        for i, (_, v) in enumerate(points)
    ]
    area = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    base = f"{coords[-1][0]:.1f},{y0 + h} {coords[0][0]:.1f},{y0 + h}"
    out.append(f'<polygon points="{area} {base}" fill="{_ACCENT}" fill-opacity="0.12"/>')
    out.append(
        f'<polyline points="{area}" fill="none" stroke="{_ACCENT}" stroke-width="2.5" '
        'stroke-linejoin="round"/>'
    )
    label_every = max(1, math.ceil(len(points) / 8))
    for i, ((label, _value), (x, y)) in enumerate(zip(points, coords, strict=True)):
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{_ACCENT}"/>')
        if i % label_every == 0 or i == len(points) - 1:
            text = "start" if i == 0 else f"t{label}"
            out.append(
                f'<text x="{x:.1f}" y="{y0 + h + 16}" font-size="12" fill="{_MUTED}" '
                f'text-anchor="middle">{escape(text)}</text>'
            )
    out.append(
        f'<text x="{x0 + w / 2:.1f}" y="{y0 + h + 34}" font-size="12" fill="{_MUTED}" '
        'text-anchor="middle">turn</text>'
    )
    return out


# ---------------------------------------------------------------- relationship map


def _pairs(data: ChapterFigureData) -> list[tuple[str, str, float]]:
    ids = list(data.names)
    pairs = []
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            values = [
                v
                for v in (data.trust.get(a, {}).get(b), data.trust.get(b, {}).get(a))
                if v is not None
            ]
            if values:
                pairs.append((a, b, max(-1.0, min(1.0, sum(values) / len(values)))))
    return pairs


def _relationship_panel(data: ChapterFigureData) -> list[str]:
    cx, cy = _MAP_CENTRE
    ids = list(data.names)
    out = [
        f'<text x="{cx - 150}" y="24" font-size="16" fill="{_INK}" font-weight="bold">'
        "Who trusts whom</text>"
    ]
    spots: dict[str, tuple[float, float]] = {}
    for i, pid in enumerate(ids):
        angle = -math.pi / 2 + 2 * math.pi * i / max(1, len(ids))
        spots[pid] = (cx + _MAP_RADIUS * math.cos(angle), cy + _MAP_RADIUS * math.sin(angle))
    for a, b, value in _pairs(data):
        (xa, ya), (xb, yb) = spots[a], spots[b]
        colour = _TRUST if value > 0.05 else _DISTRUST if value < -0.05 else _NEUTRAL
        width = 1.5 + 5 * abs(value)
        dash = ' stroke-dasharray="5 4"' if colour == _NEUTRAL else ""
        out.append(
            f'<line x1="{xa:.1f}" y1="{ya:.1f}" x2="{xb:.1f}" y2="{yb:.1f}" stroke="{colour}" '
            f'stroke-width="{width:.1f}" stroke-linecap="round"{dash}/>'
        )
        mx, my = (xa + xb) / 2, (ya + yb) / 2
        out.append(
            f'<rect x="{mx - 19:.1f}" y="{my - 9:.1f}" width="38" height="17" rx="4" '
            f'fill="#fbf8f1" stroke="{colour}" stroke-width="0.8"/>'
            f'<text x="{mx:.1f}" y="{my + 4:.1f}" font-size="12" fill="{colour}" '
            f'text-anchor="middle">{value:+.2f}</text>'
        )
    for pid in ids:
        x, y = spots[pid]
        name = _short(data.names[pid])
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="{_INK}"/>'
            f'<text x="{x:.1f}" y="{y + (22 if y >= cy else -13):.1f}" font-size="14" '
            f'fill="{_INK}" text-anchor="middle">{escape(name)}</text>'
        )
    out.append(
        f'<text x="{cx}" y="{HEIGHT - 10}" font-size="12" fill="{_MUTED}" text-anchor="middle">'
        "green: trust · red: distrust · thicker: stronger</text>"
    )
    return out


# ---------------------------------------------------------------- words


def _alt_text(data: ChapterFigureData) -> str:
    points = _points(data)
    turns = [turn for turn, _ in data.tension]
    span = (
        "no turns"
        if not turns
        else f"turn {turns[0]}"
        if len(turns) == 1
        else f"turns {turns[0]}–{turns[-1]}"
    )
    start, end = points[0][1], points[-1][1]
    trend = "rose" if end > start + 0.01 else "fell" if end < start - 0.01 else "held steady"
    peak_label, peak = max(points[1:] or points, key=lambda p: p[1])
    sentences = [
        f"Chapter {data.number}, {data.title}: tension {trend} from {start:.2f} to {end:.2f} "
        f"over {span}" + (f", peaking at {peak:.2f} after turn {peak_label}." if turns else ".")
    ]
    pairs = sorted(_pairs(data), key=lambda p: -abs(p[2]))
    if pairs:
        words = []
        for a, b, value in pairs[:6]:
            feeling = (
                "trust each other"
                if value > 0.05
                else "distrust each other"
                if value < -0.05
                else "are wary strangers"
            )
            words.append(f"{data.names[a]} and {data.names[b]} {feeling} ({value:+.2f})")
        sentences.append("Relationships at the chapter's end: " + "; ".join(words) + ".")
    else:
        sentences.append("No relationships have formed yet.")
    return " ".join(sentences)


def _short(name: str) -> str:
    name = " ".join(name.split())
    return name if len(name) <= 18 else name[:17] + "…"


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))
