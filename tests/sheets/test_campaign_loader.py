"""load_campaign_file: validation in one readable line, sheet paths, brief reference checks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dramatis.domain.errors import CampaignFileError, CharacterSheetError
from dramatis.sheets import list_samples, load_campaign_file, resolve_campaign
from dramatis.sheets.campaign_loader import find_sample

Writer = Callable[[str, str], Path]

ANA = 'name = "Ana"\npersonality = ["cautious"]\n[decision_weights]\nself_preservation = 8\n'
BRAM = (
    '{"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "Bram", '
    '"extensions": {"dramatis": {"decision_weights": {"morality": "2/10"}}}}}'
)
ISO = "# Character Sheet: Iso\n### Decision Making Weights\n- **Self-Preservation**: 2/10\n"

HEAD = 'name = "Salt"\n'
TWO = '[[personas]]\nsheet = "personas/ana.toml"\n[[personas]]\nsheet = "personas/bram.json"\n'


@pytest.fixture
def campaign(write: Writer) -> Callable[[str], Path]:
    """Write persona sheets and a campaign file ``salt.toml`` with the given text."""
    write("personas/ana.toml", ANA)
    write("personas/bram.json", BRAM)
    write("personas/iso.md", ISO)

    def _campaign(text: str) -> Path:
        return write("salt.toml", text)

    return _campaign


def _error(path: Path) -> str:
    with pytest.raises(CampaignFileError) as caught:
        load_campaign_file(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_loads_sheets_in_order_with_their_brains(campaign: Callable[[str], Path]) -> None:
    path = campaign(
        'name = "Salt"\ndescription = "A debt."\nturn_limit = 12\nseed = 3\n'
        '[[personas]]\nsheet = "personas/iso.md"\nbrain = "human"\n'
        '[[personas]]\nsheet = "personas/ana.toml"\n'
        '[[personas]]\nsheet = "personas/bram.json"\nbrain = "gemini"\n'
    )
    loaded = load_campaign_file(path)
    assert loaded.campaign.name == "Salt"
    assert loaded.campaign.turn_limit == 12
    assert loaded.campaign.seed == 3
    assert [p.sheet.name for p in loaded.personas] == ["Iso", "Ana", "Bram"]
    assert [p.brain for p in loaded.personas] == ["human", "offline", "gemini"]
    assert [p.sheet.source_format for p in loaded.personas] == ["markdown", "toml", "card_v2"]
    assert loaded.personas[0].path == path.parent.resolve() / "personas" / "iso.md"
    assert loaded.base_dir == path.parent.resolve()
    assert loaded.source == path
    assert loaded.sheets == [p.sheet for p in loaded.personas]
    assert loaded.warnings == []


def test_sheet_warnings_are_collected(campaign: Callable[[str], Path], write: Writer) -> None:
    write("personas/wren.toml", 'name = "Wren"\npersonality = ["brave"]\n')
    path = campaign(HEAD + TWO + '[[personas]]\nsheet = "personas/wren.toml"\n')
    warnings = load_campaign_file(path).warnings
    assert len(warnings) == 1
    assert warnings[0].startswith("personas/wren.toml: no decision weights given; inferred them")


def test_one_persona(campaign: Callable[[str], Path]) -> None:
    path = campaign(HEAD + '[[personas]]\nsheet = "personas/ana.toml"\n')
    assert _error(path) == "salt.toml: personas: a campaign needs at least 2 personas, found 1"


def test_no_personas(campaign: Callable[[str], Path]) -> None:
    assert _error(campaign(HEAD)) == (
        "salt.toml: personas: missing; a campaign needs at least 2 [[personas]] entries"
    )


def test_sheet_path_that_does_not_exist(campaign: Callable[[str], Path]) -> None:
    path = campaign(
        HEAD + '[[personas]]\nsheet = "personas/ana.toml"\n'
        '[[personas]]\nsheet = "personas/ghost.md"\n'
    )
    expected_path = path.parent.resolve() / "personas" / "ghost.md"
    assert _error(path) == (
        f"salt.toml: personas[#2].sheet: personas/ghost.md does not exist ({expected_path})"
    )


def test_broken_sheet_is_named_as_the_campaign_wrote_it(
    campaign: Callable[[str], Path], write: Writer
) -> None:
    write("personas/bad.md", "# Bad\n### Decision Making Weights\n- **Loyalty**: 15/10\n")
    path = campaign(HEAD + TWO + '[[personas]]\nsheet = "personas/bad.md"\n')
    with pytest.raises(CharacterSheetError) as caught:
        load_campaign_file(path)
    assert str(caught.value) == (
        'personas/bad.md: decision weight "Loyalty" is 15/10; weights run from 0 to 10'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'name = "Salt"\n[[personas]\nsheet = "x"\n',
            "salt.toml: line 2: invalid TOML (Expected ']]' at the end of an array declaration)",
        ),
        (TWO, 'salt.toml: name: missing; every campaign needs name = "..."'),
        (
            HEAD + "turnlimit = 3\n" + TWO,
            'salt.toml: turnlimit: unknown key (did you mean "turn_limit"?)',
        ),
        (
            HEAD + 'turn_limit = "forty"\n' + TWO,
            "salt.toml: turn_limit: should be a valid integer, unable to parse string as an "
            "integer (found 'forty')",
        ),
        (
            HEAD + TWO + 'brain = "robot"\n',
            "salt.toml: personas[#2].brain: should be 'offline', 'gemini', 'human' or "
            "'openai' (found 'robot')",
        ),
        (
            HEAD + TWO + '[world]\nclue = ["a"]\n',
            'salt.toml: world.clue: unknown key (did you mean "clues"?)',
        ),
        (
            HEAD + TWO + '[world]\nstart_location = "nowhere"\n',
            "salt.toml: world: start_location 'nowhere' is not a location id",
        ),
        (
            HEAD + TWO + '[[world.locations]]\nid = "Dock Side"\nname = "Dock"\n',
            "salt.toml: world.locations[Dock Side].id: ids are lower-case letters, digits, "
            "'-' and '_', starting with a letter or digit (found 'Dock Side')",
        ),
        (
            HEAD + TWO + '[[world.events]]\nid = "x"\ntitle = "X"\ntext = "t"\n'
            'trigger = { kind = "turn" }\n',
            "salt.toml: world.events[x].trigger: a 'turn' trigger needs turn = N",
        ),
        (
            HEAD + TWO + '[[world.events]]\nid = "x"\ntitle = "X"\ntext = "t"\n'
            'trigger = { kind = "weather" }\n',
            "salt.toml: world.events[x].trigger.kind: should be 'start', 'turn', 'counter', "
            "'tension' or 'clues' (found 'weather')",
        ),
        (
            HEAD + TWO + '[[world.events]]\nid = "x"\ntitle = "X"\ntext = "t"\n'
            'trigger = { kind = "start" }\nlocation = "moon"\n',
            'salt.toml: world.events[x].location: "moon" is not a location id '
            "(no locations defined)",
        ),
        (
            HEAD + TWO + '[[world.locations]]\nid = "well"\nname = "Well"\n'
            '[[world.events]]\nid = "x"\ntitle = "X"\ntext = "t"\n'
            'trigger = { kind = "start" }\nwitnesses = "present"\n',
            'salt.toml: world.events[x].witnesses: "present" needs location = "<location id>" '
            "as well",
        ),
        (
            HEAD + TWO + '[[world.locations]]\nid = "well"\nname = "Well"\n'
            '[[world.events]]\nid = "x"\ntitle = "X"\ntext = "t"\n'
            'trigger = { kind = "start" }\nwitnesses = "gate"\n',
            'salt.toml: world.events[x].witnesses: "gate" is neither "all", "present" nor a '
            "location id (locations: well)",
        ),
        (
            HEAD + TWO + '[[world.objectives]]\nname = "pay"\n[[world.objectives]]\nname = "pay"\n',
            "salt.toml: world.objectives[pay]: objective names must be unique",
        ),
    ],
)
def test_bad_campaign_files_give_one_line(
    campaign: Callable[[str], Path], text: str, expected: str
) -> None:
    assert _error(campaign(text)) == expected


def test_several_problems_are_counted(campaign: Callable[[str], Path]) -> None:
    message = _error(campaign('turn_limit = 0\nseed = "x"\n' + TWO))
    assert message.startswith("salt.toml: name: missing")
    assert message.endswith("(and 2 more problems)")


def test_events_that_can_never_fire_are_warned_about(campaign: Callable[[str], Path]) -> None:
    path = campaign(
        HEAD
        + TWO
        + '[world]\nclues = ["a"]\n'
        + '[[world.events]]\nid = "x"\ntitle = "X"\ntext = "t"\n'
        + 'trigger = { kind = "counter", counter = "nope", at_least = 2 }\n'
        + '[[world.events]]\nid = "y"\ntitle = "Y"\ntext = "t"\n'
        + 'trigger = { kind = "clues", at_least = 3 }\n'
    )
    assert load_campaign_file(path).warnings == [
        'salt.toml: world.events[x].trigger: counter "nope" is not an objective and no event '
        "adds to it, so this event may never fire",
        "salt.toml: world.events[y].trigger: needs 3 clues but the brief hides only 1, so this "
        "event can never fire",
    ]


def test_two_personas_with_one_name_are_warned_about(campaign: Callable[[str], Path]) -> None:
    path = campaign(
        HEAD
        + '[[personas]]\nsheet = "personas/ana.toml"\n[[personas]]\nsheet = "personas/ana.toml"\n'
    )
    assert load_campaign_file(path).warnings == [
        "salt.toml: personas[#1] and personas[#2] are both called 'Ana'; the chronicle will "
        "not tell them apart"
    ]


def test_missing_campaign_file(tmp_path: Path) -> None:
    assert _error(tmp_path / "salt.toml") == (
        f"salt.toml: file not found (looked for {tmp_path / 'salt.toml'})"
    )


def test_unknown_sample_name_lists_the_samples() -> None:
    names = ", ".join(sample.name for sample in list_samples())
    with pytest.raises(CampaignFileError) as caught:
        find_sample("atlantis")
    assert str(caught.value) == f'unknown sample "atlantis"; available samples: {names}'
    assert "salt-road" in names and "skerry-light" in names and "glass-orchard" in names


def test_unknown_sample_name_suggests_a_close_one() -> None:
    with pytest.raises(CampaignFileError) as caught:
        find_sample("salt-rod")
    assert str(caught.value).startswith('unknown sample "salt-rod" (did you mean "salt-road"?)')


def test_resolve_campaign_accepts_files_folders_and_sample_names(
    campaign: Callable[[str], Path], tmp_path: Path
) -> None:
    path = campaign(HEAD + TWO)
    assert resolve_campaign(path) == path
    assert resolve_campaign(str(path)) == path
    folder = tmp_path / "glass"
    folder.mkdir()
    (folder / "campaign.toml").write_text(HEAD + TWO, encoding="utf-8")
    assert resolve_campaign(folder) == folder / "campaign.toml"
    assert resolve_campaign("salt-road") == find_sample("salt-road")
    assert resolve_campaign("The Skerry Light") == find_sample("skerry-light")
    with pytest.raises(CampaignFileError) as caught:
        resolve_campaign(tmp_path / "nope.toml")
    assert str(caught.value) == (f"nope.toml: file not found (looked for {tmp_path / 'nope.toml'})")
