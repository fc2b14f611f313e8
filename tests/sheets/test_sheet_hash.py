"""The sheet hash: stable across re-parses, and the three formats agree on the same character."""

from __future__ import annotations

import json
from pathlib import Path

from dramatis.sheets import load_sheet

MARA_TOML = """\
name = "Mara Quell"
summary = "A ferry-woman who knows every sandbar."
profile = "A ferry-woman who knows every sandbar. She has never lost a passenger."
personality = ["cautious", "wry"]
goals = ["keep the ferry running"]
fears = ["the spring flood"]
speech = "Mind the gap, and the eels."

[decision_weights]
self_preservation = 0.8
loyalty = "6/10"

[stats]
wits = 4
"""

MARA_MARKDOWN = """\
# Character Sheet: Mara Quell

## Core Identity
- **Summary**: A ferry-woman who knows every sandbar.

## Background
A ferry-woman who knows every sandbar. She has never lost a passenger.

### Personality Traits
- **Cautious**: counts the passengers twice
- **Wry**

### Decision Making Weights
- **Self-Preservation**: 8/10
- **Loyalty**: 6

## Goals
- keep the ferry running

## Fears
- the spring flood

## Speech
Mind the gap, and the eels.

```yaml
wits: 4
```
"""

MARA_CARD = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Mara Quell",
        "description": "A ferry-woman who knows every sandbar. She has never lost a passenger.",
        "personality": "cautious, wry",
        "scenario": "",
        "first_mes": "",
        "mes_example": "<START>\n{{user}}: Ready?\n{{char}}: Mind the gap, and the eels.",
        "extensions": {
            "dramatis": {
                "decision_weights": {"Self-Preservation": "8/10", "loyalty": 6},
                "goals": ["keep the ferry running"],
                "fears": ["the spring flood"],
                "stats": {"wits": 4},
            }
        },
    },
}


def _write_all(tmp_path: Path) -> list[Path]:
    paths = [tmp_path / "mara.toml", tmp_path / "mara.md", tmp_path / "mara.json"]
    paths[0].write_text(MARA_TOML, encoding="utf-8")
    paths[1].write_text(MARA_MARKDOWN, encoding="utf-8")
    paths[2].write_text(json.dumps(MARA_CARD), encoding="utf-8")
    return paths


def test_hash_is_stable_across_reparses(tmp_path: Path) -> None:
    for path in _write_all(tmp_path):
        first = load_sheet(path).sheet
        second = load_sheet(path).sheet
        assert first == second
        assert first.sheet_hash() == second.sheet_hash()
        assert len(first.sheet_hash()) == 64


def test_the_three_formats_agree_on_the_same_character(tmp_path: Path) -> None:
    sheets = [load_sheet(path).sheet for path in _write_all(tmp_path)]
    assert [sheet.source_format for sheet in sheets] == ["toml", "markdown", "card_v2"]
    same_format = [sheet.model_copy(update={"source_format": "toml"}) for sheet in sheets]
    assert same_format[0] == same_format[1] == same_format[2]
    assert len({sheet.sheet_hash() for sheet in same_format}) == 1
    # The source format is part of the canonical sheet, so the real hashes differ.
    assert len({sheet.sheet_hash() for sheet in sheets}) == 3


def test_hash_changes_when_a_weight_changes(tmp_path: Path) -> None:
    path = tmp_path / "mara.toml"
    path.write_text(MARA_TOML, encoding="utf-8")
    before = load_sheet(path).sheet.sheet_hash()
    path.write_text(MARA_TOML.replace('"6/10"', '"7/10"'), encoding="utf-8")
    assert load_sheet(path).sheet.sheet_hash() != before
