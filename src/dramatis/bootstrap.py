"""The composition root: builds the store, brains and services from settings. The only place
that chooses adapters; the CLI, the TUI and the tests all go through ``open_dramatis``."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dramatis.adapters.clock import SystemClock
from dramatis.adapters.files import FileChronicleWriter
from dramatis.adapters.media_files import FileMediaStore
from dramatis.adapters.memory_cache import MemoryPromptCache
from dramatis.adapters.offline_brain import OfflineBrain
from dramatis.adapters.sqlite_backup import (
    BackupReport,
    RecoveryInputError,
    RestoreReport,
    backup_sqlite,
    finish_restored,
    replace_database,
    restore_sqlite,
)
from dramatis.adapters.sqlite_store import SQLiteEventStore
from dramatis.config import Settings
from dramatis.ports import (
    ChapterProse,
    Clock,
    EventStore,
    MediaStore,
    Notifier,
    PersonaBrain,
    PromptCache,
    StoreError,
)
from dramatis.services.campaigns import CampaignService
from dramatis.services.chronicles import ChronicleService
from dramatis.services.control_plane import ControlPlaneService
from dramatis.services.errors import BadRequest
from dramatis.services.personas import PersonaService
from dramatis.services.publishing import PublishingService
from dramatis.services.recovery import rebuild_snapshots
from dramatis.services.table import TableService

if TYPE_CHECKING:
    from dramatis.adapters.store_migration import MigrationReport


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
    publishing: PublishingService
    table: TableService  # shared play at a campaign's table (settings.player names the player)
    notifier: Notifier  # wakes followers of store.read_all when events are appended


def build_store(settings: Settings) -> EventStore:
    """The event store named by the settings, bound to the settings' tenant."""
    database = settings.database
    if database.startswith(("postgresql://", "postgres://")):
        from dramatis.adapters.postgres_store import PostgresEventStore  # psycopg loads lazily

        try:
            return PostgresEventStore(
                database,
                settings.tenant,
                table_prefix=settings.tenant_table_prefix,
                schema=settings.postgres_schema,
                max_connections=settings.postgres_pool_max,
            )
        except ValueError as exc:  # a bad tenant_table_prefix or DSN
            raise BadRequest(f"bad configuration: {exc}") from None
    path = Path(database).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadRequest(
            f"cannot create the data directory {path.parent}: {exc.strerror}"
        ) from None
    try:
        return SQLiteEventStore(path, settings.tenant, table_prefix=settings.tenant_table_prefix)
    except ValueError as exc:  # a bad tenant_table_prefix
        raise BadRequest(f"bad configuration: {exc}") from None


def build_notifier(settings: Settings, store: EventStore) -> tuple[Notifier, EventStore]:
    """The live-update notifier for this store, and the store the services should use.

    PostgreSQL: LISTEN/NOTIFY (the store notifies at commit by itself). Otherwise the store is
    wrapped so each committed append is announced: over Redis pub/sub when
    ``DRAMATIS_REDIS_URL`` is set, else to this process's followers, with polling for the rest.
    """
    from dramatis.adapters.announcing_store import AnnouncingEventStore
    from dramatis.adapters.poll_notify import PollingNotifier

    if settings.database.startswith(("postgresql://", "postgres://")):
        from dramatis.adapters.postgres_notify import PostgresNotifier

        notifier: Notifier = PostgresNotifier(
            settings.database,
            settings.tenant,
            table_prefix=settings.tenant_table_prefix,
            schema=settings.postgres_schema,
        )
        return notifier, store
    if settings.redis_url:
        from dramatis.adapters.redis_notify import RedisNotifier

        try:
            notifier = RedisNotifier(
                settings.redis_url,
                settings.tenant,
                store.last_position,
                timeout_seconds=settings.redis_timeout_seconds,
            )
        except ValueError as exc:
            raise BadRequest(
                f"DRAMATIS_REDIS_URL is not a Redis URL ({exc}); "
                "use redis://host:6379/0 or leave it unset"
            ) from None
    else:
        notifier = PollingNotifier(store.last_position)
    return notifier, AnnouncingEventStore(store, notifier)


def build_media_store(settings: Settings) -> MediaStore:
    """S3 when ``DRAMATIS_S3_BUCKET`` is set (``DRAMATIS_S3_ENDPOINT_URL`` for S3-compatible
    servers), else files under ``<data_dir>/media``."""
    if settings.s3_bucket:
        from dramatis.adapters.s3_media import S3MediaStore  # boto3 loads only when S3 is used

        return S3MediaStore(settings.s3_bucket, endpoint_url=settings.s3_endpoint_url)
    return FileMediaStore(settings.data_dir / "media")


def build_brains(settings: Settings) -> dict[str, PersonaBrain]:
    """The persona brains available with these settings, by brain kind.

    ``"gemini"`` is there only when a Gemini API key is set; without one, personas whose brain is
    gemini are decided by the offline policy and nothing touches the network. ``"openai"`` is
    there only when ``DRAMATIS_OPENAI_BASE_URL`` names an OpenAI-compatible server.
    """
    brains: dict[str, PersonaBrain] = {"offline": OfflineBrain()}
    if settings.gemini_configured and settings.gemini_api_key is not None:
        from dramatis.adapters.gemini import GeminiBrain  # httpx loads only when needed

        brains["gemini"] = GeminiBrain(
            settings.gemini_api_key,
            base_url=settings.gemini_base_url,
            model=settings.gemini_model,
            timeout_seconds=settings.gemini_timeout_seconds,
            temperature=settings.gemini_temperature,
            max_output_tokens=settings.gemini_max_output_tokens,
            thinking_budget=settings.gemini_thinking_budget,
            max_attempts=settings.gemini_max_attempts,
            backoff_base_seconds=settings.gemini_backoff_base_seconds,
            backoff_max_seconds=settings.gemini_backoff_max_seconds,
            retry_delay_cap_seconds=settings.gemini_retry_delay_cap_seconds,
            breaker_threshold=settings.gemini_breaker_threshold,
            breaker_cooldown_seconds=settings.gemini_breaker_cooldown_seconds,
        )
    if settings.openai_configured and settings.openai_base_url is not None:
        from dramatis.adapters.openai_compat import OpenAICompatBrain

        brains["openai"] = OpenAICompatBrain(
            settings.openai_base_url,
            api_key=settings.openai_api_key,
            model=settings.openai_model,
            timeout_seconds=settings.openai_timeout_seconds,
            temperature=settings.gemini_temperature,
            max_tokens=settings.openai_max_tokens,
            max_attempts=settings.openai_max_attempts,
            backoff_base_seconds=settings.gemini_backoff_base_seconds,
            backoff_max_seconds=settings.gemini_backoff_max_seconds,
            retry_delay_cap_seconds=settings.gemini_retry_delay_cap_seconds,
            breaker_threshold=settings.gemini_breaker_threshold,
            breaker_cooldown_seconds=settings.gemini_breaker_cooldown_seconds,
        )
    return brains


def build_chapter_prose(brains: Mapping[str, PersonaBrain]) -> ChapterProse | None:
    """Gemini chapter prose when the Gemini brain is configured (it shares that brain's
    connections, retries and circuit breaker); the ``gemini.chronicle`` flag decides per
    campaign whether it is used."""
    brain = brains.get("gemini")
    if brain is None:
        return None
    from dramatis.adapters.gemini import GeminiBrain
    from dramatis.adapters.gemini_prose import GeminiChapterProse

    return GeminiChapterProse(brain) if isinstance(brain, GeminiBrain) else None


async def close_brains(brains: Mapping[str, PersonaBrain]) -> None:
    """Release what the brains hold open (the Gemini brain's connection pool)."""
    for brain in brains.values():
        aclose = getattr(brain, "aclose", None)
        if aclose is not None:
            await aclose()


def build_prompt_cache(settings: Settings) -> PromptCache:
    """Redis when ``DRAMATIS_REDIS_URL`` is set, else an in-memory cache for this process."""
    if settings.redis_url:
        try:
            from dramatis.adapters.redis_cache import RedisPromptCache

            return RedisPromptCache(
                settings.redis_url,
                ttl_seconds=settings.prompt_cache_ttl_seconds,
                timeout_seconds=settings.redis_timeout_seconds,
                cool_down_seconds=settings.redis_cool_down_seconds,
            )
        except ValueError as exc:
            raise BadRequest(
                f"DRAMATIS_REDIS_URL is not a Redis URL ({exc}); "
                "use redis://host:6379/0 or leave it unset"
            ) from None
    return MemoryPromptCache(ttl_seconds=settings.prompt_cache_ttl_seconds)


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
    brains: dict[str, PersonaBrain] = {}
    prompt_cache: PromptCache | None = None
    notifier: Notifier | None = None
    try:
        prompt_cache = build_prompt_cache(settings)
        notifier, store = build_notifier(settings, store)
        brains = build_brains(settings)
        control_plane = ControlPlaneService(store, clock, role=settings.role)
        campaigns = CampaignService(
            store,
            clock,
            {**brains, **(extra_brains or {})},
            snapshot_every=settings.snapshot_every,
            control_plane=control_plane,
            prompt_cache=prompt_cache,
            max_concurrent_decisions=settings.max_concurrent_decisions,
            call_budget=settings.campaign_call_budget,
            role=settings.role,
        )
        writer = FileChronicleWriter(settings.data_dir / "chronicles")
        chronicles = ChronicleService(
            store,
            clock,
            campaigns,
            writer,
            control_plane=control_plane,
            prose=build_chapter_prose(brains),
        )
        publishing = PublishingService(
            store,
            clock,
            campaigns,
            chronicles,
            build_media_store(settings),
            writer,
            max_media_bytes=settings.media_max_bytes,
            local_media=FileMediaStore(settings.data_dir / "media") if settings.s3_bucket else None,
            control_plane=control_plane,
        )
        yield Dramatis(
            settings=settings,
            store=store,
            clock=clock,
            campaigns=campaigns,
            chronicles=chronicles,
            personas=PersonaService(store, clock),
            control_plane=control_plane,
            publishing=publishing,
            table=TableService(
                store,
                clock,
                campaigns,
                player=settings.player or "local",
                role=settings.role,
                session_id=settings.session,
                timeout_seconds=settings.human_timeout_seconds,
            ),
            notifier=notifier,
        )
    finally:
        if notifier is not None:
            await notifier.close()
        if prompt_cache is not None:
            await prompt_cache.close()
        await store.close()
        await close_brains(brains)


# ------------------------------------------------------------------ backup and restore


def _sqlite_path(settings: Settings) -> Path:
    database = settings.database
    if database.startswith(("postgresql://", "postgres://")):
        raise BadRequest("backup and restore work on a SQLite database; DRAMATIS_DB names a server")
    return Path(database).expanduser()


async def backup_database(
    settings: Settings, target: Path, *, overwrite: bool = False
) -> BackupReport:
    """Copy the configured database to ``target`` online (play may go on meanwhile)."""
    source = _sqlite_path(settings)
    try:
        return await asyncio.to_thread(backup_sqlite, source, Path(target), overwrite=overwrite)
    except RecoveryInputError as exc:
        raise BadRequest(str(exc)) from None
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"backup to {target} failed: {exc}") from exc


async def restore_database(
    settings: Settings,
    backup: Path,
    *,
    to_position: int | None = None,
    to_time: str | None = None,
    into: Path | None = None,
) -> RestoreReport:
    """Build a new database from ``backup``'s events up to a cut, with snapshots rebuilt.

    With ``into`` the result is a new file there (it must not exist) and the configured
    database is untouched. Without it the result replaces the configured database, whose
    previous contents are first copied to ``<db>.before-restore-<UTC time>``.
    """
    live = _sqlite_path(settings)
    target = Path(into).expanduser() if into is not None else live
    if into is not None and target.exists():
        raise BadRequest(f"{target} already exists; --into needs a new file")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    staging = target.with_name(f".{target.name}.restoring-{stamp}")
    try:
        report = await asyncio.to_thread(
            restore_sqlite, Path(backup), staging, to_position=to_position, to_time=to_time
        )
    except RecoveryInputError as exc:
        raise BadRequest(str(exc)) from None
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"restore from {backup} failed: {exc}") from exc
    try:
        snapshots = 0
        for prefix, tenant in report.tenants:
            async with SQLiteEventStore(staging, tenant, table_prefix=prefix) as store:
                snapshots += (await rebuild_snapshots(store, settings.snapshot_every)).snapshots
        await asyncio.to_thread(finish_restored, staging)
        kept = None
        if into is not None:
            os.replace(staging, target)
        else:
            keep_as = live.with_name(f"{live.name}.before-restore-{stamp}")
            kept = await asyncio.to_thread(replace_database, live, staging, keep_as)
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"restore from {backup} failed: {exc}") from exc
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{staging}{suffix}").unlink(missing_ok=True)
    return dataclasses.replace(report, path=target, snapshots=snapshots, kept_copy=kept)


# ------------------------------------------------------------------ store migration


async def migrate_store(
    settings: Settings,
    source: Path,
    target: str,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> MigrationReport:
    """Copy the SQLite event store file ``source`` (every tenant and table prefix) into the
    PostgreSQL server ``target`` under ``settings.postgres_schema``, and verify the copy."""
    from dramatis.adapters.store_migration import (
        MigrationInputError,
        migrate_sqlite_to_postgres,
    )

    try:
        return await migrate_sqlite_to_postgres(
            Path(source), target, schema=settings.postgres_schema, progress=progress
        )
    except MigrationInputError as exc:
        raise BadRequest(str(exc)) from None
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"migrating {source} failed: {exc}") from exc
