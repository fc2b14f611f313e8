"""The native TOML sheet: fields mapped, weight rule applied, errors named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dramatis.domain.errors import CharacterSheetError
from dramatis.sheets import load_sheet

Writer = Callable[[str, str], Path]

FULL = """
name = "Ana Varga"
summary = "Wagon-mistress of the salt road."
profile = "Drove the wagon for fifteen years."
personality = ["Cautious", "dry-witted"]
goals = ["get the salt to Cindermere", "pay the note"]
fears = ["losing the wagon"]
speech = "Count it again."
scenario = "Six days from the gate."

[decision_weights]
Self-Preservation = "8/10"
loyalty = 6
relationships = 0.5
mission = "75%"
morality = "7.5/10"
thrift = 1.0

[stats]
wits = 4
Nerve = 2

[extensions]
colour = "grey"
"""


def test_fields_are_mapped_and_weights_normalised(write: Writer) -> None:
    loaded = load_sheet(write("ana.toml", FULL))
    sheet = loaded.sheet
    assert sheet.name == "Ana Varga"
    assert sheet.summary == "Wagon-mistress of the salt road."
    assert sheet.profile == "Drove the wagon for fifteen years."
    assert sheet.personality == ("cautious", "dry-witted")
    assert sheet.goals == ("get the salt to Cindermere", "pay the note")
    assert sheet.fears == ("losing the wagon",)
    assert sheet.speech == "Count it again."
    assert sheet.scenario == "Six days from the gate."
    assert sheet.decision_weights == {
        "self_preservation": 0.8,
        "loyalty": 0.6,
        "relationships": 0.5,
        "mission": 0.75,
        "morality": 0.75,
        "thrift": 1.0,
    }
    assert sheet.stats == {"wits": 4, "nerve": 2}
    assert sheet.extensions == {"colour": "grey"}
    assert sheet.source_format == "toml"
    assert sheet.weights_inferred is False
    assert loaded.warnings == []
    assert loaded.source.name == "ana.toml"


def test_whole_numbers_are_tenths_and_decimals_are_fractions(write: Writer) -> None:
    text = 'name = "X"\n[decision_weights]\nloyalty = 1\nmission = 1.0\nmorality = 0\n'
    weights = load_sheet(write("x.toml", text)).sheet.decision_weights
    assert weights == {"loyalty": 0.1, "mission": 1.0, "morality": 0.0}


def test_personality_string_and_goal_string_are_split(write: Writer) -> None:
    text = 'name = "X"\npersonality = "Cautious, wry; loyal"\ngoals = "one; two\\nthree"\n'
    text += "[decision_weights]\nloyalty = 5\n"
    sheet = load_sheet(write("x.toml", text)).sheet
    assert sheet.personality == ("cautious", "wry", "loyal")
    assert sheet.goals == ("one", "two", "three")


def test_no_weights_are_inferred_and_flagged(write: Writer) -> None:
    text = 'name = "Wren"\npersonality = ["reckless", "loyal", "honest"]\n'
    loaded = load_sheet(write("wren.toml", text))
    sheet = loaded.sheet
    assert sheet.weights_inferred is True
    assert sheet.weight("self_preservation") < 0.5
    assert sheet.weight("loyalty") > 0.5
    assert sheet.weight("morality") > 0.5
    assert len(loaded.warnings) == 1
    assert loaded.warnings[0].startswith("wren.toml: no decision weights given; inferred them")


def test_invalid_toml_names_the_line(write: Writer) -> None:
    path = write("x.toml", 'name = "x"\n\n\nbad = \n')
    with pytest.raises(CharacterSheetError) as caught:
        load_sheet(path)
    assert str(caught.value) == "x.toml: line 4: invalid TOML (Invalid value)"


def test_missing_name(write: Writer) -> None:
    with pytest.raises(CharacterSheetError) as caught:
        load_sheet(write("y.toml", 'summary = "no name here"\n'))
    assert str(caught.value) == 'y.toml: name: missing; every sheet needs name = "..."'


def test_empty_name(write: Writer) -> None:
    with pytest.raises(CharacterSheetError) as caught:
        load_sheet(write("y.toml", 'name = "  "\n'))
    assert str(caught.value) == 'y.toml: name: empty; every sheet needs name = "..."'


def test_unknown_key_suggests_the_field(write: Writer) -> None:
    with pytest.raises(CharacterSheetError) as caught:
        load_sheet(write("z.toml", 'name = "x"\ngoal = ["a"]\n'))
    message = str(caught.value)
    assert message.startswith('z.toml: unknown key "goal" (did you mean "goals"?); a sheet has ')
    assert "decision_weights" in message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "[decision_weights]\nloyalty = 15\n",
            'x.toml: decision weight "loyalty" is 15; whole-number weights run from 0 to 10 '
            "(use a decimal such as 0.7 for the 0 to 1 scale)",
        ),
        (
            '[decision_weights]\nloyalty = "15/10"\n',
            'x.toml: decision weight "loyalty" is 15/10; weights run from 0 to 10',
        ),
        (
            "[decision_weights]\nloyalty = 1.5\n",
            'x.toml: decision weight "loyalty" is 1.5; decimal weights run from 0 to 1 '
            "(write 7/10 or a whole number for the 0 to 10 scale)",
        ),
        (
            "[decision_weights]\nloyalty = true\n",
            'x.toml: decision weight "loyalty" is true; write 7/10, a whole number from 0 to 10 '
            "or a decimal from 0 to 1",
        ),
        (
            "[decision_weights]\nloyalty = 6\nLoyalty = 7\n",
            'x.toml: decision weight "Loyalty" repeats "loyalty" (both mean "loyalty"); '
            "keep one of them",
        ),
        ("[stats]\nwits = 9\n", 'x.toml: stat "wits" is 9; stats run from 1 to 5'),
        (
            "[stats]\nwits = 3.5\n",
            'x.toml: stat "wits" is 3.5; stats are whole numbers from 1 to 5',
        ),
        ("goals = [1]\n", "x.toml: goals: expected a list of text, found a list holding a number"),
        ("speech = 3\n", "x.toml: speech: expected text, found a number"),
        ('stats = "high"\n', "x.toml: stats: expected a table, found text"),
        (
            'fallback_policy = " "\n',
            "x.toml: fallback_policy: a fallback policy is required (use 'offline')",
        ),
    ],
)
def test_bad_values_give_one_line_naming_field_and_problem(
    write: Writer, body: str, expected: str
) -> None:
    with pytest.raises(CharacterSheetError) as caught:
        load_sheet(write("x.toml", 'name = "x"\n' + body))
    assert str(caught.value) == expected
    assert "\n" not in str(caught.value)


def test_label_overrides_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "ana.toml"
    path.write_text('name = "x"\n[decision_weights]\nloyalty = "15/10"\n', encoding="utf-8")
    with pytest.raises(CharacterSheetError) as caught:
        load_sheet(path, label="personas/ana.toml")
    assert str(caught.value).startswith('personas/ana.toml: decision weight "loyalty"')
