"""Control-plane commands and queries: flags, SLOs, runbooks and contacts for one tenant.

Flags gate real behaviour and are read through ``FlagView``, a read model the campaign service
re-reads at the start of every turn (cheaply: only when the control-plane stream has moved), so a
toggle in one process takes effect on the next turn of every other process. Only the operator
role may toggle flags or register runbooks; the service enforces it.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from dramatis.domain.control_plane import (
    CONTROL_PLANE_STREAM,
    SLO,
    ControlPlane,
    Flag,
    SLOStatus,
    rollout_bucket,
)
from dramatis.domain.events import DomainEvent
from dramatis.ports import Clock, ConcurrencyError, EventStore, StreamAppend, StreamNotFound
from dramatis.services.codec import decode, encode
from dramatis.services.errors import PermissionDenied
from dramatis.services.repository import load_aggregate, save_snapshot

CONTROL_PLANE_STREAM_TYPE = "control_plane"
MEASUREMENT_RETRIES = 20  # other sessions recorded measurements first: recompute, try again
SNAPSHOT_EVERY = 100  # control-plane events between snapshots (a new process reads from one)

Role = Literal["operator", "player", "viewer"]
ROLES: tuple[Role, ...] = ("operator", "player", "viewer")

# (name, stage, owner, rollback plan): what a fresh installation starts with. A flag missing from
# an older control plane reads as its default stage here.
DEFAULT_FLAGS = (
    ("gemini.personas", "on", "operator", "set off; personas use the offline policy"),
    ("gemini.chronicle", "off", "operator", "keep off; the offline chronicler writes chapters"),
    ("cache.redis", "on", "operator", "set off; the in-memory cache takes over"),
    ("publish.s3", "on", "operator", "set off; chronicles are published to files instead"),
    (
        "personas.human",
        "on",
        "operator",
        "set off; human personas act by their offline fallback",
    ),
    ("tui.live_updates", "on", "operator", "set off; screens refresh only when asked"),
)
DEFAULT_STAGES = {name: stage for name, stage, _owner, _plan in DEFAULT_FLAGS}

GEMINI_PERSONAS_OFF = "gemini personas disabled by flag"
HUMAN_CONTROL_OFF = "human control disabled by flag"

DEFAULT_SLOS = (
    SLO(
        name="turn p95",
        comparator="<",
        objective=2.0,
        unit="s",
        measurement_source="TurnLedger.duration_seconds of the turns played",
    ),
    SLO(
        name="fallback rate",
        comparator="<",
        objective=0.05,
        unit="ratio",
        measurement_source="DecisionRecorded provenance: share of gemini decisions that fell back",
    ),
    SLO(
        name="decision p95",
        comparator="<",
        objective=3000.0,
        unit="ms",
        measurement_source="DecisionRecorded provenance.latency_ms of the decisions of the turns",
    ),
    SLO(
        name="cache hit rate",
        comparator=">",
        objective=0.25,
        unit="ratio",
        measurement_source="TurnLedger action sources: cache answers over remote-brain answers",
    ),
    SLO(
        name="append p99",
        comparator="<",
        objective=20.0,
        unit="ms",
        measurement_source="CampaignService timing of each turn's event-store append",
    ),
)

# (title, file in docs/runbooks, SLOs and flags it is the runbook for)
RUNBOOKS = (
    (
        "Gemini outage",
        "gemini-outage.md",
        ("fallback rate", "decision p95", "gemini.personas", "gemini.chronicle"),
    ),
    ("Redis outage", "redis-outage.md", ("cache hit rate", "cache.redis")),
    ("Restore a database", "restore-a-database.md", ("append p99", "turn p95")),
)
RUNBOOK_PACKAGE = "dramatis.runbooks"


def runbook_for(subject: str) -> str | None:
    """The title of the runbook linked to an SLO or flag name, if one is."""
    for title, _filename, links in RUNBOOKS:
        if subject in links:
            return title
    return None


@dataclass(frozen=True)
class FlagView:
    """The flags as one read of the control plane saw them (defaults for flags never set)."""

    flags: dict[str, Flag]
    version: int = 0

    def stage(self, name: str) -> str:
        flag = self.flags.get(name)
        return flag.stage if flag is not None else DEFAULT_STAGES.get(name, "off")

    def enabled(self, name: str, subject: str = "") -> bool:
        """Whether flag ``name`` is on for ``subject`` (a campaign id for percent rollouts)."""
        flag = self.flags.get(name)
        if flag is not None:
            return flag.is_enabled_for(subject)
        stage = DEFAULT_STAGES.get(name, "off")
        if stage.startswith("percent:"):
            return rollout_bucket(name, subject) < int(stage.split(":", 1)[1])
        return stage == "on"


class ControlPlaneService:
    """Reads and changes the tenant's control plane; seeds defaults on first use."""

    def __init__(self, store: EventStore, clock: Clock, *, role: Role = "operator") -> None:
        if role not in ROLES:
            raise PermissionDenied(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        self.store = store
        self.clock = clock
        self.role: Role = role
        self._view: FlagView | None = None
        # The control plane as last read; brought up to date from the events after its version.
        # Every advance records measurements here, so re-reading the whole stream each turn
        # would grow slower with every turn played.
        self._plane: ControlPlane | None = None
        self._lock = asyncio.Lock()

    async def flags(self) -> FlagView:
        """The flags now, as of the latest control-plane event."""
        async with self._lock:
            plane = await self._catch_up()
        if plane is None:
            return FlagView({}, 0)  # never seeded: the defaults (reading writes nothing)
        if self._view is None or plane.version != self._view.version:
            self._view = FlagView(dict(plane.flags), plane.version)
        return self._view

    async def _catch_up(self) -> ControlPlane | None:
        """The cached control plane plus the events appended since; None if never seeded."""
        if self._plane is None:
            try:
                self._plane = await load_aggregate(self.store, ControlPlane, CONTROL_PLANE_STREAM)
            except StreamNotFound:
                return None
            return self._plane
        tail = await self.store.read_stream(CONTROL_PLANE_STREAM, after_version=self._plane.version)
        for event in decode(tail):
            self._plane.apply(event)
        return self._plane

    def _require_operator(self, what: str) -> None:
        if self.role != "operator":
            raise PermissionDenied(
                f"only an operator may {what}; this session acts as {self.role} "
                "(set DRAMATIS_ROLE=operator)"
            )

    async def load(self) -> ControlPlane:
        """The control plane, seeded with the default flags, SLOs and runbooks if new (a copy:
        callers may change it freely)."""
        async with self._lock:
            plane = await self._current()
            return ControlPlane.from_snapshot(plane.to_snapshot())

    async def _current(self) -> ControlPlane:
        plane = await self._catch_up()
        if plane is None:
            plane = self._plane = await self._seed()
        return plane

    async def toggle_flag(
        self, name: str, stage: str, *, owner: str, rollback_plan: str, reason: str = ""
    ) -> ControlPlane:
        """Move a flag to a rollout stage; operators only; owner and rollback plan required."""
        self._require_operator("toggle flags")
        plane = await self.load()
        events = plane.toggle_flag(name, stage, owner, rollback_plan, reason, self.clock.now_iso())
        return await self._append(plane, events, "toggle_flag")

    def catalogue(self, plane: ControlPlane) -> list[tuple[SLO, SLOStatus | None]]:
        """Every catalogued SLO with its measurements so far (None before the first one)."""
        defined = {slo.name: slo for slo in DEFAULT_SLOS}
        for name, status in plane.slos.items():
            defined[name] = status.definition
        return [(slo, plane.slos.get(name)) for name, slo in defined.items()]

    async def record_measurements(self, values: dict[str, float]) -> ControlPlane:
        """Record measured values of catalogued SLOs (breaches are recorded with them).

        Many sessions record into one control plane: a write that loses the race is recomputed
        against the newer plane and tried again."""
        async with self._lock:
            for attempt in range(MEASUREMENT_RETRIES + 1):
                current = await self._current()
                plane = ControlPlane.from_snapshot(current.to_snapshot())
                definitions = {slo.name: slo for slo, _ in self.catalogue(plane)}
                at = self.clock.now_iso()
                events: list[DomainEvent] = []
                for name, value in values.items():
                    if name not in definitions:
                        raise KeyError(
                            f"no SLO named {name!r}; catalogued: {', '.join(definitions)}"
                        )
                    events += _fold(plane, plane.record_slo(definitions[name], value, at))
                if not events:
                    return plane
                try:
                    await self.store.append(
                        [self._stream_append(current.version, events, "director")]
                    )
                except ConcurrencyError:
                    if attempt == MEASUREMENT_RETRIES:
                        raise
                    # A short random wait, so writers that keep colliding fall out of step.
                    await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                    continue
                self._plane = plane
                if plane.version // SNAPSHOT_EVERY > current.version // SNAPSHOT_EVERY:
                    await save_snapshot(self.store, CONTROL_PLANE_STREAM, plane)
                return plane
        raise AssertionError("unreachable")

    async def register_runbook(self, name: str, markdown: str) -> ControlPlane:
        """Add or replace a runbook; operators only."""
        self._require_operator("register runbooks")
        plane = await self.load()
        return await self._append(
            plane, plane.register_runbook(name, markdown, self.clock.now_iso()), "register_runbook"
        )

    async def _seed(self) -> ControlPlane:
        plane = ControlPlane()
        at = self.clock.now_iso()
        events: list[DomainEvent] = []
        for name, stage, owner, plan in DEFAULT_FLAGS:
            events += _fold(plane, plane.toggle_flag(name, stage, owner, plan, "default", at))
        folder = resources.files(RUNBOOK_PACKAGE)
        for title, filename, _links in RUNBOOKS:
            markdown = (folder / filename).read_text(encoding="utf-8")
            events += _fold(plane, plane.register_runbook(title, markdown, at))
        try:
            await self.store.append([self._stream_append(0, events, "system")])
        except ConcurrencyError:
            # Another process seeded it first: use theirs.
            return await load_aggregate(self.store, ControlPlane, CONTROL_PLANE_STREAM)
        return plane

    async def _append(
        self, plane: ControlPlane, events: list[DomainEvent], command: str
    ) -> ControlPlane:
        meta = {"actor": self.role, "role": self.role, "command": command}
        await self.store.append([self._stream_append(plane.version, events, meta)])
        for event in events:
            plane.apply(event)
        self._plane = None  # read afresh (with this change) next time
        return plane

    @staticmethod
    def _stream_append(
        expected_version: int, events: list[DomainEvent], meta: dict[str, str] | str
    ) -> StreamAppend:
        metadata = {"actor": meta} if isinstance(meta, str) else meta
        return StreamAppend(
            CONTROL_PLANE_STREAM,
            CONTROL_PLANE_STREAM_TYPE,
            expected_version,
            encode(events, metadata),
        )


def _fold(plane: ControlPlane, events: list[DomainEvent]) -> list[DomainEvent]:
    for event in events:
        plane.apply(event)
    return events
