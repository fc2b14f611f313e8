"""Campaign aggregate: commands, invariants, folding and snapshots."""

from __future__ import annotations

import json
import uuid

import pytest

from dramatis.domain.campaign import (
    TENSION_HISTORY_LIMIT,
    Campaign,
    CampaignAlreadyArchived,
    CampaignAlreadyStarted,
    CampaignArchived,
    CampaignCompleted,
    CampaignCreated,
    CampaignForked,
    CampaignNotFound,
    CampaignNotStarted,
    CampaignStarted,
    DuplicateParticipant,
    ForkOutOfRange,
    InvalidCampaignSettings,
    Participant,
    TurnAdvanced,
    TurnOutOfOrder,
    UnknownParticipant,
    WorldOutOfStep,
)
from dramatis.domain.campaign_file import ChroniclerSpec
from dramatis.domain.errors import (
    CampaignClosed,
    IncompatibleSnapshot,
    InvalidCommand,
    InvalidTimestamp,
    StreamMismatch,
    TooFewPersonas,
)
from dramatis.domain.ledger import ActionEntry, TurnLedger
from dramatis.domain.persona import CharacterSheetBound
from dramatis.domain.sheet import CharacterSheet
from dramatis.domain.world import Location, WorldBrief, WorldState

AT = "2025-03-01T10:00:00+00:00"
LATER = "2025-03-01T11:00:00Z"
PARTICIPANTS = (
    Participant(persona_id="ana", name="Ana Vell", brain="offline"),
    Participant(persona_id="bram", name="Bram Okafor", brain="gemini"),
)


def new_id() -> str:
    return str(uuid.uuid4())


def ledger(turn: int, persona_id: str = "ana", name: str = "Ana Vell") -> TurnLedger:
    return TurnLedger(
        turn_number=turn,
        timestamp=AT,
        action_log=(
            ActionEntry(
                persona_id=persona_id,
                persona_name=name,
                action="search",
                reasoning="The rope was wet; someone came this way.",
                outcome="success",
                roll=14,
                location="dock",
            ),
        ),
        duration_seconds=0.5,
        tension_before=0.2,
        tension_after=0.3,
    )


def world(turn: int, tension: float = 0.3, complete: bool = False) -> WorldState:
    return WorldState(turn=turn, tension=tension, positions={"ana": "dock"}, complete=complete)


def created(**overrides: object) -> tuple[str, list]:
    campaign_id = overrides.pop("campaign_id", None) or new_id()
    kwargs: dict = {
        "campaign_id": campaign_id,
        "tenant_id": "acme",
        "name": "Salt Road",
        "participants": PARTICIPANTS,
        "at": AT,
        "description": "Three travellers and a debt.",
        "turn_limit": 40,
        "seed": 7,
        "brief": WorldBrief(locations=(Location(id="dock", name="The Dock"),)),
        "chronicler": ChroniclerSpec(name="Old Mara", style="noir"),
    }
    kwargs.update(overrides)
    return campaign_id, Campaign.create(**kwargs)


def apply_all(campaign: Campaign, events: list) -> Campaign:
    for event in events:
        campaign.apply(event)
    return campaign


def active(turn_limit: int | None = 40, turns: int = 0) -> Campaign:
    _, events = created(turn_limit=turn_limit)
    campaign = Campaign.from_events(events)
    apply_all(campaign, campaign.start(world(0, tension=0.2), AT))
    for n in range(1, turns + 1):
        apply_all(campaign, campaign.advance_turn(ledger(n), world(n), AT))
    return campaign


# ---------------------------------------------------------------- create


def test_create_returns_one_created_event_and_folds_into_a_draft() -> None:
    campaign_id, events = created()
    assert [type(e) for e in events] == [CampaignCreated]
    campaign = Campaign.from_events(events)
    assert campaign.campaign_id == campaign_id
    assert campaign.tenant_id == "acme"
    assert campaign.name == "Salt Road"
    assert campaign.status == "draft"
    assert campaign.turn_limit == 40
    assert campaign.seed == 7
    assert campaign.participant_ids == ("ana", "bram")
    assert campaign.chronicler.name == "Old Mara"
    assert campaign.brief.locations[0].id == "dock"
    assert campaign.current_turn == 0
    assert campaign.world is None
    assert campaign.created_at == AT and campaign.updated_at == AT
    assert campaign.version == 1


def test_create_strips_the_name() -> None:
    _, events = created(name="  Salt Road  ")
    assert events[0].name == "Salt Road"


def test_one_persona_is_too_few() -> None:
    with pytest.raises(TooFewPersonas, match="at least 2 personas and this one has 1"):
        created(participants=PARTICIPANTS[:1])


def test_no_personas_is_too_few() -> None:
    with pytest.raises(TooFewPersonas, match="has 0; add another persona"):
        created(participants=())


def test_the_same_persona_twice_is_rejected() -> None:
    twice = (PARTICIPANTS[0], Participant(persona_id="ana", name="Ana again"))
    with pytest.raises(DuplicateParticipant, match=r"persona 'ana' .* is listed twice"):
        created(participants=twice)


@pytest.mark.parametrize("name", ["", "   "])
def test_a_campaign_needs_a_name(name: str) -> None:
    with pytest.raises(InvalidCampaignSettings, match="needs a name"):
        created(name=name)


def test_a_very_long_name_is_rejected() -> None:
    with pytest.raises(InvalidCampaignSettings, match="121 characters; keep it to 120"):
        created(name="x" * 121)


@pytest.mark.parametrize("limit", [0, -3])
def test_turn_limit_must_be_at_least_one(limit: int) -> None:
    with pytest.raises(
        InvalidCampaignSettings, match=f"turn_limit is {limit}; it must be at least 1"
    ):
        created(turn_limit=limit)


def test_no_turn_limit_is_allowed() -> None:
    _, events = created(turn_limit=None)
    assert Campaign.from_events(events).turns_remaining is None


def test_campaign_id_must_be_a_uuid4() -> None:
    with pytest.raises(InvalidCampaignSettings, match="'salt-road' is not a UUID"):
        created(campaign_id="salt-road")
    with pytest.raises(InvalidCampaignSettings, match="must be a version-4 UUID"):
        created(campaign_id=str(uuid.uuid1()))


def test_a_campaign_needs_a_tenant() -> None:
    with pytest.raises(InvalidCampaignSettings, match="needs a tenant id"):
        created(tenant_id=" ")


@pytest.mark.parametrize("bad", ["yesterday", "2025-03-01T10:00:00", "2025-03-01T10:00:00+02:00"])
def test_commands_reject_times_that_are_not_utc_iso(bad: str) -> None:
    with pytest.raises(InvalidTimestamp, match=r"ISO 8601|not in UTC"):
        created(at=bad)
    with pytest.raises(InvalidTimestamp):
        active().archive(bad)


def test_a_fork_needs_both_parent_and_turn() -> None:
    with pytest.raises(InvalidCampaignSettings, match="both forked_from and forked_at_turn"):
        created(forked_from=new_id())
    with pytest.raises(InvalidCampaignSettings, match="both forked_from and forked_at_turn"):
        created(forked_at_turn=3)


def test_a_fork_cannot_start_before_turn_zero() -> None:
    with pytest.raises(InvalidCampaignSettings, match="forked_at_turn is -1"):
        created(forked_from=new_id(), forked_at_turn=-1)


def test_a_campaign_is_not_its_own_parent() -> None:
    own = new_id()
    with pytest.raises(InvalidCampaignSettings, match="forked from itself"):
        created(campaign_id=own, forked_from=own, forked_at_turn=0)


def test_a_fork_needs_turns_left_under_its_limit() -> None:
    with pytest.raises(InvalidCampaignSettings, match="raise the limit above 12"):
        created(forked_from=new_id(), forked_at_turn=12, turn_limit=12)


# ---------------------------------------------------------------- start


def test_start_makes_the_campaign_active_with_its_world() -> None:
    _, events = created()
    campaign = Campaign.from_events(events)
    started = campaign.start(world(0, tension=0.25), LATER)
    assert [type(e) for e in started] == [CampaignStarted]
    apply_all(campaign, started)
    assert campaign.status == "active"
    assert campaign.world == world(0, tension=0.25)
    assert campaign.tension_history == (0.25,)
    assert campaign.updated_at == LATER
    assert campaign.version == 2


def test_start_twice_is_rejected() -> None:
    campaign = active()
    with pytest.raises(CampaignAlreadyStarted, match="'Salt Road' is already active"):
        campaign.start(world(0), AT)


def test_start_needs_the_world_of_the_current_turn() -> None:
    _, events = created()
    with pytest.raises(WorldOutOfStep, match="world of turn 5; pass the world of turn 0"):
        Campaign.from_events(events).start(world(5), AT)


def test_commands_on_a_campaign_never_created_are_rejected() -> None:
    with pytest.raises(CampaignNotFound, match=r"create it with Campaign\.create first"):
        Campaign().start(world(0), AT)
    with pytest.raises(CampaignNotFound):
        Campaign().archive(AT)


# ---------------------------------------------------------------- turns


def test_advance_turn_records_ledger_and_world() -> None:
    campaign = active()
    events = campaign.advance_turn(ledger(1), world(1, tension=0.4), LATER)
    assert [type(e) for e in events] == [TurnAdvanced]
    assert events[0].ledger == ledger(1)
    assert events[0].world == world(1, tension=0.4)
    apply_all(campaign, events)
    assert campaign.current_turn == 1
    assert campaign.last_ledger == ledger(1)
    assert campaign.world == world(1, tension=0.4)
    assert campaign.tension_history == (0.2, 0.4)
    assert campaign.turns_remaining == 39


def test_commands_do_not_mutate_the_aggregate() -> None:
    campaign = active(turns=2)
    before = campaign.to_snapshot()
    campaign.advance_turn(ledger(3), world(3), AT)
    campaign.complete("enough", AT)
    campaign.archive(AT)
    campaign.fork(new_id(), 1, AT)
    assert campaign.to_snapshot() == before
    assert campaign.version == 4


def test_a_draft_takes_no_turn() -> None:
    _, events = created()
    with pytest.raises(CampaignNotStarted, match="'Salt Road' has not started: start it first"):
        Campaign.from_events(events).advance_turn(ledger(1), world(1), AT)


def test_a_complete_campaign_takes_no_turn() -> None:
    campaign = active(turns=1)
    apply_all(campaign, campaign.complete("the debt was paid", AT))
    with pytest.raises(
        CampaignClosed, match="'Salt Road' is complete: it takes no more turns; fork it to continue"
    ):
        campaign.advance_turn(ledger(2), world(2), AT)


def test_an_archived_campaign_takes_no_turn() -> None:
    campaign = active(turns=1)
    apply_all(campaign, campaign.archive(AT))
    with pytest.raises(
        CampaignClosed, match="'Salt Road' is archived: it takes no more turns; fork it to continue"
    ):
        campaign.advance_turn(ledger(2), world(2), AT)


@pytest.mark.parametrize("turn", [1, 3, 5])
def test_turns_are_contiguous(turn: int) -> None:
    campaign = active(turns=1)
    with pytest.raises(TurnOutOfOrder, match=f"the next turn is 2, not {turn}"):
        campaign.advance_turn(ledger(turn), world(turn), AT)


def test_the_first_turn_is_turn_one() -> None:
    campaign = active()
    with pytest.raises(TurnOutOfOrder, match="at turn 0, so the next turn is 1, not 2"):
        campaign.advance_turn(ledger(2), world(2), AT)


def test_the_world_must_be_the_world_after_the_turn() -> None:
    campaign = active()
    with pytest.raises(WorldOutOfStep, match="with turn 1 says it is turn 0"):
        campaign.advance_turn(ledger(1), world(0), AT)


def test_a_ledger_may_only_name_participants() -> None:
    campaign = active()
    with pytest.raises(UnknownParticipant, match="'Cass' \\(cass\\), who is not in campaign"):
        campaign.advance_turn(ledger(1, persona_id="cass", name="Cass"), world(1), AT)


def test_reaching_the_turn_limit_completes_the_campaign() -> None:
    campaign = active(turn_limit=3, turns=2)
    events = campaign.advance_turn(ledger(3), world(3), LATER)
    assert [type(e) for e in events] == [TurnAdvanced, CampaignCompleted]
    assert events[1].turn == 3
    assert events[1].reason == "the turn limit of 3 was reached"
    apply_all(campaign, events)
    assert campaign.status == "complete"
    assert campaign.completion_reason == "the turn limit of 3 was reached"
    assert campaign.turns_remaining == 0
    with pytest.raises(CampaignClosed):
        campaign.advance_turn(ledger(4), world(4), AT)


def test_the_story_ending_completes_the_campaign() -> None:
    campaign = active(turn_limit=None)
    events = campaign.advance_turn(ledger(1), world(1, complete=True), AT)
    assert [type(e) for e in events] == [TurnAdvanced, CampaignCompleted]
    assert events[1].reason == "the story reached its end"


def test_a_turn_before_the_limit_does_not_complete() -> None:
    campaign = active(turn_limit=3, turns=1)
    assert [type(e) for e in campaign.advance_turn(ledger(2), world(2), AT)] == [TurnAdvanced]


# ---------------------------------------------------------------- complete, archive


def test_complete_ends_an_active_campaign_with_its_reason() -> None:
    campaign = active(turns=2)
    events = campaign.complete("  the debt was paid ", LATER)
    assert events == [
        CampaignCompleted(
            campaign_id=campaign.campaign_id, turn=2, reason="the debt was paid", at=LATER
        )
    ]


def test_complete_needs_a_reason() -> None:
    with pytest.raises(InvalidCommand, match="say why the campaign is being completed"):
        active().complete("  ", AT)


def test_a_draft_cannot_be_completed() -> None:
    _, events = created()
    with pytest.raises(CampaignNotStarted, match="start it first"):
        Campaign.from_events(events).complete("done", AT)


def test_complete_twice_is_rejected() -> None:
    campaign = active()
    apply_all(campaign, campaign.complete("done", AT))
    with pytest.raises(CampaignClosed, match="is complete"):
        campaign.complete("done again", AT)


@pytest.mark.parametrize("status", ["draft", "active", "complete"])
def test_archive_from_any_open_status(status: str) -> None:
    _, events = created()
    campaign = Campaign.from_events(events)
    if status != "draft":
        apply_all(campaign, campaign.start(world(0), AT))
    if status == "complete":
        apply_all(campaign, campaign.complete("done", AT))
    archived = campaign.archive(LATER)
    assert archived == [
        CampaignArchived(campaign_id=campaign.campaign_id, previous_status=status, at=LATER)
    ]
    apply_all(campaign, archived)
    assert campaign.status == "archived"


def test_archive_twice_is_rejected() -> None:
    campaign = active()
    apply_all(campaign, campaign.archive(AT))
    with pytest.raises(CampaignAlreadyArchived, match="'Salt Road' is already archived"):
        campaign.archive(AT)


# ---------------------------------------------------------------- fork


def test_fork_writes_campaign_forked_on_the_parent() -> None:
    parent = active(turns=3)
    child_id = new_id()
    events = parent.fork(child_id, 2, LATER)
    assert events == [
        CampaignForked(
            campaign_id=parent.campaign_id, child_campaign_id=child_id, at_turn=2, at=LATER
        )
    ]
    apply_all(parent, events)
    assert parent.children == (child_id,)


@pytest.mark.parametrize("at_turn", [-1, 4, 10])
def test_fork_only_at_played_turns(at_turn: int) -> None:
    parent = active(turns=3)
    with pytest.raises(ForkOutOfRange, match=f"forked at turns 0..3, not at turn {at_turn}"):
        parent.fork(new_id(), at_turn, AT)


@pytest.mark.parametrize("at_turn", [0, 3])
def test_fork_at_the_bounds(at_turn: int) -> None:
    parent = active(turns=3)
    assert parent.fork(new_id(), at_turn, AT)[0].at_turn == at_turn


def test_a_draft_cannot_be_forked() -> None:
    _, events = created()
    with pytest.raises(CampaignNotStarted, match="nothing to fork; create a new campaign"):
        Campaign.from_events(events).fork(new_id(), 0, AT)


def test_a_fork_needs_its_own_new_id() -> None:
    parent = active(turns=1)
    with pytest.raises(InvalidCampaignSettings, match="new campaign id, not its parent's"):
        parent.fork(parent.campaign_id, 1, AT)
    child_id = new_id()
    apply_all(parent, parent.fork(child_id, 1, AT))
    with pytest.raises(InvalidCampaignSettings, match="already a fork of 'Salt Road'"):
        parent.fork(child_id, 1, AT)
    with pytest.raises(InvalidCampaignSettings, match="is not a UUID"):
        parent.fork("child", 1, AT)


def test_an_archived_campaign_can_be_forked_and_the_child_plays_on() -> None:
    parent = active(turns=3)
    apply_all(parent, parent.archive(AT))
    child_id = new_id()
    child_events = parent.child_created(child_id, 2, LATER)
    first = child_events[0]
    assert isinstance(first, CampaignCreated)
    assert first.forked_from == parent.campaign_id
    assert first.forked_at_turn == 2
    assert first.name == "Salt Road (fork at turn 2)"
    assert first.participants == parent.participants
    assert first.chronicler == parent.chronicler
    child = Campaign.from_events(child_events)
    assert child.current_turn == 2
    assert child.status == "draft"
    with pytest.raises(WorldOutOfStep, match="pass the world of turn 2"):
        child.start(world(0), AT)
    apply_all(child, child.start(world(2), AT))
    with pytest.raises(TurnOutOfOrder, match="next turn is 3, not 1"):
        child.advance_turn(ledger(1), world(1), AT)
    apply_all(child, child.advance_turn(ledger(3), world(3), AT))
    assert child.current_turn == 3
    with pytest.raises(ForkOutOfRange, match=r"forked at turns 2\.\.3, not at turn 1"):
        child.fork(new_id(), 1, AT)


def test_the_fork_of_a_campaign_at_its_limit_has_no_limit() -> None:
    parent = active(turn_limit=2, turns=2)
    assert parent.status == "complete"
    child = Campaign.from_events(parent.child_created(new_id(), 2, AT, name="Salt Road II"))
    assert child.name == "Salt Road II"
    assert child.turn_limit is None
    keeps = Campaign.from_events(active(turn_limit=5, turns=2).child_created(new_id(), 1, AT))
    assert keeps.turn_limit == 5


# ---------------------------------------------------------------- apply


def test_apply_rejects_events_of_another_campaign() -> None:
    campaign = active()
    other = active()
    stray = other.advance_turn(ledger(1), world(1), AT)[0]
    with pytest.raises(StreamMismatch, match=f"belongs to campaign {other.campaign_id}"):
        campaign.apply(stray)


def test_apply_rejects_a_second_created_event() -> None:
    campaign = active()
    _, events = created()
    with pytest.raises(StreamMismatch, match="already created"):
        campaign.apply(events[0])


def test_apply_rejects_events_before_created() -> None:
    event = CampaignStarted(campaign_id=new_id(), world=world(0), at=AT)
    with pytest.raises(StreamMismatch, match="came before CampaignCreated"):
        Campaign().apply(event)


def test_apply_rejects_a_gap_in_the_turns() -> None:
    campaign = active(turns=1)
    gap = TurnAdvanced(campaign_id=campaign.campaign_id, ledger=ledger(3), world=world(3), at=AT)
    with pytest.raises(StreamMismatch, match=r"turn 3 follows turn 1 .* has a gap"):
        campaign.apply(gap)


def test_apply_rejects_a_turn_on_a_closed_campaign() -> None:
    campaign = active(turns=1)
    apply_all(campaign, campaign.archive(AT))
    late = TurnAdvanced(campaign_id=campaign.campaign_id, ledger=ledger(2), world=world(2), at=AT)
    with pytest.raises(StreamMismatch, match=r"while campaign .* was archived"):
        campaign.apply(late)


def test_apply_rejects_events_of_other_aggregates() -> None:
    sheet = CharacterSheet(name="Ana Vell")
    foreign = CharacterSheetBound(
        persona_id="ana", sheet=sheet, sheet_hash=sheet.sheet_hash(), at=AT
    )
    with pytest.raises(StreamMismatch, match="CharacterSheetBound is not a campaign event"):
        active().apply(foreign)


# ---------------------------------------------------------------- replay and snapshots


def full_history(turns: int = 5) -> list:
    _, events = created(turn_limit=None)
    campaign = Campaign.from_events(events)
    history = list(events)

    def run(new: list) -> None:
        history.extend(new)
        apply_all(campaign, new)

    run(campaign.start(world(0, tension=0.2), AT))
    for n in range(1, turns + 1):
        run(campaign.advance_turn(ledger(n), world(n, tension=min(1.0, 0.2 + n / 20)), AT))
    run(campaign.fork(new_id(), 2, AT))
    run(campaign.complete("the debt was paid", LATER))
    run(campaign.archive(LATER))
    return history


def test_replay_equals_the_snapshot_round_trip() -> None:
    history = full_history()
    replayed = Campaign.from_events(history)
    through_json = json.loads(json.dumps(replayed.to_snapshot()))
    restored = Campaign.from_snapshot(through_json)
    assert restored == replayed
    assert restored.to_snapshot() == replayed.to_snapshot()
    assert restored.status == "archived"
    assert restored.completion_reason == "the debt was paid"
    assert restored.version == len(history)


def test_snapshot_plus_later_events_equals_full_replay() -> None:
    history = full_history()
    head = Campaign.from_events(history[:4])
    resumed = Campaign.from_events(history[4:], snapshot=head.to_snapshot())
    assert resumed == Campaign.from_events(history)
    assert resumed != head


def test_the_aggregate_does_not_grow_with_the_timeline() -> None:
    campaign = active(turn_limit=None)
    sizes = {}
    for n in range(1, TENSION_HISTORY_LIMIT + 61):
        apply_all(campaign, campaign.advance_turn(ledger(n), world(n, tension=0.5), AT))
        if n in (250, 260):
            sizes[n] = len(json.dumps(campaign.to_snapshot()))
    assert len(campaign.tension_history) == TENSION_HISTORY_LIMIT
    assert campaign.tension_history[-1] == 0.5
    assert campaign.current_turn == 260
    assert sizes[250] == sizes[260]


def test_a_snapshot_of_another_shape_is_incompatible() -> None:
    snapshot = active().to_snapshot()
    snapshot["status"] = "paused"
    with pytest.raises(IncompatibleSnapshot, match="replay the stream from its first event"):
        Campaign.from_snapshot(snapshot)
