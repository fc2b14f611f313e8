"""The dramatis command end to end: real parser, real services, a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dramatis.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def play_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code, out, err = run(capsys, "play", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_play_sample_offline_plays_the_turns_and_writes_the_chronicle(capsys) -> None:
    data = play_json(capsys, "salt-road", "--turns", "12", "--offline", "--seed", "3")
    assert data["turns"] == 12
    assert data["status"] == "active"
    assert len(data["personas"]) >= 3
    assert {"persona_id", "name", "brain"} <= set(data["personas"][0])
    assert all(p["brain"] == "offline" for p in data["personas"])
    chronicle = Path(data["chronicle_path"]).read_text(encoding="utf-8")
    assert "Chapter 1" in chronicle and "Chapter 2" in chronicle
    assert [turn["turn_number"] for turn in data["ledger"]] == list(range(1, 13))


def _ledger_by_name(played: dict) -> list[dict]:
    """The ledger with persona ids (random per campaign) replaced by persona names."""
    names = {p["persona_id"]: p["name"] for p in played["personas"]}
    turns = []
    for turn in played["ledger"]:
        actions = []
        for entry in turn["action_log"]:
            entry = dict(entry)
            assert entry.pop("persona_id") in names
            if entry["target"] in names:
                entry["target"] = names[entry["target"]]
            actions.append(entry)
        turns.append({**turn, "action_log": actions})
    return turns


def test_same_seed_gives_the_same_campaign_and_chronicle(capsys) -> None:
    first = play_json(capsys, "skerry-light", "--seed", "7", "--turns", "40", "--offline")
    second = play_json(capsys, "skerry-light", "--seed", "7", "--turns", "40", "--offline")
    assert first["campaign_id"] != second["campaign_id"]
    first_ids = {p["persona_id"] for p in first["personas"]}
    assert first_ids.isdisjoint(p["persona_id"] for p in second["personas"])
    assert _ledger_by_name(first) == _ledger_by_name(second)
    assert first["turns"] == second["turns"]
    text_a = Path(first["chronicle_path"]).read_text(encoding="utf-8")
    text_b = Path(second["chronicle_path"]).read_text(encoding="utf-8")
    assert text_a == text_b
    assert not any(pid in text_a for pid in first_ids)
    third = play_json(capsys, "skerry-light", "--seed", "8", "--turns", "40", "--offline")
    assert _ledger_by_name(third) != _ledger_by_name(first)


def test_text_summary_says_where_the_chronicle_is(capsys) -> None:
    code, out, _ = run(capsys, "play", "glass-orchard", "--turns", "3", "--offline")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("Chronicle: "))
    assert Path(line.removeprefix("Chronicle: ")).is_file()


def test_campaigns_show_advance_archive(capsys) -> None:
    created = play_json(capsys, "salt-road", "--turns", "2", "--offline")
    cid = created["campaign_id"]
    code, out, _ = run(capsys, "campaigns", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["campaign_id"], r["turns"], r["status"]) for r in rows] == [(cid, 2, "active")]
    assert rows[0]["name"] == created["name"]

    code, out, _ = run(capsys, "advance", cid[:8], "--turns", "3", "--json")
    assert code == 0
    assert json.loads(out)["turns"] == 5

    code, out, _ = run(capsys, "show", cid, "--json")
    shown = json.loads(out)
    assert shown["turns"] == 5
    assert {p["persona_id"] for p in shown["personas"]} == {
        p["persona_id"] for p in created["personas"]
    }

    code, out, _ = run(capsys, "archive", cid)
    assert code == 0 and "Archived" in out
    code, out, err = run(capsys, "advance", cid)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "archived" in err
    code, out, _ = run(capsys, "show", cid, "--json")
    assert json.loads(out)["turns"] == 5
    assert json.loads(out)["status"] == "archived"


def test_chronicle_formats(capsys, tmp_path: Path) -> None:
    from dramatis.sheets.campaign_loader import find_sample, load_campaign_file

    per_chapter = load_campaign_file(find_sample("salt-road")).campaign.chronicler.turns_per_chapter
    turns = per_chapter + 1
    cid = play_json(capsys, "salt-road", "--turns", str(turns), "--offline")["campaign_id"]
    code, out, _ = run(capsys, "chronicle", cid, "--format", "json")
    assert code == 0
    book = json.loads(out)
    assert [c["number"] for c in book["chapters"]] == [1, 2]
    assert book["chapters"][0]["cited_turns"] == list(range(1, per_chapter + 1))
    assert book["chapters"][1]["cited_turns"] == [turns]
    target = tmp_path / "out" / "story.md"
    code, out, _ = run(capsys, "chronicle", cid[:6], "--out", str(target))
    assert code == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith("---\n")  # front matter, then the title
    assert "\n# " in text
    assert "Chapter 2" in text


def write_campaign(tmp_path: Path, personas: list[str], sheets: dict[str, str]) -> Path:
    folder = tmp_path / "camp"
    folder.mkdir()
    for name, body in sheets.items():
        (folder / name).write_text(textwrap.dedent(body), encoding="utf-8")
    entries = "".join(f'[[personas]]\nsheet = "{p}"\n' for p in personas)
    path = folder / "campaign.toml"
    path.write_text(f'name = "Test"\ndescription = "x"\n{entries}', encoding="utf-8")
    return path


SHEET = """
    name = "{name}"
    summary = "A traveller."
    personality = ["cautious"]
    [decision_weights]
    self_preservation = 0.7
    loyalty = 0.4
"""


def assert_bad_input(capsys, *argv: str, says: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert says in lines[0]
    code, out, _ = run(capsys, "campaigns", "--json")
    assert json.loads(out) == []


def test_one_persona_is_refused(capsys, tmp_path: Path) -> None:
    path = write_campaign(tmp_path, ["a.toml"], {"a.toml": SHEET.format(name="Ana")})
    assert_bad_input(capsys, "play", str(path), says="at least 2 personas")


def test_unknown_sample_is_refused(capsys) -> None:
    assert_bad_input(capsys, "play", "no-such-sample", says="salt-road")


def test_weight_out_of_range_is_refused(capsys, tmp_path: Path) -> None:
    bad = """\
        # Character Sheet: Bram Holt

        ## Core Identity
        - **Role**: Smuggler

        ### Decision Making Weights
        - **Loyalty**: 15/10
        - **Self-Preservation**: 6/10
        """
    path = write_campaign(
        tmp_path, ["a.toml", "bram.md"], {"a.toml": SHEET.format(name="Ana"), "bram.md": bad}
    )
    assert_bad_input(capsys, "play", str(path), says="15/10")


def test_bad_flag_is_one_line(capsys) -> None:
    code, _, err = run(capsys, "play", "salt-road", "--turns", "zero")
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "--turns" in err


def test_unknown_campaign_id(capsys) -> None:
    code, _, err = run(capsys, "show", "deadbeef")
    assert code == 2
    assert "no campaign" in err


def test_personas_import_three_formats(capsys) -> None:
    from dramatis.sheets.campaign_loader import find_sample

    formats = set()
    for sample in ("salt-road", "skerry-light", "glass-orchard"):
        for sheet in sorted((find_sample(sample).parent / "personas").iterdir()):
            if sheet.suffix not in {".toml", ".md", ".json"}:
                continue
            code, out, err = run(capsys, "personas", "import", str(sheet), "--json")
            assert code == 0, err
            data = json.loads(out)
            assert len(data["sheet_hash"]) == 64
            formats.add(data["source_format"])
    assert formats == {"toml", "markdown", "card_v2"}
    code, out, _ = run(capsys, "personas", "list", "--json")
    assert len(json.loads(out)) >= 9


def test_console_script_never_shows_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "DRAMATIS_DATA_DIR": str(tmp_path / "d")}
    result = subprocess.run(
        [sys.executable, "-m", "dramatis.cli", "advance", "nope"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("dramatis: ")


def test_advancing_a_campaign_whose_story_ended_is_one_line(capsys) -> None:
    data = play_json(capsys, "salt-road", "--turns", "60", "--offline")
    assert data["status"] == "complete" and data["turns"] < 60  # the story ended early
    code, _, err = run(capsys, "advance", data["campaign_id"])
    assert code == 2
    assert err.count("\n") == 1 and "is complete: it takes no more turns" in err
