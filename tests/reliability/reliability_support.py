"""Helpers for the reliability tests: a long-running campaign, the CLI in a subprocess, and an
independent audit of a database file that reads the raw event rows (not the services)."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dramatis.bootstrap import open_dramatis
from dramatis.config import Settings
from dramatis.sheets.campaign_loader import LoadedCampaign, find_sample, load_campaign_file

REPO = Path(__file__).resolve().parents[2]


def endless(sample: str = "salt-road") -> LoadedCampaign:
    """A sample campaign without its story-ending events: it plays until its turn limit."""
    loaded = load_campaign_file(find_sample(sample))
    world = loaded.campaign.world
    events = tuple(
        event.model_copy(update={"effect": event.effect.model_copy(update={"complete": False})})
        for event in world.events
    )
    campaign = loaded.campaign.model_copy(
        update={"world": world.model_copy(update={"events": events})}
    )
    return dataclasses.replace(loaded, campaign=campaign)


def settings_for(db: Path, **extra: object) -> Settings:
    return Settings(data_dir=db.parent / "data", db=str(db), **extra)


async def started_campaign(db: Path, *, turn_limit: int = 100_000, seed: int = 7) -> str:
    """Create and start an endless offline campaign in ``db``; its id."""
    async with open_dramatis(settings_for(db)) as app:
        view = await app.campaigns.create(endless(), seed=seed, turn_limit=turn_limit, offline=True)
        await app.campaigns.start(view.campaign_id)
    return view.campaign_id


def cli_env(db: Path) -> dict[str, str]:
    """The environment for a ``dramatis`` subprocess on ``db`` (no user config, no keys)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("GEMINI_API_KEY", "DRAMATIS_GEMINI_API_KEY")
    }
    env.update(
        DRAMATIS_DB=str(db),
        DRAMATIS_DATA_DIR=str(db.parent / "data"),
        DRAMATIS_CONFIG=str(db.parent / "no-config.toml"),
    )
    return env


def spawn_cli(db: Path, *args: str) -> subprocess.Popen[str]:
    """Start ``dramatis ARGS`` on ``db`` in its own process."""
    return subprocess.Popen(
        [sys.executable, "-m", "dramatis.cli", *args],
        env=cli_env(db),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def count_events(db: Path) -> int:
    """Events committed to ``db`` so far (0 while it has no tables yet)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    except sqlite3.OperationalError:  # the writer has not created the tables yet
        return 0


def wait_until(condition: Callable[[], bool], *, limit: float = 30.0, step: float = 0.002) -> bool:
    """Poll a real condition in a bounded loop (no fixed sleeps): True once it holds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


@dataclass
class CampaignAudit:
    """What the raw rows say about one campaign."""

    campaign_id: str
    status: str
    turns: list[int] = field(default_factory=list)
    participants: list[str] = field(default_factory=list)


@dataclass
class Audit:
    """Every campaign of a database and every problem found in its rows."""

    campaigns: dict[str, CampaignAudit]
    events: int
    problems: list[str]


def audit(db: Path, tenant: str = "default") -> Audit:
    """Check the invariants of section 3 on the raw rows of ``db``.

    Each stream's versions run 1..n without a gap; each campaign's turns run from 1 (or its
    fork point) without a gap or repeat; each TurnAdvanced has exactly one DecisionRecorded per
    participant for that turn, written in the same transaction (same record time), and no
    DecisionRecorded exists without its TurnAdvanced.
    """
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        rows = conn.execute(
            "SELECT stream_id, stream_type, version, event_type, payload, recorded_at "
            "FROM events WHERE tenant_id = ? ORDER BY position",
            (tenant,),
        ).fetchall()
    return audit_rows(rows)


def audit_rows(rows: list[tuple[str, str, int, str, str, str]]) -> Audit:
    """``audit`` on raw rows (stream_id, stream_type, version, event_type, payload JSON,
    recorded_at) in position order, from any store."""
    problems: list[str] = []
    versions: dict[str, list[int]] = defaultdict(list)
    campaigns: dict[str, CampaignAudit] = {}
    turn_times: dict[tuple[str, int], str] = {}
    decisions: dict[tuple[str, int], list[tuple[str, str]]] = defaultdict(list)
    first_turn: dict[str, int] = {}
    for stream_id, stream_type, version, event_type, payload_text, recorded_at in rows:
        versions[stream_id].append(version)
        payload = json.loads(payload_text)
        if stream_type == "campaign":
            if event_type == "CampaignCreated":
                campaigns[stream_id] = CampaignAudit(
                    stream_id,
                    "draft",
                    participants=[p["persona_id"] for p in payload["participants"]],
                )
                first_turn[stream_id] = (payload.get("forked_at_turn") or 0) + 1
            elif event_type == "TurnAdvanced":
                turn = payload["ledger"]["turn_number"]
                campaigns[stream_id].turns.append(turn)
                turn_times[(stream_id, turn)] = recorded_at
            elif event_type == "CampaignStarted":
                campaigns[stream_id].status = "active"
            elif event_type == "CampaignCompleted":
                campaigns[stream_id].status = "complete"
            elif event_type == "CampaignArchived":
                campaigns[stream_id].status = "archived"
        elif event_type == "DecisionRecorded":
            key = (payload["campaign_id"], payload["turn"])
            decisions[key].append((stream_id, recorded_at))
    for stream_id, seen in versions.items():
        if seen != list(range(1, len(seen) + 1)):
            problems.append(f"stream {stream_id} versions are not 1..n: {seen[:5]}...")
    for campaign in campaigns.values():
        start = first_turn[campaign.campaign_id]
        expected = list(range(start, start + len(campaign.turns)))
        if campaign.turns != expected:
            problems.append(f"campaign {campaign.campaign_id} turns are not contiguous")
        for turn in campaign.turns:
            made = decisions.get((campaign.campaign_id, turn), [])
            if sorted(pid for pid, _ in made) != sorted(campaign.participants):
                problems.append(
                    f"turn {turn} of {campaign.campaign_id} has decisions from "
                    f"{sorted(pid for pid, _ in made)}, not from every participant"
                )
            at = turn_times[(campaign.campaign_id, turn)]
            if any(when != at for _, when in made):
                problems.append(f"turn {turn} was not written in one transaction")
    for campaign_id, turn in decisions:
        if (campaign_id, turn) not in turn_times:
            problems.append(f"a decision for turn {turn} of {campaign_id} has no TurnAdvanced")
    return Audit(campaigns, len(rows), problems)
