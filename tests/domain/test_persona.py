"""Persona aggregate: sheet binding, decisions, folding and snapshots."""

from __future__ import annotations

import hashlib
import json

import pytest

from dramatis.domain.campaign import CampaignArchived
from dramatis.domain.errors import IncompatibleSnapshot, InvalidTimestamp, StreamMismatch
from dramatis.domain.events import decode_event
from dramatis.domain.ledger import Decision, Provenance
from dramatis.domain.persona import (
    CharacterSheetBound,
    DecisionOutOfOrder,
    DecisionRecorded,
    InvalidPersonaCommand,
    MissingFallbackPolicy,
    NoSheetBound,
    Persona,
    SheetHashMismatch,
)
from dramatis.domain.sheet import CharacterSheet

AT = "2025-03-01T10:00:00+00:00"
LATER = "2025-03-01T11:00:00Z"
CAMPAIGN = "6b0f6a53-1f1c-4a43-9d9e-0f6b1f8f2a11"
OTHER_CAMPAIGN = "0c9a3f0e-7a57-4b0b-8f57-4dd8fbb0a2c3"

SHEET = CharacterSheet(
    name="Ana Vell",
    summary="A smuggler who owes the wrong people.",
    personality=("cautious", "dry-witted"),
    decision_weights={"self_preservation": 0.8, "loyalty": 0.4},
    goals=("pay the debt",),
    speech="Rope tells you who passed, if you listen.",
    stats={"wits": 4, "nerve": 2},
)
DECISION = Decision(
    action="search",
    reasoning="The rope is wet. Someone came this way.",
    provenance=Provenance(source="offline"),
)
CONTEXT = "You are Ana Vell. Tension 0.3. Options: search the dock; wait."


def bound(sheet: CharacterSheet = SHEET) -> Persona:
    persona = Persona()
    for event in persona.ingest_character_sheet("ana", sheet, AT):
        persona.apply(event)
    return persona


def decide(persona: Persona, campaign_id: str, turn: int) -> list:
    events = persona.record_decision(campaign_id, turn, DECISION, CONTEXT, AT, outcome="success")
    for event in events:
        persona.apply(event)
    return events


# ---------------------------------------------------------------- binding


def test_ingest_binds_the_sheet_with_the_sha256_of_its_canonical_form() -> None:
    events = Persona().ingest_character_sheet("ana", SHEET, AT)
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, CharacterSheetBound)
    canonical = json.dumps(SHEET.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    assert event.sheet_hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert event.sheet == SHEET
    persona = Persona.from_events(events)
    assert persona.persona_id == "ana"
    assert persona.name == "Ana Vell"
    assert persona.sheet_hash == event.sheet_hash
    assert persona.bound_at == AT
    assert persona.version == 1


def test_rebinding_a_changed_sheet_changes_the_hash() -> None:
    persona = bound()
    old_hash = persona.sheet_hash
    braver = SHEET.model_copy(update={"stats": {"wits": 4, "nerve": 4}})
    events = persona.ingest_character_sheet("ana", braver, LATER)
    assert persona.sheet_hash == old_hash  # commands do not mutate
    for event in events:
        persona.apply(event)
    assert persona.sheet == braver
    assert persona.sheet_hash == braver.sheet_hash() != old_hash
    assert persona.bound_at == LATER
    assert persona.version == 2


def test_rebinding_the_same_sheet_records_nothing() -> None:
    assert bound().ingest_character_sheet("ana", SHEET, LATER) == []


def test_a_sheet_for_another_persona_is_rejected() -> None:
    with pytest.raises(InvalidPersonaCommand, match="this is persona 'ana'; a sheet for 'bram'"):
        bound().ingest_character_sheet("bram", SHEET, AT)


def test_a_persona_needs_an_id() -> None:
    with pytest.raises(InvalidPersonaCommand, match="needs an id"):
        Persona().ingest_character_sheet("  ", SHEET, AT)


@pytest.mark.parametrize("policy", ["", "   "])
def test_a_fallback_policy_is_required(policy: str) -> None:
    # model_copy skips validation: this is how a sheet built elsewhere could arrive without one
    sheet = SHEET.model_copy(update={"fallback_policy": policy})
    with pytest.raises(MissingFallbackPolicy, match="'Ana Vell' has no fallback policy"):
        Persona().ingest_character_sheet("ana", sheet, AT)


def test_ingest_rejects_a_bad_time() -> None:
    with pytest.raises(InvalidTimestamp, match="not in UTC"):
        Persona().ingest_character_sheet("ana", SHEET, "2025-03-01T10:00:00")


def test_apply_rejects_a_hash_that_does_not_match_the_sheet() -> None:
    forged = CharacterSheetBound(persona_id="ana", sheet=SHEET, sheet_hash="0" * 64, at=AT)
    with pytest.raises(SheetHashMismatch, match="says 000000000000…; the sheet was altered"):
        Persona().apply(forged)


def test_a_sheet_edited_in_storage_is_caught_on_replay() -> None:
    event = Persona().ingest_character_sheet("ana", SHEET, AT)[0]
    payload = event.to_payload()
    payload["sheet"]["stats"]["nerve"] = 5  # tampered after it was written
    decoded = decode_event("CharacterSheetBound", 1, payload)
    with pytest.raises(SheetHashMismatch, match="re-import it"):
        Persona.from_events([decoded])


# ---------------------------------------------------------------- decisions


def test_record_decision_keeps_the_exact_context_and_sheet_hash() -> None:
    persona = bound()
    events = persona.record_decision(CAMPAIGN, 1, DECISION, CONTEXT, LATER)
    assert events == [
        DecisionRecorded(
            persona_id="ana",
            campaign_id=CAMPAIGN,
            turn=1,
            decision=DECISION,
            context_text=CONTEXT,
            sheet_hash=SHEET.sheet_hash(),
            at=LATER,
        )
    ]
    assert persona.decision_count == 0  # commands do not mutate


def test_decisions_update_memberships_and_last_turns_not_history() -> None:
    persona = bound()
    decide(persona, CAMPAIGN, 1)
    decide(persona, OTHER_CAMPAIGN, 4)
    decide(persona, CAMPAIGN, 3)
    assert persona.memberships == (CAMPAIGN, OTHER_CAMPAIGN)
    assert persona.last_turn_by_campaign == {CAMPAIGN: 3, OTHER_CAMPAIGN: 4}
    assert persona.decision_count == 3
    assert persona.version == 4


def test_a_decision_needs_a_bound_sheet() -> None:
    with pytest.raises(NoSheetBound, match="has no character sheet; import one"):
        Persona().record_decision(CAMPAIGN, 1, DECISION, CONTEXT, AT)


@pytest.mark.parametrize("turn", [2, 1])
def test_decisions_per_campaign_have_strictly_increasing_turns(turn: int) -> None:
    persona = bound()
    decide(persona, CAMPAIGN, 2)
    with pytest.raises(
        DecisionOutOfOrder, match=f"Ana Vell already decided turn 2 .* for turn {turn}"
    ):
        persona.record_decision(CAMPAIGN, turn, DECISION, CONTEXT, AT)
    # another campaign keeps its own count
    assert persona.record_decision(OTHER_CAMPAIGN, 1, DECISION, CONTEXT, AT)


def test_a_decision_needs_a_real_turn_and_campaign() -> None:
    persona = bound()
    with pytest.raises(InvalidPersonaCommand, match="turns are numbered from 1"):
        persona.record_decision(CAMPAIGN, 0, DECISION, CONTEXT, AT)
    with pytest.raises(InvalidPersonaCommand, match="must name the campaign"):
        persona.record_decision(" ", 1, DECISION, CONTEXT, AT)


def test_decisions_recorded_under_an_older_sheet_keep_that_hash() -> None:
    persona = bound()
    first = decide(persona, CAMPAIGN, 1)[0]
    braver = SHEET.model_copy(update={"stats": {"wits": 4, "nerve": 5}})
    for event in persona.ingest_character_sheet("ana", braver, AT):
        persona.apply(event)
    second = decide(persona, CAMPAIGN, 2)[0]
    assert first.sheet_hash == SHEET.sheet_hash()
    assert second.sheet_hash == braver.sheet_hash()


# ---------------------------------------------------------------- apply


def test_apply_rejects_events_of_another_persona() -> None:
    other = Persona().ingest_character_sheet("bram", SHEET.model_copy(update={"name": "Bram"}), AT)
    with pytest.raises(StreamMismatch, match="belongs to persona 'bram', not 'ana'"):
        bound().apply(other[0])


def test_apply_rejects_a_decision_before_any_sheet() -> None:
    event = DecisionRecorded(
        persona_id="ana",
        campaign_id=CAMPAIGN,
        turn=1,
        decision=DECISION,
        context_text=CONTEXT,
        sheet_hash=SHEET.sheet_hash(),
        at=AT,
    )
    with pytest.raises(StreamMismatch, match="decision before any sheet was bound"):
        Persona().apply(event)


def test_apply_rejects_decisions_out_of_order() -> None:
    persona = bound()
    later, earlier = (
        persona.record_decision(CAMPAIGN, 5, DECISION, CONTEXT, AT)[0],
        persona.record_decision(CAMPAIGN, 4, DECISION, CONTEXT, AT)[0],
    )
    persona.apply(later)
    with pytest.raises(StreamMismatch, match=r"turn 4 of campaign .* follows turn 5"):
        persona.apply(earlier)


def test_apply_rejects_events_of_other_aggregates() -> None:
    foreign = CampaignArchived(campaign_id=CAMPAIGN, previous_status="active", at=AT)
    with pytest.raises(StreamMismatch, match="CampaignArchived is not a persona event"):
        bound().apply(foreign)


# ---------------------------------------------------------------- replay and snapshots


def test_replay_equals_the_snapshot_round_trip() -> None:
    persona = Persona()
    history: list = []
    for event in persona.ingest_character_sheet("ana", SHEET, AT):
        history.append(event)
        persona.apply(event)
    for campaign, turn in [(CAMPAIGN, 1), (OTHER_CAMPAIGN, 1), (CAMPAIGN, 2)]:
        history.extend(decide(persona, campaign, turn))
    replayed = Persona.from_events(history)
    restored = Persona.from_snapshot(json.loads(json.dumps(replayed.to_snapshot())))
    assert restored == replayed == persona
    assert restored.sheet == SHEET
    assert restored.last_turn_by_campaign == {CAMPAIGN: 2, OTHER_CAMPAIGN: 1}
    resumed = Persona.from_events(
        history[2:], snapshot=Persona.from_events(history[:2]).to_snapshot()
    )
    assert resumed == replayed


def test_a_snapshot_whose_sheet_does_not_match_its_hash_is_refused() -> None:
    snapshot = bound().to_snapshot()
    snapshot["sheet"]["name"] = "Someone Else"
    with pytest.raises(IncompatibleSnapshot, match="does not match its hash"):
        Persona.from_snapshot(snapshot)


def test_a_snapshot_of_another_shape_is_incompatible() -> None:
    snapshot = bound().to_snapshot()
    del snapshot["decision_count"]
    with pytest.raises(IncompatibleSnapshot, match="persona snapshot does not fit"):
        Persona.from_snapshot(snapshot)
