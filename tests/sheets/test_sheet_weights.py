"""The weight rule shared by every format, name normalisation and weight inference."""

from __future__ import annotations

import pytest

from dramatis.domain.errors import CharacterSheetError
from dramatis.sheets import infer_weights, parse_weight
from dramatis.sheets.common import weight_key


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("7/10", 0.7),
        ("7.5/10", 0.75),
        ("3/5", 0.6),
        (" 0/10 ", 0.0),
        ("10/10", 1.0),
        (7, 0.7),
        (0, 0.0),
        (10, 1.0),
        ("7", 0.7),
        (0.7, 0.7),
        (1.0, 1.0),
        ("0.35", 0.35),
        (".5", 0.5),
        ("70%", 0.7),
    ],
)
def test_weight_rule(raw: object, expected: float) -> None:
    assert parse_weight(raw, label="a.toml", name="loyalty") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "7/0",
            'a.toml: decision weight "loyalty" is 7/0; the bottom of a fraction must be above 0',
        ),
        ("6/5", 'a.toml: decision weight "loyalty" is 6/5; weights run from 0 to 5'),
        ("-1/10", 'a.toml: decision weight "loyalty" is -1/10; weights run from 0 to 10'),
        ("120%", 'a.toml: decision weight "loyalty" is 120%; percentages run from 0% to 100%'),
        (
            [1],
            'a.toml: decision weight "loyalty" is a list; write 7/10, a whole number from 0 to '
            "10 or a decimal from 0 to 1",
        ),
    ],
)
def test_weight_rule_errors(raw: object, expected: str) -> None:
    with pytest.raises(CharacterSheetError) as caught:
        parse_weight(raw, label="a.toml", name="loyalty")
    assert str(caught.value) == expected


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Self-Preservation", "self_preservation"),
        ("Faction Loyalty", "loyalty"),
        ("Personal Relationships", "relationships"),
        ("Mission Success", "mission"),
        ("Moral Code", "morality"),
        ("Honour", "morality"),
        ("Thirst for Gold", "thirst_for_gold"),
    ],
)
def test_weight_names_become_snake_case_keys(name: str, key: str) -> None:
    assert weight_key(name) == key


def test_inference_starts_neutral() -> None:
    assert infer_weights(["a person of few words"]) == {
        "self_preservation": 0.5,
        "loyalty": 0.5,
        "relationships": 0.5,
        "mission": 0.5,
        "morality": 0.5,
    }


def test_inference_counts_keywords_and_negation() -> None:
    weights = infer_weights(["reckless, bold and fearless", "not loyal", "a liar and a thief"])
    assert weights["self_preservation"] == 0.05  # three hits, clamped
    assert weights["loyalty"] == 0.35
    assert weights["morality"] == 0.2


def test_inference_is_deterministic() -> None:
    text = ["cautious, warm, driven, honest"]
    assert infer_weights(text) == infer_weights(list(text))
