"""Control-plane commands and queries: flags, SLOs, runbooks and contacts for one tenant."""

from __future__ import annotations

from importlib import resources

from dramatis.domain.control_plane import CONTROL_PLANE_STREAM, SLO, ControlPlane, SLOStatus
from dramatis.domain.events import DomainEvent
from dramatis.ports import Clock, ConcurrencyError, EventStore, StreamAppend, StreamNotFound
from dramatis.services.codec import encode
from dramatis.services.repository import load_aggregate

CONTROL_PLANE_STREAM_TYPE = "control_plane"

# (name, stage, owner, rollback plan): what a fresh installation starts with.
DEFAULT_FLAGS = (
    ("gemini.personas", "on", "operator", "set off; personas use the offline policy"),
    ("gemini.chronicle", "off", "operator", "keep off; the offline chronicler writes chapters"),
    ("cache.redis", "on", "operator", "set off; the in-memory cache takes over"),
    ("publish.s3", "off", "operator", "keep off; chronicles are written to files"),
)

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
        name="append p99",
        comparator="<",
        objective=20.0,
        unit="ms",
        measurement_source="CampaignService timing of each turn's event-store append",
    ),
)

RUNBOOKS = (
    ("Gemini outage", "gemini-outage.md"),
    ("Redis outage", "redis-outage.md"),
    ("Restore a database", "restore-a-database.md"),
)


class ControlPlaneService:
    """Reads and changes the tenant's control plane; seeds defaults on first use."""

    def __init__(self, store: EventStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def load(self) -> ControlPlane:
        """The control plane, seeded with the default flags, SLOs and runbooks if new."""
        try:
            return await load_aggregate(self.store, ControlPlane, CONTROL_PLANE_STREAM)
        except StreamNotFound:
            return await self._seed()

    async def toggle_flag(
        self, name: str, stage: str, *, owner: str, rollback_plan: str, reason: str = ""
    ) -> ControlPlane:
        """Move a flag to a rollout stage; the owner and rollback plan are required."""
        plane = await self.load()
        events = plane.toggle_flag(name, stage, owner, rollback_plan, reason, self.clock.now_iso())
        return await self._append(plane, events)

    def catalogue(self, plane: ControlPlane) -> list[tuple[SLO, SLOStatus | None]]:
        """Every catalogued SLO with its measurements so far (None before the first one)."""
        defined = {slo.name: slo for slo in DEFAULT_SLOS}
        for name, status in plane.slos.items():
            defined[name] = status.definition
        return [(slo, plane.slos.get(name)) for name, slo in defined.items()]

    async def record_measurements(self, values: dict[str, float]) -> ControlPlane:
        """Record measured values of catalogued SLOs (breaches are recorded with them)."""
        plane = await self.load()
        definitions = {slo.name: slo for slo, _ in self.catalogue(plane)}
        at = self.clock.now_iso()
        events: list[DomainEvent] = []
        for name, value in values.items():
            if name not in definitions:
                raise KeyError(f"no SLO named {name!r}; catalogued: {', '.join(definitions)}")
            events += _fold(plane, plane.record_slo(definitions[name], value, at))
        if events:
            await self.store.append([self._stream_append(plane.version - len(events), events)])
        return plane

    async def register_runbook(self, name: str, markdown: str) -> ControlPlane:
        """Add or replace a runbook."""
        plane = await self.load()
        return await self._append(
            plane, plane.register_runbook(name, markdown, self.clock.now_iso())
        )

    async def _seed(self) -> ControlPlane:
        plane = ControlPlane()
        at = self.clock.now_iso()
        events: list[DomainEvent] = []
        for name, stage, owner, plan in DEFAULT_FLAGS:
            events += _fold(plane, plane.toggle_flag(name, stage, owner, plan, "default", at))
        folder = resources.files("dramatis.services") / "runbooks"
        for title, filename in RUNBOOKS:
            markdown = (folder / filename).read_text(encoding="utf-8")
            events += _fold(plane, plane.register_runbook(title, markdown, at))
        try:
            await self.store.append([self._stream_append(0, events)])
        except ConcurrencyError:
            # Another process seeded it first: use theirs.
            return await load_aggregate(self.store, ControlPlane, CONTROL_PLANE_STREAM)
        return plane

    async def _append(self, plane: ControlPlane, events: list[DomainEvent]) -> ControlPlane:
        await self.store.append([self._stream_append(plane.version, events)])
        for event in events:
            plane.apply(event)
        return plane

    @staticmethod
    def _stream_append(expected_version: int, events: list[DomainEvent]) -> StreamAppend:
        return StreamAppend(
            CONTROL_PLANE_STREAM,
            CONTROL_PLANE_STREAM_TYPE,
            expected_version,
            encode(events, {"actor": "operator"}),
        )


def _fold(plane: ControlPlane, events: list[DomainEvent]) -> list[DomainEvent]:
    for event in events:
        plane.apply(event)
    return events
