"""Character Card V2: fields mapped, extensions kept verbatim, weights read or inferred."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dramatis.domain.errors import CharacterSheetError
from dramatis.sheets import load_sheet

Writer = Callable[[str, str], Path]


def card(**data: Any) -> dict[str, Any]:
    """A Card V2 with the given ``data`` fields (name defaults to Bram Tolliver)."""
    body: dict[str, Any] = {"name": "Bram Tolliver", **data}
    return {"spec": "chara_card_v2", "spec_version": "2.0", "data": body}


BRAM = card(
    description=(
        "{{char}} is a horse-trader's son with a gambler's hands. He owes {{user}} money "
        "and everyone else besides."
    ),
    personality="Charming, quick-tongued; deceitful when cornered.\nRestless",
    scenario="Six days from Cindermere, and {{char}} knows more than he says.",
    first_mes='*He tips his hat.* "What could possibly go wrong?"',
    mes_example=(
        "<START>\n{{user}}: Where were you?\n{{char}}: *grins* Asleep, like an honest man.\n"
        "{{char}}: A second line."
    ),
    creator_notes="A liar.",
    system_prompt="",
    post_history_instructions="",
    alternate_greetings=["Hello again."],
    character_book=None,
    tags=["trickster"],
    creator="someone",
    character_version="1.0",
    extensions={
        "talkativeness": "0.8",
        "depth_prompt": {"prompt": "Never answers directly.", "depth": 4},
        "dramatis": {
            "decision_weights": {"Self-Preservation": "7/10", "loyalty": 2, "morality": 0.2},
            "goals": ["reach Cindermere"],
            "fears": ["Ysolde Fane's riders"],
            "stats": {"charm": 5},
            "portrait": "bram.png",
        },
    },
)


def test_card_fields_are_mapped(write: Writer) -> None:
    loaded = load_sheet(write("bram.json", json.dumps(BRAM)))
    sheet = loaded.sheet
    assert sheet.name == "Bram Tolliver"
    assert sheet.summary == "Bram Tolliver is a horse-trader's son with a gambler's hands."
    assert sheet.profile == (
        "Bram Tolliver is a horse-trader's son with a gambler's hands. He owes you money "
        "and everyone else besides."
    )
    assert sheet.personality == ("charming", "quick-tongued", "deceitful when cornered", "restless")
    assert sheet.scenario == "Six days from Cindermere, and Bram Tolliver knows more than he says."
    assert sheet.speech == "Asleep, like an honest man."
    assert sheet.goals == ("reach Cindermere",)
    assert sheet.fears == ("Ysolde Fane's riders",)
    assert sheet.stats == {"charm": 5}
    assert sheet.decision_weights == {"self_preservation": 0.7, "loyalty": 0.2, "morality": 0.2}
    assert sheet.weights_inferred is False
    assert sheet.source_format == "card_v2"
    assert loaded.warnings == []


def test_unknown_extensions_are_kept_verbatim(write: Writer) -> None:
    sheet = load_sheet(write("bram.json", json.dumps(BRAM))).sheet
    assert sheet.extensions == {
        "talkativeness": "0.8",
        "depth_prompt": {"prompt": "Never answers directly.", "depth": 4},
        "dramatis": {"portrait": "bram.png"},
    }


def test_other_card_fields_are_returned_as_extras(write: Writer) -> None:
    extras = load_sheet(write("bram.json", json.dumps(BRAM))).extras["card"]
    assert extras["alternate_greetings"] == ["Hello again."]
    assert extras["tags"] == ["trickster"]
    assert extras["creator_notes"] == "A liar."
    assert "name" not in extras and "extensions" not in extras


def test_speech_falls_back_to_first_mes_without_stage_directions(write: Writer) -> None:
    data = card(first_mes='*He tips his hat.* "What could possibly go wrong?"\nMore.')
    sheet = load_sheet(write("bram.json", json.dumps(data))).sheet
    assert sheet.speech == '"What could possibly go wrong?"'


def test_weights_are_inferred_and_flagged_when_absent(write: Writer) -> None:
    data = card(
        description="A cautious and honest smith. He never lies.",
        personality="careful, loyal, kind",
        tags=["devoted"],
    )
    loaded = load_sheet(write("smith.json", json.dumps(data)))
    sheet = loaded.sheet
    assert sheet.weights_inferred is True
    assert sheet.decision_weights == {
        "self_preservation": 0.8,
        "loyalty": 0.8,
        "relationships": 0.65,
        "mission": 0.5,
        "morality": 0.95,
    }
    assert loaded.warnings == [
        "smith.json: no decision weights given; inferred them from the card's personality, "
        "description and tags (self_preservation 0.8, loyalty 0.8, relationships 0.65, "
        "mission 0.5, morality 0.95)"
    ]


def test_inference_tells_a_reckless_liar_from_a_cautious_loyalist(write: Writer) -> None:
    liar = card(name="Rook", personality="reckless, deceitful, greedy, a practised liar")
    loyal = card(name="Strand", personality="cautious, loyal, steadfast, honest")
    a = load_sheet(write("rook.json", json.dumps(liar))).sheet
    b = load_sheet(write("strand.json", json.dumps(loyal))).sheet
    assert a.weight("self_preservation") < 0.5 < b.weight("self_preservation")
    assert a.weight("morality") < 0.5 < b.weight("morality")
    assert a.weight("loyalty") <= 0.5 < b.weight("loyalty")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"spec": "chara_card_v3", "spec_version": "3.0", "data": {"name": "Bram"}},
            'bram.json: not a Character Card V2 (spec is "chara_card_v3", expected '
            '"chara_card_v2")',
        ),
        (
            {"name": "Bram", "description": "a V1 card"},
            'bram.json: not a Character Card V2 (spec is missing, expected "chara_card_v2")',
        ),
        (
            {"spec": "chara_card_v2", "spec_version": "1.0", "data": {"name": "Bram"}},
            'bram.json: not a Character Card V2 (spec_version is "1.0", expected "2.0")',
        ),
        (
            [1, 2],
            "bram.json: not a Character Card V2 (the file holds a list, not an object)",
        ),
        (
            {"spec": "chara_card_v2", "spec_version": "2.0"},
            "bram.json: data: missing; a Character Card V2 keeps its fields in data",
        ),
        (card(name=""), "bram.json: data.name: missing or empty; every card needs a name"),
        (card(description=5), "bram.json: data.description: expected text, found a number"),
        (card(tags="x"), "bram.json: data.tags: expected a list of text"),
        (card(extensions=[]), "bram.json: data.extensions: expected an object, found a list"),
        (
            card(extensions={"dramatis": {"decision_weights": {"Loyalty": "15/10"}}}),
            'bram.json: decision weight "Loyalty" is 15/10; weights run from 0 to 10',
        ),
        (
            card(extensions={"dramatis": {"goals": [1]}}),
            "bram.json: data.extensions.dramatis.goals: expected a list of text",
        ),
    ],
)
def test_malformed_cards_give_one_line(write: Writer, payload: object, expected: str) -> None:
    with pytest.raises(CharacterSheetError) as caught:
        load_sheet(write("bram.json", json.dumps(payload)))
    assert str(caught.value) == expected


def test_invalid_json_names_the_line(write: Writer) -> None:
    with pytest.raises(CharacterSheetError) as caught:
        load_sheet(write("bram.json", '{"spec": "chara_card_v2",\n "data": }'))
    assert str(caught.value) == "bram.json: line 2: invalid JSON (Expecting value)"


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _png(*chunks: bytes) -> bytes:
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + b"".join(chunks) + _chunk(b"IEND", b"")


def test_card_embedded_in_a_png_text_chunk(tmp_path: Path) -> None:
    encoded = base64.b64encode(json.dumps(BRAM).encode("utf-8"))
    path = tmp_path / "bram.png"
    path.write_bytes(_png(_chunk(b"tEXt", b"chara\0" + encoded)))
    from_png = load_sheet(path).sheet
    json_path = tmp_path / "bram.json"
    json_path.write_text(json.dumps(BRAM), encoding="utf-8")
    assert from_png.sheet_hash() == load_sheet(json_path).sheet.sheet_hash()


def test_png_without_a_card(tmp_path: Path) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(_png(_chunk(b"tEXt", b"Comment\0just a cat")))
    with pytest.raises(CharacterSheetError) as caught:
        load_sheet(path)
    assert str(caught.value) == 'cat.png: no character card in this PNG (no "chara" text chunk)'


def test_file_that_is_not_a_png(tmp_path: Path) -> None:
    path = tmp_path / "fake.png"
    path.write_bytes(b"GIF89a")
    with pytest.raises(CharacterSheetError) as caught:
        load_sheet(path)
    assert str(caught.value) == "fake.png: not a PNG image"
