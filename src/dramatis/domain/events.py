"""Versioned, immutable domain events with a registry and an upcasting hook.

Every event class declares ``event_type`` and ``schema_version``. Serialised payloads are plain JSON
dicts; on read, ``decode_event`` upcasts older payloads step by step (v1 -> v2 -> ...) with the
functions registered by ``upcaster`` before validating them into the current class.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict

from dramatis.domain.errors import InvalidTimestamp, UnknownEventType


class DomainEvent(BaseModel):
    """Base class of all domain events: frozen pydantic models with a type name and version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1

    def to_payload(self) -> dict[str, Any]:
        """The JSON-ready payload stored in the event store."""
        return self.model_dump(mode="json")


EventT = TypeVar("EventT", bound=type[DomainEvent])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

_EVENT_TYPES: dict[str, type[DomainEvent]] = {}
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def register_event(cls: EventT) -> EventT:
    """Class decorator: make an event type known to ``decode_event``."""
    if not cls.event_type:
        raise TypeError(f"{cls.__name__} must set event_type")
    existing = _EVENT_TYPES.get(cls.event_type)
    if existing is not None and existing is not cls:
        raise TypeError(f"event type {cls.event_type!r} registered twice")
    _EVENT_TYPES[cls.event_type] = cls
    return cls


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function turning a ``from_version`` payload into a ``from_version + 1`` one."""

    def decorate(func: Upcaster) -> Upcaster:
        _UPCASTERS[(event_type, from_version)] = func
        return func

    return decorate


def event_class(event_type: str) -> type[DomainEvent]:
    """The registered class for ``event_type``."""
    try:
        return _EVENT_TYPES[event_type]
    except KeyError:
        raise UnknownEventType(
            f"unknown event type {event_type!r}: this database was written by a newer dramatis"
        ) from None


def upcast(event_type: str, schema_version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """Bring a stored payload up to the current schema version of its event class."""
    cls = event_class(event_type)
    if schema_version > cls.schema_version:
        raise UnknownEventType(
            f"{event_type} v{schema_version} is newer than this build (v{cls.schema_version}); "
            "upgrade dramatis"
        )
    version = schema_version
    while version < cls.schema_version:
        step = _UPCASTERS.get((event_type, version))
        if step is None:
            raise UnknownEventType(f"no upcaster for {event_type} v{version}")
        payload = step(dict(payload))
        version += 1
    return payload


def decode_event(event_type: str, schema_version: int, payload: dict[str, Any]) -> DomainEvent:
    """Validate a stored payload into its (current-version) event object."""
    cls = event_class(event_type)
    return cls.model_validate(upcast(event_type, schema_version, payload))


def check_timestamp(value: str) -> str:
    """Return ``value`` if it is a UTC ISO 8601 time; raise ValueError saying what is expected."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{value!r} is not an ISO 8601 time; write it like 2025-01-31T12:00:00+00:00"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() != timedelta(0):
        raise ValueError(f"{value!r} is not in UTC; give it a Z or +00:00 offset")
    return value


Timestamp = Annotated[str, AfterValidator(check_timestamp)]
"""A UTC ISO 8601 time carried by an event (validated, kept as the caller's string)."""


def require_timestamp(value: str) -> str:
    """``check_timestamp`` for commands: raises ``InvalidTimestamp`` (a DomainError) instead."""
    try:
        return check_timestamp(value)
    except ValueError as exc:
        raise InvalidTimestamp(f"bad time: {exc}") from None
