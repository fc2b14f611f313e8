"""`dramatis fork` and `dramatis replay --verify` end to end on a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from dramatis.cli import main
from dramatis.config import Settings


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def played(capsys: pytest.CaptureFixture[str], turns: int = 12) -> dict:
    code, out, err = run(
        capsys, "play", "skerry-light", "--turns", str(turns), "--offline", "--seed", "4", "--json"
    )
    assert code == 0, err
    return json.loads(out)


def test_fork_at_a_turn_makes_a_playable_campaign_sharing_the_history(capsys) -> None:
    parent = played(capsys)
    code, out, err = run(capsys, "fork", parent["campaign_id"][:8], "--at-turn", "5", "--json")
    assert code == 0, err
    fork = json.loads(out)
    assert fork["turns"] == 5 and fork["status"] == "active"
    assert fork["forked_from"] == parent["campaign_id"]
    assert fork["forked_at_turn"] == 5
    assert fork["name"].endswith("(fork at turn 5)")
    code, out, err = run(capsys, "advance", fork["campaign_id"], "--turns", "3", "--json")
    assert code == 0, err
    assert json.loads(out)["played"] == [6, 7, 8]
    code, out, _ = run(capsys, "show", parent["campaign_id"], "--json")
    assert json.loads(out)["turns"] == 12
    code, out, err = run(capsys, "replay", fork["campaign_id"], "--verify")
    assert code == 0, err
    assert "Replayed 8 turns" in out and "every state hash" in out


def test_fork_text_output_and_bad_input(capsys) -> None:
    parent = played(capsys, turns=4)
    code, out, _ = run(capsys, "fork", parent["campaign_id"], "--at-turn", "2", "--name", "Road B")
    assert code == 0
    assert out.startswith("Forked at turn 2 as Road B")
    code, _, err = run(capsys, "fork", parent["campaign_id"], "--at-turn", "9")
    assert code == 2
    assert "can be forked at turns 0..4, not at turn 9" in err
    assert "Traceback" not in err
    code, _, err = run(capsys, "fork", parent["campaign_id"], "--at-turn", "-1")
    assert code == 2 and "turns are 0 or more" in err
    code, _, err = run(capsys, "fork", parent["campaign_id"])
    assert code == 2 and "--at-turn" in err
    code, _, err = run(capsys, "fork", "ffffffff", "--at-turn", "1")
    assert code == 2 and "no campaign" in err


def test_replay_verify_passes_then_reports_the_first_altered_turn(capsys) -> None:
    parent = played(capsys, turns=15)
    code, out, err = run(capsys, "replay", parent["campaign_id"], "--verify", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["verified"] is True and report["replayed"] == 15
    assert len(report["final_hash"]) == 64

    database = Path(Settings().database)
    with sqlite3.connect(database) as conn:
        position, payload = conn.execute(
            "SELECT position, payload FROM events WHERE stream_id = ? AND event_type = "
            "'TurnAdvanced' AND json_extract(payload, '$.ledger.turn_number') = 9",
            (parent["campaign_id"],),
        ).fetchone()
        data = json.loads(payload)
        data["ledger"]["action_log"][0]["roll"] = 21 - data["ledger"]["action_log"][0]["roll"]
        conn.execute(
            "UPDATE events SET payload = ? WHERE position = ?", (json.dumps(data), position)
        )

    code, out, err = run(capsys, "replay", parent["campaign_id"], "--verify")
    assert code == 1
    assert "Diverged at turn 9" in err
    assert "Replayed 8 of 15 turns" in out
    code, out, _ = run(capsys, "replay", parent["campaign_id"], "--json")
    assert code == 0  # without --verify the report is the answer, not a failure
    assert json.loads(out)["divergent_turn"] == 9


def test_help_lists_the_time_travel_commands(capsys) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "fork" in out and "replay" in out
    code, out, _ = run(capsys, "replay", "--help")
    assert code == 0 and "--verify" in out
