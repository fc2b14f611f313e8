"""The composition root: builds the store, brains and services from settings. The only place
that chooses adapters; the CLI, the TUI and the tests all go through ``open_dramatis``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from dramatis.adapters.clock import SystemClock
from dramatis.adapters.files import FileChronicleWriter
from dramatis.adapters.offline_brain import OfflineBrain
from dramatis.adapters.sqlite_store import SQLiteEventStore
from dramatis.config import Settings
from dramatis.ports import Clock, EventStore, PersonaBrain
from dramatis.services.campaigns import CampaignService
from dramatis.services.chronicles import ChronicleService
from dramatis.services.control_plane import ControlPlaneService
from dramatis.services.errors import BadRequest
from dramatis.services.personas import PersonaService


@dataclass
class Dramatis:
    """The wired application: services over one tenant's store."""

    settings: Settings
    store: EventStore
    clock: Clock
    campaigns: CampaignService
    chronicles: ChronicleService
    personas: PersonaService
    control_plane: ControlPlaneService


def build_store(settings: Settings) -> EventStore:
    """The event store named by the settings, bound to the settings' tenant."""
    database = settings.database
    if database.startswith(("postgresql://", "postgres://")):
        raise BadRequest(
            "DRAMATIS_DB names a PostgreSQL server, but this build stores events in SQLite only; "
            "set DRAMATIS_DB to a file path"
        )
    path = Path(database).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadRequest(
            f"cannot create the data directory {path.parent}: {exc.strerror}"
        ) from None
    return SQLiteEventStore(path, settings.tenant, table_prefix=settings.tenant_table_prefix)


def build_brains(settings: Settings) -> dict[str, PersonaBrain]:
    """The persona brains available with these settings, by brain kind."""
    return {"offline": OfflineBrain()}


@asynccontextmanager
async def open_dramatis(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    store: EventStore | None = None,
    extra_brains: Mapping[str, PersonaBrain] | None = None,
) -> AsyncIterator[Dramatis]:
    """Open the store and wire the services; closes everything on exit.

    ``extra_brains`` adds brains only an interactive front end can provide (``"human"``).
    """
    settings = settings or Settings()
    clock = clock or SystemClock()
    store = store or build_store(settings)
    await store.open()
    try:
        control_plane = ControlPlaneService(store, clock)
        campaigns = CampaignService(
            store,
            clock,
            {**build_brains(settings), **(extra_brains or {})},
            snapshot_every=settings.snapshot_every,
            control_plane=control_plane,
        )
        chronicles = ChronicleService(
            store, clock, campaigns, FileChronicleWriter(settings.data_dir / "chronicles")
        )
        yield Dramatis(
            settings=settings,
            store=store,
            clock=clock,
            campaigns=campaigns,
            chronicles=chronicles,
            personas=PersonaService(store, clock),
            control_plane=control_plane,
        )
    finally:
        await store.close()
