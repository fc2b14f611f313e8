"""Novel Engine-style markdown sheets: structure mapped, weights normalised, stats found."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dramatis.domain.errors import CharacterSheetError
from dramatis.sheets import load_sheet

Writer = Callable[[str, str], Path]

NOVEL_ENGINE = """\
# Character Sheet: Iso Marren

## Core Identity
- **Summary**: Outrider to the salt wagon.
- **Rank/Role**: Outrider and scout
- **Faction**: The Orra pans
- **Age**: 19

## Background
Iso has ridden ahead of the wagon
since she could sit a horse.

## Psychological Profile

### Personality Traits
- **Reckless**: rides first and looks afterwards
- **Loyal**: would walk into Cairn Well alone for Ana
- *Blunt*

### Decision Making Weights
- **Self-Preservation**: 2/10 - rarely thinks of it
- **Faction Loyalty**: 9
- **Personal Relationships**: 0.7
- **Mission Success**: 60%
- **Moral Code**: 6/10
- **Curiosity**: 8/10
  - a note under a weight is ignored

## Goals
- Keep Ana safe
- Catch whoever is selling the road

## Fears
- Being sent home

## Speech
> "I'll ride ahead."

## Knowledge Domains
- **The flats**: every cairn between Orra and the well

## Stats

```yaml
wits: 2
Nerve: 5
```
"""


def test_novel_engine_sheet_is_mapped(write: Writer) -> None:
    loaded = load_sheet(write("iso.md", NOVEL_ENGINE))
    sheet = loaded.sheet
    assert sheet.name == "Iso Marren"
    assert sheet.summary == "Outrider to the salt wagon."
    assert sheet.profile == (
        "Role: Outrider and scout; Faction: The Orra pans; Age: 19\n\n"
        "Iso has ridden ahead of the wagon since she could sit a horse."
    )
    assert sheet.personality == ("reckless", "loyal", "blunt")
    assert sheet.decision_weights == {
        "self_preservation": 0.2,
        "loyalty": 0.9,
        "relationships": 0.7,
        "mission": 0.6,
        "morality": 0.6,
        "curiosity": 0.8,
    }
    assert sheet.goals == ("Keep Ana safe", "Catch whoever is selling the road")
    assert sheet.fears == ("Being sent home",)
    assert sheet.speech == '"I\'ll ride ahead."'
    assert sheet.stats == {"wits": 2, "nerve": 5}
    assert sheet.source_format == "markdown"
    assert sheet.weights_inferred is False
    assert loaded.warnings == []
    assert loaded.extras == {
        "sections": {"Knowledge Domains": "- The flats: every cairn between Orra and the well"}
    }


def test_traits_line_and_plain_heading_name(write: Writer) -> None:
    text = (
        "# Bram Tolliver\n\nA horse-trader's son.\n\n"
        "## Psychological Profile\n- **Traits:** charming, quick-tongued; restless\n"
        "- **Goals**: reach Cindermere; keep Iso from finding out\n\n"
        "### Decision Weights\nLoyalty: 2/10\nMission: 3/10\n"
    )
    sheet = load_sheet(write("bram.markdown", text)).sheet
    assert sheet.name == "Bram Tolliver"
    assert sheet.summary == "A horse-trader's son."
    assert sheet.personality == ("charming", "quick-tongued", "restless")
    assert sheet.goals == ("reach Cindermere", "keep Iso from finding out")
    assert sheet.decision_weights == {"loyalty": 0.2, "mission": 0.3}


def test_stats_from_stem_file_then_shared_file(tmp_path: Path) -> None:
    sheet_text = "# Pell\n\n### Decision Making Weights\n- **Loyalty**: 7/10\n"
    (tmp_path / "pell.md").write_text(sheet_text, encoding="utf-8")
    (tmp_path / "stats.yaml").write_text("wits: 1\n", encoding="utf-8")
    assert load_sheet(tmp_path / "pell.md").sheet.stats == {"wits": 1}
    (tmp_path / "pell.stats.yaml").write_text("stats:\n  wits: 3\n  nerve: 5\n", encoding="utf-8")
    assert load_sheet(tmp_path / "pell.md").sheet.stats == {"wits": 3, "nerve": 5}


def test_fenced_block_wins_over_a_stats_file_with_a_warning(tmp_path: Path) -> None:
    text = "# Pell\n\n### Weights\n- **Loyalty**: 7/10\n\n```yaml\nwits: 4\n```\n"
    (tmp_path / "pell.md").write_text(text, encoding="utf-8")
    (tmp_path / "pell.stats.yaml").write_text("wits: 1\n", encoding="utf-8")
    loaded = load_sheet(tmp_path / "pell.md")
    assert loaded.sheet.stats == {"wits": 4}
    assert loaded.warnings == [
        "pell.md: stats come from the yaml block in the sheet; pell.stats.yaml beside it is ignored"
    ]


def test_no_weights_section_infers_weights(write: Writer) -> None:
    text = "# Hester\n\n### Personality Traits\n- cautious\n- observant\n- never cruel\n"
    loaded = load_sheet(write("hester.md", text))
    assert loaded.sheet.weights_inferred is True
    assert loaded.sheet.weight("self_preservation") == 0.65
    assert loaded.sheet.weight("morality") == 0.65  # "never cruel" counts for morality
    assert loaded.warnings[0].startswith("hester.md: no decision weights given; inferred them")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "# Character Sheet: Ana\n\n### Decision Making Weights\n- **Loyalty**: 15/10\n",
            'ana.md: decision weight "Loyalty" is 15/10; weights run from 0 to 10',
        ),
        (
            "# Character Sheet: Ana\n\n### Decision Making Weights\n- **Loyalty**: high\n",
            'ana.md: decision weight "Loyalty" is "high"; write 7/10, a whole number from 0 '
            "to 10 or a decimal from 0 to 1",
        ),
        (
            "# Ana\n\n### Decision Making Weights\n- Loyalty is big\n",
            'ana.md: decision weight line "Loyalty is big" is not "- **Name**: 7/10"',
        ),
        (
            "# Ana\n\n### Decision Making Weights\n- **Loyalty**: 5\n- **Loyalty**: 6\n",
            'ana.md: decision weight "Loyalty" appears twice; keep one of them',
        ),
        (
            "## Core Identity\n- **Role**: scout\n",
            'ana.md: name: missing; start the sheet with "# Character Sheet: Name"',
        ),
        ("# Ana\n\n```yaml\nwits: 9\n```\n", 'ana.md: stat "wits" is 9; stats run from 1 to 5'),
        (
            "# Ana\n\n```yaml\nwits: [1\nnerve: 2\n```\n",
            "ana.md: line 5: invalid YAML (expected ',' or ']', but got ':')",
        ),
        (
            "# Ana\n\n```yaml\n- 1\n- 2\n```\n",
            "ana.md: stats: expected name: number pairs such as wits: 3, found a list",
        ),
    ],
)
def test_malformed_sheets_give_one_line(write: Writer, text: str, expected: str) -> None:
    with pytest.raises(CharacterSheetError) as caught:
        load_sheet(write("ana.md", text))
    assert str(caught.value) == expected


def test_bad_stats_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "personas").mkdir()
    (tmp_path / "personas" / "pell.md").write_text("# Pell\n", encoding="utf-8")
    (tmp_path / "personas" / "stats.yaml").write_text("wits: 3\nnerve: six\n", encoding="utf-8")
    with pytest.raises(CharacterSheetError) as caught:
        load_sheet(tmp_path / "personas" / "pell.md", label="personas/pell.md")
    assert str(caught.value) == (
        'personas/stats.yaml: stat "nerve" is "six"; stats are whole numbers from 1 to 5'
    )


def test_numbered_headings_and_a_name_line(write: Writer) -> None:
    text = (
        "## I. Core Identity\n- **Name**: Quill\n\nA glassblower.\n\n"
        "## 2. Goals\n- be paid\n\n## III. Decision Making Weights\n- **Honour**: 7\n"
    )
    sheet = load_sheet(write("quill.md", text)).sheet
    assert sheet.name == "Quill"
    assert sheet.summary == "A glassblower."
    assert sheet.goals == ("be paid",)
    assert sheet.decision_weights == {"morality": 0.7}
