"""Domain events: serialisation round trips, immutability, upcasting and timestamps."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from dramatis.domain.campaign import (
    CAMPAIGN_EVENTS,
    CampaignArchived,
    CampaignCompleted,
    CampaignCreated,
    CampaignForked,
    CampaignStarted,
    Participant,
    TurnAdvanced,
)
from dramatis.domain.campaign_file import ChroniclerSpec
from dramatis.domain.chronicle import (
    CHRONICLE_EVENTS,
    ChapterDrafted,
    ChroniclePublished,
    MediaAsset,
    MediaAttached,
    chronicle_id_for,
)
from dramatis.domain.control_plane import (
    CONTROL_PLANE_EVENTS,
    SLO,
    Contact,
    ContactsUpdated,
    FlagUpdated,
    RunbookUpdated,
    SLOBreached,
    SLORecorded,
)
from dramatis.domain.errors import InvalidTimestamp, UnknownEventType
from dramatis.domain.events import DomainEvent, check_timestamp, decode_event, require_timestamp
from dramatis.domain.ledger import ActionEntry, Decision, FiredEvent, Provenance, TurnLedger
from dramatis.domain.persona import PERSONA_EVENTS, CharacterSheetBound, DecisionRecorded
from dramatis.domain.sheet import CharacterSheet
from dramatis.domain.world import BriefEvent, Location, Trigger, WorldBrief, WorldState

AT = "2025-03-01T10:00:00+00:00"
CAMPAIGN = str(uuid.UUID("6b0f6a53-1f1c-4a43-9d9e-0f6b1f8f2a11"))
CHILD = str(uuid.UUID("0c9a3f0e-7a57-4b0b-8f57-4dd8fbb0a2c3"))

SHEET = CharacterSheet(
    name="Ana Vell",
    personality=("cautious",),
    decision_weights={"self_preservation": 0.8},
    stats={"wits": 4},
    extensions={"depth_prompt": {"depth": 4, "prompt": "Remember the debt."}},
    source_format="card_v2",
)
WORLD = WorldState(
    turn=1,
    tension=0.45,
    positions={"ana": "dock", "bram": "ferry"},
    danger={"dock": 0.3},
    hidden_clues=("ledger page",),
    discovered_clues=("wet rope",),
    resources={"lamp oil": 2},
    counters={"debt": 3},
    trust={"ana": {"bram": -0.25}},
    knowledge={"ana": ("wet rope",)},
    perceptions={"ana": ("Bram left toward the ferry",)},
    fired_events=("storm",),
    flags={"aid:ana": 1.0},
)
LEDGER = TurnLedger(
    turn_number=1,
    timestamp=AT,
    action_log=(
        ActionEntry(
            persona_id="ana",
            persona_name="Ana Vell",
            action="search",
            reasoning="The rope is wet.",
            outcome="success",
            roll=17,
            location="dock",
            consequence="found the wet rope",
        ),
    ),
    duration_seconds=1.25,
    events=(FiredEvent(id="storm", title="Storm", text="Rain hammers the piers."),),
    tension_before=0.3,
    tension_after=0.45,
)
BRIEF = WorldBrief(
    opening="Fog on the salt road.",
    locations=(
        Location(id="dock", name="The Dock", exits=("ferry",)),
        Location(id="ferry", name="Ferry"),
    ),
    start_location="dock",
    clues=("wet rope", "ledger page"),
    events=(
        BriefEvent(id="storm", title="Storm", text="Rain.", trigger=Trigger(kind="turn", turn=1)),
    ),
)
SLO_DEF = SLO(
    name="turn-latency-p95",
    comparator="<",
    objective=2000.0,
    unit="ms",
    measurement_source="turn duration histogram",
)


def samples() -> list[DomainEvent]:
    """One fully populated instance of every aggregate event type."""
    chronicle_id = chronicle_id_for(CAMPAIGN)
    return [
        CampaignCreated(
            campaign_id=CAMPAIGN,
            tenant_id="acme",
            name="Salt Road",
            description="Three travellers and a debt.",
            turn_limit=40,
            seed=7,
            participants=(
                Participant(persona_id="ana", name="Ana Vell"),
                Participant(persona_id="bram", name="Bram", brain="human"),
            ),
            brief=BRIEF,
            chronicler=ChroniclerSpec(name="Old Mara", style="noir", turns_per_chapter=5),
            forked_from=CHILD,
            forked_at_turn=3,
            at=AT,
        ),
        CampaignStarted(campaign_id=CAMPAIGN, world=WORLD, at=AT),
        TurnAdvanced(campaign_id=CAMPAIGN, ledger=LEDGER, world=WORLD, at=AT),
        CampaignCompleted(campaign_id=CAMPAIGN, turn=1, reason="the story reached its end", at=AT),
        CampaignArchived(campaign_id=CAMPAIGN, previous_status="complete", at=AT),
        CampaignForked(campaign_id=CAMPAIGN, child_campaign_id=CHILD, at_turn=1, at=AT),
        CharacterSheetBound(persona_id="ana", sheet=SHEET, sheet_hash=SHEET.sheet_hash(), at=AT),
        DecisionRecorded(
            persona_id="ana",
            campaign_id=CAMPAIGN,
            turn=1,
            decision=Decision(
                action="confront",
                target="bram",
                reasoning="He knows more than he says.",
                provenance=Provenance(
                    source="gemini",
                    model="gemini-2.5-flash",
                    latency_ms=412.5,
                    tokens_in=900,
                    tokens_out=40,
                    prompt_hash="ab" * 32,
                ),
            ),
            context_text="You are Ana Vell.\nOptions: confront Bram; wait.",
            sheet_hash=SHEET.sheet_hash(),
            outcome="partial",
            at=AT,
        ),
        ChapterDrafted(
            chronicle_id=chronicle_id,
            campaign_id=CAMPAIGN,
            number=1,
            title="Wet Rope",
            markdown="# Wet Rope\n\nAna searched the dock.",
            cited_turns=(1,),
            chronicler="Old Mara",
            style="noir",
            at=AT,
        ),
        MediaAttached(
            chronicle_id=chronicle_id,
            campaign_id=CAMPAIGN,
            asset=MediaAsset(
                asset_id="map-1",
                storage_url="s3://media/map.png",
                media_type="image/png",
                checksum=hashlib.sha256(b"map").hexdigest(),
                accessibility_text="A map of the dock.",
                chapter=1,
            ),
            at=AT,
        ),
        ChroniclePublished(
            chronicle_id=chronicle_id,
            campaign_id=CAMPAIGN,
            destination="exports/salt.md",
            format="md",
            chapter_count=1,
            at=AT,
        ),
        FlagUpdated(
            flag="ssh-play",
            stage="percent:20",
            owner="Rosa",
            rollback_plan="Set it off.",
            reason="canary",
            previous_stage="internal",
            at=AT,
        ),
        SLORecorded(name=SLO_DEF.name, value=2100.0, definition=SLO_DEF, at=AT),
        SLOBreached(
            name=SLO_DEF.name, value=2100.0, comparator="<", objective=2000.0, unit="ms", at=AT
        ),
        RunbookUpdated(name="gemini outage", markdown="1. Switch brains offline.", at=AT),
        ContactsUpdated(
            contacts=(Contact(name="Rosa", role="on-call", channel="rosa@example.org"),),
            adr_pointers=("docs/adr/0001-event-store.md",),
            at=AT,
        ),
    ]


ALL_EVENT_TYPES = (*CAMPAIGN_EVENTS, *PERSONA_EVENTS, *CHRONICLE_EVENTS, *CONTROL_PLANE_EVENTS)


def test_samples_cover_every_aggregate_event_type() -> None:
    assert {type(e) for e in samples()} == set(ALL_EVENT_TYPES)
    assert len({cls.event_type for cls in ALL_EVENT_TYPES}) == len(ALL_EVENT_TYPES)


@pytest.mark.parametrize("event", samples(), ids=lambda e: e.event_type)
def test_every_event_round_trips_through_json(event: DomainEvent) -> None:
    stored = json.loads(json.dumps(event.to_payload()))
    decoded = decode_event(event.event_type, event.schema_version, stored)
    assert type(decoded) is type(event)
    assert decoded == event
    assert decoded.to_payload() == event.to_payload()


@pytest.mark.parametrize("event", samples(), ids=lambda e: e.event_type)
def test_every_event_is_immutable(event: DomainEvent) -> None:
    with pytest.raises(ValidationError, match="frozen"):
        event.at = "2030-01-01T00:00:00Z"  # type: ignore[misc]


@pytest.mark.parametrize("event", samples(), ids=lambda e: e.event_type)
def test_unknown_payload_keys_are_refused(event: DomainEvent) -> None:
    payload = {**event.to_payload(), "smuggled": True}
    with pytest.raises(ValidationError, match="smuggled"):
        decode_event(event.event_type, event.schema_version, payload)


def test_event_types_and_versions_are_declared() -> None:
    versions = {cls.event_type: cls.schema_version for cls in ALL_EVENT_TYPES}
    assert versions["CampaignCreated"] == 2
    assert all(v >= 1 for v in versions.values())


# ---------------------------------------------------------------- upcasting


def v1_campaign_created() -> dict[str, Any]:
    payload = samples()[0].to_payload()
    del payload["chronicler"]
    return payload


def test_a_v1_campaign_created_is_upcast_with_the_default_chronicler() -> None:
    decoded = decode_event("CampaignCreated", 1, v1_campaign_created())
    assert isinstance(decoded, CampaignCreated)
    assert decoded.chronicler == ChroniclerSpec()
    assert decoded.name == "Salt Road"
    assert decoded.participants == samples()[0].participants


def test_without_the_upcaster_a_v1_payload_would_not_validate() -> None:
    with pytest.raises(ValidationError, match="chronicler"):
        CampaignCreated.model_validate(v1_campaign_created())


def test_a_v1_payload_that_names_a_chronicler_keeps_it() -> None:
    payload = {**v1_campaign_created(), "chronicler": {"name": "Old Mara", "style": "noir"}}
    decoded = decode_event("CampaignCreated", 1, payload)
    assert decoded.chronicler == ChroniclerSpec(name="Old Mara", style="noir")


def test_a_newer_schema_version_is_refused() -> None:
    with pytest.raises(UnknownEventType, match="CampaignCreated v3 is newer than this build"):
        decode_event("CampaignCreated", 3, samples()[0].to_payload())


# ---------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    "value", ["2025-03-01T10:00:00Z", "2025-03-01T10:00:00+00:00", "2025-03-01T10:00:00.123456Z"]
)
def test_utc_iso_times_are_accepted(value: str) -> None:
    assert check_timestamp(value) == value
    assert require_timestamp(value) == value
    assert RunbookUpdated(name="r", markdown="m", at=value).at == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday", "not an ISO 8601 time"),
        ("2025-03-01T10:00:00", "not in UTC"),
        ("2025-03-01T12:00:00+02:00", "not in UTC"),
    ],
)
def test_other_times_are_refused(value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RunbookUpdated(name="r", markdown="m", at=value)
    with pytest.raises(InvalidTimestamp, match=message):
        require_timestamp(value)
