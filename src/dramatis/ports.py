"""Ports: the interfaces the application services need from the outside world.

Adapters implement them; services depend only on these protocols.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from dramatis.domain.context import DecisionContext
from dramatis.domain.ledger import Decision

# ---------------------------------------------------------------- event store


class StoreError(Exception):
    """Base class for event store failures the caller can act on."""


class ConcurrencyError(StoreError):
    """The stream's version is not the one the writer expected: someone else wrote first."""


class StreamNotFound(StoreError):
    """No such stream for this tenant (whether or not another tenant has one by that id)."""


class IdempotencyConflict(StoreError):
    """An idempotency key was reused for a different command."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append: type, schema version, JSON payload and metadata."""

    event_type: str
    payload: dict[str, Any]
    schema_version: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StreamAppend:
    """Events for one stream, appended only if the stream is at ``expected_version``.

    ``expected_version`` is the number of events already in the stream (0 for a new stream).
    """

    stream_id: str
    stream_type: str
    expected_version: int
    events: Sequence[NewEvent]


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored: with its global position, stream version and record time (UTC ISO)."""

    position: int
    tenant_id: str
    stream_id: str
    stream_type: str
    version: int
    event_type: str
    schema_version: int
    payload: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Aggregate state folded up to ``version`` of a stream."""

    stream_id: str
    version: int
    state: dict[str, Any]


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """The result stored for an idempotency key, with a hash of the command that produced it."""

    key: str
    command_hash: str
    result: dict[str, Any]


def validate_appends(appends: Sequence[StreamAppend]) -> None:
    """Reject an append no store can honour, before any I/O (ValueError).

    Every event store calls this first, so bad input fails the same way on every backend:
    an empty stream id, a negative expected version, a stream named twice in one append, an
    empty event type or a schema version below 1.
    """
    seen: set[str] = set()
    for item in appends:
        if not item.stream_id:
            raise ValueError("stream_id must not be empty")
        if item.expected_version < 0:
            raise ValueError(
                f"stream {item.stream_id!r}: expected_version must be >= 0, "
                f"got {item.expected_version}"
            )
        if item.stream_id in seen:
            raise ValueError(f"stream {item.stream_id!r} appears twice in one append")
        seen.add(item.stream_id)
        for event in item.events:
            if not event.event_type:
                raise ValueError(f"stream {item.stream_id!r}: an event has no event_type")
            if event.schema_version < 1:
                raise ValueError(
                    f"stream {item.stream_id!r}: {event.event_type} schema_version must be >= 1"
                )


@runtime_checkable
class EventStore(Protocol):
    """Append-only, tenant-scoped event store. ``tenant_id`` is bound at construction."""

    tenant_id: str

    async def open(self) -> None:
        """Create tables if needed and get ready for use."""
        ...

    async def close(self) -> None: ...

    async def append(
        self,
        appends: Sequence[StreamAppend],
        idempotency: IdempotencyRecord | None = None,
    ) -> list[RecordedEvent]:
        """Atomically append to one or more streams (all or nothing).

        Raises ConcurrencyError if any stream is not at its expected version, and
        IdempotencyConflict if ``idempotency.key`` is already stored with another command hash.
        The idempotency record, if given, is written in the same transaction.
        """
        ...

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        """Events of one stream with version > ``after_version``. StreamNotFound if none exist."""
        ...

    async def stream_version(self, stream_id: str) -> int:
        """Current version of a stream (0 if it does not exist for this tenant)."""
        ...

    async def read_all(
        self, after_position: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        """This tenant's events with position > ``after_position``, in position order."""
        ...

    async def list_streams(self, stream_type: str) -> list[str]:
        """Ids of this tenant's streams of ``stream_type`` (e.g. "campaign"), oldest first."""
        ...

    async def last_position(self) -> int:
        """The highest global position of this tenant's events (0 when empty)."""
        ...

    async def save_snapshot(self, snapshot: Snapshot) -> None: ...

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        """The latest snapshot of a stream, or None."""
        ...

    async def get_idempotency(self, key: str) -> IdempotencyRecord | None: ...


# ---------------------------------------------------------------- live updates


@runtime_checkable
class Notifier(Protocol):
    """Tells followers of ``read_all`` that a tenant has new events, so they need not poll.

    A follower reads ``read_all(after_position=p)``, then awaits ``wait_for_append(p, timeout)``
    and reads again. A notifier never fails its caller: when its backend is down it falls back
    to polling the store or simply lets the timeout run out.
    """

    async def wait_for_append(self, after_position: int, timeout: float) -> bool:
        """Return True as soon as events past ``after_position`` exist (or may exist), False
        when ``timeout`` seconds pass without news. Appends made after the notifier started
        (including those before this call) count."""
        ...

    async def announce(self, position: int) -> None:
        """Tell other processes that events up to ``position`` were committed (a no-op for a
        notifier whose store announces by itself, as PostgreSQL's NOTIFY does)."""
        ...

    async def close(self) -> None: ...


# ---------------------------------------------------------------- persona brains


class PersonaBrain(Protocol):
    """Decides one persona's action for one turn."""

    name: str

    async def decide(self, context: DecisionContext) -> Decision: ...


# ---------------------------------------------------------------- prompt cache

PROMPT_CACHE_TTL_SECONDS = 900


@dataclass(frozen=True, slots=True)
class CacheKey:
    """Where one brain decision is cached: a persona's turn in a tenant, plus the prompt's hash.

    The hash covers the prompt text, the brain and its model, so a changed prompt never hits an
    old answer.
    """

    tenant_id: str
    persona_id: str
    turn: int
    prompt_hash: str

    def render(self) -> str:
        """The storage key: ``tenant:{t}:persona:{p}:turn:{n}:{prompt_hash}``."""
        return (
            f"tenant:{self.tenant_id}:persona:{self.persona_id}:turn:{self.turn}:{self.prompt_hash}"
        )


@dataclass(frozen=True, slots=True)
class CacheStatus:
    """How a prompt cache is doing, for statistics and the TUI."""

    backend: str  # "memory" or "redis"
    available: bool  # False while a backend outage is cooling down
    attempts: int = 0  # round trips tried against the backend
    failures: int = 0  # round trips that failed (each starts a cool-down)
    skipped: int = 0  # lookups and writes not tried because of a cool-down
    last_error: str | None = None


@runtime_checkable
class PromptCache(Protocol):
    """A short-lived cache of brain decisions (TTL ``ttl_seconds``).

    A cache never fails a turn: when its backend is unreachable ``get`` returns None and ``put``
    does nothing, each after at most a short timeout, and ``status()`` says so.
    """

    ttl_seconds: int

    async def get(self, key: CacheKey) -> Decision | None:
        """The decision stored under ``key``, or None (missing, expired or backend down)."""
        ...

    async def put(self, key: CacheKey, decision: Decision) -> None:
        """Store ``decision`` under ``key`` for ``ttl_seconds``."""
        ...

    async def ttl(self, key: CacheKey) -> int | None:
        """Whole seconds ``key`` has left to live; None when it is not stored."""
        ...

    def status(self) -> CacheStatus: ...

    async def close(self) -> None: ...


class Clock(Protocol):
    """UTC time source (frozen in tests)."""

    def now_iso(self) -> str: ...

    def monotonic(self) -> float: ...


@dataclass(frozen=True, slots=True)
class ChapterRequest:
    """What a prose writer is given to write one chapter: the facts, never the offline text.

    ``turns`` holds one block of ledger facts per turn (who did what to whom, where, the roll,
    the outcome, the consequence, the persona's reason, events that fired); ``citation`` is the
    line the chapter must end with.
    """

    campaign_id: str
    campaign_name: str
    number: int
    title: str
    chronicler: str
    style: str
    style_voice: str
    description: str
    names: tuple[str, ...]
    places: tuple[str, ...]
    turns: tuple[str, ...]
    citation: str


@dataclass(frozen=True, slots=True)
class ProseResult:
    """A chapter's markdown body as a prose writer wrote it, with what it cost."""

    markdown: str
    model: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None


class ChapterProse(Protocol):
    """Writes chapter prose from ledger facts; None when it cannot (the caller falls back)."""

    name: str

    async def write_chapter(self, request: ChapterRequest) -> ProseResult | None: ...


class ChronicleWriter(Protocol):
    """Writes a rendered chronicle somewhere durable and says where."""

    async def write(self, name: str, text: str) -> str:
        """Store ``text`` under ``name`` (e.g. "salt-road-3f9a1c2e.md"); return its location."""
        ...


# ---------------------------------------------------------------- media store


class MediaStoreError(Exception):
    """The media store cannot be used right now (unreachable, bucket missing, no access).

    The message is one line a person can act on; nothing was stored by the failed call.
    """


class MediaNotFound(MediaStoreError):
    """No object at that location in this media store."""


class MediaIntegrityError(MediaStoreError):
    """An object read back does not have the checksum it was stored with."""


@runtime_checkable
class MediaStore(Protocol):
    """Stores media assets and published chronicles as whole objects under string keys.

    Keys are relative, slash-separated paths ("chronicles/<campaign>/media/<asset>.png").
    ``put`` is all or nothing: after a failure no object (and no partial object) is visible.
    """

    description: str  # where objects go, for messages: "files under /x" or "s3://bucket"

    async def put(self, key: str, data: bytes, media_type: str) -> str:
        """Store ``data`` under ``key`` (replacing any object there); return its storage URL."""
        ...

    async def get(self, url: str, sha256: str | None = None) -> bytes:
        """The object at storage ``url``; MediaIntegrityError if ``sha256`` is given and differs."""
        ...

    async def list(self, prefix: str = "") -> list[str]:
        """Keys of the stored objects that start with ``prefix``, sorted."""
        ...

    def owns(self, url: str) -> bool:
        """Whether ``url`` names a location in this store."""
        ...
