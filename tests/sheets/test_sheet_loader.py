"""load_sheet: dispatch on the suffix and clear errors for files it cannot use."""

from __future__ import annotations

from pathlib import Path

import pytest

from dramatis.domain.errors import CharacterSheetError, DomainError
from dramatis.sheets import load_sheet


@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [
        ("a.toml", 'name = "A"\n[decision_weights]\nloyalty = 5\n', "toml"),
        (
            "a.md",
            "# Character Sheet: A\n### Decision Making Weights\n- **Loyalty**: 5/10\n",
            "markdown",
        ),
        ("a.MARKDOWN", "# A\n### Decision Making Weights\n- **Loyalty**: 5/10\n", "markdown"),
        (
            "a.json",
            '{"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "A", '
            '"extensions": {"dramatis": {"decision_weights": {"loyalty": 5}}}}}',
            "card_v2",
        ),
    ],
)
def test_dispatches_on_suffix(tmp_path: Path, name: str, text: str, fmt: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    loaded = load_sheet(path)
    assert loaded.sheet.name == "A"
    assert loaded.sheet.source_format == fmt
    assert loaded.sheet.decision_weights == {"loyalty": 0.5}
    assert loaded.source == path


def test_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "ana.txt"
    path.write_text("name = 'Ana'", encoding="utf-8")
    with pytest.raises(CharacterSheetError) as caught:
        load_sheet(path)
    assert str(caught.value) == (
        'ana.txt: unknown sheet format ".txt"; use .toml, .md (or .markdown), .json or .png'
    )


def test_no_suffix(tmp_path: Path) -> None:
    with pytest.raises(CharacterSheetError) as caught:
        load_sheet(tmp_path / "ana")
    assert str(caught.value) == (
        "ana: unknown sheet format (none); use .toml, .md (or .markdown), .json or .png"
    )


@pytest.mark.parametrize("name", ["ghost.toml", "ghost.md", "ghost.json", "ghost.png"])
def test_missing_file(tmp_path: Path, name: str) -> None:
    with pytest.raises(CharacterSheetError) as caught:
        load_sheet(tmp_path / name)
    assert str(caught.value) == f"{name}: file not found (looked for {tmp_path / name})"


def test_folder_instead_of_file(tmp_path: Path) -> None:
    (tmp_path / "ana.toml").mkdir()
    with pytest.raises(CharacterSheetError) as caught:
        load_sheet(tmp_path / "ana.toml")
    assert str(caught.value) == "ana.toml: is a folder, not a sheet file"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "ana.md"
    path.write_bytes(b"# Ana\n\xff\xfe")
    with pytest.raises(CharacterSheetError) as caught:
        load_sheet(path)
    assert str(caught.value) == "ana.md: not UTF-8 text (byte 6 cannot be decoded)"


def test_sheet_errors_are_domain_errors() -> None:
    assert issubclass(CharacterSheetError, DomainError)
