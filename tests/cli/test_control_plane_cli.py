"""dramatis flags and dramatis slo."""

from __future__ import annotations

import json

import pytest

from dramatis.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_flags_list_shows_every_flag_with_its_stage(capsys) -> None:
    code, out, err = run(capsys, "flags", "list", "--json")
    assert code == 0, err
    stages = {row["name"]: row["stage"] for row in json.loads(out)}
    for name in (
        "gemini.personas",
        "gemini.chronicle",
        "cache.redis",
        "publish.s3",
        "personas.human",
        "tui.live_updates",
    ):
        assert name in stages
    assert stages["gemini.personas"] == "on"


def test_flags_set_moves_a_flag_and_needs_a_rollback_plan(capsys) -> None:
    code, out, err = run(
        capsys,
        "flags",
        "set",
        "cache.redis",
        "--stage",
        "percent:25",
        "--owner",
        "Rosa",
        "--rollback-plan",
        "set on again",
        "--reason",
        "redis upgrade",
    )
    assert code == 0, err
    assert "cache.redis is now percent:25 (owner Rosa)" in out
    code, out, _ = run(capsys, "flags")
    line = next(line for line in out.splitlines() if line.startswith("cache.redis"))
    assert "percent:25" in line and "set on again" in line

    code, _, err = run(
        capsys, "flags", "set", "cache.redis", "--stage", "on", "--owner", "Rosa",
        "--rollback-plan", " ",
    )  # fmt: skip
    assert code == 2 and "rollback plan" in err


@pytest.mark.parametrize("role", ["viewer", "player"])
def test_flags_set_by_a_non_operator_exits_2(capsys, monkeypatch, role: str) -> None:
    monkeypatch.setenv("DRAMATIS_ROLE", role)
    code, _, err = run(
        capsys, "flags", "set", "gemini.personas", "--stage", "off", "--owner", "Rosa",
        "--rollback-plan", "set on",
    )  # fmt: skip
    assert code == 2
    assert "only an operator may toggle flags" in err and role in err
    code, out, _ = run(capsys, "flags", "list", "--json")
    assert code == 0  # reading is fine for every role
    assert {r["name"]: r["stage"] for r in json.loads(out)}["gemini.personas"] == "on"


def test_slo_lists_objectives_current_values_and_breaches(capsys) -> None:
    code, _, err = run(capsys, "play", "salt-road", "--turns", "3", "--offline", "--json")
    assert code == 0, err
    code, out, err = run(capsys, "slo", "--json")
    assert code == 0, err
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["turn p95"]["objective"] == "< 2 s"
    assert rows["turn p95"]["current"] is not None
    assert rows["turn p95"]["measurement_source"]
    assert rows["fallback rate"]["current"] is None  # no gemini persona played
    assert rows["cache hit rate"]["runbook"] == "Redis outage"
    code, out, _ = run(capsys, "slo")
    assert code == 0
    assert "not measured" in out and "turn p95" in out
