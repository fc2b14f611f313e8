"""Novel Engine-style markdown sheets.

The reader walks the document's structure (headings, list items, paragraphs, quotes, fenced code)
with markdown-it and maps sections by their titles:

- ``# Character Sheet: Name`` (or ``# Name``) gives the name;
- ``## Core Identity``: ``- **Summary**:``, ``- **Role**:``, ``- **Background**:`` and other
  ``- **Key**: value`` facts;
- ``### Personality Traits`` (a list; ``- **Cautious**: checks twice`` gives "cautious") or a
  ``- **Traits**: a, b`` line anywhere;
- ``### Decision Making Weights``: ``- **Self-Preservation**: 7/10`` lines; names become snake_case
  keys and common aliases fold onto the core weights ("Faction Loyalty" -> ``loyalty``);
- ``## Goals``, ``## Fears``, ``## Speech`` (lists, paragraphs or quotes), ``## Background``,
  ``## Scenario``;
- stats from a fenced ```yaml block in the sheet, else ``<stem>.stats.yaml`` beside it, else a
  ``stats.yaml`` beside it.

Sections it does not know are kept in ``LoadedSheet.extras["sections"]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml
from markdown_it import MarkdownIt

from dramatis.sheets.common import (
    LoadedSheet,
    build_sheet,
    clean_lines,
    clean_traits,
    describe_type,
    infer_weights,
    inferred_warning,
    leading_weight_text,
    one_line,
    parse_stats,
    parse_weights,
    read_text,
    sheet_error,
    split_traits,
)

BlockKind = Literal["para", "item", "quote", "code"]


@dataclass
class _Block:
    kind: BlockKind
    text: str
    line: int = 0  # 0-based line of the block's first line in the source
    info: str = ""  # fenced code info string ("yaml")
    depth: int = 0  # list nesting of an item: 1 for a top-level item


@dataclass
class _Section:
    level: int
    title: str
    blocks: list[_Block] = field(default_factory=list)


def _structure(text: str) -> list[_Section]:
    """The document as a flat list of sections, each holding its blocks in order."""
    tokens = MarkdownIt("commonmark").parse(text)
    sections = [_Section(level=0, title="")]
    quote_depth = 0
    items: list[_Block | None] = []  # the block of each open list item, innermost last
    index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        line = token.map[0] if token.map else 0
        if kind == "heading_open":
            title = tokens[index + 1].content if index + 1 < len(tokens) else ""
            sections.append(_Section(level=int(token.tag[1:]), title=title.strip()))
            index += 3
            continue
        if kind == "list_item_open":
            items.append(None)
        elif kind == "list_item_close":
            items.pop()
        elif kind == "blockquote_open":
            quote_depth += 1
        elif kind == "blockquote_close":
            quote_depth -= 1
        elif kind in ("fence", "code_block"):
            info = token.info.strip().lower()
            sections[-1].blocks.append(_Block("code", token.content, line=line, info=info))
        elif kind == "inline" and (content := token.content.strip()):
            if items and items[-1] is not None:
                items[-1].text = f"{items[-1].text} {content}"
            elif items:
                block = _Block("item", content, line=line, depth=len(items))
                sections[-1].blocks.append(block)
                items[-1] = block
            else:
                block_kind: BlockKind = "quote" if quote_depth else "para"
                sections[-1].blocks.append(_Block(block_kind, content, line=line))
        index += 1
    return sections


_KEY_LINE = re.compile(r"^(?:\*\*|__)(?P<key>[^*_]+?)\s*:?\s*(?:\*\*|__)\s*:?\s*(?P<value>.*)$")
_PLAIN_KEY_LINE = re.compile(r"^(?P<key>[A-Za-z][\w '/&-]{0,40}?)\s*:\s*(?P<value>.+)$")


def _key_line(text: str, *, plain: bool = False) -> tuple[str, str] | None:
    """``**Key**: value`` (or ``Key: value`` when ``plain``) -> (key, value)."""
    match = _KEY_LINE.match(text)
    if match is None and plain:
        match = _PLAIN_KEY_LINE.match(text)
    if match is None:
        return None
    return _plain(match.group("key")).strip(), _plain(match.group("value")).strip()


def _plain(text: str) -> str:
    """Inline markdown reduced to its words: emphasis, code marks and link targets dropped."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])[*_](?!\s)(.+?)(?<!\s)[*_](?![\w*])", r"\1", text)
    text = text.replace("`", "")
    return one_line(text)


def _norm(title: str) -> str:
    """A section title in comparable form: no numbering, no markup, lower case."""
    text = _plain(title).lower().replace("&", " and ")
    text = re.sub(r"^(?:[0-9]+|[ivxlc]+)\s*[.):·-]\s*", "", text)
    return " ".join(re.findall(r"[a-z]+", text))


_SECTION_ROLES = {
    "core identity": "identity",
    "identity": "identity",
    "overview": "identity",
    "basics": "identity",
    "summary": "summary",
    "concept": "summary",
    "personality traits": "traits",
    "personality": "traits",
    "traits": "traits",
    "key traits": "traits",
    "decision making weights": "weights",
    "decision weights": "weights",
    "weights": "weights",
    "goals": "goals",
    "goals and motivations": "goals",
    "motivations": "goals",
    "objectives": "goals",
    "fears": "fears",
    "fears and weaknesses": "fears",
    "speech": "speech",
    "speech patterns": "speech",
    "speech style": "speech",
    "voice": "speech",
    "dialogue": "speech",
    "sample dialogue": "speech",
    "background": "background",
    "backstory": "background",
    "history": "background",
    "scenario": "scenario",
    "situation": "scenario",
    "stats": "stats",
    "statistics": "stats",
    "attributes": "stats",
}

_KEY_ROLES = {
    "name": "name",
    "summary": "summary",
    "concept": "summary",
    "tagline": "summary",
    "role": "role",
    "rank role": "role",
    "archetype": "role",
    "archetype role": "role",
    "occupation": "role",
    "background": "background",
    "origin": "background",
    "history": "background",
    "backstory": "background",
    "traits": "traits",
    "personality": "traits",
    "personality traits": "traits",
    "key traits": "traits",
    "goals": "goals",
    "goal": "goals",
    "motivation": "goals",
    "motivations": "goals",
    "core motivation": "goals",
    "fears": "fears",
    "fear": "fears",
    "greatest fear": "fears",
    "speech": "speech",
    "voice": "speech",
    "speech patterns": "speech",
    "sample line": "speech",
    "catchphrase": "speech",
    "scenario": "scenario",
}

_NAME_PREFIX = re.compile(r"^(?:character\s+sheet|character|persona|sheet)\s*[:—–-]\s*", re.I)


@dataclass
class _Draft:
    name: str = ""
    key_name: str = ""
    summary: str = ""
    role: str = ""
    first_identity_para: str = ""
    background: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    traits: list[str] = field(default_factory=list)
    weights: dict[str, str] = field(default_factory=dict)
    goals: list[str] = field(default_factory=list)
    fears: list[str] = field(default_factory=list)
    speech: list[str] = field(default_factory=list)
    scenario: list[str] = field(default_factory=list)
    stats_lines: dict[str, str] = field(default_factory=dict)
    yaml_block: _Block | None = None
    unmapped: dict[str, str] = field(default_factory=dict)

    def apply_key(self, key: str, value: str) -> bool:
        """Take a ``**Key**: value`` line that names a sheet field; False when it does not."""
        role = _KEY_ROLES.get(_norm(key))
        if role is None or not value:
            return False
        if role == "name":
            self.key_name = self.key_name or value
        elif role == "summary":
            self.summary = self.summary or value
        elif role == "role":
            self.role = self.role or value
        elif role == "background":
            self.background.append(value)
        elif role == "traits":
            self.traits.extend(split_traits(value))
        elif role == "goals":
            self.goals.extend(re.split(r"\s*;\s*", value))
        elif role == "fears":
            self.fears.extend(re.split(r"\s*;\s*", value))
        elif role == "speech":
            self.speech.append(value)
        elif role == "scenario":
            self.scenario.append(value)
        return True


def parse_markdown_sheet(
    text: str, *, label: str, source: Path, read_siblings: bool = True
) -> LoadedSheet:
    """Turn the text of a markdown sheet into a loaded canonical sheet.

    With ``read_siblings`` the stats files beside ``source`` are consulted when the sheet has no
    fenced yaml block.
    """
    draft = _Draft()
    for section in _structure(text):
        _read_section(draft, section, label=label)

    name = draft.name or draft.key_name
    if not name:
        raise sheet_error(label, 'name: missing; start the sheet with "# Character Sheet: Name"')

    warnings: list[str] = []
    fields: dict[str, Any] = {"name": name, "source_format": "markdown"}
    fields["summary"] = draft.summary or draft.first_identity_para or draft.role
    profile_parts = []
    facts = list(draft.facts)
    if draft.role and fields["summary"] != draft.role:
        facts.insert(0, f"Role: {draft.role}")
    if facts:
        profile_parts.append("; ".join(facts))
    profile_parts.extend(one_line(part) for part in draft.background if one_line(part))
    fields["profile"] = "\n\n".join(profile_parts)
    fields["personality"] = clean_traits(draft.traits)
    fields["goals"] = clean_lines(draft.goals)
    fields["fears"] = clean_lines(draft.fears)
    fields["speech"] = one_line(" ".join(draft.speech))
    fields["scenario"] = "\n\n".join(clean_lines(draft.scenario))

    weights = parse_weights(draft.weights, label=label)
    if not weights:
        weights = infer_weights([*fields["personality"], fields["summary"], fields["profile"]])
        fields["weights_inferred"] = True
        warnings.append(inferred_warning(label, weights, "personality, summary and background"))
    fields["decision_weights"] = weights
    fields["stats"] = _stats(
        draft, label=label, source=source, read_siblings=read_siblings, warnings=warnings
    )
    extras: dict[str, Any] = {"sections": dict(draft.unmapped)} if draft.unmapped else {}
    return LoadedSheet(
        sheet=build_sheet(label, fields), source=source, warnings=warnings, extras=extras
    )


def _read_section(draft: _Draft, section: _Section, *, label: str) -> None:
    role = _SECTION_ROLES.get(_norm(section.title), "")
    if section.level == 1 and not draft.name:
        draft.name = _NAME_PREFIX.sub("", _plain(section.title)).strip()
        role = "identity"
    elif section.level == 0:
        role = "identity"
    unmapped: list[str] = []
    for block in section.blocks:
        if block.kind == "code":
            if block.info in ("yaml", "yml") and draft.yaml_block is None:
                draft.yaml_block = block
            continue
        if role == "weights":
            _read_weight(draft, block, label=label)
            continue
        if role == "stats":
            pair = _key_line(block.text, plain=True)
            if pair is not None:
                draft.stats_lines[pair[0]] = pair[1]
            continue
        pair = _key_line(block.text) if block.kind == "item" else None
        if pair is not None and draft.apply_key(*pair):
            continue
        text = _plain(block.text)
        if role == "identity":
            if pair is not None:
                draft.facts.append(f"{pair[0]}: {pair[1]}")
            elif not draft.first_identity_para and block.kind == "para":
                draft.first_identity_para = text
            else:
                draft.background.append(text)
        elif role == "summary":
            draft.summary = draft.summary or text
        elif role == "traits":
            if block.kind == "item":
                draft.traits.append(pair[0] if pair is not None else text)
            else:
                unmapped.append(text)
        elif role == "goals":
            draft.goals.append(text)
        elif role == "fears":
            draft.fears.append(text)
        elif role == "speech":
            draft.speech.append(pair[1] if pair is not None else text)
        elif role == "background":
            draft.background.append(text)
        elif role == "scenario":
            draft.scenario.append(text)
        else:
            unmapped.append(f"- {text}" if block.kind == "item" else text)
    if unmapped and section.title:
        draft.unmapped[_plain(section.title)] = "\n".join(unmapped)


def _read_weight(draft: _Draft, block: _Block, *, label: str) -> None:
    if block.kind == "item" and block.depth == 1:
        pair = _key_line(block.text, plain=True)
        if pair is None or not pair[1]:
            raise sheet_error(
                label,
                f'decision weight line "{_plain(block.text)}" is not "- **Name**: 7/10"',
            )
        _add_weight(draft, *pair, label=label)
    elif block.kind == "para":
        # Lines such as "Loyalty: 6/10" written without list markers.
        for line in block.text.splitlines():
            pair = _key_line(line.strip(), plain=True)
            if pair is not None and re.match(r"[+-]?[\d.]", pair[1]):
                _add_weight(draft, *pair, label=label)


def _add_weight(draft: _Draft, name: str, value: str, *, label: str) -> None:
    if name in draft.weights:
        raise sheet_error(label, f'decision weight "{name}" appears twice; keep one of them')
    draft.weights[name] = leading_weight_text(value)


def _stats(
    draft: _Draft, *, label: str, source: Path, read_siblings: bool, warnings: list[str]
) -> dict[str, int]:
    stats = parse_stats(draft.stats_lines, label=label)
    siblings: list[Path] = []
    if read_siblings:
        stem = source.stem
        candidates = [f"{stem}.stats.yaml", f"{stem}.stats.yml", "stats.yaml", "stats.yml"]
        siblings = [source.parent / name for name in candidates if (source.parent / name).is_file()]
    if draft.yaml_block is not None:
        # The fence line is block.line; the yaml starts on the next line.
        stats.update(
            _yaml_stats(draft.yaml_block.text, label=label, first_line=draft.yaml_block.line + 2)
        )
        if siblings:
            warnings.append(
                f"{label}: stats come from the yaml block in the sheet; "
                f"{siblings[0].name} beside it is ignored"
            )
    elif siblings:
        stats_file = siblings[0]
        stats_label = str(PurePosixPath(label).with_name(stats_file.name))
        stats.update(
            _yaml_stats(read_text(stats_file, label=stats_label), label=stats_label, first_line=1)
        )
    return stats


def _yaml_stats(text: str, *, label: str, first_line: int) -> dict[str, int]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f"line {first_line + mark.line}: " if mark is not None else ""
        raise sheet_error(label, f"{where}invalid YAML ({problem})") from None
    if data is None:
        return {}
    if isinstance(data, dict) and isinstance(data.get("stats"), dict):
        data = data["stats"]
    if not isinstance(data, dict):
        raise sheet_error(
            label,
            f"stats: expected name: number pairs such as wits: 3, found {describe_type(data)}",
        )
    return parse_stats(data, label=label)
