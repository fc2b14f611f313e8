"""ControlPlane aggregate: flags, SLOs, runbooks, contacts, folding and snapshots."""

from __future__ import annotations

import json

import pytest

from dramatis.domain.campaign import CampaignArchived
from dramatis.domain.control_plane import (
    CONTROL_PLANE_STREAM,
    SLO,
    SLO_RECENT_LIMIT,
    Contact,
    ContactsUpdated,
    ControlPlane,
    Flag,
    FlagUpdated,
    InvalidContacts,
    InvalidFlagName,
    InvalidFlagStage,
    InvalidRunbook,
    InvalidSLO,
    RunbookUpdated,
    SLOBreached,
    SLORecorded,
    UnsafeToggle,
    parse_stage,
    rollout_bucket,
)
from dramatis.domain.errors import IncompatibleSnapshot, StreamMismatch

AT = "2025-03-01T10:00:00+00:00"
LATER = "2025-03-01T12:00:00Z"
OWNER = "Rosa Lind"
ROLLBACK = "Set the flag to off; no data migration is involved."

LATENCY = SLO(
    name="turn-latency-p95",
    comparator="<",
    objective=2000.0,
    unit="ms",
    measurement_source="services.turns duration histogram",
)
FALLBACK = SLO(
    name="offline-fallback-success",
    comparator=">",
    objective=0.99,
    unit="ratio",
    measurement_source="DecisionRecorded provenance, daily query",
)


def run(plane: ControlPlane, events: list) -> list:
    for event in events:
        plane.apply(event)
    return events


def toggled(name: str, stage: str) -> ControlPlane:
    plane = ControlPlane()
    run(plane, plane.toggle_flag(name, stage, OWNER, ROLLBACK, "rollout", AT))
    return plane


# ---------------------------------------------------------------- flags


def test_the_control_plane_has_one_stream_per_tenant() -> None:
    assert CONTROL_PLANE_STREAM == "control-plane"
    assert ControlPlane.stream_id == CONTROL_PLANE_STREAM


def test_toggle_flag_records_owner_plan_and_previous_stage() -> None:
    plane = ControlPlane()
    first = plane.toggle_flag("gemini-brains", "internal", f" {OWNER} ", ROLLBACK, "dogfood", AT)
    assert first == [
        FlagUpdated(
            flag="gemini-brains",
            stage="internal",
            owner=OWNER,
            rollback_plan=ROLLBACK,
            reason="dogfood",
            previous_stage=None,
            at=AT,
        )
    ]
    assert plane.version == 0  # commands do not mutate
    run(plane, first)
    second = run(
        plane, plane.toggle_flag("gemini-brains", "percent:25", OWNER, ROLLBACK, "", LATER)
    )
    assert second[0].previous_stage == "internal"
    assert plane.flags["gemini-brains"] == Flag(
        name="gemini-brains",
        stage="percent:25",
        owner=OWNER,
        rollback_plan=ROLLBACK,
        updated_at=LATER,
    )
    assert plane.flag_stage("gemini-brains") == "percent:25"
    assert plane.flag_stage("never-set") == "off"


@pytest.mark.parametrize(
    ("stage", "normalised"),
    [
        ("off", "off"),
        ("internal", "internal"),
        (" ON ", "on"),
        ("percent:1", "percent:1"),
        ("percent:99", "percent:99"),
        ("percent:07", "percent:7"),
    ],
)
def test_valid_stages(stage: str, normalised: str) -> None:
    assert parse_stage(stage) == normalised
    assert toggled("ssh-play", stage).flag_stage("ssh-play") == normalised


@pytest.mark.parametrize(
    "stage", ["", "half", "percent:0", "percent:100", "percent:", "percent:-5", "percent:5.5"]
)
def test_invalid_stages_are_rejected(stage: str) -> None:
    with pytest.raises(InvalidFlagStage, match="percent:N \\(N from 1 to 99\\)"):
        ControlPlane().toggle_flag("ssh-play", stage, OWNER, ROLLBACK, "", AT)


@pytest.mark.parametrize("name", ["", "  ", "Gemini Brains", "-leading"])
def test_flag_names_are_lowercase_identifiers(name: str) -> None:
    with pytest.raises(InvalidFlagName, match="is not valid; use lowercase letters"):
        ControlPlane().toggle_flag(name, "on", OWNER, ROLLBACK, "", AT)


@pytest.mark.parametrize("owner", ["", "   "])
def test_a_toggle_needs_an_owner(owner: str) -> None:
    with pytest.raises(UnsafeToggle, match="'ssh-play' cannot change without an owner"):
        ControlPlane().toggle_flag("ssh-play", "on", owner, ROLLBACK, "", AT)


@pytest.mark.parametrize("plan", ["", "\n\t"])
def test_a_toggle_needs_a_rollback_plan(plan: str) -> None:
    with pytest.raises(UnsafeToggle, match="without a rollback plan; say how to undo it"):
        ControlPlane().toggle_flag("ssh-play", "on", OWNER, plan, "", AT)


def test_flag_evaluation_by_stage() -> None:
    assert toggled("f", "on").is_enabled("f", "tenant-a")
    assert not toggled("f", "off").is_enabled("f", "tenant-a")
    internal = toggled("f", "internal")
    assert not internal.is_enabled("f", "tenant-a")
    assert internal.is_enabled("f", "tenant-a", internal=True)
    assert not ControlPlane().is_enabled("unknown", "tenant-a")


def test_percent_rollouts_are_stable_and_grow_monotonically() -> None:
    subjects = [f"tenant-{i}" for i in range(1000)]
    at_10 = {s for s in subjects if toggled("f", "percent:10").is_enabled("f", s)}
    at_50 = {s for s in subjects if toggled("f", "percent:50").is_enabled("f", s)}
    assert at_10 < at_50
    assert 60 <= len(at_10) <= 140
    assert 430 <= len(at_50) <= 570
    assert all(rollout_bucket("f", s) < 10 for s in at_10)
    assert rollout_bucket("f", "tenant-1") == rollout_bucket("f", "tenant-1")
    # each flag buckets subjects independently, so one tenant is not first in every rollout
    assert [rollout_bucket("g", s) for s in subjects] != [rollout_bucket("f", s) for s in subjects]


# ---------------------------------------------------------------- SLOs


def test_a_measurement_within_objective_is_recorded_with_its_definition_first() -> None:
    plane = ControlPlane()
    first = run(plane, plane.record_slo(LATENCY, 850.0, AT))
    assert first == [SLORecorded(name=LATENCY.name, value=850.0, definition=LATENCY, at=AT)]
    second = run(plane, plane.record_slo(LATENCY, 900.0, LATER))
    assert second == [SLORecorded(name=LATENCY.name, value=900.0, definition=None, at=LATER)]
    status = plane.slos[LATENCY.name]
    assert status.definition == LATENCY
    assert [r.value for r in status.recent] == [850.0, 900.0]
    assert status.breach_count == 0
    assert status.last is not None and status.last.at == LATER


@pytest.mark.parametrize(
    ("slo", "value", "breached"),
    [
        (LATENCY, 2500.0, True),
        (LATENCY, 2000.0, True),
        (LATENCY, 1999.9, False),
        (FALLBACK, 0.95, True),
        (FALLBACK, 0.99, True),
        (FALLBACK, 0.995, False),
    ],
)
def test_a_measurement_missing_the_objective_is_a_breach(
    slo: SLO, value: float, breached: bool
) -> None:
    events = ControlPlane().record_slo(slo, value, AT)
    assert isinstance(events[0], SLORecorded)
    if breached:
        assert events[1:] == [
            SLOBreached(
                name=slo.name,
                value=value,
                comparator=slo.comparator,
                objective=slo.objective,
                unit=slo.unit,
                at=AT,
            )
        ]
    else:
        assert events[1:] == []


def test_breaches_are_counted_and_recent_values_capped() -> None:
    plane = ControlPlane()
    for i in range(SLO_RECENT_LIMIT + 10):
        run(plane, plane.record_slo(LATENCY, 2100.0 if i % 3 == 0 else 500.0 + i, AT))
    status = plane.slos[LATENCY.name]
    assert len(status.recent) == SLO_RECENT_LIMIT
    assert status.recent[-1].value == 500.0 + SLO_RECENT_LIMIT + 9
    assert status.reading_count == SLO_RECENT_LIMIT + 10
    # Every third reading misses after one that met the objective: each is a new breach.
    assert status.breach_count == len(range(0, SLO_RECENT_LIMIT + 10, 3))
    assert sum(r.breached for r in status.recent) == sum(
        1 for i in range(10, SLO_RECENT_LIMIT + 10) if i % 3 == 0
    )


def test_a_breach_is_emitted_once_until_the_objective_is_met_again() -> None:
    plane = ControlPlane()
    kinds = []
    for value in (500.0, 2500.0, 2600.0, 2700.0, 900.0, 3000.0, 3100.0):
        kinds.append([type(e).__name__ for e in run(plane, plane.record_slo(LATENCY, value, AT))])
    assert [k.count("SLOBreached") for k in kinds] == [0, 1, 0, 0, 0, 1, 0]
    status = plane.slos[LATENCY.name]
    assert status.breach_count == 2
    assert [r.breached for r in status.recent] == [False, True, True, True, False, True, True]


def test_a_changed_definition_is_recorded_again() -> None:
    plane = ControlPlane()
    run(plane, plane.record_slo(LATENCY, 850.0, AT))
    stricter = LATENCY.model_copy(update={"objective": 800.0})
    events = run(plane, plane.record_slo(stricter, 850.0, LATER))
    assert events[0].definition == stricter
    assert isinstance(events[1], SLOBreached)
    assert plane.slos[LATENCY.name].definition == stricter
    assert plane.slos[LATENCY.name].breach_count == 1


@pytest.mark.parametrize("source", ["", "  "])
def test_every_slo_names_its_measurement_source(source: str) -> None:
    slo = LATENCY.model_copy(update={"measurement_source": source})
    with pytest.raises(InvalidSLO, match="'turn-latency-p95' does not name its measurement source"):
        ControlPlane().record_slo(slo, 1.0, AT)


def test_an_slo_needs_a_name_and_numbers() -> None:
    with pytest.raises(InvalidSLO, match="an SLO needs a name"):
        ControlPlane().record_slo(LATENCY.model_copy(update={"name": " "}), 1.0, AT)
    with pytest.raises(InvalidSLO, match="is nan; record a number"):
        ControlPlane().record_slo(LATENCY, float("nan"), AT)
    with pytest.raises(InvalidSLO, match="has objective inf; give a number"):
        ControlPlane().record_slo(LATENCY.model_copy(update={"objective": float("inf")}), 1.0, AT)


# ---------------------------------------------------------------- runbooks and contacts


def test_register_runbook_writes_and_rewrites() -> None:
    plane = ControlPlane()
    run(plane, plane.register_runbook("event store locked", "1. Check for a stuck writer.", AT))
    events = run(
        plane, plane.register_runbook(" event store locked ", "1. Run `dramatis backup`.", LATER)
    )
    assert events == [
        RunbookUpdated(name="event store locked", markdown="1. Run `dramatis backup`.", at=LATER)
    ]
    assert list(plane.runbooks) == ["event store locked"]
    assert plane.runbooks["event store locked"].markdown == "1. Run `dramatis backup`."
    assert plane.runbooks["event store locked"].updated_at == LATER


def test_a_runbook_needs_a_name_and_text() -> None:
    with pytest.raises(InvalidRunbook, match="a runbook needs a name"):
        ControlPlane().register_runbook("  ", "steps", AT)
    with pytest.raises(InvalidRunbook, match="'gemini outage' is empty; write its steps"):
        ControlPlane().register_runbook("gemini outage", " \n", AT)


def test_set_contacts_replaces_contacts_and_adr_pointers() -> None:
    plane = ControlPlane()
    rosa = Contact(name="Rosa Lind", role="on-call", channel="rosa@example.org")
    run(plane, plane.set_contacts([rosa], ["docs/adr/0001-event-store.md"], AT))
    tom = Contact(name="Tom Ek", role="owner", channel="#dramatis-ops")
    events = run(plane, plane.set_contacts([tom], [" docs/adr/0002-gemini.md "], LATER))
    assert events == [
        ContactsUpdated(contacts=(tom,), adr_pointers=("docs/adr/0002-gemini.md",), at=LATER)
    ]
    assert plane.contacts == (tom,)
    assert plane.adr_pointers == ("docs/adr/0002-gemini.md",)


def test_contacts_need_a_name_and_a_channel_and_pointers_are_not_blank() -> None:
    with pytest.raises(InvalidContacts, match="'Rosa Lind' needs a name and a channel"):
        ControlPlane().set_contacts(
            [Contact(name="Rosa Lind", role="on-call", channel=" ")], [], AT
        )
    with pytest.raises(InvalidContacts, match="'\\(unnamed\\)' needs a name"):
        ControlPlane().set_contacts([Contact(name="", role="x", channel="a@b.c")], [], AT)
    with pytest.raises(InvalidContacts, match="an ADR pointer is blank"):
        ControlPlane().set_contacts([], ["docs/adr/0001.md", " "], AT)


# ---------------------------------------------------------------- apply


def test_apply_rejects_a_measurement_of_an_undefined_slo() -> None:
    with pytest.raises(StreamMismatch, match="measured before it was defined"):
        ControlPlane().apply(SLORecorded(name="ghost", value=1.0, at=AT))
    breach = SLOBreached(name="ghost", value=1.0, comparator="<", objective=0.5, unit="s", at=AT)
    with pytest.raises(StreamMismatch, match="'ghost' breached before it was ever recorded"):
        ControlPlane().apply(breach)


def test_apply_rejects_events_of_other_aggregates() -> None:
    foreign = CampaignArchived(
        campaign_id="6b0f6a53-1f1c-4a43-9d9e-0f6b1f8f2a11", previous_status="active", at=AT
    )
    with pytest.raises(StreamMismatch, match="CampaignArchived is not a control plane event"):
        ControlPlane().apply(foreign)


# ---------------------------------------------------------------- replay and snapshots


def test_replay_equals_the_snapshot_round_trip() -> None:
    plane = ControlPlane()
    events: list = []
    events += run(plane, plane.toggle_flag("ssh-play", "percent:20", OWNER, ROLLBACK, "", AT))
    events += run(plane, plane.record_slo(LATENCY, 2500.0, AT))
    events += run(plane, plane.record_slo(FALLBACK, 0.999, AT))
    events += run(plane, plane.register_runbook("gemini outage", "Switch brains offline.", AT))
    contact = Contact(name="Rosa Lind", role="on-call", channel="rosa@example.org")
    events += run(plane, plane.set_contacts([contact], ["docs/adr/0001.md"], LATER))
    replayed = ControlPlane.from_events(events)
    restored = ControlPlane.from_snapshot(json.loads(json.dumps(replayed.to_snapshot())))
    assert restored == replayed == plane
    assert restored.slos[LATENCY.name].breach_count == 1
    assert restored.flags["ssh-play"].percent == 20
    assert restored.version == len(events) == 6
    resumed = ControlPlane.from_events(
        events[3:], snapshot=ControlPlane.from_events(events[:3]).to_snapshot()
    )
    assert resumed == replayed


def test_a_snapshot_of_another_shape_is_incompatible() -> None:
    snapshot = toggled("f", "on").to_snapshot()
    snapshot["flags"] = ["f"]
    with pytest.raises(IncompatibleSnapshot, match="control plane snapshot does not fit"):
        ControlPlane.from_snapshot(snapshot)
